# The AppArmor profile tests/v2/run.sh --lsm loads in the guest for bins/coracle-runtime/tests/lsm.rs:
# everything is allowed (busybox, the container's own mounts and signals) except reading
# /etc/secret and writing under /tmp, which the tests check fail with EACCES.
profile coracle-test flags=(attach_disconnected,mediate_deleted) {
  file,
  capability,
  network,
  signal,
  ptrace,
  unix,
  mount,
  umount,
  pivot_root,

  deny /etc/secret r,
  deny /tmp/** w,
}
