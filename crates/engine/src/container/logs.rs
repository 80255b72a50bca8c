//! Container logs in Docker's json-file shape: one JSON object per line,
//! `{"log":"text\n","stream":"stdout","time":"2026-01-02T03:04:05.123456789Z"}`.
//! A line longer than 16 KiB is split (Docker does the same, without the newline on the parts).

use super::{io_err, Result};
use serde::{Deserialize, Serialize};
use std::fs::File;
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

const MAX_LINE: usize = 16 * 1024;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Line {
    pub log: String,
    pub stream: String,
    pub time: String,
}

/// Now as RFC 3339 with nanoseconds, UTC.
pub fn now_nanos() -> String {
    let d = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let secs = image::time::rfc3339(d.as_secs() as i64);
    format!("{}.{:09}Z", secs.trim_end_matches('Z'), d.subsec_nanos())
}

/// Appends a container's output to its log, line by line, per stream.
pub struct Writer {
    file: File,
    partial: [Vec<u8>; 2],
}

impl Writer {
    pub fn open(path: &Path) -> Result<Writer> {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(io_err(path))?;
        Ok(Writer {
            file,
            partial: [vec![], vec![]],
        })
    }

    /// Bytes read from stream 0 (stdout) or 1 (stderr).
    pub fn write(&mut self, stream: usize, mut data: &[u8]) {
        while let Some(nl) = data.iter().position(|&b| b == b'\n') {
            let mut line = std::mem::take(&mut self.partial[stream]);
            line.extend_from_slice(&data[..=nl]);
            self.emit(stream, &line);
            data = &data[nl + 1..];
        }
        self.partial[stream].extend_from_slice(data);
        while self.partial[stream].len() >= MAX_LINE {
            let rest = self.partial[stream].split_off(MAX_LINE);
            let full = std::mem::replace(&mut self.partial[stream], rest);
            self.emit(stream, &full);
        }
    }

    /// End of both streams: what is left without a newline becomes a last line.
    pub fn flush(&mut self) {
        for s in 0..2 {
            let rest = std::mem::take(&mut self.partial[s]);
            if !rest.is_empty() {
                self.emit(s, &rest);
            }
        }
    }

    fn emit(&mut self, stream: usize, bytes: &[u8]) {
        let line = Line {
            log: String::from_utf8_lossy(bytes).into_owned(),
            stream: if stream == 0 { "stdout" } else { "stderr" }.into(),
            time: now_nanos(),
        };
        let mut json = serde_json::to_vec(&line).expect("log line serialises");
        json.push(b'\n');
        // A full disk loses log lines, never the container.
        let _ = self.file.write_all(&json);
    }
}

/// Reads a log from the start, then (when following) what is appended.
pub struct Reader {
    inner: BufReader<File>,
    pending: String,
}

impl Reader {
    pub fn open(path: &Path) -> Result<Reader> {
        let f = match File::open(path) {
            Ok(f) => f,
            // A container that never started has no log yet: an empty one.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                File::open("/dev/null").map_err(io_err(path))?
            }
            Err(e) => return Err(io_err(path)(e)),
        };
        Ok(Reader {
            inner: BufReader::new(f),
            pending: String::new(),
        })
    }

    /// The complete lines available now (a half-written last line waits for its end).
    pub fn read_available(&mut self) -> Vec<Line> {
        let mut out = vec![];
        loop {
            match self.inner.read_line(&mut self.pending) {
                Ok(0) | Err(_) => break,
                Ok(_) if self.pending.ends_with('\n') => {
                    if let Ok(l) = serde_json::from_str::<Line>(&self.pending) {
                        out.push(l);
                    }
                    self.pending.clear();
                }
                Ok(_) => break,
            }
        }
        // EOF mid-line: the partial text stays in `pending`; the next call reads on from there.
        out
    }
}

/// `YYYY-MM-DDTHH:MM:SS[.frac]Z` (what [`now_nanos`] writes) -> seconds since the epoch.
pub fn parse_secs(t: &str) -> Option<i64> {
    let num = |r: std::ops::Range<usize>| t.get(r)?.parse::<i64>().ok();
    let (y, m, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (hh, mm, ss) = (num(11..13)?, num(14..16)?, num(17..19)?);
    // Days from the civil date (the inverse of image::time's algorithm).
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(days * 86_400 + hh * 3600 + mm * 60 + ss)
}

/// Docker's "3 seconds", "5 minutes", "2 hours", "4 days".
pub fn human_duration(secs: i64) -> String {
    let s = secs.max(0);
    match s {
        0 => "Less than a second".into(),
        1 => "1 second".into(),
        2..=59 => format!("{s} seconds"),
        60..=119 => "About a minute".into(),
        120..=3599 => format!("{} minutes", s / 60),
        3600..=7199 => "About an hour".into(),
        7200..=172_799 => format!("{} hours", s / 3600),
        _ => format!("{} days", s / 86_400),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_round_trip() {
        for secs in [0i64, 951_782_400, 1_700_000_000, 1_795_000_123] {
            let t = image::time::rfc3339(secs);
            assert_eq!(parse_secs(&t), Some(secs), "{t}");
        }
        assert_eq!(
            parse_secs("2026-11-28T21:47:20.127785407Z"),
            Some(1_795_902_440)
        );
        assert_eq!(parse_secs("garbage"), None);
    }
}
