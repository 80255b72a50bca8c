#!/usr/bin/env python3
"""Time `ctr run --rm --runc-binary R IMAGE ID true` for each runtime R, interleaved round by
round (the order rotates, so no runtime always runs right after another). Run by
bench/containerd.sh, which starts the private containerd and imports the image."""
import argparse
import statistics
import subprocess
import sys
import time


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--socket", required=True)
    p.add_argument("--work", required=True)
    p.add_argument("--image", required=True)
    p.add_argument("--rounds", type=int, default=30)
    p.add_argument("runtimes", nargs="+", help="NAME=/path/to/binary")
    a = p.parse_args()
    runtimes = [r.split("=", 1) for r in a.runtimes]
    times = {name: [] for name, _ in runtimes}
    for rnd in range(a.rounds + 1):  # round 0 warms the page cache and the shim binary
        order = runtimes[rnd % len(runtimes):] + runtimes[:rnd % len(runtimes)]
        for name, binary in order:
            cmd = ["ctr", "--address", a.socket, "--namespace", "bench", "run", "--rm",
                   "--runc-binary", binary, "--runc-root", f"{a.work}/runtime-{name}",
                   a.image, f"{name}-{rnd}", "true"]
            t0 = time.monotonic()
            r = subprocess.run(cmd, capture_output=True, text=True)
            elapsed = time.monotonic() - t0
            if r.returncode != 0:
                sys.exit(f"{name}: ctr run failed ({r.returncode}): {r.stderr.strip()}")
            if rnd > 0:
                times[name].append(elapsed * 1000)
    base = statistics.median(times[runtimes[0][0]])
    print(f"ctr run --rm IMAGE true, containerd 1.6 runc v2 shim, {a.rounds} interleaved rounds")
    print(f"{'runtime':<17}{'median ms':>10}{'min ms':>9}{'max ms':>9}  ratio to {runtimes[0][0]}")
    for name, _ in runtimes:
        t = times[name]
        m = statistics.median(t)
        print(f"{name:<17}{m:>10.1f}{min(t):>9.1f}{max(t):>9.1f}  {m / base:.2f}")


if __name__ == "__main__":
    main()
