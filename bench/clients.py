#!/usr/bin/env python3
"""`podman run --rm` and `docker run --rm` of /bin/true with each OCI runtime, side by side.
Started by bench/clients.sh (private mount namespace, the image layout in WORK/oci); see
`bench/clients.sh --help`."""

import argparse
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import time

IMAGE = "localhost/coracle-bench:latest"
CGROUP_PARENT = "/coracle-bench-clients"
# Machine-wide directories the clients make whatever their roots; removed at the end when they
# did not exist before (leaves before parents).
MACHINE_DIRS = ["/run/containers/networks", "/run/containers", "/var/lib/containers/cache",
                "/var/lib/containers", "/run/docker/plugins", "/run/docker"]


def run(argv, **kw):
    out = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, text=True, **kw)
    if out.returncode != 0:
        raise SystemExit("%s failed (%d): %s" % (" ".join(argv), out.returncode,
                                                 out.stderr.strip()))
    return out.stdout


class Podman:
    def __init__(self, work, runtimes):
        self.dir = os.path.join(work, "podman")
        for d in ("root", "runroot", "tmp", "networks"):
            os.makedirs(os.path.join(self.dir, d))
        names = ", ".join('"%s"' % os.path.basename(p) for p in runtimes.values())
        self.conf = os.path.join(self.dir, "containers.conf")
        with open(self.conf, "w") as f:
            f.write("""[containers]
default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]
netns = "none"
[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
events_logfile_path = "{d}/events.log"
tmp_dir = "{d}/tmp"
lock_type = "file"
runtime_supports_json = [{names}]
[network]
network_config_dir = "{d}/networks"
""".format(d=self.dir, names=names))
        layout = "oci:%s:latest" % os.path.join(work, "oci")
        self.cmd(None, "pull", "--quiet", layout)
        self.cmd(None, "tag", layout.replace("oci:", "localhost", 1), IMAGE)

    def argv(self, runtime, *args):
        base = ["podman", "--root", os.path.join(self.dir, "root"),
                "--runroot", os.path.join(self.dir, "runroot"), "--storage-driver", "overlay"]
        if runtime:
            base += ["--runtime", runtime]
        return base + list(args)

    def cmd(self, runtime, *args):
        return run(self.argv(runtime, *args), env=dict(os.environ, CONTAINERS_CONF=self.conf))

    def true_argv(self, runtime):
        return self.argv(runtime, "run", "--rm", "--cgroup-parent", CGROUP_PARENT, IMAGE, "true")

    def env(self):
        return dict(os.environ, CONTAINERS_CONF=self.conf)


