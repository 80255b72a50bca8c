//! The monitor: one small process per running container, the container's parent (no daemon).
//!
//! `coracle start`/`run` spawn it (the same binary, `coracle __monitor ID`) and read one line
//! from a pipe it inherits (fd number in `CORACLE_MONITOR_READY_FD`): `ok`, or `CODE message`
//! when the container could not start.
//! The monitor
//! 1. takes `ROOT/containers/ID/monitor.lock` for its whole life (`wait`, `stop` and `rm -f`
//!    wait on that lock: no polling), and leaves the caller's session (setsid);
//! 2. attaches the container's networks and writes their netns and files into config.json;
//! 3. creates and starts the container through the runtime crate, in this process (the init
//!    is our child), with stdout/stderr on pipes it holds and stdin on /dev/null (`-i`: the
//!    caller's stdin for a foreground `run`, else a pipe whose write end it holds, so the
//!    container's stdin stays open and empty until it stops);
//! 4. copies the output to `ROOT/containers/ID/ctr.log` (json-file lines) and, for a
//!    foreground `run`, to the caller's stdout/stderr as well;
//! 5. on exit: records the exit code (128+N for a signal) and the cgroup's OOM kills, deletes
//!    the runtime container (cgroup), detaches the networks, and removes a `--rm` container.
//!
//! It exits with the container's exit code.

use super::{ops, record, spec, Engine, Error, Record, Result, Status};
use super::{EXIT_CANNOT_EXEC, EXIT_ENGINE, EXIT_NOT_FOUND};
use crate::network::AttachRequest;
use std::fs::File;
use std::io::Write;
use std::os::fd::{AsFd, OwnedFd};
use sys::process::Exit;

pub const LOCK: &str = "monitor.lock";
/// Environment the starter sets for the monitor: the fd number of the pipe to answer on, and
/// "1" when the monitor's stdin (the caller's) is the container's (`run -i`).
pub const ENV_READY_FD: &str = "CORACLE_MONITOR_READY_FD";
pub const ENV_STDIN: &str = "CORACLE_MONITOR_STDIN";
pub const LOG: &str = "ctr.log";

/// The monitor's entry point; `attach`: also copy the output to our stdout/stderr (a
/// foreground `run`). Returns the exit code the monitor process ends with.
pub fn main(engine: &Engine, id: &str, attach: bool) -> i32 {
    let Some(raw) = std::env::var(ENV_READY_FD)
        .ok()
        .and_then(|v| v.parse().ok())
    else {
        return EXIT_ENGINE;
    };
    let ready = match sys::fd::dup_raw(raw) {
        Ok(fd) => File::from(fd),
        Err(_) => return EXIT_ENGINE,
    };
    sys::process::close(raw);
    let stdin = std::env::var(ENV_STDIN).is_ok_and(|v| v == "1");
    let _ = sys::process::setsid();
    // Before the record names this process: `stop`/`kill`/`rm -f` send it WAKE while it waits
    // to restart; blocked (also across the exec as the relay) it only ever queues.
    let _ = sys::signal::SigSet::empty().with(WAKE).block();
    match run(engine, id, attach, stdin, ready) {
        Ok(code) => code,
        Err((mut ready, e)) => {
            if let Some(r) = ready.as_mut() {
                let _ = writeln!(r, "{} {}", e.exit_code(), one_line(&e.to_string()));
            } else {
                note_error(engine, id, &e.to_string());
            }
            e.exit_code()
        }
    }
}

fn one_line(s: &str) -> String {
    s.replace('\n', " ")
}

type Failed = (Option<File>, Error);

