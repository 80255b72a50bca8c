//! `features`: print what this runtime supports, as pretty JSON (runc's shape).

use runtime::{Context, Result};
use std::io::{ErrorKind, Write};

pub fn run() -> Result<i32> {
    let mut text = serde_json::to_string_pretty(&runtime::features::features())
        .map_err(|e| runtime::Error::msg(format!("features: {e}")))?;
    text.push('\n');
    // A reader that stops early (`| head`) is not an error.
    match std::io::stdout().lock().write_all(text.as_bytes()) {
        Err(e) if e.kind() == ErrorKind::BrokenPipe => Ok(0),
        r => r.context(|| "write features").map(|()| 0),
    }
}
