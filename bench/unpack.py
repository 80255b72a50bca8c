#!/usr/bin/env python3
"""Unpack benchmark: image layers -> a runnable rootfs, `coracle bundle` vs `umoci unpack`.

Usage: bench/unpack.py [--runs N] [--coracle PATH] [--json FILE]
Needs root, umoci, a C compiler (for bench/maxrss.c). The image is made here from host trees
with many small files (/usr/lib/python3*, /usr/share/perl*, /usr/share/locale...): one gzip
layer per tree, about 100 MB of files in all. Both tools start from the same blobs on disk:
umoci from the OCI layout, coracle from its store (loaded from the same layout, untimed); each
run has a fresh bundle directory (and, for coracle, a fresh store, so its shared layer cache is
cold). coracle's default rootfs is an overlay of the unpacked layers (`--rootfs copy` flattens
them like umoci does: both rows are reported). Median wall time, ratio to umoci, peak RSS.
"""
import argparse, glob, gzip, hashlib, json, os, shutil, statistics, subprocess, sys, tempfile, time

HERE = os.path.dirname(os.path.abspath(__file__))
TREES = ["/usr/lib/python3*", "/usr/share/perl*", "/usr/share/locale", "/usr/share/i18n", "/usr/share/doc"]
TARGET_MIB = 100


def put(layout, data):
    d = hashlib.sha256(data).hexdigest()
    os.makedirs(f"{layout}/blobs/sha256", exist_ok=True)
    with open(f"{layout}/blobs/sha256/{d}", "wb") as f:
        f.write(data)
    return f"sha256:{d}", len(data)


def tree_layers():
    """Host trees to turn into layers, until about TARGET_MIB of files."""
    picked, total = [], 0
    for pattern in TREES:
        for path in sorted(glob.glob(pattern)):
            if not os.path.isdir(path) or total >= TARGET_MIB << 20:
                continue
            size = int(subprocess.run(["du", "-sb", path], check=True, capture_output=True,
                                      text=True).stdout.split()[0])
            picked.append(path)
            total += size
    return picked, total


def make_image(layout):
    trees, total = tree_layers()
    descs, diff_ids, files = [], [], 0
    for t in trees:
        tar = subprocess.run(["tar", "--sort=name", "--mtime=@0", "--owner=0", "--group=0",
                              "-C", "/", "-cf", "-", t.lstrip("/")],
                             check=True, stdout=subprocess.PIPE).stdout
        files += sum(len(f) + len(d) for _, d, f in os.walk(t))
        gz = gzip.compress(tar, compresslevel=1, mtime=0)
        digest, size = put(layout, gz)
        descs.append({"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                      "digest": digest, "size": size})
        diff_ids.append("sha256:" + hashlib.sha256(tar).hexdigest())
    config = json.dumps({"architecture": "amd64", "os": "linux", "config": {"Cmd": ["/bin/sh"]},
                         "rootfs": {"type": "layers", "diff_ids": diff_ids}}).encode()
    cd, cs = put(layout, config)
    manifest = json.dumps({"schemaVersion": 2,
                           "mediaType": "application/vnd.oci.image.manifest.v1+json",
                           "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                                      "digest": cd, "size": cs},
                           "layers": descs}).encode()
    md, ms = put(layout, manifest)
    with open(f"{layout}/index.json", "w") as f:
        json.dump({"schemaVersion": 2, "manifests": [{
            "mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": md, "size": ms,
            "annotations": {"org.opencontainers.image.ref.name": "bench"}}]}, f)
    with open(f"{layout}/oci-layout", "w") as f:
        f.write('{"imageLayoutVersion":"1.0.0"}')
    return len(trees), total, files


def maxrss_tool(work):
    exe = f"{work}/maxrss"
    subprocess.run(["cc", "-O2", "-o", exe, f"{HERE}/maxrss.c"], check=True)
    return exe


def timed(maxrss, work, argv):
    """Wall seconds and peak RSS (KiB) of one command (argv[0] an absolute path: maxrss uses execv)."""
    out = f"{work}/rss"
    t0 = time.perf_counter()
    subprocess.run([maxrss, out] + argv, check=True, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - t0
    with open(out) as f:
        return wall, int(f.read().split()[0])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--coracle", default=os.path.join(HERE, "..", "target", "release", "coracle"))
    ap.add_argument("--json")
    a = ap.parse_args()
    coracle = os.path.abspath(a.coracle)
    if not os.access(coracle, os.X_OK):
        sys.exit(f"unpack.py: {coracle}: not built (cargo build --release -p coracle)")
    work = tempfile.mkdtemp(prefix="coracle-bench-unpack-")
    try:
        layout = f"{work}/layout"
        layers, size, files = make_image(layout)
        archive = f"{work}/image.tar"
        subprocess.run(["tar", "-C", layout, "-cf", archive, "."], check=True)
        maxrss = maxrss_tool(work)
        rows = {"umoci unpack": [], "coracle bundle (overlay)": [], "coracle bundle --rootfs copy": []}
        for i in range(a.runs):
            # Interleaved, a fresh target each time; cleanup is not timed.
            b = f"{work}/umoci-{i}"
            rows["umoci unpack"].append(timed(maxrss, work, [shutil.which("umoci"), "unpack", "--image",
                                                             f"{layout}:bench", b]))
            shutil.rmtree(b)
            for mode, key in (("overlay", "coracle bundle (overlay)"),
                              ("copy", "coracle bundle --rootfs copy")):
                store, b = f"{work}/store-{i}-{mode}", f"{work}/c-{i}-{mode}"
                subprocess.run([coracle, "--root", store, "load", "-i", archive], check=True,
                               stdout=subprocess.DEVNULL)
                rows[key].append(timed(maxrss, work, [coracle, "--root", store, "bundle",
                                                      "--rootfs", mode, "bench", b]))
                subprocess.run([coracle, "--root", store, "unbundle", b], check=True)
                shutil.rmtree(store)
        base = statistics.median(w for w, _ in rows["umoci unpack"])
        print(f"image: {layers} gzip layers, {size / 2**20:.0f} MiB, {files} files; "
              f"{a.runs} runs each, interleaved")
        print("| tool | median | ratio to umoci | peak RSS |")
        print("|---|---|---|---|")
        result = {}
        for name, xs in rows.items():
            med = statistics.median(w for w, _ in xs)
            rss = statistics.median(r for _, r in xs)
            result[name] = {"median_s": med, "ratio": med / base, "peak_rss_kib": rss}
            print(f"| {name} | {med * 1000:.0f} ms | ×{med / base:.2f} | {rss / 1024:.1f} MB |")
        if a.json:
            with open(a.json, "w") as f:
                json.dump(result, f, indent=1)
    finally:
        subprocess.run(["umount", "-R", "-q"] + glob.glob(f"{work}/c-*/rootfs"),
                       stderr=subprocess.DEVNULL)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
