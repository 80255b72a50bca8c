//! The core engine checks, one code for every runtime the engine drives: the runtime crate in
//! process (built-in), and runc and crun through their command line (`--runtime runc|crun`:
//! create/start/state/kill/exec/delete with the same monitor). That all of them pass the same
//! checks is how we know the engine speaks the standard runtime interface.
//!
//! On this hybrid-cgroup host the built-in and runc checks run; crun 1.8 refuses hybrid hosts,
//! so its checks print `SKIP` here. `tests/v2/run.sh --engine` boots a cgroup v2 kernel under
//! QEMU and runs this whole file there, for all three runtimes. Every container runs with
//! `--network none` (the guest has no CNI plugins; networks have tests of their own).

mod common;
mod engine_support;

use engine_support::*;
use std::process::Output;
use std::time::{Duration, Instant};

/// Which runtime runs the containers of a check.
#[derive(Clone, Copy, Debug)]
enum Runtime {
    BuiltIn,
    Runc,
    Crun,
}

impl Runtime {
    /// The `run`/`create` flags that pick it, or None (with a printed `SKIP` line) when it
    /// cannot run on this host.
    fn flags(self) -> Option<Vec<&'static str>> {
        let name = match self {
            Runtime::BuiltIn => return Some(vec![]),
            Runtime::Runc => "runc",
            Runtime::Crun => "crun",
        };
        assert!(
            std::process::Command::new(name)
                .arg("--version")
                .output()
                .is_ok_and(|o| o.status.success()),
            "{name} is missing: apt-get install {name}"
        );
        if matches!(self, Runtime::Crun) && hybrid_cgroups() {
            println!(
                "SKIP crun 1.8 refuses hybrid cgroup hosts: tests/v2/run.sh --engine runs it on cgroup v2"
            );
            return None;
        }
        Some(vec!["--runtime", name])
    }
}

/// A v1 layout with cgroup2 mounted beside it (/sys/fs/cgroup/unified), as on this host.
fn hybrid_cgroups() -> bool {
    std::path::Path::new("/sys/fs/cgroup/unified/cgroup.controllers").exists()
}

/// One check's world: a store with the busybox image, and the runtime's flags.
struct Core {
    env: TestEnv,
    flags: Vec<&'static str>,
}

impl Core {
    fn new(rt: Runtime) -> Option<Core> {
        let flags = rt.flags()?;
        Some(Core { env: env(), flags })
    }

    /// `run` with the runtime's flags, `--network none`, then `args`.
    fn run_args<'a>(&'a self, args: &[&'a str]) -> Vec<&'a str> {
        let mut all = vec!["run"];
        all.extend(&self.flags);
        all.extend(["--network", "none"]);
        all.extend(args);
        all
    }

    fn run(&self, args: &[&str]) -> Output {
        self.env.output(&self.run_args(args))
    }

    /// `run -d ARGS`: the new container's id.
    fn detached(&self, args: &[&str]) -> String {
        let mut all = vec!["-d"];
        all.extend(args);
        let id = self.env.ok(&self.run_args(&all)).trim().to_string();
        assert_eq!(id.len(), 64, "{id}");
        id
    }

    /// Nothing of container `id` is left (record, runtime state, mounts, cgroups, netns, its
    /// monitor).
    fn assert_gone(&self, id: &str) {
        assert_gone(&self.env, id);
        let external = self.env.root().join("runtime-external").join(id);
        assert!(
            !exists(&external),
            "runtime state {} left",
            external.display()
        );
        let procs = processes_naming(id);
        assert!(procs.is_empty(), "processes of {id} left: {procs:?}");
    }

    /// No container of the store is left at all, nor any runtime's state.
    fn assert_empty(&self) {
        assert_store_empty(&self.env);
        for dir in ["runtime", "runtime-external"] {
            let d = self.env.root().join(dir);
            let left: Vec<_> = std::fs::read_dir(&d)
                .map(|r| r.flatten().map(|e| e.file_name()).collect())
                .unwrap_or_default();
            assert!(left.is_empty(), "{}: left {left:?}", d.display());
        }
    }
}

/// Processes whose command line names `what` (a container's monitor names its id).
fn processes_naming(what: &str) -> Vec<String> {
    let mut found = vec![];
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if !name.bytes().all(|b| b.is_ascii_digit()) {
            continue;
        }
        // A zombie is gone for our purposes (an orphan may wait for the reaper a moment).
        let stat = std::fs::read_to_string(e.path().join("stat")).unwrap_or_default();
        if stat
            .rsplit(')')
            .next()
            .is_some_and(|s| s.trim_start().starts_with('Z'))
        {
            continue;
        }
        let cmd = std::fs::read(e.path().join("cmdline")).unwrap_or_default();
        let cmd = String::from_utf8_lossy(&cmd).replace('\0', " ");
        if cmd.contains(what) {
            found.push(format!("{name}: {cmd}"));
        }
    }
    found
}

