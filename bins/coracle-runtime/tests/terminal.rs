//! The console socket (how containerd's shim and conmon get a container's pty) and what a
//! foreground `run` does for its container: forward signals.

mod common;

use common::{assert_nothing_left, exit_code, wait_until, Bundle, HostSnapshot, Runtime};
use runtime::sys::fd::recv_with_fd;
use std::io::{BufRead, BufReader, Read};
use std::os::fd::AsFd;
use std::os::unix::net::UnixListener;
use std::process::Stdio;
use std::time::Duration;

/// A listening console socket in the test's own temp dir.
fn console_socket(bundle: &Bundle) -> (UnixListener, String) {
    let path = bundle.path().join("console.sock");
    let listener = UnixListener::bind(&path).unwrap();
    (listener, path.to_string_lossy().into_owned())
}

#[test]
fn console_socket_receives_the_pty_master() {
    let rt = Runtime::new();
    let bundle = Bundle::busybox()
        .args(&[
            "sh",
            "-c",
            "tty; test -t 0 && echo stdin-is-a-tty; echo done",
        ])
        .config(|c| c["process"]["terminal"] = true.into());
    let (listener, sock) = console_socket(&bundle);
    let id = rt.new_id();
    let create = rt
        .cmd(&[
            "create",
            "--bundle",
            bundle.path_str(),
            "--console-socket",
            &sock,
            &id,
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (conn, _) = listener.accept().unwrap();
    let mut name = [0u8; 256];
    let (n, master) = recv_with_fd(conn.as_fd(), &mut name).unwrap();
    let master = master.expect("the message carries the pty master");
    let name = String::from_utf8_lossy(&name[..n]).into_owned();
    assert!(
        name.starts_with("/dev/pts/"),
        "payload names the pty: {name:?}"
    );
    let created = create.wait_with_output().unwrap();
    assert!(
        created.status.success(),
        "{}",
        String::from_utf8_lossy(&created.stderr)
    );
    assert_eq!(rt.status(&id), "created");

    rt.run_ok(&["start", &id]);
    // Read the container's terminal until every slave is closed (EIO) or EOF.
    let mut out = String::new();
    let _ = std::fs::File::from(master).read_to_string(&mut out);
    let lines: Vec<&str> = out.lines().map(str::trim_end).collect();
    assert_eq!(
        lines.first().copied(),
        Some(name.as_str()),
        "tty prints the pty: {out:?}"
    );
    assert!(lines.contains(&"stdin-is-a-tty"), "{out:?}");
    assert!(lines.contains(&"done"), "{out:?}");
    rt.wait_status(&id, "stopped", Duration::from_secs(10));
    rt.run_ok(&["delete", &id]);
    assert_nothing_left(&rt, &bundle, &id);
}

/// runc's rules: a detached container with a terminal needs a console socket, and a console socket
/// needs a terminal. Either mistake is one error line and leaves nothing.
#[test]
fn console_socket_and_terminal_must_go_together() {
    let rt = Runtime::new();
    let with_tty = Bundle::busybox()
        .args(&["true"])
        .config(|c| c["process"]["terminal"] = true.into());
    let without_tty = Bundle::busybox().args(&["true"]);
    let (_listener, sock) = console_socket(&without_tty);
    let cases: [(&Bundle, Vec<&str>, &str); 3] = [
        (&with_tty, vec!["create"], "console-socket"),
        (&with_tty, vec!["run", "--detach"], "console-socket"),
        (
            &without_tty,
            vec!["create", "--console-socket", &sock],
            "terminal",
        ),
    ];
    for (bundle, args, says) in cases {
        let id = rt.new_id();
        let before = HostSnapshot::take(&rt, bundle, &[&id]);
        let mut full = args.clone();
        full.extend(["--bundle", bundle.path_str(), &id]);
        let out = rt.output(&full);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_ne!(exit_code(&out), 0, "{full:?} was accepted");
        assert_eq!(err.lines().count(), 1, "{full:?}: {err}");
        assert!(err.contains(says), "{full:?}: {err}");
        HostSnapshot::take(&rt, bundle, &[&id]).assert_same_as(&before);
    }
}

#[test]
fn foreground_run_forwards_signals_to_the_container() {
    let rt = Runtime::new();
    // The shell is pid 1 of its namespace: only a signal it traps reaches it.
    let bundle = Bundle::busybox().args(&[
        "sh",
        "-c",
        "trap 'echo got-term; exit 42' TERM; echo ready; sleep 1000 & wait",
    ]);
    let id = rt.new_id();
    let mut run = rt
        .cmd(&["run", "--bundle", bundle.path_str(), &id])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(run.stdout.take().unwrap());
    let mut line = String::new();
    out.read_line(&mut line).unwrap();
    assert_eq!(line, "ready\n");
    runtime::sys::process::kill(run.id() as i32, libc::SIGTERM).unwrap();
    let mut rest = String::new();
    out.read_to_string(&mut rest).unwrap();
    let mut status = None;
    assert!(wait_until(Duration::from_secs(10), || {
        status = run.try_wait().unwrap();
        status.is_some()
    }));
    assert_eq!(rest, "got-term\n");
    assert_eq!(status.unwrap().code(), Some(42));
    assert_nothing_left(&rt, &bundle, &id);
}
