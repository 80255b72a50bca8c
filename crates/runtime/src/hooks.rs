//! OCI hooks: run each program with the state JSON on stdin, its args, env and timeout.
