#!/usr/bin/env bash
# End-to-end client benchmark: `podman run --rm IMG true` and `docker run --rm IMG true` with
# coracle-runtime, crun and runc as the OCI runtime, side by side (interleaved rounds), medians
# and ratios. The client's own work dominates these figures; the ratios show what the runtime adds.
#
# Usage: bench/clients.sh [--runs N] [--json FILE]
# CORACLE=/path/to/coracle-runtime picks the binary (default: the release build, else on PATH).
# Everything runs in a private mount namespace where the cgroup2 mount's cgroup.controllers is
# hidden (crun 1.8 refuses hybrid hosts otherwise), with a private Podman storage and a dockerd
# started here (own roots, socket, no bridge, no iptables) and stopped by its pid at the end.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
case "${1:-}" in -h|--help) sed -n '2,10p' "$0"; exit 0 ;; esac
[ "$(id -u)" -eq 0 ] || { echo "bench/clients.sh: run as root" >&2; exit 1; }
for t in podman dockerd umoci python3; do
  command -v "$t" >/dev/null || { echo "bench/clients.sh: $t is not installed" >&2; exit 1; }
done

if [ "${BENCH_IN_NS:-}" != 1 ]; then
  exec env BENCH_IN_NS=1 unshare --mount --propagation private "$0" "$@"
fi

# Lower case only: Podman names the pulled layout after its path.
work=/tmp/coracle-bench-clients-$$
mkdir "$work"
cleanup() {
  # clients.py stops dockerd itself; this is for an interrupted run.
  local dockerd_pid
  dockerd_pid=$(cat "$work/dockerd.pid" 2>/dev/null || true)
  if [ -n "$dockerd_pid" ]; then
    kill -TERM "$dockerd_pid" 2>/dev/null || true
    for _ in $(seq 150); do kill -0 "$dockerd_pid" 2>/dev/null || break; sleep 0.2; done
  fi
  grep -o " $work[^ ]*" /proc/self/mountinfo | sort -r | xargs -r -n1 umount -l 2>/dev/null || true
  rm -rf "$work"
  for h in /sys/fs/cgroup/*/; do
    [ -d "$h/coracle-bench-clients" ] && find "$h/coracle-bench-clients" -depth -type d -exec rmdir {} + 2>/dev/null
  done
  true
}
trap cleanup EXIT
if [ "$(stat -f -c %T /sys/fs/cgroup/unified 2>/dev/null)" = cgroup2fs ]; then
  : >"$work/no-controllers"
  mount --bind "$work/no-controllers" /sys/fs/cgroup/unified/cgroup.controllers
fi

coracle=${CORACLE:-}
for c in "$coracle" "$here/../target/x86_64-unknown-linux-gnu/release/coracle-runtime" \
         "$here/../target/release/coracle-runtime" "$(command -v coracle-runtime || true)"; do
  if [ -n "$c" ] && [ -x "$c" ]; then coracle=$(readlink -f "$c"); break; fi
done
[ -n "$coracle" ] || { echo "no coracle-runtime binary: cargo build --release or set CORACLE" >&2; exit 1; }
runtimes=("coracle-runtime=$coracle")
for r in crun runc; do
  command -v "$r" >/dev/null && runtimes+=("$r=$(command -v "$r")")
done

# The image: the busybox bundle's rootfs as an OCI layout (umoci).
"$here/../scripts/make-bundle.sh" "$work/bundle" true >/dev/null
umoci init --layout "$work/oci"
umoci new --image "$work/oci:latest"
umoci insert --image "$work/oci:latest" "$work/bundle/rootfs" / >/dev/null

python3 "$here/clients.py" --work "$work" "${runtimes[@]/#/--runtime=}" "$@"
