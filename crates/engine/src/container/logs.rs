//! Container logs in Docker's json-file shape: one JSON object per line,
//! `{"log":"text\n","stream":"stdout","time":"2026-01-02T03:04:05.123456789Z"}`.
//! A line longer than 16 KiB is split (Docker does the same, without the newline on the parts).
//!
//! Size limits (`--log-opt max-size=… max-file=…`, [`limits`]) rotate `ctr.log` to
//! `ctr.log.1`, … between whole lines; [`files`] has the protocol that keeps `logs` and
//! `logs -f` reading every line, in order, once, across rotations.

pub mod files;
pub mod limits;

pub use limits::Limits;

use super::{io_err, Engine, Result};
use files::FileId;
use serde::{Deserialize, Serialize};
use std::fs::File;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
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

/// Appends a container's output to its log, line by line, per stream; rotates the log when
/// the next line would take the file over `max-size`.
pub struct Writer {
    file: File,
    path: PathBuf,
    /// Bytes in the current file.
    size: u64,
    limits: Limits,
    partial: [Vec<u8>; 2],
}

impl Writer {
    pub fn open(path: &Path, limits: Limits) -> Result<Writer> {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(io_err(path))?;
        let size = file.metadata().map_or(0, |m| m.len());
        Ok(Writer {
            file,
            path: path.to_path_buf(),
            size,
            limits,
            partial: [vec![], vec![]],
        })
    }

    /// The container's `ctr.log` with the limits its record was created with.
    pub fn for_container(engine: &Engine, id: &str) -> Result<Writer> {
        let limits = super::record::load(engine, id)
            .ok()
            .and_then(|r| r.request.log_limits().ok())
            .unwrap_or_default();
        Writer::open(&engine.container_dir(id).join(super::monitor::LOG), limits)
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
        let len = json.len() as u64;
        if let Some(max) = self.limits.max_size {
            if self.size > 0 && self.size + len > max {
                // A failed rotation (disk trouble) keeps appending to the file we have.
                if let Ok(f) = files::rotate(&self.path, self.limits.max_file) {
                    self.file = f;
                    self.size = 0;
                }
            }
        }
        // A full disk loses log lines, never the container. One write per line: a reader
        // never sees half a line once the write is done.
        if self.file.write_all(&json).is_ok() {
            self.size += len;
        }
    }
}

/// Reads a log from its oldest file on, then (when following) what is appended, moving on to
/// the next file when the writer rotates.
pub struct Reader {
    base: PathBuf,
    /// The file being read (a shared flock held on it) and its identity.
    cur: Option<(BufReader<File>, FileId)>,
    pending: String,
    /// Set once the writer deleted files this reader had not read yet (it was more than
    /// `max-file` files behind for longer than the writer waits): lines were lost.
    pub lost: bool,
}

/// Where a reader is once its current file is read to its end.
enum Next {
    /// The current file is the newest: more may come.
    Wait,
    /// On to the next file (or try again).
    Again,
}

impl Reader {
    /// `path`: the log (`ctr.log`); its rotated files are found beside it. A container that
    /// never started has no log yet: an empty one.
    pub fn open(path: &Path) -> Result<Reader> {
        Ok(Reader {
            base: path.to_path_buf(),
            cur: None,
            pending: String::new(),
            lost: false,
        })
    }

    /// The complete lines available now (a half-written last line waits for its end).
    pub fn read_available(&mut self) -> Vec<Line> {
        let mut out = vec![];
        // Bounded: each round either moves to a newer file or finds the current one newest.
        for _ in 0..10_000 {
            if self.cur.is_none() && !self.open_oldest() {
                break;
            }
            self.read_current(&mut out);
            match self.next(&mut out) {
                Next::Wait => break,
                Next::Again => continue,
            }
        }
        out
    }

    /// Start at the oldest file there is (false: no log yet).
    fn open_oldest(&mut self) -> bool {
        // The oldest may be deleted by the writer between the listing and our lock on it:
        // then the next listing no longer has it.
        for _ in 0..100 {
            let Some(_dir) = files::lock_dir(&self.base, false) else {
                return false;
            };
            let Some((path, id)) = files::list(&self.base).into_iter().next() else {
                return false;
            };
            if let Some(f) = files::open_locked(&path, id) {
                self.cur = Some((BufReader::new(f), id));
                return true;
            }
        }
        false
    }

