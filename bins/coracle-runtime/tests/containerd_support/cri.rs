//! A small Kubernetes CRI (runtime.v1) client for the tests: the messages are built with
//! [`proto`](super::proto) (field numbers from CRI's api.proto, noted inline) and sent by
//! `grpc_call.py` (python3-grpcio) to containerd's socket, one process per call.

use super::proto::{Fields, Msg};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

const SERVICE: &str = "/runtime.v1.RuntimeService/";

/// NamespaceMode: POD = 0, CONTAINER = 1, NODE = 2.
pub const NAMESPACE_CONTAINER: u64 = 1;
pub const NAMESPACE_NODE: u64 = 2;

/// ContainerState: CREATED = 0, RUNNING = 1, EXITED = 2, UNKNOWN = 3.
pub const CONTAINER_RUNNING: u64 = 1;
pub const CONTAINER_EXITED: u64 = 2;

/// PodSandboxState: READY = 0, NOTREADY = 1.
pub const SANDBOX_READY: u64 = 0;
pub const SANDBOX_NOTREADY: u64 = 1;

pub struct Cri {
    socket: PathBuf,
}

/// What ExecSync returns.
pub struct ExecResult {
    pub stdout: String,
    pub stderr: String,
    pub exit_code: i32,
}

impl Cri {
    pub fn new(socket: &Path) -> Cri {
        Cri {
            socket: socket.to_path_buf(),
        }
    }

    /// One unary call; Err is gRPC's "CODE: details".
    pub fn call(&self, method: &str, request: Msg) -> Result<Fields, String> {
        let script = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/containerd_support/grpc_call.py"
        );
        // Debian's python3 (python3-grpcio), not whichever python3 comes first on PATH.
        let mut child = Command::new("/usr/bin/python3")
            .arg(script)
            .arg(&self.socket)
            .arg(format!("{SERVICE}{method}"))
            .arg("60")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("python3: {e}"))?;
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(request.encode())
            .map_err(|e| format!("writing the request: {e}"))?;
        let out = child.wait_with_output().map_err(|e| e.to_string())?;
        if !out.status.success() {
            return Err(format!(
                "{method}: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
        Fields::decode(&out.stdout).map_err(|e| format!("{method}: response: {e}"))
    }

    /// VersionResponse.runtime_name (2).
    pub fn runtime_name(&self) -> Result<String, String> {
        Ok(self.call("Version", Msg::new())?.string(2))
    }

    /// RunPodSandboxRequest{config = 1, runtime_handler = 2} -> pod_sandbox_id (1).
    pub fn run_pod_sandbox(&self, config: &Msg, handler: &str) -> Result<String, String> {
        let req = Msg::new().message(1, config.clone()).string(2, handler);
        Ok(self.call("RunPodSandbox", req)?.string(1))
    }

    /// CreateContainerRequest{pod_sandbox_id = 1, config = 2, sandbox_config = 3}
    /// -> container_id (1).
    pub fn create_container(
        &self,
        pod: &str,
        config: Msg,
        sandbox_config: &Msg,
    ) -> Result<String, String> {
        let req = Msg::new()
            .string(1, pod)
            .message(2, config)
            .message(3, sandbox_config.clone());
        Ok(self.call("CreateContainer", req)?.string(1))
    }

    /// StartContainerRequest{container_id = 1}.
    pub fn start_container(&self, id: &str) -> Result<(), String> {
        self.call("StartContainer", Msg::new().string(1, id))
            .map(drop)
    }

    /// ExecSyncRequest{container_id = 1, cmd = 2, timeout = 3}
    /// -> {stdout = 1, stderr = 2, exit_code = 3}.
    pub fn exec_sync(&self, id: &str, cmd: &[&str]) -> Result<ExecResult, String> {
        let req = Msg::new().string(1, id).strings(2, cmd).uint(3, 30);
        let r = self.call("ExecSync", req)?;
        Ok(ExecResult {
            stdout: r.string(1),
            stderr: r.string(2),
            exit_code: r.int32(3),
        })
    }

    /// StopContainerRequest{container_id = 1, timeout = 2 (seconds before SIGKILL)}.
    pub fn stop_container(&self, id: &str, timeout: u64) -> Result<(), String> {
        let req = Msg::new().string(1, id).uint(2, timeout);
        self.call("StopContainer", req).map(drop)
    }

    /// RemoveContainerRequest{container_id = 1}.
    pub fn remove_container(&self, id: &str) -> Result<(), String> {
        self.call("RemoveContainer", Msg::new().string(1, id))
            .map(drop)
    }

    /// ContainerStatusResponse.status (1) -> (state = 3, exit_code = 7, reason = 10).
    pub fn container_status(&self, id: &str) -> Result<(u64, i32, String), String> {
        let s = self
            .call("ContainerStatus", Msg::new().string(1, id))?
            .message(1);
        Ok((s.uint(3), s.int32(7), s.string(10)))
    }

    /// PodSandboxStatusResponse.status (1) -> state (3).
    pub fn pod_state(&self, id: &str) -> Result<u64, String> {
        Ok(self
            .call("PodSandboxStatus", Msg::new().string(1, id))?
            .message(1)
            .uint(3))
    }

    /// StopPodSandboxRequest{pod_sandbox_id = 1}.
    pub fn stop_pod_sandbox(&self, id: &str) -> Result<(), String> {
        self.call("StopPodSandbox", Msg::new().string(1, id))
            .map(drop)
    }

    /// RemovePodSandboxRequest{pod_sandbox_id = 1}.
    pub fn remove_pod_sandbox(&self, id: &str) -> Result<(), String> {
        self.call("RemovePodSandbox", Msg::new().string(1, id))
            .map(drop)
    }
}

/// NamespaceOption{network = 1, pid = 2, ipc = 3}: the host's network (no CNI needed), the
/// container's own pid namespace, the pod's ipc namespace (kubelet's defaults otherwise).
fn namespace_options() -> Msg {
    Msg::new()
        .uint(1, NAMESPACE_NODE)
        .uint(2, NAMESPACE_CONTAINER)
        .uint(3, 0)
}

/// PodSandboxConfig{metadata = 1 {name = 1, uid = 2, namespace = 3, attempt = 4},
/// log_directory = 3, linux = 8 {cgroup_parent = 1, security_context = 2
/// {namespace_options = 1}}}. No hostname (2): a host-network pod has the host's UTS
/// namespace, and a hostname without a private one is refused (by runc too).
pub fn pod_config(name: &str, log_directory: &Path, cgroup_parent: &str) -> Msg {
    let metadata = Msg::new()
        .string(1, name)
        .string(2, &format!("{name}-uid"))
        .string(3, "default")
        .uint(4, 0);
    let linux = Msg::new()
        .string(1, cgroup_parent)
        .message(2, Msg::new().message(1, namespace_options()));
    Msg::new()
        .message(1, metadata)
        .string(3, log_directory.to_str().expect("UTF-8 path"))
        .message(8, linux)
}

/// ContainerConfig{metadata = 1 {name = 1}, image = 2 {image = 1}, command = 3,
/// log_path = 11, linux = 15 {security_context = 2 {namespace_options = 3}}}.
pub fn container_config(name: &str, image: &str, command: &[&str]) -> Msg {
    let security = Msg::new().message(3, namespace_options());
    Msg::new()
        .message(1, Msg::new().string(1, name))
        .message(2, Msg::new().string(1, image))
        .strings(3, command)
        .string(11, &format!("{name}.log"))
        .message(15, Msg::new().message(2, security))
}
