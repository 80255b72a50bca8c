#!/usr/bin/env python3
"""Time OCI runtimes side by side on one bundle. Started by bench/run.sh, which makes the bundle
and the private mount namespace; see `bench/run.sh --help`."""

import argparse
import ctypes
import json
import math
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import time

PR_SET_CHILD_SUBREAPER = 36


class Failed(Exception):
    pass


INTERRUPTED = []


def interrupted(signum, _frame):
    INTERRUPTED.append(signum)
    raise KeyboardInterrupt


class Runtime:
    def __init__(self, name, path, work):
        self.name, self.path = name, path
        self.root = os.path.join(work, "root-" + name)
        self.errlog = os.path.join(work, "stderr-" + name)
        self.err = os.open(self.errlog, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o600)
        self.n = 0

    def argv(self, *args):
        return [self.path, "--root", self.root, *args]

    def new_id(self):
        self.n += 1
        return "bench-%d-%s-%d" % (os.getpid(), self.name, self.n)

    def spawn(self, *args, wrapper=()):
        argv = [*wrapper, *self.argv(*args)]
        devnull = os.open(os.devnull, os.O_RDWR)
        try:
            actions = [(os.POSIX_SPAWN_DUP2, devnull, 0), (os.POSIX_SPAWN_DUP2, devnull, 1),
                       (os.POSIX_SPAWN_DUP2, self.err, 2)]
            return os.posix_spawn(argv[0], argv, os.environ, file_actions=actions)
        finally:
            os.close(devnull)

    def wait(self, pid, what):
        _, status, usage = os.wait4(pid, 0)
        code = os.waitstatus_to_exitcode(status)
        if code != 0:
            os.lseek(self.err, 0, os.SEEK_SET)
            tail = os.read(self.err, 4096).decode(errors="replace").strip()
            raise Failed("%s %s: exit %d: %s" % (self.name, what, code, tail[-600:]))
        return usage

    def call(self, *args):
        return self.wait(self.spawn(*args), args[0])

    def fresh_errlog(self):
        os.ftruncate(self.err, 0)
        os.lseek(self.err, 0, os.SEEK_SET)

    def cleanup(self):
        """Delete every container left in this runtime's root, then the root."""
        for cid in sorted(os.listdir(self.root)) if os.path.isdir(self.root) else []:
            subprocess.run(self.argv("delete", "--force", cid), stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL, check=False)
        shutil.rmtree(self.root, ignore_errors=True)


def reap():
    """Collect orphans handed to us as child subreaper (container inits, zombies)."""
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def remove_leftover_cgroups(prefix):
    """A create that failed half-way can leave empty cgroups named after the container: rmdir them
    (up to 4 levels deep, children first). Empty cgroups only: rmdir fails on a busy one."""
    for hierarchy in os.listdir("/sys/fs/cgroup"):
        top = os.path.join("/sys/fs/cgroup", hierarchy)
        for path, dirs, _ in os.walk(top, topdown=False):
            if path[len(top):].count("/") <= 4 and os.path.basename(path).startswith(prefix):
                try:
                    os.rmdir(path)
                except OSError as e:
                    print("bench: cannot remove cgroup %s: %s" % (path, e), file=sys.stderr)


def wait_exit(pid):
    """Wait for a container init to exit. It is normally our child (we are a subreaper)."""
    try:
        os.waitpid(pid, 0)
        return
    except ChildProcessError:
        pass
    delay = 0.0002
    while True:
        try:
            with open("/proc/%d/stat" % pid) as f:
                if f.read().rsplit(")", 1)[1].split()[0] in ("Z", "X"):
                    return
        except FileNotFoundError:
            return
        time.sleep(delay)
        delay = min(delay * 2, 0.005)


# Each operation returns (seconds, maxrss in KiB or None).
def op_run(rt, bundle, _n):
    cid = rt.new_id()
    t0 = time.perf_counter()
    rt.call("run", "--bundle", bundle, cid)
    return time.perf_counter() - t0, None


def op_rss(rt, bundle, helper):
    """Peak RSS of one `run`, measured by the tiny maxrss helper (see maxrss.c)."""
    cid = rt.new_id()
    out = rt.root + ".maxrss"
    rt.wait(rt.spawn("run", "--bundle", bundle, cid, wrapper=(helper, out)), "run (maxrss)")
    with open(out) as f:
        return 0.0, int(f.read())


