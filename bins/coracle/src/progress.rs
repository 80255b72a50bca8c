//! Transfer progress on stderr: one redrawn line per blob on a terminal, plain lines
//! (one when a blob starts, one when it ends) otherwise, so logs stay readable.

use image::registry::{BlobKind, Digest, Event, Progress};
use std::io::{IsTerminal, Write};
use std::sync::Mutex;

struct Line {
    digest: Digest,
    kind: BlobKind,
    size: u64,
    done: u64,
    state: &'static str,
}

pub struct Reporter {
    /// "Copying" or "Pushing": the verb of the plain lines.
    verb: &'static str,
    terminal: bool,
    lines: Mutex<(Vec<Line>, usize)>,
}

impl Reporter {
    pub fn new(verb: &'static str) -> Reporter {
        Reporter {
            verb,
            terminal: std::io::stderr().is_terminal(),
            lines: Mutex::new((Vec::new(), 0)),
        }
    }

    fn plain(&self, event: &Event<'_>) {
        let text = match event {
            Event::Resolved { reference, digest } => format!("Resolved {reference} to {digest}"),
            Event::Start { kind, digest, size } => format!(
                "{} {} {} ({})",
                self.verb,
                kind_name(*kind),
                short(digest),
                human(*size)
            ),
            Event::Done {
                digest,
                skipped,
                mounted,
            } => format!("{} {}", short(digest), outcome(*skipped, *mounted)),
            Event::Bytes { .. } => return,
        };
        eprintln!("{text}");
    }

    /// Moves the cursor back over the lines drawn last time and draws them all again.
    fn redraw(&self, lines: &[Line], drawn: usize) -> usize {
        let mut out = String::new();
        if drawn > 0 {
            out.push_str(&format!("\x1b[{drawn}A"));
        }
        for l in lines {
            let bar = bar(l.done, l.size);
            out.push_str(&format!(
                "\x1b[2K{} {} {bar} {}/{} {}\n",
                kind_name(l.kind),
                short(&l.digest),
                human(l.done),
                human(l.size),
                l.state
            ));
        }
        let _ = std::io::stderr().write_all(out.as_bytes());
        lines.len()
    }
}

impl Progress for Reporter {
    fn event(&self, event: Event<'_>) {
        if !self.terminal {
            return self.plain(&event);
        }
        let mut guard = self.lines.lock().unwrap();
        let (lines, drawn) = &mut *guard;
        match event {
            Event::Resolved { .. } => {
                // Printed above the bars, before any is drawn.
                if *drawn == 0 {
                    self.plain(&event);
                }
                return;
            }
            Event::Start { kind, digest, size } => {
                lines.push(Line {
                    digest: digest.clone(),
                    kind,
                    size,
                    done: 0,
                    state: "",
                });
            }
            Event::Bytes { digest, done } => {
                if let Some(l) = lines.iter_mut().find(|l| &l.digest == digest) {
                    l.done = done;
                }
            }
            Event::Done {
                digest,
                skipped,
                mounted,
            } => {
                if let Some(l) = lines.iter_mut().find(|l| &l.digest == digest) {
                    l.done = l.size;
                    l.state = outcome(skipped, mounted);
                }
            }
        }
        *drawn = self.redraw(lines, *drawn);
    }
}

fn kind_name(kind: BlobKind) -> &'static str {
    match kind {
        BlobKind::Config => "config",
        BlobKind::Layer => "layer ",
        BlobKind::Manifest => "manifest",
    }
}

fn outcome(skipped: bool, mounted: bool) -> &'static str {
    match (skipped, mounted) {
        (true, _) => "already exists",
        (_, true) => "mounted",
        _ => "done",
    }
}

fn short(d: &Digest) -> &str {
    &d.as_str()[..19]
}

fn bar(done: u64, size: u64) -> String {
    const WIDTH: u64 = 30;
    // An empty blob is complete at once.
    let filled = (done.min(size) * WIDTH).checked_div(size).unwrap_or(WIDTH);
    format!(
        "[{}{}]",
        "=".repeat(filled as usize),
        " ".repeat((WIDTH - filled) as usize)
    )
}

fn human(n: u64) -> String {
    match n {
        n if n >= 1 << 30 => format!("{:.1} GiB", n as f64 / (1u64 << 30) as f64),
        n if n >= 1 << 20 => format!("{:.1} MiB", n as f64 / (1u64 << 20) as f64),
        n if n >= 1 << 10 => format!("{:.1} KiB", n as f64 / 1024.0),
        n => format!("{n} B"),
    }
}
