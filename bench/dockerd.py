"""A private dockerd for a benchmark: its own config file, data and exec roots (its managed
containerd lives there), pid file, socket and cgroup parent; no bridge, no iptables, no
ip_forward change. Stopped by its pid (SIGTERM, SIGKILL after 30 s); then whatever it left
under its directory is unmounted, its cgroup parent removed, and the machine-wide directories
dockerd makes whatever its roots are removed when they did not exist before."""

import json
import os
import shutil
import signal
import subprocess
import time

MACHINE_DIRS = ["/run/docker/plugins", "/run/docker"]


class Dockerd:
    def __init__(self, work, cgroup_parent):
        self.dir = os.path.join(work, "docker")
        os.makedirs(self.dir)
        self.cgroup_parent = cgroup_parent
        self.absent = [d for d in MACHINE_DIRS if not os.path.exists(d)]
        with open(os.path.join(self.dir, "daemon.json"), "w") as f:
            json.dump({"deprecated-key-path": os.path.join(self.dir, "key.json")}, f)
        self.sock = os.path.join(self.dir, "d.sock")
        argv = ["dockerd", "--config-file", os.path.join(self.dir, "daemon.json"),
                "--data-root", os.path.join(self.dir, "data"),
                "--exec-root", os.path.join(self.dir, "exec"),
                "--pidfile", os.path.join(self.dir, "dockerd.pid"), "-H", "unix://" + self.sock,
                "--cgroup-parent", cgroup_parent, "--bridge", "none",
                "--iptables=false", "--ip-forward=false", "--ip-masq=false"]
        log = open(os.path.join(self.dir, "dockerd.log"), "w")
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=log)
        deadline = time.monotonic() + 60
        while subprocess.run(self.argv("version"), capture_output=True).returncode != 0:
            if time.monotonic() > deadline or self.proc.poll() is not None:
                self.stop()
                raise SystemExit("dockerd did not come up; see %s/dockerd.log" % self.dir)
            time.sleep(0.2)

    def argv(self, *args):
        client = "/usr/bin/docker" if os.path.exists("/usr/bin/docker") else "docker"
        return [client, "-H", "unix://" + self.sock, *args]

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        # containerd and its shims follow dockerd out; wait for them before the cleanup.
        deadline = time.monotonic() + 20
        while self._processes() and time.monotonic() < deadline:
            time.sleep(0.2)
        with open("/proc/self/mountinfo") as f:
            points = [l.split()[4] for l in f if l.split()[4].startswith(self.dir + "/")]
        for p in sorted(points, key=len, reverse=True):
            subprocess.run(["umount", "-l", p], stderr=subprocess.DEVNULL)
        for h in os.listdir("/sys/fs/cgroup"):
            top = os.path.join("/sys/fs/cgroup", h, self.cgroup_parent.strip("/"))
            for d, _, _ in sorted(os.walk(top), key=lambda w: len(w[0]), reverse=True):
                try:
                    os.rmdir(d)
                except OSError:
                    pass
        for d in self.absent:
            if any(o.startswith(d + "/") for o in self.absent):
                try:
                    os.rmdir(d)
                except OSError:
                    pass
            else:
                shutil.rmtree(d, ignore_errors=True)

    def _processes(self):
        found = []
        for p in os.listdir("/proc"):
            if not p.isdigit():
                continue
            try:
                with open("/proc/%s/cmdline" % p, "rb") as f:
                    if self.dir.encode() in f.read():
                        found.append(int(p))
            except OSError:
                pass
        return found
