//! OCI hooks: run each program with the state JSON on stdin, its args, env and timeout.
//!
//! STUB until the specs branch lands: only the interface.

use crate::Result;

pub fn run(_kind: &str, _hooks: &[oci_spec::runtime::Hook], _state_json: &[u8]) -> Result<()> {
    Ok(())
}