class Docker:
    def __init__(self, work, runtimes):
        self.dir = os.path.join(work, "docker")
        os.makedirs(self.dir)
        with open(os.path.join(self.dir, "daemon.json"), "w") as f:
            json.dump({"deprecated-key-path": os.path.join(self.dir, "key.json")}, f)
        self.sock = os.path.join(self.dir, "d.sock")
        argv = ["dockerd", "--config-file", os.path.join(self.dir, "daemon.json"),
                "--data-root", os.path.join(self.dir, "data"),
                "--exec-root", os.path.join(self.dir, "exec"),
                "--pidfile", os.path.join(work, "dockerd.pid"), "-H", "unix://" + self.sock,
                "--cgroup-parent", CGROUP_PARENT + "/docker", "--bridge", "none",
                "--iptables=false", "--ip-forward=false", "--ip-masq=false"]
        # "runc" is a reserved runtime name in dockerd: every runtime gets a "bench-" name.
        self.names = {}
        for name, path in runtimes.items():
            self.names[name] = "bench-" + name
            argv += ["--add-runtime", "bench-%s=%s" % (name, path)]
        log = open(os.path.join(self.dir, "dockerd.log"), "w")
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=log)
        deadline = time.monotonic() + 60
        while subprocess.run(self.argv("version"), capture_output=True).returncode != 0:
            if time.monotonic() > deadline or self.proc.poll() is not None:
                raise SystemExit("dockerd did not come up; see its log")
            time.sleep(0.2)
        self.load(os.path.join(work, "oci"))

    def argv(self, *args):
        client = "/usr/bin/docker" if os.path.exists("/usr/bin/docker") else "docker"
        return [client, "-H", "unix://" + self.sock, *args]

    def load(self, layout):
        """`docker load` of the OCI layout's blobs plus the manifest.json of `docker save`."""
        def blob(d):
            return "blobs/" + d.replace(":", "/", 1)
        with open(os.path.join(layout, "index.json")) as f:
            index = json.load(f)
        with open(os.path.join(layout, blob(index["manifests"][0]["digest"]))) as f:
            manifest = json.load(f)
        with open(os.path.join(layout, "manifest.json"), "w") as f:
            json.dump([{"Config": blob(manifest["config"]["digest"]), "RepoTags": [IMAGE],
                        "Layers": [blob(l["digest"]) for l in manifest["layers"]]}], f)
        tar = os.path.join(self.dir, "image.tar")
        run(["tar", "-C", layout, "-cf", tar, "manifest.json", "blobs"])
        run(self.argv("load", "--quiet", "--input", tar))

    def true_argv(self, runtime_name):
        return self.argv("run", "--rm", "--network", "none", "--runtime",
                         self.names[runtime_name], IMAGE, "true")

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def timed(argv, env=None):
    t = time.perf_counter()
    out = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, env=env)
    ms = (time.perf_counter() - t) * 1000
    if out.returncode != 0:
        raise SystemExit("%s failed: %s" % (" ".join(argv), out.stderr.decode().strip()))
    return ms


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--work", required=True)
    ap.add_argument("--runtime", action="append", required=True, help="NAME=PATH")
    ap.add_argument("--runs", type=int, default=15)
    ap.add_argument("--json")
    a = ap.parse_args()
    runtimes = dict(r.split("=", 1) for r in a.runtime)
    absent = [d for d in MACHINE_DIRS if not os.path.exists(d)]
    podman = docker = None
    times = {(c, r): [] for c in ("podman", "docker") for r in runtimes}
    try:
        podman = Podman(a.work, runtimes)
        docker = Docker(a.work, runtimes)
        cases = []
        for name, path in runtimes.items():
            cases.append(("podman", name, podman.true_argv(path), podman.env()))
            cases.append(("docker", name, docker.true_argv(name), None))
        for _, _, argv, env in cases:  # warm-up: page cache, first-use setup
            timed(argv, env)
        for i in range(a.runs):
            k = i % len(cases)
            for client, name, argv, env in cases[k:] + cases[:k]:
                times[(client, name)].append(timed(argv, env))
    finally:
        if docker:
            docker.stop()
        for d in absent:
            if any(o.startswith(d + "/") for o in absent):
                try:
                    os.rmdir(d)
                except OSError:
                    pass
            else:
                shutil.rmtree(d, ignore_errors=True)
    report(times, runtimes, a)


def report(times, runtimes, a):
    print("%d runs each, interleaved; milliseconds end to end (client + runtime)" % a.runs)
    print("%-8s %-16s %8s %8s %8s  %s" % ("client", "runtime", "median", "min", "max",
                                          "coracle-runtime's median / this median"))
    result = {}
    for client in ("podman", "docker"):
        base = statistics.median(times[(client, "coracle-runtime")]) \
            if "coracle-runtime" in runtimes else None
        for name in runtimes:
            t = times[(client, name)]
            med = statistics.median(t)
            ratio = "%.2f" % (base / med) if base else "-"
            print("%-8s %-16s %8.1f %8.1f %8.1f  %s" % (client, name, med, min(t), max(t), ratio))
            result["%s/%s" % (client, name)] = {"median_ms": med, "min_ms": min(t),
                                                "max_ms": max(t), "runs": t}
    if a.json:
        with open(a.json, "w") as f:
            json.dump(result, f, indent=1)


if __name__ == "__main__":
    sys.exit(main())
