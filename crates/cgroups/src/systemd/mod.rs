//! The systemd cgroup driver (`--systemd-cgroup`): systemd makes the container's cgroup as a
//! transient unit, and we then drive that cgroup's files as with any other.
//!
//! How a container is placed (as runc does it):
//! 1. `linux.cgroupsPath` `slice:prefix:name` → the unit `prefix-name.scope` in `slice` (see
//!    [`UnitPath`]); its cgroup path is known before anything exists.
//! 2. The init is cloned *outside* the container's cgroup: the cgroup exists only once systemd
//!    has started the unit, and a scope cannot be started without a pid in it, so
//!    `CLONE_INTO_CGROUP` is impossible here. The init waits (before it builds its root
//!    filesystem's /sys/fs/cgroup) until the next steps are done.
//! 3. `StartTransientUnit(unit, "replace", properties, [])` with `PIDs=[init]`, `Delegate=true`,
//!    `Slice=`, `DefaultDependencies=false` and the limits systemd has names for; we wait for the
//!    job's `JobRemoved` signal and want its result to be "done".
//! 4. Every `linux.resources` field is then written to the unit's cgroup by the resources code
//!    (so every field works, including those systemd has no property for), v1 hierarchies that
//!    systemd did not make are made, and the init is written to `cgroup.procs` on each.
//! 5. `delete`: `StopUnit` (waiting for the job), `ResetFailedUnit` (a scope whose process was
//!    OOM-killed stays loaded as failed), then the cgroup directories are removed if any is left.
//!
//! Everything else (`update`, `pause`, `ps`, `kill --all`, `events`, `exec`) works on the cgroup
//! path recorded in the state, as for cgroupfs containers.
//!
//! The bus: the system bus (`/run/dbus/system_bus_socket`), else systemd's private socket
//! (`/run/systemd/private`, root only, peer to peer: no `Hello`, no bus daemon needed).

pub mod dbus;
mod path;
mod placement;
mod properties;

use std::io;
use std::path::Path;
use std::time::Duration;

use oci_spec::runtime::LinuxResources;

use dbus::{Call, Connection, Message, Reader, RemoteError, Writer};
pub use path::{expand_slice, UnitPath};

const SYSTEM_BUS: &str = "/run/dbus/system_bus_socket";
const PRIVATE_SOCKET: &str = "/run/systemd/private";
const DEST: &str = "org.freedesktop.systemd1";
const OBJECT: &str = "/org/freedesktop/systemd1";
const MANAGER: &str = "org.freedesktop.systemd1.Manager";
/// How long a job may take (systemd's own default job timeout for scopes is much shorter).
const TIMEOUT: Duration = Duration::from_secs(30);

/// Does systemd run this host? (sd_booted(3): `/run/systemd/system` exists.)
pub fn running() -> bool {
    Path::new("/run/systemd/system").is_dir()
}

/// A connection to systemd's manager, subscribed to job results.
pub struct Systemd {
    conn: Connection,
    /// Connected through the bus daemon (calls carry a destination), not peer to peer.
    bus: bool,
}

impl Systemd {
    /// Connect to the system bus, or else to systemd's private socket.
    pub fn connect() -> io::Result<Systemd> {
        let (conn, bus) = match Connection::connect(Path::new(SYSTEM_BUS), true, TIMEOUT) {
            Ok(c) => (c, true),
            Err(bus_err) => match Connection::connect(Path::new(PRIVATE_SOCKET), false, TIMEOUT) {
                Ok(c) => (c, false),
                Err(e) => {
                    return Err(io::Error::new(
                        e.kind(),
                        format!(
                            "cannot reach systemd: {SYSTEM_BUS}: {bus_err}; {PRIVATE_SOCKET}: {e}"
                        ),
                    ))
                }
            },
        };
        let mut s = Systemd { conn, bus };
        if bus {
            // The bus delivers signals only to connections that asked for them.
            let mut w = Writer::default();
            w.str(&format!(
                "type='signal',sender='{DEST}',path='{OBJECT}',interface='{MANAGER}',member='JobRemoved'"
            ));
            let add_match = Call {
                destination: Some("org.freedesktop.DBus"),
                path: "/org/freedesktop/DBus",
                interface: "org.freedesktop.DBus",
                member: "AddMatch",
                signature: "s",
                body: w.into_bytes(),
            };
            s.conn
                .call(&add_match)?
                .map_err(|e| remote("AddMatch", e))?;
        }
        s.manager("Subscribe", "", Vec::new())?;
        Ok(s)
    }

