#!/usr/bin/env python3
"""Engine benchmark: `coracle run --rm IMG true` vs `podman run --rm IMG true` vs `docker run
--rm IMG true` (same image, --network none), the monitor's memory, and 50 detached containers
started then removed.

Usage: bench/engine.py [--runs N] [--burst N] [--coracle PATH] [--json FILE]
Needs root, busybox-static; podman and dockerd are optional (their rows are skipped without
them). Everything lives under one temp dir (coracle's --root, podman's --root/--runroot and a
containers.conf of its own, a private dockerd's roots and socket: bench/dockerd.py) and is
removed at the end; dockerd is stopped by its pid. The image is a busybox rootfs imported by
coracle, saved as a docker-archive and loaded into podman and dockerd (so all run the same
layers). Runs are interleaved. Podman runs with runc: its default crun refuses hybrid cgroups
(this host; see MACHINE-NOTES); dockerd runs its default (runc, through containerd's shim).
"""
import argparse, json, os, shutil, statistics, subprocess, sys, tempfile, time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from dockerd import Dockerd  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))


def busybox_rootfs(d):
    os.makedirs(f"{d}/bin")
    shutil.copy("/bin/busybox", f"{d}/bin/busybox")
    for applet in ("sh", "true", "sleep"):
        os.symlink("busybox", f"{d}/bin/{applet}")
    for sub in ("etc", "proc", "sys", "dev", "tmp"):
        os.makedirs(f"{d}/{sub}", exist_ok=True)
    with open(f"{d}/etc/passwd", "w") as f:
        f.write("root:x:0:0:root:/root:/bin/sh\n")
    with open(f"{d}/etc/group", "w") as f:
        f.write("root:x:0:\n")


def podman_conf(path):
    # The sandbox's limits (see MACHINE-NOTES): rlimits within the hard limit, cgroupfs, file
    # events; runc, because podman's default crun refuses this host's hybrid cgroups.
    with open(path, "w") as f:
        f.write('[containers]\ndefault_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]\n'
                '[engine]\ncgroup_manager = "cgroupfs"\nevents_logger = "file"\nruntime = "runc"\n')


def wall(argv, env=None):
    t0 = time.perf_counter()
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, env=env)
    return time.perf_counter() - t0