fn run(
    engine: &Engine,
    id: &str,
    attach: bool,
    stdin: bool,
    ready: File,
) -> std::result::Result<i32, Failed> {
    let fail = |e: Error| (None::<File>, e);
    let dir = engine.container_dir(id);
    let lock_path = dir.join(LOCK);
    let mut ready = Some(ready);
    // Under the records lock: `rm` (which holds it while it checks and removes) sees either
    // this monitor's lock taken or no monitor at all.
    let records = match record::lock(engine) {
        Ok(l) => l,
        Err(e) => return Err((ready, e)),
    };
    if let Err(e) = record::load(engine, id) {
        return Err((ready, e));
    }
    let lock = match File::create(&lock_path) {
        Ok(l) => l,
        Err(e) => return Err((ready, super::io_err(&lock_path)(e))),
    };
    let taken = sys::fd::flock_try_exclusive(lock.as_fd());
    drop(records);
    match taken {
        Ok(true) => {}
        Ok(false) => {
            return Err((
                ready,
                Error::Conflict(format!("container {id}: already running")),
            ))
        }
        Err(e) => return Err((ready, super::io_err(&lock_path)(e))),
    }
    let started = match start(engine, id, attach, stdin) {
        Ok(s) => s,
        Err(e) => return Err((ready, e)),
    };
    if let Some(mut r) = ready.take() {
        let _ = writeln!(r, "ok");
    }
    // Only returns when the exec failed: then this (bigger) process relays instead.
    let _ = reexec(engine, id, &started, &lock);
    let code = relay(engine, id, started).map_err(fail)?;
    drop(lock);
    Ok(code)
}

/// What a started container leaves us to watch.
struct Started {
    pid: i32,
    out: OwnedFd,
    err: OwnedFd,
    sigfd: OwnedFd,
    attach: Option<(OwnedFd, OwnedFd)>,
    /// `-it`: the caller's stdin, copied to the pty master.
    input: Option<(OwnedFd, OwnedFd)>,
    /// `-i` with nobody attached: the write end of the container's stdin, held open.
    held: Option<OwnedFd>,
    auto_remove: bool,
}

fn start(engine: &Engine, id: &str, attach: bool, stdin: bool) -> Result<Started> {
    let rec = record::load(engine, id)?;
    let bundle = engine.container_dir(id).join("bundle");
    let nets = engine.networks();
    let ports = rec.request.port_mappings()?;
    let networks = rec.request.network_list();
    let att = nets.attach(&AttachRequest {
        container_id: id,
        name: &rec.name,
        hostname: Some(&hostname(&rec)),
        networks: &networks,
        ports: &ports,
    })?;
    let result = (|| {
        let cfg = bundle.join("config.json");
        let mut s = spec::load(&cfg)?;
        spec::apply_network(&mut s, &att);
        spec::save(&cfg, &s)?;
        let attach = if attach {
            Some((
                sys::fd::dup_raw(1).map_err(|e| Error::Invalid(format!("monitor: stdout: {e}")))?,
                sys::fd::dup_raw(2).map_err(|e| Error::Invalid(format!("monitor: stderr: {e}")))?,
            ))
        } else {
            None
        };
        let stdin = if stdin {
            Stdin::Caller
        } else if rec.request.interactive {
            Stdin::Held
        } else {
            Stdin::Null
        };
        create_and_start(engine, id, &bundle, attach, stdin)
    })();
    match result {
        Ok(mut st) => {
            st.auto_remove = rec.request.auto_remove;
            let lock = record::lock(engine)?;
            let mut rec = record::load(engine, id)?;
            rec.status = Status::Running;
            rec.pid = st.pid;
            rec.monitor_pid = std::process::id() as i32;
            rec.monitor_start = sys::process::process_start_time(rec.monitor_pid).unwrap_or(0);
            rec.started_at = Some(super::logs::now_nanos());
            rec.finished_at = None;
            rec.exit_code = 0;
            rec.oom_killed = false;
            rec.error.clear();
            rec.ips = att.ips.clone();
            rec.stopping = false;
            rec.restart_count = 0;
            record::save(engine, &rec, &lock)?;
            Ok(st)
        }
        Err(e) => {
            let _ = nets.detach(id);
            Err(e)
        }
    }
}

fn hostname(rec: &Record) -> String {
    rec.request
        .hostname
        .clone()
        .unwrap_or_else(|| rec.short_id().to_string())
}

/// What the container's stdin is.
#[derive(Clone, Copy, PartialEq)]
enum Stdin {
    /// /dev/null (no `-i`).
    Null,
    /// Ours, the caller's (a foreground `run -i`).
    Caller,
    /// A pipe whose write end we hold (`-i` with nobody attached).
    Held,
}

