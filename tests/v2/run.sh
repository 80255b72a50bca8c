#!/usr/bin/env bash
# The cgroup v2 enforcement tests on a real v2 kernel: boot Debian's kernel under QEMU (TCG, no
# KVM) with an initramfs holding busybox, a static coracle-runtime and the static cgroup_v2 test
# binary (bins/coracle-runtime/tests/cgroup_v2.rs), run each test in the guest and report its
# RESULT line. Exits non-zero if a test failed or the guest did not finish in time.
#
# Installs nothing: needs qemu-system-x86_64, cpio, busybox (static), apt-get and dpkg-deb
# (scripts/packages.txt). The kernel package is fetched once with `apt-get download` into
# target/v2-kernel and reused (the unpacked kernel, and the modules the guest loads: loop.ko,
# overlay.ko).
#
# `--systemd`: the systemd cgroup driver instead (bins/coracle-runtime/tests/systemd_cgroup.rs):
# the same kernel and initramfs plus Debian's systemd (the host's /lib/systemd/systemd and
# systemctl with the libraries ldd names), booted as PID 1 by tests/v2/systemd/init; systemd runs
# the tests from tests/v2/systemd/coracle-tests.service (tests/v2/init in its systemd mode).
#
# `--lsm`: the LSM label tests (bins/coracle-runtime/tests/lsm.rs) with AppArmor, which Debian's
# kernel enables by default: the same guest plus the host's apparmor_parser (with the libraries
# ldd names) and tests/v2/lsm/ (the test profile, and the setup tests/v2/init runs to load it).
# `--selinux`: the same tests' SELinux part, the kernel booted with SELinux (permissive) and
# the minimal policy tests/v2/selinux/policy.conf, compiled here with checkpolicy.
#
# `--engine`: the engine's core checks (bins/coracle/tests/engine_runtimes.rs: run --rm exit codes
# and output, -d + logs -f, exec, rm -f, stop, -m OOM, --restart on-failure:3, --pids-limit) for
# each runtime the engine drives, built-in, runc and crun (crun refuses this hybrid host, so this
# is where it runs): a static `coracle` and that test, plus the host's runc and crun with the
# libraries ldd names. Containers run with --network none (the guest has no CNI plugins).
#
# Environment: V2_TIMEOUT (seconds for the guest, default 150, 300 with --systemd, 900 with
# --engine), V2_KEEP=1
# keeps the work files.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$(pwd)
command -v cargo >/dev/null || export PATH="$HOME/.cargo/bin:$PATH"

fail() { echo "tests/v2/run.sh: $*" >&2; exit 1; }
for tool in qemu-system-x86_64 cpio apt-get apt-cache dpkg-deb python3 strip; do
  command -v "$tool" >/dev/null || fail "$tool not found (apt-get install \$(cat scripts/packages.txt))"
done
mode=v2 test_name=cgroup_v2
case "${1:-}" in
--systemd) mode=systemd test_name=systemd_cgroup ;;
--lsm) mode=lsm test_name=lsm ;;
--selinux) mode=selinux test_name=lsm ;;
--engine) mode=engine test_name=engine_runtimes ;;
"") ;;
*) fail "unknown argument $1 (usage: tests/v2/run.sh [--systemd|--lsm|--selinux|--engine])" ;;
esac
if [ "$mode" = selinux ]; then
  command -v checkpolicy >/dev/null || fail "checkpolicy is needed for --selinux (apt-get install checkpolicy)"
fi
apparmor_parser=$(command -v apparmor_parser || echo /usr/sbin/apparmor_parser)
if [ "$mode" = lsm ]; then
  [ -x "$apparmor_parser" ] || fail "apparmor_parser is needed for --lsm (apt-get install apparmor)"
fi
if [ "$mode" = engine ]; then
  for r in runc crun; do
    command -v "$r" >/dev/null || fail "$r is needed for --engine (apt-get install $r)"
  done
fi
if [ "$mode" = systemd ]; then
  [ -x /lib/systemd/systemd ] && command -v systemctl >/dev/null ||
    fail "systemd is needed for --systemd (apt-get install systemd)"
