#!/usr/bin/env bash
# `ctr run --rm IMAGE ID true` end to end through containerd 1.6 and its runc v2 shim, with
# coracle-runtime, crun and runc as `--runc-binary`, side by side (interleaved rounds) on one
# private containerd (own root, state and sockets in a temp dir, stopped by PID at exit).
# Everything runs in a private mount namespace where the cgroup2 mount's cgroup.controllers is
# hidden, as in bench/run.sh (crun 1.8 refuses hybrid cgroups otherwise).
# Needs root, containerd, umoci, skopeo, busybox-static, python3.
#
# Usage: bench/containerd.sh [--rounds N]       (default 30)
# CORACLE=/path/to/coracle-runtime picks the binary (default: the release build, else on PATH).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
case "${1:-}" in -h|--help) sed -n '2,11p' "$0"; exit 0 ;; esac
[ "$(id -u)" -eq 0 ] || { echo "bench/containerd.sh: run as root" >&2; exit 1; }
for tool in containerd ctr umoci skopeo; do
  command -v "$tool" >/dev/null ||
    { echo "bench/containerd.sh: $tool not found (apt-get install containerd umoci skopeo)" >&2; exit 1; }
done

if [ "${BENCH_IN_NS:-}" != 1 ]; then
  exec env BENCH_IN_NS=1 unshare --mount --propagation private "$0" "$@"
fi

work=$(mktemp -d /tmp/coracle-bench-ctrd.XXXXXX)
daemon=
cleanup() {
  if [ -n "$daemon" ]; then kill "$daemon" 2>/dev/null || true; wait "$daemon" 2>/dev/null || true; fi
  # containerd's rootfs mounts live in this private namespace; detach them before removing.
  grep -o " $work/[^ ]*" /proc/self/mountinfo | sort -r | xargs -r -n1 umount -l 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
if [ "$(stat -f -c %T /sys/fs/cgroup/unified 2>/dev/null)" = cgroup2fs ]; then
  : >"$work/no-controllers"
  mount --bind "$work/no-controllers" /sys/fs/cgroup/unified/cgroup.controllers
fi

# The image, offline: busybox rootfs -> OCI layout (umoci) -> docker archive (skopeo).
"$here/../scripts/make-bundle.sh" "$work/bundle" true >/dev/null
umoci init --layout "$work/oci"
umoci new --image "$work/oci:busybox"
umoci unpack --image "$work/oci:busybox" "$work/unpacked" >/dev/null
cp -a "$work/bundle/rootfs/." "$work/unpacked/rootfs/"
umoci repack --image "$work/oci:busybox" "$work/unpacked"
umoci config --image "$work/oci:busybox" --config.cmd true
skopeo copy -q "oci:$work/oci:busybox" "docker-archive:$work/busybox.tar:coracle.bench/busybox:latest"

cat >"$work/config.toml" <<TOML
version = 2
root = "$work/root"
state = "$work/state"
disabled_plugins = ["io.containerd.grpc.v1.cri", "io.containerd.internal.v1.opt", "io.containerd.internal.v1.tracing", "io.containerd.tracing.processor.v1.otlp"]
[grpc]
  address = "$work/containerd.sock"
[ttrpc]
  address = "$work/containerd.sock.ttrpc"
TOML
containerd --config "$work/config.toml" >"$work/containerd.log" 2>&1 &
daemon=$!
for _ in $(seq 100); do
  ctr --address "$work/containerd.sock" version >/dev/null 2>&1 && break
  sleep 0.1
done
ctr --address "$work/containerd.sock" --namespace bench image import "$work/busybox.tar" >/dev/null

runtimes=()
coracle=${CORACLE:-}
for c in "$coracle" "$here/../target/x86_64-unknown-linux-gnu/release/coracle-runtime" \
         "$here/../target/release/coracle-runtime" "$(command -v coracle-runtime || true)"; do
  if [ -n "$c" ] && [ -x "$c" ]; then coracle=$c; break; fi
done
[ -x "${coracle:-}" ] && runtimes+=("coracle-runtime=$coracle")
for r in crun runc; do command -v "$r" >/dev/null && runtimes+=("$r=$(command -v "$r")"); done

python3 "$here/containerd.py" --socket "$work/containerd.sock" --work "$work" \
  --image coracle.bench/busybox:latest "${runtimes[@]}" "$@"