def op_lifecycle(rt, bundle, _n):
    cid = rt.new_id()
    pidfile = os.path.join(rt.root + ".pid")
    t0 = time.perf_counter()
    rt.call("create", "--bundle", bundle, "--pid-file", pidfile, cid)
    with open(pidfile) as f:
        pid = int(f.read().strip())
    rt.call("start", cid)
    wait_exit(pid)
    rt.call("delete", cid)
    return time.perf_counter() - t0, None


def op_concurrent(rt, bundle, n):
    ids = [rt.new_id() for _ in range(n)]
    t0 = time.perf_counter()
    pids = [rt.spawn("run", "--bundle", bundle, cid) for cid in ids]
    for pid in pids:
        rt.wait(pid, "concurrent run")
    return time.perf_counter() - t0, None


def p90(xs):
    s = sorted(xs)
    return s[max(0, math.ceil(0.9 * len(s)) - 1)]


def binary_info(path):
    real = os.path.realpath(path)
    out = subprocess.run(["ldd", real], capture_output=True, text=True, check=False)
    text = out.stdout + out.stderr
    static = "not a dynamic executable" in text or "statically linked" in text
    libs = 0 if static else sum(1 for line in text.splitlines()
                                if ("=>" in line or line.strip().startswith("/")) and "ld-linux" not in line)
    version = subprocess.run([path, "--version"], capture_output=True, text=True, check=False)
    first = (version.stdout.strip().splitlines() or ["?"])[0]
    return {"path": real, "size_bytes": os.path.getsize(real), "static": static,
            "shared_libraries": libs, "version": first}


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--bundle", required=True)
    ap.add_argument("--seccomp-bundle", help="the bundle with a Docker-like seccomp profile")
    ap.add_argument("--work", required=True)
    ap.add_argument("--runtime", action="append", default=[], metavar="NAME=PATH")
    ap.add_argument("--warm", type=int, default=50, help="iterations per runtime, warm")
    ap.add_argument("--cold", type=int, default=30, help="iterations per runtime, cold")
    ap.add_argument("--bursts", type=int, default=5, help="concurrent bursts per runtime and regime")
    ap.add_argument("--concurrency", type=int, default=20)
    ap.add_argument("--rss", type=int, default=10, help="`run`s measured for peak RSS")
    ap.add_argument("--idle", type=float, default=0.3, help="seconds of idle before a cold start")
    ap.add_argument("--json", default="bench/results/latest.json")
    ap.add_argument("--note", action="append", default=[])
    ap.add_argument("--maxrss", help="the compiled maxrss helper (no RSS row without it)")
    a = ap.parse_args()

    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    signal.signal(signal.SIGINT, interrupted)
    signal.signal(signal.SIGTERM, interrupted)

    notes = list(a.note)
    rts = []
    try:
        for spec in a.runtime:
            name, path = spec.split("=", 1)
            rt = Runtime(name, path, a.work)
            try:  # preflight: a runtime that cannot run the bundle is left out, with a note
                op_run(rt, a.bundle, 1)
                rts.append(rt)
            except Failed as e:
                notes.append("%s left out: %s" % (name, e))
                rt.cleanup()
        if not rts:
            raise Failed("no runtime could run the bundle: " + "; ".join(notes))
        if a.seccomp_bundle:  # every runtime must run it, or the row is left out
            for rt in rts:
                try:
                    op_run(rt, a.seccomp_bundle, 1)
                except Failed as e:
                    notes.append("seccomp rows left out: %s" % e)
                    a.seccomp_bundle = None
                    break
        results = measure(rts, a)
    finally:
        for rt in rts:
            rt.cleanup()
        reap()
        remove_leftover_cgroups("bench-%d-" % os.getpid())

    info = {rt.name: binary_info(rt.path) for rt in rts}
    report(results, info, notes, a)


