#!/usr/bin/env python3
"""Pull benchmark: a ~100 MB multi-layer image (generated) from a local docker-registry,
coracle pull vs `skopeo copy` to an OCI dir (vs `podman pull` when podman is installed).

Usage: bench/pull.py [--runs N] [--layers N] [--mib N] [--coracle PATH] [--json FILE]
Needs root, docker-registry, skopeo, a C compiler (for bench/maxrss.c). Each run pulls into a
fresh store/dir; reports the median wall time, the ratio to the fastest, and peak RSS.
coracle only stores the blobs (unpacking happens at `bundle`); `podman pull` also unpacks
the layers into its storage, so it does more work: compare coracle with skopeo first.
"""
import argparse, gzip, hashlib, json, os, resource, shutil, socket, statistics, subprocess, sys, tempfile, time

HERE = os.path.dirname(os.path.abspath(__file__))


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def put(layout, data):
    d = hashlib.sha256(data).hexdigest()
    os.makedirs(f"{layout}/blobs/sha256", exist_ok=True)
    with open(f"{layout}/blobs/sha256/{d}", "wb") as f:
        f.write(data)
    return f"sha256:{d}", len(data)


def make_image(layout, layers, mib, work):
    """`layers` gzip layers, each a tar of one file: half random bytes, half text (so gzip has work)."""
    descs, diff_ids = [], []
    for i in range(layers):
        d = f"{work}/l{i}"
        os.makedirs(d)
        half = (mib << 20) // 2
        with open(f"{d}/data", "wb") as f:
            f.write(os.urandom(half))
            f.write((b"coracle layer %d line of text\n" % i) * (half // 30))
        tar = subprocess.run(["tar", "--sort=name", "--mtime=@0", "--owner=0", "--group=0", "-C", d, "-cf", "-", "."],
                             check=True, stdout=subprocess.PIPE).stdout
        gz = gzip.compress(tar, compresslevel=1, mtime=0)
        digest, size = put(layout, gz)
        descs.append({"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": digest, "size": size})
        diff_ids.append("sha256:" + hashlib.sha256(tar).hexdigest())
        shutil.rmtree(d)
    config = json.dumps({"architecture": "amd64", "os": "linux", "config": {"Cmd": ["/bin/sh"]},
                         "rootfs": {"type": "layers", "diff_ids": diff_ids}}).encode()
    cd, cs = put(layout, config)
    manifest = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                           "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": cd, "size": cs},
                           "layers": descs}).encode()
    md, ms = put(layout, manifest)
    with open(f"{layout}/index.json", "w") as f:
        json.dump({"schemaVersion": 2, "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json",
                   "digest": md, "size": ms, "annotations": {"org.opencontainers.image.ref.name": "bench"}}]}, f)
    with open(f"{layout}/oci-layout", "w") as f:
        f.write('{"imageLayoutVersion":"1.0.0"}')
    return sum(d["size"] for d in descs)


def start_registry(work):
    port = free_port()
    host = f"127.0.0.1:{port}"
    with open(f"{work}/config.yml", "w") as f:
        f.write(f"version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\nstorage:\n"
                f"  filesystem:\n    rootdirectory: {work}/data\nhttp:\n  addr: {host}\n")
    log = open(f"{work}/registry.log", "w")
    proc = subprocess.Popen(["docker-registry", "serve", f"{work}/config.yml"], stdout=log, stderr=log)
    end = time.time() + 20
    while time.time() < end:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return proc, host
        except OSError:
            time.sleep(0.05)
    proc.kill()
    sys.exit("bench/pull.py: docker-registry did not start")


def timed(argv, maxrss, work):
    out = f"{work}/maxrss"
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    r = subprocess.run([maxrss, out] + argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    secs = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if r.returncode != 0:
        sys.exit(f"bench/pull.py: {' '.join(argv)} failed: {r.stderr.decode().strip()}")
    with open(out) as f:
        return secs, int(f.read()), cpu


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--layers", type=int, default=5)
    ap.add_argument("--mib", type=int, default=40, help="uncompressed MiB per layer (half of it random: ~mib/2 compressed)")
    ap.add_argument("--coracle", default=os.path.join(HERE, "../target/release/coracle"))
    ap.add_argument("--json")
    a = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("bench/pull.py: run as root")
    work = tempfile.mkdtemp(prefix="coracle-pullbench.")
    proc = None
    try:
        maxrss = f"{work}/maxrss-bin"
        subprocess.run(["cc", "-O2", "-static", "-o", maxrss, f"{HERE}/maxrss.c"], check=True)
        size = make_image(f"{work}/layout", a.layers, a.mib, work)
        proc, host = start_registry(work)
        ref = f"{host}/bench/image:1"
        subprocess.run(["skopeo", "copy", "--quiet", "--preserve-digests", "--dest-tls-verify=false",
                        f"oci:{work}/layout:bench", f"docker://{ref}"], check=True)
        tools = {
            "coracle pull": lambda d: [os.path.abspath(a.coracle), "--root", d, "pull", ref],
            "skopeo copy (oci dir)": lambda d: [shutil.which("skopeo"), "copy", "--quiet", "--src-tls-verify=false",
                                                f"docker://{ref}", f"oci:{d}:img"],
        }
        if shutil.which("podman"):
            tools["podman pull"] = lambda d: [shutil.which("podman"), "--root", f"{d}/root", "--runroot", f"{d}/run",
                                              "--storage-driver", "vfs", "pull", "--quiet", "--tls-verify=false", ref]
        results = {name: [] for name in tools}
        for i in range(a.runs + 1):  # the first round only warms the page cache
            for name, argv in tools.items():
                d = tempfile.mkdtemp(dir=work)
                secs, rss, cpu = timed(argv(d), maxrss, work)
                shutil.rmtree(d, ignore_errors=True)
                if i > 0:
                    results[name].append((secs, rss, cpu))
        med = {n: statistics.median(s for s, _, _ in r) for n, r in results.items()}
        cpu = {n: statistics.median(c for _, _, c in r) for n, r in results.items()}
        fastest_other = min(v for n, v in med.items() if n != "coracle pull")
        print(f"pull of a {size / 2**20:.0f} MiB image ({a.layers} gzip layers) from a local registry, "
              f"{a.runs} runs each, median wall time (ratio to coracle's), median CPU time (user+sys), peak RSS")
        rows = []
        for n in tools:
            rss = max(r for _, r, _ in results[n]) / 1024
            ratio = med[n] / med["coracle pull"]
            print(f"  {n:<24} {med[n] * 1000:8.0f} ms   {ratio:5.2f}x   cpu {cpu[n] * 1000:6.0f} ms   peak RSS {rss:6.1f} MB")
            rows.append({"tool": n, "median_s": med[n], "cpu_s": cpu[n], "peak_rss_mb": rss})
        print(f"coracle / fastest other: {med['coracle pull'] / fastest_other:.2f}")
        if a.json:
            with open(a.json, "w") as f:
                json.dump({"image_bytes": size, "rows": rows}, f, indent=1)
    finally:
        if proc:
            proc.kill()
            proc.wait()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