def rss_kib(pid, field):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def monitor_pids(root):
    out = subprocess.run(["pgrep", "-f", "coracle __(relay|monitor) "], capture_output=True, text=True).stdout.split()
    return [int(p) for p in out if root in open(f"/proc/{p}/cmdline").read().replace("\0", " ")]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=15)
    ap.add_argument("--burst", type=int, default=50)
    ap.add_argument("--coracle", default=os.path.join(HERE, "..", "target", "release", "coracle"))
    ap.add_argument("--json")
    a = ap.parse_args()
    coracle = os.path.abspath(a.coracle)
    if not os.access(coracle, os.X_OK):
        sys.exit(f"engine.py: {coracle}: not built (cargo build --release -p coracle)")
    work = tempfile.mkdtemp(prefix="coracle-bench-engine-")
    root = f"{work}/coracle"
    c = [coracle, "--root", root]
    podman = shutil.which("podman")
    penv = dict(os.environ, CONTAINERS_CONF=f"{work}/containers.conf")
    p = [podman, "--root", f"{work}/podman", "--runroot", f"{work}/podman-run",
         "--tmpdir", f"{work}/podman-tmp"] if podman else None
    result = {}
    docker = None
    try:
        busybox_rootfs(f"{work}/rootfs")
        subprocess.run(c + ["import", f"{work}/rootfs", "bench:latest", "--cmd", "sh"], check=True,
                       stdout=subprocess.DEVNULL)
        subprocess.run(c + ["save", "--format", "docker-archive", "-o", f"{work}/img.tar",
                            "bench:latest"], check=True)
        if p:
            podman_conf(penv["CONTAINERS_CONF"])
            subprocess.run(p + ["load", "-i", f"{work}/img.tar"], check=True, env=penv,
                           stdout=subprocess.DEVNULL)
        if shutil.which("dockerd"):
            docker = Dockerd(work, "/coracle-bench-engine-docker")
            subprocess.run(docker.argv("load", "--quiet", "-i", f"{work}/img.tar"), check=True,
                           stdout=subprocess.DEVNULL)
        true = ["run", "--rm", "--network", "none", "bench", "true"]
        cases = [("coracle run --rm", c + true, None)]
        if p:
            cases.append(("podman run --rm", p + true, penv))
        if docker:
            cases.append(("docker run --rm", docker.argv(*true), None))
        # One of each first: caches, the first network setup.
        for _, argv, env in cases:
            wall(argv, env)
        rows = {"coracle run --rm": [], "podman run --rm": [], "docker run --rm": []}
        for i in range(a.runs):
            # Interleaved, each round starting with the next one (no fixed order bias).
            k = i % len(cases)
            for name, argv, env in cases[k:] + cases[:k]:
                rows[name].append(wall(argv, env))
        # The monitor of a running container.
        cid = subprocess.run(c + ["run", "-d", "--network", "none", "bench", "sleep", "1000"],
                             check=True, capture_output=True, text=True).stdout.strip()
        mons = monitor_pids(root)
        started_rss = [rss_kib(m, "VmRSS") for m in mons]
        # The relay drops its mapped file pages after a second without output: poll for that
        # (up to 5 s), then read the quiet size.
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and any(rss_kib(m, "VmRSS") > 1024 for m in mons):
            time.sleep(0.1)
        mon = {"VmRSS_kib": [rss_kib(m, "VmRSS") for m in mons],
               "RssAnon_kib": [rss_kib(m, "RssAnon") for m in mons],
               "RssFile_kib": [rss_kib(m, "RssFile") for m in mons],
               "VmRSS_at_start_kib": started_rss}
        subprocess.run(c + ["rm", "-f", cid], check=True, stdout=subprocess.DEVNULL)
        # A burst: N detached containers, then all removed.
        t0 = time.perf_counter()
        ids = [subprocess.run(c + ["run", "-d", "--network", "none", "bench", "sleep", "1000"],
                              check=True, capture_output=True, text=True).stdout.strip()
               for _ in range(a.burst)]
        started = time.perf_counter() - t0
        t0 = time.perf_counter()
        subprocess.run(c + ["rm", "-f"] + ids, check=True, stdout=subprocess.DEVNULL)
        removed = time.perf_counter() - t0
        left = subprocess.run(c + ["ps", "-a", "-q"], check=True, capture_output=True,
                              text=True).stdout.split()
        def median_of(name):
            return statistics.median(rows[name]) if rows[name] else None
        base, dbase = median_of("podman run --rm"), median_of("docker run --rm")
        print("| command | n | median | p90 | ratio to podman | ratio to docker |")
        print("|---|---|---|---|---|---|")
        for name, xs in rows.items():
            if not xs:
                print(f"| {name} | 0 | ({name.split()[0]} not installed) | | | |")
                continue
            med = statistics.median(xs)
            p90 = sorted(xs)[int(0.9 * (len(xs) - 1))]
            ratio = f"×{med / base:.2f}" if base else "-"
            dratio = f"×{med / dbase:.2f}" if dbase else "-"
            result[name] = {"median_ms": med * 1000, "p90_ms": p90 * 1000}
            print(f"| {name} | {len(xs)} | {med * 1000:.1f} ms | {p90 * 1000:.1f} ms | {ratio} "
                  f"| {dratio} |")
        print(f"monitor of a quiet running container: VmRSS {mon['VmRSS_kib']} KiB "
              f"(RssAnon {mon['RssAnon_kib']}, RssFile {mon['RssFile_kib']}; target 1024); "
              f"right after start {mon['VmRSS_at_start_kib']} KiB")
        print(f"{a.burst} detached containers: started in {started:.2f} s, removed in "
              f"{removed:.2f} s, left afterwards: {len(left)}")
        result.update(monitor=mon, burst={"n": a.burst, "start_s": started, "rm_s": removed,
                                          "left": len(left)})
        if a.json:
            with open(a.json, "w") as f:
                json.dump(result, f, indent=1)
    finally:
        if docker:
            docker.stop()
        ids = subprocess.run(c + ["ps", "-a", "-q"], capture_output=True, text=True).stdout.split()
        if ids:
            subprocess.run(c + ["rm", "-f"] + ids, stdout=subprocess.DEVNULL)
        if p:
            subprocess.run(p + ["rm", "-a", "-f"], env=penv, stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
            subprocess.run(p + ["system", "reset", "-f"], env=penv, stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
        subprocess.run(["umount", "-R", "-q", f"{work}/podman"], stderr=subprocess.DEVNULL)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
