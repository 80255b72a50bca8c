#!/usr/bin/env bash
# Format check, lints, every test of the workspace, then the cgroup v2 tests under QEMU
# (tests/v2/run.sh) and the systemd cgroup driver tests with systemd as PID 1 under QEMU
# (tests/v2/run.sh --systemd), and the AppArmor and SELinux label tests in the same guest
# (tests/v2/run.sh --lsm, --selinux), and the engine's core checks with the built-in runtime, runc
# and crun on cgroup v2 (tests/v2/run.sh --engine). Run as root: the integration tests start real containers.
# RUST_TEST_THREADS (default 4) bounds parallel tests on small machines.
set -euo pipefail
cd "$(dirname "$0")/.."

[ "$(id -u)" -eq 0 ] || { echo "test.sh: run as root (the tests start containers)" >&2; exit 1; }
command -v cargo >/dev/null || export PATH="$HOME/.cargo/bin:$PATH"

cargo fmt --all --check
cargo clippy --workspace --all-targets -- -D warnings
status=0
# tests/containerd.rs and tests/cri.rs drive a real containerd; without it they pass as skipped.
command -v containerd >/dev/null ||
  echo "test.sh: SKIPPED the containerd and CRI tests: containerd is not installed" \
    "(apt-get install containerd umoci skopeo python3-grpcio)" >&2
RUST_TEST_THREADS=${RUST_TEST_THREADS:-4} cargo test --workspace --no-fail-fast || status=$?

# This host's cgroups are hybrid; the v2 tests boot a v2 kernel. CI installs QEMU, so CI runs them.
if command -v qemu-system-x86_64 >/dev/null; then
  tests/v2/run.sh || status=1
  tests/v2/run.sh --systemd || status=1
  tests/v2/run.sh --lsm || status=1
  tests/v2/run.sh --selinux || status=1
  tests/v2/run.sh --engine || status=1
else
  echo "test.sh: SKIPPED the cgroup v2, systemd and LSM tests: qemu-system-x86_64 is not installed" \
    "(apt-get install qemu-system-x86 cpio)" >&2
fi
exit "$status"