/// Create and start through the runtime crate with the container's stdio on our pipes.
fn create_and_start(
    engine: &Engine,
    id: &str,
    bundle: &std::path::Path,
    attach: Option<(OwnedFd, OwnedFd)>,
    stdin: Stdin,
) -> Result<Started> {
    let tty = record::load(engine, id)?.request.tty;
    let io = |what: &str| {
        let what = what.to_string();
        move |e: std::io::Error| Error::Invalid(format!("monitor: {what}: {e}"))
    };
    let null = File::options()
        .read(true)
        .write(true)
        .open("/dev/null")
        .map_err(io("/dev/null"))?;
    let (out_r, out_w) = std::io::pipe().map_err(io("pipe"))?;
    let (err_r, err_w) = std::io::pipe().map_err(io("pipe"))?;
    // Blocked before the clone: an init that exits at once leaves a pending SIGCHLD.
    let set = sys::signal::SigSet::empty().with(libc::SIGCHLD);
    set.block().map_err(io("blocking SIGCHLD"))?;
    let sigfd = set.signalfd().map_err(io("signalfd"))?;
    // The init is a clone of this process: it inherits fds 0, 1, 2 (0 stays the caller's
    // stdin for `run -i`).
    // (With a pty the runtime gives the container the slave as stdin: the master we hold
    // keeps it open.)
    let held = if stdin == Stdin::Held && !tty {
        let (r, w) = std::io::pipe().map_err(io("pipe"))?;
        sys::fd::dup_onto(r.as_fd(), 0).map_err(io("stdin"))?;
        Some(OwnedFd::from(w))
    } else {
        if stdin != Stdin::Caller {
            sys::fd::dup_onto(null.as_fd(), 0).map_err(io("stdin"))?;
        }
        None
    };
    sys::fd::dup_onto(out_w.as_fd(), 1).map_err(io("stdout"))?;
    sys::fd::dup_onto(err_w.as_fd(), 2).map_err(io("stderr"))?;
    // `-t`: the runtime's init makes the pty and sends its master over a console socket.
    // (Under /tmp: a path in the container's directory is longer than sun_path allows. The
    // runtime connects during `create`, so the file goes right after it.)
    let console = std::env::temp_dir().join(format!(
        "coracle-console-{}-{}.sock",
        &id[..12],
        std::process::id()
    ));
    let _ = std::fs::remove_file(&console);
    let listener = if tty {
        Some(std::os::unix::net::UnixListener::bind(&console).map_err(io("console socket"))?)
    } else {
        None
    };
    let caller_stdin = if tty && stdin == Stdin::Caller {
        Some(sys::fd::dup_raw(0).map_err(io("stdin"))?)
    } else {
        None
    };
    let rt = engine.driver(&record::load(engine, id)?);
    let created = rt.create(id, bundle, listener.as_ref().map(|_| console.as_path()));
    if listener.is_some() {
        let _ = std::fs::remove_file(&console);
    }
    // Only the container keeps the write ends: EOF comes when it (and its children) are gone.
    let _ = sys::fd::dup_onto(null.as_fd(), 0);
    let _ = sys::fd::dup_onto(null.as_fd(), 1);
    let _ = sys::fd::dup_onto(null.as_fd(), 2);
    drop((out_w, err_w));
    created.map_err(|e| exec_error(e, bundle))?;
    let pid = match rt.pid(id) {
        Ok(p) => p,
        Err(e) => {
            let _ = rt.delete(id);
            return Err(e);
        }
    };
    let master = match &listener {
        Some(l) => match receive_master(l) {
            Ok(m) => Some(m),
            Err(e) => {
                let _ = rt.delete(id);
                let _ = sys::process::waitpid(pid, false);
                return Err(io("console socket")(e));
            }
        },
        None => None,
    };
    if let (Some(m), Some(i)) = (&master, &caller_stdin) {
        if let Ok(ws) = sys::tty::get_winsize(i.as_fd()) {
            let _ = sys::tty::set_winsize(m.as_fd(), &ws);
        }
    }
    if let Err(e) = rt.start(id) {
        let _ = rt.delete(id);
        let _ = sys::process::waitpid(pid, false);
        return Err(exec_error(e, bundle));
    }
    let input = match (&master, caller_stdin) {
        (Some(m), Some(i)) => Some((i, m.try_clone().map_err(io("pty"))?)),
        _ => None,
    };
    Ok(Started {
        pid,
        // With a pty the container's output is what the master reads (one stream, stdout).
        out: master.unwrap_or_else(|| out_r.into()),
        err: err_r.into(),
        sigfd,
        attach,
        input,
        held,
        auto_remove: false,
    })
}

