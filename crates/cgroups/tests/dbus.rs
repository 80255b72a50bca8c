//! The D-Bus client against a real bus: a private `dbus-daemon` this test starts (own config and
//! socket in a temp dir, stopped by pid). systemd itself is tested in the QEMU guest
//! (tests/v2/run.sh --systemd); this proves the wire format, auth, Hello, errors and signals.

use cgroups::systemd::dbus::{Call, Connection, Reader, Writer};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

struct Daemon {
    child: Child,
    dir: PathBuf,
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn start_daemon() -> Daemon {
    let dir = std::env::temp_dir().join(format!("coracle-dbus-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let sock = dir.join("bus");
    let conf = dir.join("bus.conf");
    std::fs::write(
        &conf,
        format!(
            r#"<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:path={}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*"/>
    <allow receive_sender="*"/>
    <allow own="*"/>
  </policy>
</busconfig>
"#,
            sock.display()
        ),
    )
    .unwrap();
    let child = Command::new("dbus-daemon")
        .arg(format!("--config-file={}", conf.display()))
        .arg("--nofork")
        .arg("--nopidfile")
        .stdout(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start dbus-daemon (apt-get install dbus-daemon): {e}"));
    let d = Daemon { child, dir };
    let deadline = Instant::now() + Duration::from_secs(10);
    while !sock.exists() {
        assert!(Instant::now() < deadline, "dbus-daemon made no socket");
        std::thread::sleep(Duration::from_millis(10));
    }
    d
}

fn bus_call<'a>(member: &'a str, signature: &'a str, body: Vec<u8>) -> Call<'a> {
    Call {
        destination: Some("org.freedesktop.DBus"),
        path: "/org/freedesktop/DBus",
        interface: "org.freedesktop.DBus",
        member,
        signature,
        body,
    }
}

fn connect(sock: &Path) -> Connection {
    Connection::connect(sock, true, Duration::from_secs(10)).expect("connect + AUTH + Hello")
}

#[test]
fn calls_errors_and_signals_on_a_real_bus() {
    let d = start_daemon();
    let sock = d.dir.join("bus");
    let mut c = connect(&sock);

    let id = c.call(&bus_call("GetId", "", Vec::new())).unwrap().unwrap();
    let id = id.first_string().expect("GetId returns a string");
    assert_eq!(id.len(), 32, "{id}");

    let mut w = Writer::default();
    w.str("org.freedesktop.DBus");
    let has = c
        .call(&bus_call("NameHasOwner", "s", w.into_bytes()))
        .unwrap()
        .unwrap();
    assert_eq!(has.signature, "b");
    assert_eq!(Reader::new(&has.body).u32().unwrap(), 1);

    let err = c
        .call(&bus_call("NoSuchMethod", "", Vec::new()))
        .unwrap()
        .expect_err("an unknown method is an error reply");
    assert_eq!(err.name, "org.freedesktop.DBus.Error.UnknownMethod");
    assert!(!err.message.is_empty());

    // A signal: NameOwnerChanged when a second connection gets its unique name.
    let mut w = Writer::default();
    w.str("type='signal',interface='org.freedesktop.DBus',member='NameOwnerChanged'");
    c.call(&bus_call("AddMatch", "s", w.into_bytes()))
        .unwrap()
        .unwrap();
    let _other = connect(&sock);
    // (NameAcquired for our own name came first, kept while Hello's reply was awaited.)
    let first = c.next_signal().expect("a signal");
    assert!(
        first.is_signal("org.freedesktop.DBus", "NameAcquired"),
        "{first:?}"
    );
    let sig = c.next_signal().expect("NameOwnerChanged arrives");
    assert!(
        sig.is_signal("org.freedesktop.DBus", "NameOwnerChanged"),
        "{sig:?}"
    );
    assert_eq!(sig.signature, "sss");
    let name = sig.first_string().unwrap();
    assert!(name.starts_with(':'), "a unique name: {name}");
}