/// `run --rm`: the container's exit code (0, 3), its stdout and stderr apart; 127 for a
/// missing command, 126 for a file that cannot be executed, each one error line; nothing left.
fn exit_codes_and_output(rt: Runtime) {
    let Some(c) = Core::new(rt) else { return };
    let out = c.run(&["--rm", IMAGE, "true"]);
    assert_eq!(
        (code(&out), stdout(&out).as_str()),
        (0, ""),
        "{}",
        stderr(&out)
    );
    let out = c.run(&["--rm", IMAGE, "sh", "-c", "echo out; echo err >&2; exit 3"]);
    assert_eq!(code(&out), 3, "{}", stderr(&out));
    assert_eq!(
        (stdout(&out).as_str(), stderr(&out).as_str()),
        ("out\n", "err\n")
    );
    let out = c.run(&["--rm", IMAGE, "nosuchcmd"]);
    assert_one_error(&out, 127, "nosuchcmd");
    // Without --rm too: a container that could not start is removed again.
    let out = c.run(&[IMAGE, "/etc/passwd"]);
    assert_one_error(&out, 126, "/etc/passwd");
    c.assert_empty();
}

/// `run -d`, then `logs -f` follows until the exit (both streams apart), `wait` gets the code.
fn detached_logs_follow(rt: Runtime) {
    let Some(c) = Core::new(rt) else { return };
    let id = c.detached(&[
        IMAGE,
        "sh",
        "-c",
        "for i in 1 2 3; do echo line$i; sleep 0.2; done; echo oops >&2; exit 5",
    ]);
    let f = c.env.output(&["logs", "-f", &id]);
    assert_eq!(code(&f), 0, "{}", stderr(&f));
    assert_eq!(
        stdout(&f),
        "line1\nline2\nline3\n",
        "logs -f returns at the exit"
    );
    assert_eq!(stderr(&f), "oops\n");
    assert_eq!(c.env.ok(&["wait", &id]).trim(), "5");
    let s = inspect(&c.env, &id);
    assert_eq!(s["State"]["Status"], "exited");
    assert_eq!(s["State"]["ExitCode"], 5);
    assert_eq!(s["State"]["OOMKilled"], false);
    c.env.ok(&["rm", &id]);
    c.assert_gone(&id);
    c.assert_empty();
}

/// `exec` runs in the running container (its hostname, -e, -w, exit code); the monitor is the
/// init's parent (also when another runtime's `create` made it); `rm -f` removes it running.
fn exec_and_rm_force(rt: Runtime) {
    let Some(c) = Core::new(rt) else { return };
    let id = c.detached(&["--hostname", "exhost", IMAGE, "sleep", "600"]);
    let pid = inspect(&c.env, &id)["State"]["Pid"].as_i64().unwrap();
    assert!(pid > 0);
    relaying_monitor(pid, &id);
    let out = c.env.output(&[
        "exec",
        "-e",
        "X=1",
        "-w",
        "/tmp",
        &id,
        "sh",
        "-c",
        "hostname; echo $X $(pwd); echo err >&2; exit 3",
    ]);
    assert_eq!(code(&out), 3, "{}", stderr(&out));
    assert_eq!(
        (stdout(&out).as_str(), stderr(&out).as_str()),
        ("exhost\n1 /tmp\n", "err\n")
    );
    assert_eq!(inspect(&c.env, &id)["State"]["Running"], true);
    let t = Instant::now();
    c.env.ok(&["rm", "-f", &id]);
    assert!(t.elapsed() < Duration::from_secs(8), "{:?}", t.elapsed());
    assert!(
        !std::path::Path::new(&format!("/proc/{pid}")).exists()
            || std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| s
                .rsplit(')')
                .next()
                .unwrap_or("")
                .trim_start()
                .starts_with('Z')),
        "the container's init {pid} survived rm -f"
    );
    c.assert_gone(&id);
    c.assert_empty();
}

/// `stop` sends SIGTERM (the container exits on it at once), and SIGKILL after `-t` when it
/// does not (137).
fn stop_term_then_kill(rt: Runtime) {
    let Some(c) = Core::new(rt) else { return };
    let polite = c.detached(&[
        IMAGE,
        "sh",
        "-c",
        "trap 'echo got-term; exit 7' TERM; echo ready; while true; do sleep 0.1; done",
    ]);
    wait_until("ready", || logs(&c.env, &polite).contains("ready"));
    let t = Instant::now();
    c.env.ok(&["stop", &polite]);
    assert!(
        t.elapsed() < Duration::from_secs(5),
        "no SIGKILL wait needed"
    );
    assert!(logs(&c.env, &polite).contains("got-term"));
    let s = inspect(&c.env, &polite);
    assert_eq!(
        (s["State"]["ExitCode"].as_i64(), &s["State"]["Running"]),
        (Some(7), &false.into())
    );
    // pid 1 of a pid namespace ignores signals it has no handler for: `sleep` as the init
    // never reacts to SIGTERM.
    let stubborn = c.detached(&[IMAGE, "sleep", "600"]);
    let t = Instant::now();
    c.env.ok(&["stop", "-t", "1", &stubborn]);
    let took = t.elapsed();
    assert!(
        took >= Duration::from_secs(1),
        "SIGKILL came before -t: {took:?}"
    );
    assert!(took < Duration::from_secs(8), "{took:?}");
    assert_eq!(inspect(&c.env, &stubborn)["State"]["ExitCode"], 137);
    for id in [&polite, &stubborn] {
        c.env.ok(&["rm", id]);
        c.assert_gone(id);
    }
    c.assert_empty();
}