fi
busybox=$(command -v busybox || true)
[ -n "$busybox" ] && file -b "$busybox" | grep -q static ||
  fail "a static busybox is needed (apt-get install busybox-static)"

target_dir=${CARGO_TARGET_DIR:-$root/target}
triple=x86_64-unknown-linux-gnu
case $mode in
systemd) timeout_s=${V2_TIMEOUT:-300} ;;
engine) timeout_s=${V2_TIMEOUT:-900} ;;
*) timeout_s=${V2_TIMEOUT:-150} ;;
esac
# The binary under test: coracle-runtime, or the engine (`coracle`) for --engine.
package=coracle-runtime
[ "$mode" = engine ] && package=coracle

# --- the kernel: the linux-image-6.1.*-amd64 package that linux-image-amd64 depends on
kcache=$target_dir/v2-kernel
mkdir -p "$kcache"
pkg=$(apt-cache depends linux-image-amd64 2>/dev/null |
  sed -n 's/^ *Depends: \(linux-image-[0-9][^ ]*-amd64\)$/\1/p' | head -n 1)
[ -n "$pkg" ] || fail "apt-cache finds no kernel package behind linux-image-amd64 (apt-get update?)"
vmlinux=$kcache/$pkg.vmlinux
# Modules the guest loads with insmod (no modules.dep): loop, for the io.max test's block device;
# overlay, for the engine's image rootfs (without it the engine copies the layers: slow under
# TCG). `.wanted` in the cache names the set it was made for.
modules=$kcache/$pkg.modules
wanted="loop overlay"
if [ ! -s "$vmlinux" ] || [ "$(cat "$modules/.wanted" 2>/dev/null)" != "$wanted" ]; then
  echo "v2: fetching $pkg into $kcache"
  rm -rf "$kcache/unpack" "$kcache"/*.deb "$modules"
  # (apt warns that it downloads as root here: _apt cannot write to target/; harmless.)
  (cd "$kcache" && apt-get download -q "$pkg")
  mkdir -p "$kcache/unpack" "$modules.tmp"
  dpkg-deb --fsys-tarfile "$kcache"/"$pkg"_*.deb |
    tar -x -C "$kcache/unpack" --wildcards ./boot '*/kernel/drivers/block/loop.ko*' \
      '*/kernel/fs/overlayfs/overlay.ko*' ||
    [ -d "$kcache/unpack/boot" ] # (a package with loop built in has no loop.ko: tar says so)
  # vmlinuz is a boot stub followed by the compressed kernel: find the xz stream and unpack it, so
  # QEMU boots the ELF directly (PVH entry: no firmware, no decompression under emulation).
  python3 - "$kcache"/unpack/boot/vmlinuz-* "$vmlinux.tmp" <<'PY' || fail "cannot unpack the kernel"
import lzma, sys
data = open(sys.argv[1], "rb").read()
start = data.find(b"\xfd7zXZ\x00")
if start < 0:
    sys.exit(f"no xz stream in {sys.argv[1]}")
