//! `list` and `state`: read containers' state without taking their locks.

use super::Runtime;
use crate::state::{self, ContainerDir};
use crate::Result;

/// One container's state in runc's JSON shape (indented, runc's field order).
pub fn state(rt: &Runtime, id: &str) -> Result<String> {
    let dir = ContainerDir::peek(&rt.root, id)?;
    let st = dir.load()?;
    Ok(state::public_json(&st, state::status(&dir, &st)))
}

/// Every container under the root, sorted by id; ones still being created are left out.
pub fn list(rt: &Runtime) -> Result<Vec<String>> {
    let Ok(entries) = std::fs::read_dir(&rt.root) else {
        return Ok(Vec::new());
    };
    let mut ids: Vec<String> = entries
        .flatten()
        .filter_map(|e| e.file_name().into_string().ok())
        .collect();
    ids.sort();
    Ok(ids.iter().filter_map(|id| state(rt, id).ok()).collect())
}
