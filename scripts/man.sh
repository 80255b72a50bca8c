#!/usr/bin/env bash
# Write coracle's man pages (coracle.1, coracle-run.1, … one per command), generated from the
# clap definition by bins/coracle/examples/man.rs (a dev-only generator: not in the binary).
# Usage: scripts/man.sh OUTDIR      e.g. scripts/man.sh /usr/local/share/man/man1 && mandb -q
set -euo pipefail
[ $# -eq 1 ] || { echo "usage: scripts/man.sh OUTDIR" >&2; exit 2; }
out=$(realpath -m "$1")
cd "$(dirname "$0")/.."
command -v cargo >/dev/null || export PATH="$HOME/.cargo/bin:$PATH"
cargo run -q -p coracle --example man -- "$out"
echo "man.sh: $(ls "$out"/coracle*.1 | wc -l) pages in $out"
