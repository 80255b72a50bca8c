#!/usr/bin/env bash
# Run one demo container from a fresh busybox bundle and show what it sees.
# RUNTIME picks the runtime (default: coracle-runtime on PATH).
set -euo pipefail

runtime=${RUNTIME:-coracle-runtime}
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d /tmp/coracle-demo.XXXXXX)
id=coracle-demo-$$
cleanup() {
  "$runtime" --root "$work/state" delete --force "$id" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

"$here/make-bundle.sh" "$work/bundle" sh -c \
  'echo "--- ps"; ps; echo "--- hostname"; hostname; echo "--- ls /"; ls /; exit 7'

echo "\$ $runtime run --bundle $work/bundle $id"
set +e
"$runtime" --root "$work/state" run --bundle "$work/bundle" "$id" </dev/null
code=$?
set -e
echo "--- exit code: $code (the container ran 'exit 7')"
[ "$code" -eq 7 ]
