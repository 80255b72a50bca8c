//! Shared helpers for the real-cgroup tests (root only): unique names and a guard that leaves
//! nothing behind, even when a test fails.

#![allow(dead_code)]

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use cgroups::Cgroup;

static N: AtomicUsize = AtomicUsize::new(0);

/// A unique test cgroup name: `coracle-test-cg-<pid>-<n>`.
pub fn unique() -> String {
    format!(
        "coracle-test-cg-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// Are we root? (These tests need real cgroups.)
pub fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .map(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .and_then(|l| l.split_whitespace().nth(2))
                == Some("0")
        })
        .unwrap_or(false)
}

/// Skip (pass with a note) when not root.
#[macro_export]
macro_rules! require_root {
    () => {
        if !common::is_root() {
            eprintln!("skipped: needs root for real cgroups");
            return;
        }
    };
}

/// Owns a cgroup and the processes a test started; on drop kills them and removes the cgroup and
/// every directory named in `extra` (deepest first).
pub struct Guard {
    pub cg: Cgroup,
    pub children: Vec<Child>,
    pub extra: Vec<PathBuf>,
}

impl Guard {
    pub fn new(cg: Cgroup) -> Guard {
        Guard {
            cg,
            children: Vec::new(),
            extra: Vec::new(),
        }
    }

    /// Start `sh -c script` (stdin and stdout piped) and put it into the cgroup. Scripts that must
    /// run inside the cgroup start with `read go` and are released by [`Guard::go`].
    pub fn spawn_in(&mut self, script: &str) -> u32 {
        let child = Command::new("sh")
            .arg("-c")
            .arg(script)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("spawn sh");
        let pid = child.id();
        self.children.push(child);
        self.cg.add_process(pid as i32).expect("add_process");
        pid
    }
}

impl Guard {
    /// Release child `i` waiting in `read go`.
    pub fn go(&mut self, i: usize) {
        use std::io::Write;
        writeln!(self.children[i].stdin.as_mut().unwrap(), "go").unwrap();
    }

    /// Wait (at most 30 s: a test fails rather than hangs) for child `i` to exit.
    pub fn wait(&mut self, i: usize) -> std::process::ExitStatus {
        let mut status = None;
        let child = &mut self.children[i];
        let done = wait_for(Duration::from_secs(30), || {
            status = child.try_wait().unwrap();
            status.is_some()
        });
        assert!(done, "child {} did not exit", child.id());
        status.unwrap()
    }

    /// Wait for child `i` and return its exit status and everything it printed.
    pub fn finish(&mut self, i: usize) -> (std::process::ExitStatus, String) {
        use std::io::Read;
        let status = self.wait(i);
        let mut out = String::new();
        if let Some(mut o) = self.children[i].stdout.take() {
            o.read_to_string(&mut out).unwrap();
        }
        (status, out)
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.cg.thaw();
        let _ = self.cg.kill_all(libc::SIGKILL);
        for c in &mut self.children {
            let _ = c.kill();
            let _ = c.wait();
        }
        let _ = self.cg.remove();
        for dir in &self.extra {
            let _ = std::fs::remove_dir(dir);
        }
    }
}

/// Poll `cond` until it holds or `timeout` passes.
pub fn wait_for(timeout: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    let mut pause = Duration::from_micros(100);
    while start.elapsed() < timeout {
        if cond() {
            return true;
        }
        std::thread::sleep(pause);
        pause = (pause * 2).min(Duration::from_millis(20));
    }
    cond()
}
