//! coracle-runtime as a Kubernetes runtime handler: containerd 1.6's CRI plugin with
//! `runtimes.coracle` (runtime_type io.containerd.runc.v2, options.BinaryName = the runtime
//! under test), driven over CRI v1 gRPC like the kubelet does (tests/containerd_support/cri.rs;
//! crictl is not in Debian). Pods use the host network (NamespaceMode NODE): no CNI plugin
//! or config is needed, and nothing on the host's network changes. Skipped (with a printed
//! reason) without containerd.

mod common;
mod containerd_support;

use common::{wait_until, Runtime, COMMAND_TIMEOUT};
use containerd_support::cri::{
    container_config, pod_config, Cri, CONTAINER_EXITED, CONTAINER_RUNNING, SANDBOX_NOTREADY,
    SANDBOX_READY,
};
use containerd_support::daemon::{tail, Containerd, CRI_HANDLER};
use containerd_support::image::BUSYBOX;
use containerd_support::proto::Msg;

/// A containerd with the CRI plugin, a client, and a ready pod named `name` run by our handler.
struct Pod {
    d: Containerd,
    cri: Cri,
    config: Msg,
    id: String,
    _rt: Runtime,
}

impl Pod {
    fn run(test: &str, name: &str) -> Option<Pod> {
        if !Containerd::installed(test) {
            return None;
        }
        let rt = Runtime::new();
        let d = Containerd::start_with_cri(rt.bin());
        let cri = Cri::new(&d.socket());
        let logs = d.dir().join("pods").join(name);
        std::fs::create_dir_all(&logs).expect("pod log dir");
        // The cgroup parent is named after the daemon's namespace: unique, removed on Drop.
        let config = pod_config(name, &logs, &format!("/{}", d.namespace()));
        let id = cri
            .run_pod_sandbox(&config, CRI_HANDLER)
            .unwrap_or_else(|e| panic!("{e}\ncontainerd log:\n{}", tail(&d.log(), 20)));
        Some(Pod {
            d,
            cri,
            config,
            id,
            _rt: rt,
        })
    }

    fn ok<T>(&self, r: Result<T, String>) -> T {
        r.unwrap_or_else(|e| panic!("{e}\ncontainerd log:\n{}", tail(&self.d.log(), 60)))
    }

    /// CreateContainer + StartContainer of BUSYBOX running `command`.
    fn start(&self, name: &str, command: &[&str]) -> String {
        let config = container_config(name, BUSYBOX, command);
        let id = self.ok(self.cri.create_container(&self.id, config, &self.config));
        self.ok(self.cri.start_container(&id));
        id
    }

    fn wait_container_state(&self, id: &str, want: u64) -> (u64, i32, String) {
        let mut last = (u64::MAX, 0, String::new());
        let ok = wait_until(COMMAND_TIMEOUT, || {
            last = self.ok(self.cri.container_status(id));
            last.0 == want
        });
        assert!(ok, "container {id}: status {last:?}, expected state {want}");
        last
    }

    /// StopPodSandbox, RemovePodSandbox, then nothing is left: no shim, no runtime state.
    fn stop_and_remove(self) {
        self.ok(self.cri.stop_pod_sandbox(&self.id));
        assert_eq!(self.ok(self.cri.pod_state(&self.id)), SANDBOX_NOTREADY);
        self.ok(self.cri.remove_pod_sandbox(&self.id));
        self.d.assert_shims_gone();
        let state = self.d.runtime_root().join("k8s.io");
        let left: Vec<_> = std::fs::read_dir(&state)
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| e.file_name())
            .collect();
        assert!(
            left.is_empty(),
            "runtime state left in {}: {left:?}",
            state.display()
        );
        let cgroups = self.d.container_cgroups();
        assert!(cgroups.is_empty(), "cgroups left: {cgroups:?}");
    }
}

#[test]
fn pod_and_container_lifecycle_with_exec_sync() {
    let Some(pod) = Pod::run("pod_and_container_lifecycle_with_exec_sync", "web") else {
        return;
    };
    assert_eq!(pod.ok(pod.cri.pod_state(&pod.id)), SANDBOX_READY);
    // The sandbox (pause) container was made by our runtime: its state is in the handler's Root.
    let sandbox_state = pod.d.runtime_root().join("k8s.io").join(&pod.id);
    assert!(
        sandbox_state.join("state.json").exists(),
        "{}",
        sandbox_state.display()
    );

    // A TERM trap that ends the container at once: StopContainer's SIGTERM must reach it.
    let app = pod.start(
        "app",
        &["sh", "-c", "trap 'exit 0' TERM; sleep 100000 & wait"],
    );
    pod.wait_container_state(&app, CONTAINER_RUNNING);

    let r = pod.ok(pod.cri.exec_sync(
        &app,
        &[
            "sh",
            "-c",
            "echo out $(cat /proc/1/comm); echo err >&2; exit 3",
        ],
    ));
    assert_eq!(
        (r.stdout.as_str(), r.stderr.as_str()),
        ("out sh\n", "err\n")
    );
    assert_eq!(r.exit_code, 3);

    pod.ok(pod.cri.stop_container(&app, 30));
    let (_, code, reason) = pod.wait_container_state(&app, CONTAINER_EXITED);
    assert_eq!((code, reason.as_str()), (0, "Completed"));
    pod.ok(pod.cri.remove_container(&app));
    pod.stop_and_remove();
}

#[test]
fn runtime_errors_reach_the_cri_client() {
    let Some(pod) = Pod::run("runtime_errors_reach_the_cri_client", "bad") else {
        return;
    };
    let config = container_config("missing", BUSYBOX, &["/no/such/program"]);
    let id = pod.ok(pod.cri.create_container(&pod.id, config, &pod.config));
    // The shim creates the task at StartContainer; our JSON log line is in the error.
    let err = pod
        .cri
        .start_container(&id)
        .expect_err("start of a missing program");
    assert!(err.contains("/no/such/program"), "{err}");
    assert!(err.contains("no such executable"), "{err}");
    pod.ok(pod.cri.remove_container(&id));
    pod.stop_and_remove();
}