/// The pty master the init sends over the console socket (SCM_RIGHTS; the payload is the
/// slave's name).
fn receive_master(l: &std::os::unix::net::UnixListener) -> std::io::Result<OwnedFd> {
    let (conn, _) = l.accept()?;
    let mut buf = [0u8; 4096];
    match sys::fd::recv_with_fd(conn.as_fd(), &mut buf)? {
        (_, Some(fd)) => Ok(fd),
        (_, None) => Err(std::io::Error::other("no pty master received")),
    }
}

/// The runtime's errors about the program become Docker's 127 (not found) and 126 (cannot
/// execute); anything else is the engine's 125. The runtime says "no such executable file"
/// for a path that is missing or not executable: which one is told by the rootfs (a plain
/// lstat, never followed: it only picks the exit code).
fn exec_error(e: Error, bundle: &std::path::Path) -> Error {
    let msg = e.to_string();
    let low = msg.to_ascii_lowercase();
    let code = if low.contains("no such executable file") {
        let path = msg.split('"').nth(1).unwrap_or_default();
        let in_root = bundle.join("rootfs").join(path.trim_start_matches('/'));
        if path.starts_with('/') && in_root.symlink_metadata().is_ok() {
            EXIT_CANNOT_EXEC
        } else {
            EXIT_NOT_FOUND
        }
    } else if low.contains("not found") || low.contains("no such file") {
        EXIT_NOT_FOUND
    } else if low.contains("permission denied") || low.contains("exec format") {
        EXIT_CANNOT_EXEC
    } else {
        return e;
    };
    Error::Exec { code, msg }
}

/// The first argument of the relay mode (checked by `main` before any parsing).
pub const RELAY_ARG: &str = "__relay";

/// Exec this binary again as the relay (same pid: still the init's parent, SIGCHLD still
/// blocked, the signalfd, pipes and the monitor lock passed as fd numbers). The new image has
/// touched none of the create path (spec parsing, runtime, image store), so the long-lived
/// process stays small. Returns only on failure.
fn reexec(engine: &Engine, id: &str, st: &Started, lock: &File) -> std::io::Error {
    use std::ffi::CString;
    use std::os::fd::AsRawFd;
    use std::os::unix::ffi::OsStrExt;
    let exe = match std::env::current_exe() {
        Ok(e) => e,
        Err(e) => return e,
    };
    fn pair(p: &Option<(OwnedFd, OwnedFd)>) -> [Option<std::os::fd::BorrowedFd<'_>>; 2] {
        match p {
            Some((a, b)) => [Some(a.as_fd()), Some(b.as_fd())],
            None => [None, None],
        }
    }
    let [aout, aerr] = pair(&st.attach);
    let [input, pty] = pair(&st.input);
    let held = st.held.as_ref().map(|h| h.as_fd());
    let slots = [
        Some(st.out.as_fd()),
        Some(st.err.as_fd()),
        Some(st.sigfd.as_fd()),
        Some(lock.as_fd()),
        aout,
        aerr,
        input,
        pty,
        held,
    ];
    let fds: Vec<_> = slots.iter().flatten().copied().collect();
    for fd in &fds {
        if let Err(e) = sys::fd::clear_cloexec(*fd) {
            return e;
        }
    }
    let mut args = vec![
        exe.as_os_str().as_bytes().to_vec(),
        RELAY_ARG.into(),
        engine.root.as_os_str().as_bytes().to_vec(),
        id.into(),
        st.pid.to_string().into(),
        u8::from(st.auto_remove).to_string().into(),
    ];
    // Absent fds are "-".
    args.extend(slots.iter().map(|s| {
        s.map_or("-".into(), |f| f.as_raw_fd().to_string())
            .into_bytes()
    }));
    let args: Vec<CString> = args
        .into_iter()
        .filter_map(|a| CString::new(a).ok())
        .collect();
    let env: Vec<CString> = std::env::vars_os()
        .filter_map(|(k, v)| {
            let mut kv = k.as_bytes().to_vec();
            kv.push(b'=');
            kv.extend_from_slice(v.as_bytes());
            CString::new(kv).ok()
        })
        .collect();
    let err = sys::process::execve(&exe, &args, &env);
    for fd in fds {
        let _ = sys::fd::set_cloexec(fd);
    }
    err
}