def measure(rts, a):
    b = a.bundle
    ops = [("run /bin/true", op_run, a.warm, a.cold, 1, b),
           ("peak RSS of `run`", op_rss, a.rss if a.maxrss else 0, 0, a.maxrss, b),
           ("create+start+wait+delete", op_lifecycle, a.warm, a.cold, 1, b),
           ("%d concurrent run" % a.concurrency, op_concurrent, a.bursts, a.bursts, a.concurrency, b)]
    if a.seccomp_bundle:
        ops.insert(1, ("run /bin/true, Docker-like seccomp", op_run, a.warm, a.cold, 1,
                       a.seccomp_bundle))
    results = []
    for label, op, n_warm, n_cold, arg, bundle in ops:
        for regime, n in (("warm", n_warm), ("cold", n_cold)):
            if n == 0:
                continue
            samples = {rt.name: [] for rt in rts}
            rss = {rt.name: [] for rt in rts}
            if regime == "warm" and op is not op_rss:  # untimed: fill the page cache
                for rt in rts:
                    op(rt, bundle, arg)
            for i in range(n):
                # rotate the order so no runtime always follows the same one
                for rt in rts[i % len(rts):] + rts[:i % len(rts)]:
                    rt.fresh_errlog()
                    reap()
                    if regime == "cold":
                        time.sleep(a.idle)
                    secs, maxrss = op(rt, bundle, arg)
                    samples[rt.name].append(secs * 1000)
                    if maxrss is not None:
                        rss[rt.name].append(maxrss)
            for rt in rts:
                r = {"measure": label, "regime": regime, "runtime": rt.name, "n": n}
                if rss[rt.name]:
                    mb = [k / 1024 for k in rss[rt.name]]
                    r.update(median_mb=statistics.median(mb), p90_mb=p90(mb), samples_mb=mb)
                else:
                    ms = samples[rt.name]
                    r.update(median_ms=statistics.median(ms), p90_ms=p90(ms), samples_ms=ms)
                results.append(r)
            print("  done: %s (%s)" % (label, regime), file=sys.stderr, flush=True)
    return results


def report(results, info, notes, a):
    names = list(info)
    base = "crun" if "crun" in names else names[0]
    rows, seen = [], set()
    for r in results:
        key = (r["measure"], r["regime"])
        if key not in seen:
            seen.add(key)
            rows.append(key)

    def cell(r, b):
        unit = "ms" if "median_ms" in r else "MB"
        med, hi, bmed = r["median_" + unit.lower()], r["p90_" + unit.lower()], b["median_" + unit.lower()]
        return "%.1f %s (p90 %.1f) ×%.2f" % (med, unit, hi, med / bmed)

    out = ["| measure | regime | n | " + " | ".join(names) + " |",
           "|---|---|---|" + "---|" * len(names)]
    for measure, regime in rows:
        by = {r["runtime"]: r for r in results if (r["measure"], r["regime"]) == (measure, regime)}
        out.append("| %s | %s | %d | %s |" % (measure, regime, by[base]["n"],
                                               " | ".join(cell(by[n], by[base]) for n in names)))
    out.append("| binary size | | | " + " | ".join(
        "%.2f MB" % (info[n]["size_bytes"] / 1e6) for n in names) + " |")
    out.append("| static | | | " + " | ".join(
        "yes" if info[n]["static"] else "no (%d shared libraries)" % info[n]["shared_libraries"]
        for n in names) + " |")
    print("\nMedian (p90) and ratio of medians to %s; warm = back to back, cold = %.0f ms idle "
          "before each start. %d CPUs, kernel %s.\n" % (base, a.idle * 1000, os.cpu_count(),
                                                         platform.release()))
    print("\n".join(out))
    print("\nVersions: " + "; ".join("%s: %s" % (n, info[n]["version"]) for n in names))
    if a.maxrss:
        print("Peak RSS is wait4's ru_maxrss of the `run` process: the largest of its own peak and "
              "those of the children it reaped (runtime helpers, the container init before and "
              "after its exec: busybox alone is ~1.3 MB).")
    for note in notes:
        print("Note: " + note)

    doc = {"date": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "kernel": platform.release(),
           "cpus": os.cpu_count(), "idle_s": a.idle, "baseline": base, "runtimes": info,
           "notes": notes, "results": results}
    os.makedirs(os.path.dirname(os.path.abspath(a.json)), exist_ok=True)
    with open(a.json, "w") as f:
        json.dump(doc, f, indent=2)
    print("JSON: " + os.path.abspath(a.json))


if __name__ == "__main__":
    try:
        main()
    except (Failed, KeyboardInterrupt) as e:
        if INTERRUPTED:  # the runtimes got the signal too: their failures are not news
            sys.exit("bench: interrupted; containers deleted, temporary files removed")
        sys.exit("bench: %s" % e)
