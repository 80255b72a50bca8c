#!/usr/bin/env bash
# Benchmark coracle-runtime, crun and runc side by side, in one run, on one busybox bundle.
# All three run inside one private mount namespace where the cgroup2 mount's cgroup.controllers
# is hidden (crun 1.8 refuses hybrid cgroups otherwise). Needs root, runc, crun, busybox, python3.
#
# Usage: bench/run.sh [--warm N] [--cold N] [--bursts N] [--concurrency N] [--idle SECONDS]
#                     [--json FILE]
# CORACLE=/path/to/coracle-runtime picks the binary (default: on PATH, else the release build);
# it is left out, with a note, if it is missing or cannot run the bundle.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
case "${1:-}" in -h|--help) sed -n '2,10p' "$0"; exit 0 ;; esac
[ "$(id -u)" -eq 0 ] || { echo "bench/run.sh: run as root" >&2; exit 1; }

if [ "${BENCH_IN_NS:-}" != 1 ]; then
  exec env BENCH_IN_NS=1 unshare --mount --propagation private "$0" "$@"
fi

# Now in the private mount namespace: crun 1.8 refuses a hybrid host whose cgroup2 mount lists
# controllers, so hide that list (an empty file over cgroup.controllers). The hierarchy itself stays
# usable: every runtime sees the same real cgroups.
work=$(mktemp -d /tmp/coracle-bench.XXXXXX)
trap 'rm -rf "$work"' EXIT
if [ "$(stat -f -c %T /sys/fs/cgroup/unified 2>/dev/null)" = cgroup2fs ]; then
  : >"$work/no-controllers"
  mount --bind "$work/no-controllers" /sys/fs/cgroup/unified/cgroup.controllers
fi
"$here/../scripts/make-bundle.sh" "$work/bundle" /bin/true
# The same bundle with a Docker-like default seccomp profile (bench/seccomp_profile.py).
python3 "$here/seccomp_profile.py" --bundle "$work/bundle" "$work/bundle-seccomp"

runtimes=()
notes=()
if cc -O2 -static -o "$work/maxrss" "$here/maxrss.c" 2>/dev/null; then
  runtimes+=(--maxrss "$work/maxrss")
else
  notes+=(--note "no peak RSS: cannot build bench/maxrss.c (apt-get install build-essential)")
fi
coracle=${CORACLE:-$(command -v coracle-runtime || true)}
for c in "$coracle" "$here/../target/x86_64-unknown-linux-gnu/release/coracle-runtime" \
         "$here/../target/release/coracle-runtime"; do
  if [ -n "$c" ] && [ -x "$c" ]; then coracle=$c; break; else coracle=; fi
done
if [ -n "$coracle" ]; then
  runtimes+=(--runtime "coracle-runtime=$coracle")
else
  notes+=(--note "coracle-runtime left out: no binary (build it with scripts/setup.sh or set CORACLE)")
fi
for r in crun runc; do
  if command -v "$r" >/dev/null; then runtimes+=(--runtime "$r=$(command -v "$r")")
  else notes+=(--note "$r left out: not installed"); fi
done

cd "$here/.."
python3 "$here/bench.py" --bundle "$work/bundle" --seccomp-bundle "$work/bundle-seccomp" --work "$work" \
  "${runtimes[@]}" "${notes[@]+"${notes[@]}"}" "$@"
