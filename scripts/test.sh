#!/usr/bin/env bash
# Format check, lints and every test of the workspace. Run as root: the integration tests
# start real containers. RUST_TEST_THREADS (default 4) bounds parallel tests on small machines.
set -euo pipefail
cd "$(dirname "$0")/.."

[ "$(id -u)" -eq 0 ] || { echo "test.sh: run as root (the tests start containers)" >&2; exit 1; }
command -v cargo >/dev/null || export PATH="$HOME/.cargo/bin:$PATH"

cargo fmt --all --check
cargo clippy --workspace --all-targets -- -D warnings
RUST_TEST_THREADS=${RUST_TEST_THREADS:-4} cargo test --workspace --no-fail-fast
