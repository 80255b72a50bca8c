//! The container's root filesystem: propagation, the spec's mounts, devices, pivot_root, masked and
//! read-only paths. Runs in the container's init, inside its new mount namespace.
