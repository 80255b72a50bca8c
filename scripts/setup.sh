#!/usr/bin/env bash
# Set up a fresh Debian 12 machine (as root): system packages, Rust if cargo is missing,
# the static release builds installed as /usr/local/bin/coracle-runtime and coracle, then a demo
# container.
# Usage: scripts/setup.sh [--no-demo]
set -euo pipefail
cd "$(dirname "$0")/.."

[ "$(id -u)" -eq 0 ] || { echo "setup.sh: run as root" >&2; exit 1; }

mapfile -t packages <scripts/packages.txt
if ! dpkg -s "${packages[@]}" >/dev/null 2>&1; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  apt-get install -y -q "${packages[@]}"
fi

# The registry tests' two-platform index carries Debian's arm64 busybox-static (the same version as
# ours). apt knows only amd64 here, so that .deb is fetched from the archive's pool by name, once.
fixture=target/fixtures/busybox-static_arm64.deb
if [ ! -s "$fixture" ]; then
  mkdir -p target/fixtures
  uri=$(apt-get download --print-uris busybox-static 2>/dev/null | head -1 | cut -d"'" -f2 || true)
  if [ -n "$uri" ] && curl -fsSL -o "$fixture.tmp" "${uri%_amd64.deb}_arm64.deb"; then
    mv "$fixture.tmp" "$fixture"
  else
    rm -f "$fixture.tmp"
    echo "setup.sh: could not fetch busybox-static for arm64 (the registry test uses stand-in content)" >&2
  fi
fi

if ! command -v cargo >/dev/null; then
  if [ ! -x "$HOME/.cargo/bin/cargo" ]; then
    curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs | sh -s -- -y --profile default
  fi
  export PATH="$HOME/.cargo/bin:$PATH"
fi

# crt-static makes a static binary; the explicit --target keeps build scripts and proc-macros dynamic.
# relocation-model=static makes it non-PIE: no start-up relocation pass over the whole binary, which
# is ~10% of the peak RSS of `run` and start-up time; the runtime is short-lived, safe Rust
# parsing local files, so the loss of ASLR for its own text is the cheaper side of that trade.
target=x86_64-unknown-linux-gnu
# coracle is static too: it is also the containers' `--init` (a copy bind-mounted into images that
# have no loader or libc of their own) and the device binary.
# Two builds, not one: built together, cargo unifies the dependencies' features for both, which
# changes coracle-runtime's symbol names and so unpacks its hot-text layout (hot-text.ld names
# the functions of a coracle-runtime built alone, as scripts/hot-text.py builds it).
for pkg in coracle-runtime coracle; do
  RUSTFLAGS="-C target-feature=+crt-static -C relocation-model=static" \
    cargo build --release --target "$target" -p "$pkg"
done
for bin in coracle-runtime coracle; do
  install -m 0755 "${CARGO_TARGET_DIR:-target}/$target/release/$bin" /usr/local/bin/$bin
  echo "installed: $(file -b /usr/local/bin/$bin | cut -d, -f1-5)"
done

if [ "${1:-}" != --no-demo ]; then
  RUNTIME=/usr/local/bin/coracle-runtime scripts/demo.sh
fi
