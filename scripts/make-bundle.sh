#!/usr/bin/env bash
# Make an OCI bundle with a busybox-static root filesystem.
# Usage: scripts/make-bundle.sh DIR [ARG...]   (ARG... is the container's command; default: sh)
# The config is the default of `runc spec` (or crun's), with terminal off and hostname "coracle".
set -euo pipefail

[ $# -ge 1 ] || { echo "usage: $0 DIR [ARG...]" >&2; exit 2; }
dir=$1; shift
[ $# -gt 0 ] || set -- sh

busybox=$(command -v busybox || true)
[ -n "$busybox" ] || { echo "busybox not found: apt-get install busybox-static" >&2; exit 1; }

mkdir -p "$dir/rootfs"
cd "$dir/rootfs"
mkdir -p bin dev etc home proc root run sys tmp usr var
cp "$busybox" bin/busybox
for applet in $(bin/busybox --list); do
  [ "$applet" = busybox ] || ln -sf busybox "bin/$applet"
done
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' >etc/passwd
printf 'root:x:0:\nnogroup:x:65534:\n' >etc/group
cd ..

rm -f config.json
for tool in runc crun; do
  if command -v "$tool" >/dev/null && "$tool" spec >/dev/null 2>&1; then break; fi
done
[ -f config.json ] || { echo "cannot write config.json: install runc or crun" >&2; exit 1; }

python3 - "$@" <<'PY'
import json, sys
with open("config.json") as f:
    config = json.load(f)
config["process"]["terminal"] = False
config["process"]["args"] = sys.argv[1:]
config["hostname"] = "coracle"
with open("config.json", "w") as f:
    json.dump(config, f, indent=2)
PY