open(sys.argv[2], "wb").write(lzma.LZMADecompressor().decompress(data[start:]))
PY
  file -b "$vmlinux.tmp" | grep -q '^ELF 64-bit' || fail "unpacked kernel is not an ELF: $vmlinux.tmp"
  # Modules as plain .ko (busybox insmod does not decompress); a package without one (built in,
  # or left out) simply has none here.
  find "$kcache/unpack" -name '*.ko*' -print0 | while IFS= read -r -d '' ko; do
    name=$(basename "$ko")
    case $name in
    *.ko) cp "$ko" "$modules.tmp/$name" ;;
    *.ko.xz) python3 -c 'import lzma,sys; open(sys.argv[2],"wb").write(lzma.open(sys.argv[1]).read())' \
      "$ko" "$modules.tmp/${name%.xz}" ;;
    *) echo "v2: warning: cannot decompress $name; the guest goes without it" ;;
    esac
  done
  echo "$wanted" >"$modules.tmp/.wanted"
  mv "$vmlinux.tmp" "$vmlinux"
  mv "$modules.tmp" "$modules"
  rm -rf "$kcache/unpack" "$kcache"/*.deb
fi

# --- static binaries: coracle-runtime (or coracle) and the test (the explicit --target keeps
# build scripts and proc-macros dynamic)
echo "$mode: building static $package and the $test_name test"
build_json=$(RUSTFLAGS="-C target-feature=+crt-static" cargo test -q --no-run \
  --message-format=json-render-diagnostics --target "$triple" -p "$package" --test "$test_name")
read -r runtime_bin test_bin < <(TEST_NAME=$test_name PACKAGE=$package python3 -c '
import json, os, sys
found = {}
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") != "compiler-artifact" or not m.get("executable"):
        continue
    t = m["target"]
    if t["name"] == os.environ["PACKAGE"] and "bin" in t["kind"]:
        found["bin"] = m["executable"]
    if t["name"] == os.environ["TEST_NAME"] and m["profile"]["test"]:
        found["test"] = m["executable"]
print(found.get("bin", ""), found.get("test", ""))
' <<<"$build_json")
[ -n "$runtime_bin" ] && [ -n "$test_bin" ] || fail "cargo named no $package or $test_name executable"

# --- the initramfs: busybox, the two binaries, the modules, /init
work=$target_dir/v2-run
[ "$mode" = v2 ] || work=$target_dir/v2-run-$mode
rm -rf "$work"
mkdir -p "$work/initramfs/bin" "$work/initramfs/etc" "$work/initramfs/lib/modules"
cp "$busybox" "$work/initramfs/bin/busybox"
cp -r "$modules"/. "$work/initramfs/lib/modules/"
strip -o "$work/initramfs/bin/$package" "$runtime_bin"
strip -o "$work/initramfs/bin/$test_name" "$test_bin"
append="console=ttyS0 quiet loglevel=3 panic=-1 rdinit=/init"
if [ "$mode" = systemd ]; then
  # systemd and systemctl with every library ldd names, at the same paths (and the loader).
  ir=$work/initramfs
  install -D -m 0755 /lib/systemd/systemd "$ir/lib/systemd/systemd"
  cp -L "$(command -v systemctl)" "$ir/bin/systemctl"
  for lib in $(ldd /lib/systemd/systemd "$(command -v systemctl)" | grep -o '/[^ ]*\.so[^ ]*' | sort -u); do
    mkdir -p "$ir$(dirname "$lib")"
    cp -L "$lib" "$ir$lib"
  done
  mkdir -p "$ir/lib64" "$ir/usr" "$ir/etc/systemd/system"
  install -m 0644 tests/v2/systemd/coracle-tests.service "$ir/etc/systemd/system/"
  install -m 0755 tests/v2/systemd/init "$ir/init"
  install -m 0755 tests/v2/init "$ir/run-tests"
  append="$append systemd.unit=coracle-tests.service systemd.show_status=0"
else
  install -m 0755 tests/v2/init "$work/initramfs/init"
fi
if [ "$mode" = engine ]; then
  # runc and crun in /bin, every library ldd names at its own path (and the loader in /lib64);
  # V2_ALL=1 makes /init run every test of the binary, not only the ignored ones.
  ir=$work/initramfs
  for r in runc crun; do
    cp -L "$(command -v "$r")" "$ir/bin/$r"
  done
  # No CNI plugin: --network none needs none (the engine brings lo up itself).
  for lib in $(ldd "$(command -v runc)" "$(command -v crun)" | grep -o '/[^ ]*\.so[^ ]*' | sort -u); do
    mkdir -p "$ir$(dirname "$lib")"
    cp -L "$lib" "$ir$lib"
  done
  append="$append V2_TESTS=engine_runtimes V2_ALL=1"
fi
if [ "$mode" = lsm ]; then
  # apparmor_parser and its libraries side by side in /lib/lsm (tests/v2/lsm/setup starts it
  # through that loader); V2_TESTS (an unknown name=value on the command line) reaches /init.
  ir=$work/initramfs
  mkdir -p "$ir/lib/lsm" "$ir/etc/apparmor.d" "$ir/etc/apparmor"
  cp -L "$apparmor_parser" "$ir/bin/apparmor_parser"
  for lib in $(ldd "$apparmor_parser" | grep -o '/[^ ]*\.so[^ ]*' | sort -u); do
    cp -L "$lib" "$ir/lib/lsm/$(basename "$lib")"
  done
  install -m 0644 tests/v2/lsm/coracle-test.profile "$ir/etc/apparmor.d/coracle-test"
  install -m 0755 tests/v2/lsm/setup "$ir/bin/lsm-setup"
  : >"$ir/etc/apparmor/parser.conf"
  append="$append V2_TESTS=lsm V2_ONLY=apparmor"
fi
if [ "$mode" = selinux ]; then
  # -U allow: what the policy does not name is allowed; the guest runs permissive anyway.
  ir=$work/initramfs
  mkdir -p "$ir/etc/selinux"
  checkpolicy -U allow -o "$ir/etc/selinux/policy" tests/v2/selinux/policy.conf >/dev/null
  install -m 0755 tests/v2/lsm/setup "$ir/bin/lsm-setup"
  append="$append security=selinux selinux=1 enforcing=0 V2_TESTS=lsm V2_ONLY=selinux"
fi
printf 'root:x:0:0:root:/root:/bin/sh\n' >"$work/initramfs/etc/passwd"
printf 'root:x:0:\n' >"$work/initramfs/etc/group"
(cd "$work/initramfs" && find . -print0 | cpio --null -o -H newc --quiet) >"$work/initramfs.cpio"

# --- boot: TCG, 2 vCPUs, 512 MB; results on the serial console; verdict through isa-debug-exit
echo "$mode: booting $pkg under QEMU (timeout ${timeout_s}s)"
log=$work/console.log
boot() {
  status=0
  timeout --foreground -k 5 "$timeout_s" qemu-system-x86_64 \
    -machine pc -accel tcg -cpu max -smp 2 -m 512 \
    -kernel "$vmlinux" -initrd "$work/initramfs.cpio" \
    -append "$append" \
    -nographic -nodefaults -no-reboot -monitor none -serial "file:$log" \
    -device isa-debug-exit,iobase=0xf4,iosize=0x04 </dev/null || status=$?
}
boot
# A guest that timed out before its first line (INFO, printed before any test) hung while
# booting under emulation (seen once: nothing after the firmware's "Booting from ROM"); one more
# boot tells that apart from a test that hangs, which fails as before.
if { [ "$status" -eq 124 ] || [ "$status" -eq 137 ]; } && ! grep -aq '^INFO ' "$log"; then
  mv "$log" "$log.hung"
  echo "$mode: the guest hung before its first line (console: $log.hung); booting once more"
  boot
fi

grep -E '^(INFO|RESULT|LOG|SUMMARY) ' "$log" | sed 's/\r$//' || true
summary=$(grep -a '^SUMMARY ' "$log" | tr -d '\r' || true)
results=$(grep -ac '^RESULT ' "$log" || true)
failed=$(grep -ac '^RESULT [^ ]* FAIL' "$log" || true)

verdict=0
if [ "$status" -eq 124 ] || [ "$status" -eq 137 ]; then
  echo "$mode: FAIL: the guest did not finish within ${timeout_s}s (console: $log)"
  verdict=1
elif [ -z "$summary" ]; then
  echo "$mode: FAIL: the guest stopped without a summary (QEMU exit $status); console:"
  tail -n 40 "$log"
  verdict=1
elif [ "$failed" -ne 0 ] || [ "$status" -ne 1 ] || [ "$results" -eq 0 ]; then
  # isa-debug-exit: 0 written (all passed) makes QEMU exit 1.
  echo "$mode: FAIL: $failed failed test(s), QEMU exit $status ($summary)"
  verdict=1
else
  echo "$mode: ok ($summary)"
fi
[ "$verdict" -ne 0 ] || [ -n "${V2_KEEP:-}" ] || rm -rf "$work"
exit "$verdict"
