//! OCI hooks: run each program in order with the container's state JSON on its stdin, exactly its
//! args and env, and its timeout. The first hook that fails stops the rest and fails the operation.

use crate::sys::{fd::poll_readable, process::pidfd_open};
use crate::{Context, Error, Result};
use oci_spec::runtime::Hook;
use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::process::{Child, ChildStderr, ChildStdout, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// How much of a hook's output is kept for the error message.
const OUTPUT_LIMIT: usize = 4096;

/// Run the hooks of one kind (`createRuntime`, `poststop`, …) in order.
pub fn run(kind: &str, hooks: &[Hook], state_json: &[u8]) -> Result<()> {
    for hook in hooks {
        run_one(hook, state_json).map_err(|problem| {
            Error::msg(format!("{kind} hook {}: {problem}", hook.path().display()))
        })?;
    }
    Ok(())
}

/// Run one hook; the error is the problem alone, the caller names the hook.
fn run_one(hook: &Hook, state_json: &[u8]) -> Result<()> {
    let mut child = command(hook).spawn().context(|| "cannot start")?;
    feed_stdin(&mut child, state_json);
    let timeout = hook.timeout().map(|s| Duration::from_secs(s.max(0) as u64));
    let (status, output) = wait(&mut child, timeout)?;
    let Some(status) = status else {
        let secs = timeout.map_or(0, |t| t.as_secs());
        return Err(Error::msg(format!("timed out after {secs}s")));
    };
    if status.success() {
        return Ok(());
    }
    let how = match (status.code(), status.signal()) {
        (Some(code), _) => format!("exited with status {code}"),
        (None, Some(sig)) => format!("killed by signal {sig}"),
        (None, None) => format!("ended with {status}"),
    };
    match first_line(&output) {
        Some(line) => Err(Error::msg(format!("{how}: {line}"))),
        None => Err(Error::msg(how)),
    }
}

/// `path` with `args` (args[0] is argv[0]), exactly `env`, stdin/stdout/stderr piped.
fn command(hook: &Hook) -> Command {
    let mut cmd = Command::new(hook.path());
    if let Some((argv0, rest)) = hook.args().as_deref().and_then(|a| a.split_first()) {
        cmd.arg0(argv0).args(rest);
    }
    cmd.env_clear();
    for entry in hook.env().as_deref().unwrap_or_default() {
        // spec validation made sure every entry is NAME=VALUE.
        if let Some((name, value)) = entry.split_once('=') {
            cmd.env(name, value);
        }
    }
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    cmd
}

/// Give the hook the state and close its stdin. A write of at most one page into a fresh pipe
/// never blocks (a pipe holds at least a page), so the usual small state needs no thread. A larger
/// one is written on a thread of its own: a hook that never reads stdin must not block us (its
/// timeout still applies). A hook that exits without reading just makes the write fail: fine.
fn feed_stdin(child: &mut Child, state_json: &[u8]) {
    const PAGE: usize = 4096;
    let Some(mut stdin) = child.stdin.take() else {
        return;
    };
    if state_json.len() <= PAGE {
        let _ = stdin.write_all(state_json);
        return;
    }
    let data = state_json.to_vec();
    std::thread::spawn(move || {
        let _ = stdin.write_all(&data);
    });
}

/// Wait for the hook to exit, collecting its output, until `timeout`. On timeout the hook is
/// killed and reaped and the status is None. The exit is seen through a pidfd, not the pipes:
/// a hook may leave a daemon behind that keeps its stdout open.
fn wait(child: &mut Child, timeout: Option<Duration>) -> Result<(Option<ExitStatus>, Vec<u8>)> {
    let pidfd = pidfd_open(child.id() as i32).context(|| "pidfd_open")?;
    let mut out = Output::new(child.stdout.take(), child.stderr.take());
    let deadline = timeout.map(|t| Instant::now() + t);
    loop {
        let wait_ms = match deadline {
            None => -1,
            Some(d) => match d.checked_duration_since(Instant::now()) {
                Some(left) => left.as_millis().min(i32::MAX as u128) as i32,
                None => return killed(child).map(|()| (None, out.into_text())),
            },
        };
        let exited = out.poll(pidfd.as_fd(), wait_ms)?;
        if exited {
            // Take what is already buffered, without waiting on a pipe a daemon may hold.
            out.poll_pipes_only()?;
            let status = child.wait().context(|| "wait")?;
            return Ok((Some(status), out.into_text()));
        }
    }
}

fn killed(child: &mut Child) -> Result<()> {
    child.kill().context(|| "kill")?;
    child.wait().context(|| "wait").map(drop)
}

/// The hook's stdout and stderr, read as they fill so that a chatty hook never blocks on a full
/// pipe. Stderr is what explains a failure; stdout is the fallback.
struct Output {
    pipes: Vec<Pipe>,
}

struct Pipe {
    file: File,
    buf: Vec<u8>,
    open: bool,
}

impl Output {
    fn new(stdout: Option<ChildStdout>, stderr: Option<ChildStderr>) -> Self {
        let mut pipes = Vec::new();
        // stderr first: its text is the one the error message shows.
        if let Some(e) = stderr {
            pipes.push(Pipe::new(e));
        }
        if let Some(o) = stdout {
            pipes.push(Pipe::new(o));
        }
        Output { pipes }
    }

    /// Wait up to `wait_ms` for output or the exit; read what came. True once the hook exited.
    fn poll(&mut self, pidfd: BorrowedFd<'_>, wait_ms: i32) -> Result<bool> {
        let open: Vec<usize> = (0..self.pipes.len())
            .filter(|&i| self.pipes[i].open)
            .collect();
        let mut fds = vec![pidfd];
        fds.extend(open.iter().map(|&i| self.pipes[i].file.as_fd()));
        let Some(ready) = poll_readable(&fds, wait_ms).context(|| "poll")? else {
            return Ok(false);
        };
        for (&i, &revents) in open.iter().zip(&ready[1..]) {
            if revents != 0 {
                self.pipes[i].read_some();
            }
        }
        Ok(ready[0] != 0)
    }

    /// Read whatever the pipes hold right now, without waiting.
    fn poll_pipes_only(&mut self) -> Result<()> {
        // Bounded: a daemon left behind could keep writing forever.
        for _ in 0..16 {
            let open: Vec<usize> = (0..self.pipes.len())
                .filter(|&i| self.pipes[i].open)
                .collect();
            let fds: Vec<BorrowedFd<'_>> =
                open.iter().map(|&i| self.pipes[i].file.as_fd()).collect();
            let Some(ready) = poll_readable(&fds, 0).context(|| "poll")? else {
                return Ok(());
            };
            for (&i, &revents) in open.iter().zip(&ready) {
                if revents != 0 {
                    self.pipes[i].read_some();
                }
            }
        }
        Ok(())
    }

    /// Stderr's text if there is any, else stdout's.
    fn into_text(self) -> Vec<u8> {
        let mut texts = self.pipes.into_iter().map(|p| p.buf);
        let first = texts.next().unwrap_or_default();
        if first.iter().any(|b| !b.is_ascii_whitespace()) {
            return first;
        }
        texts.next().unwrap_or_default()
    }
}

impl Pipe {
    fn new(end: impl Into<OwnedFd>) -> Self {
        Pipe {
            file: File::from(end.into()),
            buf: Vec::new(),
            open: true,
        }
    }

    /// One read (poll said it will not block); end of file or an error closes the pipe for us.
    fn read_some(&mut self) {
        let mut chunk = [0u8; 4096];
        match self.file.read(&mut chunk) {
            Ok(0) | Err(_) => self.open = false,
            Ok(n) => {
                let room = OUTPUT_LIMIT.saturating_sub(self.buf.len());
                self.buf.extend_from_slice(&chunk[..n.min(room)]);
            }
        }
    }
}

/// The first non-empty line of a hook's output, for a one-line error.
fn first_line(output: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(output);
    text.lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;
    use oci_spec::runtime::HookBuilder;
    use std::path::{Path, PathBuf};

    const STATE: &[u8] =
        br#"{"ociVersion":"1.2.0","id":"c1","status":"creating","pid":42,"bundle":"/b"}"#;

    /// A scratch directory per test, removed on drop.
    struct Scratch(PathBuf);

    impl Scratch {
        fn new(name: &str) -> Self {
            let dir =
                std::env::temp_dir().join(format!("coracle-hook-{name}-{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::create_dir_all(&dir).unwrap();
            Scratch(dir)
        }

        fn path(&self, name: &str) -> String {
            self.0.join(name).display().to_string()
        }

        fn read(&self, name: &str) -> String {
            std::fs::read_to_string(self.0.join(name)).unwrap()
        }
    }

    impl Drop for Scratch {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    /// `/bin/sh -c SCRIPT` as a hook.
    fn sh(script: &str) -> HookBuilder {
        HookBuilder::default().path("/bin/sh").args(vec![
            "sh".to_string(),
            "-c".into(),
            script.into(),
        ])
    }

    fn run_hooks(hooks: Vec<HookBuilder>) -> Result<()> {
        let hooks: Vec<Hook> = hooks.into_iter().map(|h| h.build().unwrap()).collect();
        run("createRuntime", &hooks, STATE)
    }

    #[test]
    fn state_arrives_on_stdin() {
        let s = Scratch::new("stdin");
        run_hooks(vec![sh(&format!("cat > {}", s.path("state")))]).unwrap();
        assert_eq!(s.read("state").as_bytes(), STATE);
    }

    #[test]
    fn a_large_state_arrives_whole() {
        let s = Scratch::new("bigstate");
        let big = format!(r#"{{"annotations":{{"x":"{}"}}}}"#, "a".repeat(300_000));
        let hook = sh(&format!("cat > {}", s.path("state"))).build().unwrap();
        run("createRuntime", &[hook], big.as_bytes()).unwrap();
        assert_eq!(s.read("state"), big);
    }

    #[test]
    fn args_set_argv0_and_the_rest() {
        let s = Scratch::new("args");
        let script = format!("tr '\\000' ' ' < /proc/$$/cmdline > {}", s.path("argv"));
        let hook = HookBuilder::default().path("/bin/sh").args(vec![
            "my-argv0".to_string(),
            "-c".into(),
            script.clone(),
            "x".into(),
        ]);
        run_hooks(vec![hook]).unwrap();
        assert_eq!(s.read("argv"), format!("my-argv0 -c {script} x "));
    }

    #[test]
    fn without_args_argv0_is_the_path() {
        let s = Scratch::new("noargs");
        let script = s.path("hook.sh");
        std::fs::write(
            &script,
            format!("#!/bin/sh\necho \"$0 $#\" > {}\n", s.path("out")),
        )
        .unwrap();
        std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755))
            .unwrap();
        run_hooks(vec![HookBuilder::default().path(&script)]).unwrap();
        assert_eq!(s.read("out"), format!("{script} 0\n"));
    }

    #[test]
    fn env_is_exactly_the_given_one() {
        let s = Scratch::new("env");
        let hook = sh(&format!("env > {}", s.path("env")))
            .env(vec!["FOO=bar baz".to_string(), "EMPTY=".into()]);
        run_hooks(vec![hook]).unwrap();
        let mut lines: Vec<String> = s.read("env").lines().map(String::from).collect();
        // dash sets PWD itself; nothing else may come from our environment.
        lines.retain(|l| !l.starts_with("PWD="));
        lines.sort();
        assert_eq!(lines, ["EMPTY=", "FOO=bar baz"]);
    }

    #[test]
    fn a_failing_hook_says_why_in_one_line() {
        let err = run_hooks(vec![sh("echo 'bad config' >&2; echo more >&2; exit 3")])
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "createRuntime hook /bin/sh: exited with status 3: bad config"
        );
        let err = run_hooks(vec![sh("echo 'on stdout'; exit 1")])
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "createRuntime hook /bin/sh: exited with status 1: on stdout"
        );
        let err = run_hooks(vec![sh("exit 2")]).unwrap_err().to_string();
        assert_eq!(err, "createRuntime hook /bin/sh: exited with status 2");
        let err = run_hooks(vec![sh("kill -9 $$")]).unwrap_err().to_string();
        assert_eq!(err, "createRuntime hook /bin/sh: killed by signal 9");
    }

    #[test]
    fn a_missing_program_is_an_error() {
        let err = run_hooks(vec![HookBuilder::default().path("/nonexistent/hook")])
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("createRuntime hook /nonexistent/hook: cannot start: No such file"),
            "{err}"
        );
    }

    #[test]
    fn hooks_run_in_order_and_stop_at_the_first_failure() {
        let s = Scratch::new("order");
        let log = s.path("log");
        let err = run_hooks(vec![
            sh(&format!("echo 1 >> {log}")),
            sh(&format!("echo 2 >> {log}")),
            sh("exit 1"),
            sh(&format!("echo 4 >> {log}")),
        ]);
        assert!(err.is_err());
        assert_eq!(s.read("log"), "1\n2\n");
    }

    #[test]
    fn a_hook_that_overruns_its_timeout_is_killed() {
        let s = Scratch::new("timeout");
        let started = Instant::now();
        let hook = sh(&format!("echo $$ > {}; exec sleep 30", s.path("pid"))).timeout(1i64);
        let err = run_hooks(vec![hook]).unwrap_err().to_string();
        assert_eq!(err, "createRuntime hook /bin/sh: timed out after 1s");
        let took = started.elapsed();
        assert!(
            took >= Duration::from_secs(1) && took < Duration::from_secs(10),
            "{took:?}"
        );
        // Killed and reaped: the pid is gone, not a zombie.
        let pid = s.read("pid").trim().to_string();
        assert!(!Path::new(&format!("/proc/{pid}")).exists());
    }

    #[test]
    fn a_daemon_holding_stdout_does_not_hold_the_runtime() {
        let s = Scratch::new("daemon");
        let started = Instant::now();
        let hook = sh(&format!("sleep 30 & echo $! > {}; exit 0", s.path("pid"))).timeout(20i64);
        run_hooks(vec![hook]).unwrap();
        assert!(started.elapsed() < Duration::from_secs(10));
        let pid: i32 = s.read("pid").trim().parse().unwrap();
        crate::sys::process::kill(pid, libc::SIGKILL).unwrap();
    }

    #[test]
    fn much_output_does_not_block_the_hook() {
        // 1 MiB on stdout, far more than a pipe holds: the hook must still finish.
        let hook = sh("head -c 1048576 /dev/zero; exit 0").timeout(20i64);
        run_hooks(vec![hook]).unwrap();
    }
}