/// `-m 32m`: the kernel's OOM kill is what `inspect` reports (OOMKilled, exit 137).
fn oom_kill_reported(rt: Runtime) {
    let Some(c) = Core::new(rt) else { return };
    // A shell variable that doubles until it passes the limit.
    let out = c.run(&[
        "--name",
        "oom",
        "-m",
        "32m",
        IMAGE,
        "sh",
        "-c",
        "x=aaaaaaaaaaaaaaaa; while true; do x=$x$x; done",
    ]);
    assert_eq!(code(&out), 137, "{}", stderr(&out));
    let s = inspect(&c.env, "oom");
    assert_eq!(s["State"]["OOMKilled"], true, "{s}");
    assert_eq!(s["State"]["ExitCode"], 137);
    let id = s["Id"].as_str().unwrap().to_string();
    c.env.ok(&["rm", "oom"]);
    c.assert_gone(&id);
    c.assert_empty();
}

/// `--restart on-failure:3`: three restarts after the first failure, then the exit stays.
fn restart_on_failure_3(rt: Runtime) {
    let Some(c) = Core::new(rt) else { return };
    let id = c.detached(&[
        "--restart",
        "on-failure:3",
        IMAGE,
        "sh",
        "-c",
        "echo run; exit 1",
    ]);
    // The monitor holds its lock across the restarts: `wait` returns after the last one.
    assert_eq!(c.env.ok(&["wait", &id]).trim(), "1");
    assert_eq!(logs(&c.env, &id), "run\nrun\nrun\nrun\n");
    let s = inspect(&c.env, &id);
    assert_eq!(s["RestartCount"], 3);
    assert_eq!(s["State"]["Status"], "exited");
    c.env.ok(&["rm", &id]);
    c.assert_gone(&id);
    c.assert_empty();
}

/// `--pids-limit 5`: the shell (one) forks four children; the fifth fork fails.
fn pids_limit(rt: Runtime) {
    let Some(c) = Core::new(rt) else { return };
    let out = c.run(&[
        "--rm",
        "--pids-limit",
        "5",
        IMAGE,
        "sh",
        "-c",
        "for i in 1 2 3 4 5 6 7 8; do echo $i; sleep 60 & done; echo all",
    ]);
    assert_ne!(code(&out), 0, "{}", stdout(&out));
    assert_eq!(stdout(&out), "1\n2\n3\n4\n5\n");
    assert!(stderr(&out).contains("can't fork"), "{}", stderr(&out));
    c.assert_empty();
}

/// The checks, once per runtime (a module each, so a failure names both).
macro_rules! core_checks {
    ($($runtime:ident: $rt:expr;)*) => {$(
        mod $runtime {
            use super::Runtime;
            #[test]
            fn exit_codes_and_output() {
                super::exit_codes_and_output($rt)
            }
            #[test]
            fn detached_logs_follow() {
                super::detached_logs_follow($rt)
            }
            #[test]
            fn exec_and_rm_force() {
                super::exec_and_rm_force($rt)
            }
            #[test]
            fn stop_term_then_kill() {
                super::stop_term_then_kill($rt)
            }
            #[test]
            fn oom_kill_reported() {
                super::oom_kill_reported($rt)
            }
            #[test]
            fn restart_on_failure_3() {
                super::restart_on_failure_3($rt)
            }
            #[test]
            fn pids_limit() {
                super::pids_limit($rt)
            }
        }
    )*};
}

core_checks! {
    builtin: Runtime::BuiltIn;
    runc: Runtime::Runc;
    crun: Runtime::Crun;
}

/// `--runtime` naming no executable: one error line, exit 125, nothing made.
#[test]
fn a_missing_runtime_is_refused_with_nothing_left() {
    let env = env();
    let out = env.output(&[
        "run",
        "--rm",
        "--runtime",
        "/no/such/runtime",
        IMAGE,
        "true",
    ]);
    assert_one_error(&out, 125, "--runtime");
    assert_store_empty(&env);
    assert!(ids(&env).is_empty());
}