/// The relay mode's entry point: `ROOT ID PID AUTO_REMOVE OUT ERR SIGFD LOCK AOUT AERR IN
/// PTY HELD` (fd numbers; `-` for an absent one).
pub fn relay_main(args: &[String]) -> i32 {
    let num = |i: usize| args.get(i).and_then(|a| a.parse::<i32>().ok());
    let take = |i: usize| {
        let raw = num(i)?;
        let fd = sys::fd::dup_raw(raw).ok()?;
        sys::process::close(raw);
        Some(fd)
    };
    let (Some(root), Some(id), Some(pid), Some(auto)) = (args.first(), args.get(1), num(2), num(3))
    else {
        return EXIT_ENGINE;
    };
    let (Some(out), Some(err), Some(sigfd), Some(lock)) = (take(4), take(5), take(6), take(7))
    else {
        return EXIT_ENGINE;
    };
    let attach = match (take(8), take(9)) {
        (Some(o), Some(e)) => Some((o, e)),
        _ => None,
    };
    let input = match (take(10), take(11)) {
        (Some(i), Some(m)) => Some((i, m)),
        _ => None,
    };
    let held = take(12);
    let engine = Engine::new(root);
    let st = Started {
        pid,
        out,
        err,
        sigfd,
        attach,
        input,
        held,
        auto_remove: auto == 1,
    };
    let code = match relay(&engine, id, st) {
        Ok(c) => c,
        Err(e) => {
            note_error(&engine, id, &e.to_string());
            EXIT_ENGINE
        }
    };
    drop(lock);
    code
}

/// The signal that tells a monitor waiting to restart that its record changed (`stopping`).
pub const WAKE: libc::c_int = libc::SIGUSR1;

/// Copy output until the container has exited; restart it as its policy says; then clean up.
fn relay(engine: &Engine, id: &str, mut st: Started) -> Result<i32> {
    let mut log = super::logs::Writer::for_container(engine, id)?;
    let mut backoff = super::restart::Backoff::default();
    let mut since = std::time::Instant::now();
    loop {
        let code = relay_once(&mut log, &st);
        log.flush();
        if let Some(delay) = restart_due(engine, id, code, since.elapsed(), &mut backoff) {
            if let Ok(rec) = record::load(engine, id) {
                let _ = engine.driver(&rec).delete(id);
            }
            // A `stop`/`kill`/`rm -f` during the delay found nothing to signal: it ends the
            // restarts here.
            if wait_unless_stopped(engine, id, delay) {
                finish(engine, id, code, st.auto_remove)?;
                return Ok(code);
            }
            match restart(engine, id, st) {
                Ok(next) => {
                    st = next;
                    since = std::time::Instant::now();
                    continue;
                }
                Err(e) => {
                    note_error(engine, id, &e.to_string());
                    finish(engine, id, code, false)?;
                    return Ok(code);
                }
            }
        }
        finish(engine, id, code, st.auto_remove)?;
        return Ok(code);
    }
}

/// `--restart`: when the policy restarts after this exit (after a run of `ran`) and no
/// `stop`/`kill`/`rm -f` asked for it, the delay before the next start. The record says
/// restarting, with the exit, and counts the restart.
fn restart_due(
    engine: &Engine,
    id: &str,
    code: i32,
    ran: std::time::Duration,
    backoff: &mut super::restart::Backoff,
) -> Option<std::time::Duration> {
    let lock = record::lock(engine).ok()?;
    let mut rec = record::load(engine, id).ok()?;
    let policy = rec.request.restart_policy().ok()?;
    if rec.stopping || !policy.restarts(code, rec.restart_count) {
        return None;
    }
    rec.restart_count += 1;
    rec.restarting = true;
    rec.exit_code = code;
    rec.pid = 0;
    rec.finished_at = Some(super::logs::now_nanos());
    record::save(engine, &rec, &lock).ok()?;
    Some(backoff.next(ran))
}

