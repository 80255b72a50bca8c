//! The config.json that `spec` writes: runc's default, or the rootless variant.
