//! The `features` document (runc's JSON shape): what this runtime supports.