/// Sleep `delay`, or less when the user stops the container meanwhile (they send [`WAKE`]
/// after marking the record): whether it was stopped.
fn wait_unless_stopped(engine: &Engine, id: &str, delay: std::time::Duration) -> bool {
    let end = std::time::Instant::now() + delay;
    let wake = sys::signal::SigSet::empty().with(WAKE).signalfd().ok();
    loop {
        if stopping(engine, id) {
            return true;
        }
        let left = end.saturating_duration_since(std::time::Instant::now());
        if left.is_zero() {
            return false;
        }
        match &wake {
            Some(fd) => {
                let ms = left.as_millis().min(i32::MAX as u128) as i32;
                if let Ok(Some(_)) = sys::fd::poll_readable(&[fd.as_fd()], ms.max(1)) {
                    let _ = sys::signal::read_signalfd(fd);
                }
            }
            None => std::thread::sleep(left),
        }
    }
}

/// Whether the user has stopped the container (or it is gone).
fn stopping(engine: &Engine, id: &str) -> bool {
    record::load(engine, id).map_or(true, |r| r.stopping)
}

/// The same container again, from the same bundle (its network stays attached).
fn restart(engine: &Engine, id: &str, old: Started) -> Result<Started> {
    let Started {
        attach,
        auto_remove,
        ..
    } = old;
    let bundle = engine.container_dir(id).join("bundle");
    // `-i`: the caller's stdin was the first run's; later runs get a held pipe.
    let interactive = record::load(engine, id)?.request.interactive;
    let stdin = if interactive {
        Stdin::Held
    } else {
        Stdin::Null
    };
    let mut st = create_and_start(engine, id, &bundle, attach, stdin)?;
    st.auto_remove = auto_remove;
    let lock = record::lock(engine)?;
    let mut rec = record::load(engine, id)?;
    rec.pid = st.pid;
    rec.restarting = false;
    rec.started_at = Some(super::logs::now_nanos());
    record::save(engine, &rec, &lock)?;
    Ok(st)
}

/// Copy output until the container has exited and its pipes are closed: its exit code.
fn relay_once(log: &mut super::logs::Writer, st: &Started) -> i32 {
    let mut open = [true, true];
    let mut input_open = st.input.is_some();
    let mut exit: Option<Exit> = None;
    let mut buf = vec![0u8; 32 * 1024];
    let mut quiet = false;
    while open[0] || open[1] || exit.is_none() {
        let mut fds = vec![st.sigfd.as_fd()];
        let streams: Vec<usize> = (0..2).filter(|&s| open[s]).collect();
        for &s in &streams {
            fds.push(if s == 0 {
                st.out.as_fd()
            } else {
                st.err.as_fd()
            });
        }
        let input_at = match (&st.input, input_open && exit.is_none()) {
            (Some((from, _)), true) => {
                fds.push(from.as_fd());
                Some(fds.len() - 1)
            }
            _ => None,
        };
        let ready = if exit.is_some() {
            // Once the init is gone its pid namespace is torn down and the pipes close at
            // once; the timeout only guards against a writer that escaped it (a shared pid
            // namespace).
            match sys::fd::poll_readable(&fds, 2000) {
                Ok(Some(r)) => r,
                Ok(None) => break,
                Err(_) => continue,
            }
        } else {
            match wait_quietly(&fds, &mut quiet) {
                Some(r) => r,
                None => continue,
            }
        };
        for (i, &s) in streams.iter().enumerate() {
            if ready[i + 1] == 0 {
                continue;
            }
            let fd = if s == 0 {
                st.out.as_fd()
            } else {
                st.err.as_fd()
            };
            match sys::fd::read(fd, &mut buf) {
                Ok(0) | Err(_) => open[s] = false,
                Ok(n) => {
                    log.write(s, &buf[..n]);
                    if let Some((o, e)) = &st.attach {
                        let to = if s == 0 { o.as_fd() } else { e.as_fd() };
                        // The caller may be gone (Ctrl-C): the log still gets everything.
                        let _ = sys::fd::write_all(to, &buf[..n]);
                    }
                }
            }
        }
        if let (Some(i), Some((from, to))) = (input_at, &st.input) {
            if ready[i] != 0 {
                match sys::fd::read(from.as_fd(), &mut buf) {
                    Ok(0) | Err(_) => input_open = false,
                    Ok(n) => {
                        let _ = sys::fd::write_all(to.as_fd(), &buf[..n]);
                    }
                }
            }
        }
        if ready[0] != 0 {
            let _ = sys::signal::read_signalfd(&st.sigfd);
            if let Ok(Some((_, e))) = sys::process::waitpid(st.pid, true) {
                exit = Some(e);
            }
        }
    }
    exit.map_or(EXIT_ENGINE, |e| e.status())
}

