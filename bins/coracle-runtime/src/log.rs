//! Where errors go: stderr always, and the --log file in text or JSON (the containerd shim reads the
//! last JSON line with level "error" and shows its msg to the user).

use crate::cli::LogFormat;
use std::io::Write;
use std::path::{Path, PathBuf};

pub struct Logger {
    file: Option<PathBuf>,
    format: LogFormat,
}

impl Logger {
    pub fn new(file: Option<&Path>, format: LogFormat, _debug: bool) -> Self {
        Logger {
            file: file.map(Path::to_path_buf),
            format,
        }
    }

    pub fn error(&self, msg: &str) {
        eprintln!("coracle-runtime: {msg}");
        let Some(path) = &self.file else { return };
        let line = match self.format {
            LogFormat::Json => format!(
                "{}\n",
                serde_json::json!({"level": "error", "msg": msg, "time": runtime::state::now_rfc3339()})
            ),
            LogFormat::Text => format!(
                "time=\"{}\" level=error msg={msg:?}\n",
                runtime::state::now_rfc3339()
            ),
        };
        if let Ok(mut f) = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
        {
            let _ = f.write_all(line.as_bytes());
        }
    }
}