    /// At the end of the current file: is there a newer one? Then take it (locked, from a
    /// consistent listing), finish the current one (all the writer wrote to it came before
    /// the rename we saw) and move on.
    fn next(&mut self, out: &mut Vec<Line>) -> Next {
        let Some((_, cur_id)) = &self.cur else {
            return Next::Again;
        };
        let cur_id = *cur_id;
        let (file, id) = {
            let Some(_dir) = files::lock_dir(&self.base, false) else {
                return Next::Wait;
            };
            let chain = files::list(&self.base);
            let (path, id) = match chain.iter().position(|(_, id)| *id == cur_id) {
                Some(i) if i + 1 == chain.len() => return Next::Wait,
                Some(i) => chain[i + 1].clone(),
                // Ours was deleted: the container was removed (nothing left), or the writer
                // rotated past us.
                None if chain.is_empty() => return Next::Wait,
                None => {
                    self.lost = true;
                    chain[0].clone()
                }
            };
            match files::open_locked(&path, id) {
                Some(f) => (f, id),
                None => return Next::Again,
            }
        };
        self.read_current(out);
        // A line cut short by a crash never ends: it does not run into the next file.
        self.pending.clear();
        self.cur = Some((BufReader::new(file), id));
        Next::Again
    }

    fn read_current(&mut self, out: &mut Vec<Line>) {
        let Some((inner, _)) = self.cur.as_mut() else {
            return;
        };
        loop {
            match inner.read_line(&mut self.pending) {
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

    fn temp_log(tag: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("coracle-logs-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir.join("ctr.log")
    }

    fn line(i: usize) -> String {
        format!("line {i:05}\n")
    }

    fn texts(lines: Vec<Line>) -> Vec<String> {
        lines.into_iter().map(|l| l.log).collect()
    }

    /// A reader still on the file the writer must delete: the writer waits for it, and it
    /// reads every line once, in order.
    #[test]
    fn a_reader_behind_holds_the_rotation_back_and_loses_nothing() {
        let base = temp_log("behind");
        let limits = Limits {
            max_size: Some(2_000),
            max_file: 2,
        };
        let mut w = Writer::open(&base, limits).unwrap();
        for i in 0..10 {
            w.write(0, line(i).as_bytes());
        }
        let mut r = Reader::open(&base).unwrap();
        let mut got = texts(r.read_available());
        assert_eq!(got.len(), 10);
        let writer = std::thread::spawn(move || {
            for i in 10..300 {
                w.write(0, line(i).as_bytes());
            }
        });
        // Our file is pushed out to ctr.log.2 (beyond max-file) and stays there for us.
        let end = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while !files::rotated(&base, 2).exists() {
            assert!(std::time::Instant::now() < end, "no rotation");
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
        loop {
            let done = writer.is_finished();
            got.extend(texts(r.read_available()));
            if done {
                break;
            }
        }
        writer.join().unwrap();
        assert!(!r.lost);
        assert_eq!(got, (0..300).map(line).collect::<Vec<_>>());
        let names: Vec<PathBuf> = files::list(&base).into_iter().map(|(p, _)| p).collect();
        assert_eq!(names, [files::rotated(&base, 1), base.clone()]);
        for p in &names {
            assert!(std::fs::metadata(p).unwrap().len() <= 2_000);
        }
        std::fs::remove_dir_all(base.parent().unwrap()).unwrap();
    }

    /// A reader that stays away longer than the writer waits loses the lines of the files
    /// deleted meanwhile, knows it, and goes on in order without repeating any.
    #[test]
    fn a_reader_away_too_long_loses_lines_and_says_so() {
        let base = temp_log("away");
        let limits = Limits {
            max_size: Some(1_000),
            max_file: 2,
        };
        let mut w = Writer::open(&base, limits).unwrap();
        w.write(0, line(0).as_bytes());
        let mut r = Reader::open(&base).unwrap();
        let mut got = texts(r.read_available());
        for i in 1..200 {
            w.write(0, line(i).as_bytes());
        }
        got.extend(texts(r.read_available()));
        assert!(r.lost);
        assert_eq!(got.last(), Some(&line(199)));
        let n: Vec<usize> = got.iter().map(|l| l[5..10].parse().unwrap()).collect();
        assert!(n.windows(2).all(|w| w[0] < w[1]), "out of order: {n:?}");
        assert!(n.len() < 200);
        std::fs::remove_dir_all(base.parent().unwrap()).unwrap();
    }

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