/// How long the relay waits without output before it drops its mapped file pages.
const IDLE_MS: i32 = 1000;

/// Wait for output, a signal or input. After [`IDLE_MS`] of nothing (`quiet` is then set until
/// something comes), the pages start-up, a restart or the last burst of output mapped of the
/// binary and its libraries are dropped right before sleeping on: a quiet container's relay
/// keeps resident little more than its private memory (the file pages stay in the page
/// cache and come back on the next event). `None`: an error to retry on.
fn wait_quietly(fds: &[std::os::fd::BorrowedFd<'_>], quiet: &mut bool) -> Option<Vec<i16>> {
    if !*quiet {
        match sys::fd::poll_readable(fds, IDLE_MS) {
            Ok(Some(r)) => return Some(r),
            Ok(None) => {}
            Err(_) => return None,
        }
        if let Ok(maps) = sys::mem::clean_file_mappings() {
            *quiet = true;
            let ready = sys::mem::drop_then_poll(&maps, fds, -1).ok().flatten();
            *quiet = ready.is_none();
            return ready;
        }
    }
    let ready = sys::fd::poll_readable(fds, -1).ok().flatten();
    *quiet = ready.is_none();
    ready
}

/// After the exit: OOM kills from the cgroup, the runtime container and networks gone, the
/// record updated (or the whole container removed with `--rm`).
fn finish(engine: &Engine, id: &str, code: i32, auto_remove: bool) -> Result<()> {
    let mut oom = false;
    let mut problems = vec![];
    let deleted = match record::load(engine, id) {
        Ok(rec) => {
            let rt = engine.driver(&rec);
            oom = rt.oom_killed(id);
            rt.delete(id)
        }
        Err(e) => Err(e),
    };
    if let Err(e) = deleted {
        problems.push(e.to_string());
    }
    if let Err(e) = engine.networks().detach(id) {
        problems.push(e.to_string());
    }
    // The exit code also goes into the monitor's lock file: a `wait` holds that file open, so
    // it can read the code even after a `--rm` container is gone.
    let _ = std::fs::write(engine.container_dir(id).join(LOCK), code.to_string());
    let lock = record::lock(engine)?;
    if auto_remove {
        // Docker's --rm takes the anonymous volumes along.
        return ops::remove_with_volumes(engine, id, &lock);
    }
    let mut rec = record::load(engine, id)?;
    rec.status = Status::Exited;
    rec.restarting = false;
    rec.exit_code = code;
    rec.oom_killed = oom;
    rec.pid = 0;
    rec.finished_at = Some(super::logs::now_nanos());
    rec.ips.clear();
    rec.error = problems.join("; ");
    record::save(engine, &rec, &lock)
}

/// An error after `ok` was sent has nobody to tell: it goes into the record.
fn note_error(engine: &Engine, id: &str, msg: &str) {
    if let Ok(lock) = record::lock(engine) {
        if let Ok(mut rec) = record::load(engine, id) {
            rec.error = msg.to_string();
            let _ = record::save(engine, &rec, &lock);
        }
    }
}