    /// Start the transient unit for `path` holding `pid` and wait until systemd has done it.
    pub fn start_unit(
        &mut self,
        path: &UnitPath,
        id: &str,
        pid: u32,
        resources: Option<&LinuxResources>,
    ) -> io::Result<()> {
        let v2 = crate::mode()? == crate::Mode::V2;
        let mut props = properties::unit(path, id, pid, v2);
        let none = LinuxResources::default();
        props.extend(properties::resources(resources.unwrap_or(&none), v2)?);
        let mut w = Writer::default();
        w.str(&path.unit);
        w.str("replace");
        w.array(8, |w| {
            for (name, value) in &props {
                w.struct_start();
                w.str(name);
                w.variant(value);
            }
        });
        w.array(8, |_| {}); // no auxiliary units
        let job = self.manager("StartTransientUnit", "ssa(sv)a(sa(sv))", w.into_bytes())?;
        self.wait_job(&job, &path.unit, "start")
    }

    /// Stop `unit` (its processes are killed by systemd, its cgroup removed) and forget it if it
    /// failed. A unit that is already gone is fine.
    pub fn stop_unit(&mut self, unit: &str) -> io::Result<()> {
        let mut w = Writer::default();
        w.str(unit);
        w.str("replace");
        match self.manager_call("StopUnit", "ss", w.into_bytes())? {
            Ok(reply) => {
                let job = job_path(&reply)?;
                self.wait_job(&job, unit, "stop")?;
            }
            Err(e) if e.name == "org.freedesktop.systemd1.NoSuchUnit" => return Ok(()),
            Err(e) => return Err(remote("StopUnit", e)),
        }
        let mut w = Writer::default();
        w.str(unit);
        // Not failed, or already unloaded: nothing to reset, which is not an error here.
        let _ = self.manager_call("ResetFailedUnit", "s", w.into_bytes())?;
        Ok(())
    }

    /// Call a manager method that returns a job (or nothing): Ok(the first string of the reply).
    fn manager(&mut self, member: &str, signature: &str, body: Vec<u8>) -> io::Result<String> {
        let reply = self
            .manager_call(member, signature, body)?
            .map_err(|e| remote(member, e))?;
        Ok(reply.first_string().unwrap_or_default())
    }

    fn manager_call(
        &mut self,
        member: &str,
        signature: &str,
        body: Vec<u8>,
    ) -> io::Result<Result<Message, RemoteError>> {
        self.conn.call(&Call {
            destination: self.bus.then_some(DEST),
            path: OBJECT,
            interface: MANAGER,
            member,
            signature,
            body,
        })
    }

    /// Wait for `JobRemoved` of `job`; its result must be "done".
    fn wait_job(&mut self, job: &str, unit: &str, what: &str) -> io::Result<()> {
        loop {
            let m = self.conn.next_signal().map_err(|e| {
                io::Error::new(
                    e.kind(),
                    format!("waiting for systemd to {what} {unit} (job {job}): {e}"),
                )
            })?;
            if !m.is_signal(MANAGER, "JobRemoved") || m.signature != "uoss" {
                continue;
            }
            let mut r = Reader::new(&m.body);
            let (_id, path, _unit, result) = (r.u32()?, r.str()?, r.str()?, r.str()?);
            if path != job {
                continue;
            }
            if result == "done" {
                return Ok(());
            }
            return Err(io::Error::other(format!(
                "systemd could not {what} {unit}: job {result}"
            )));
        }
    }
}

fn job_path(reply: &Message) -> io::Result<String> {
    reply
        .first_string()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "systemd returned no job"))
}

fn remote(member: &str, e: RemoteError) -> io::Error {
    io::Error::other(format!("systemd {member}: {}: {}", e.name, e.message))
}
