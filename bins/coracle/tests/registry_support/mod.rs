//! Test support for the registry tests: a real registry (Debian's docker-registry) started
//! per test on 127.0.0.1 with its own storage and config, images built from busybox-static
//! and pushed with skopeo, and the `coracle` binary run against a private store.
#![allow(dead_code)]

pub mod fake;
pub mod oci;
pub mod token;

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// A unique prefix for everything a test makes (dirs, repositories).
pub fn unique(tag: &str) -> String {
    static N: AtomicUsize = AtomicUsize::new(0);
    format!(
        "coracle-reg-{}-{}-{tag}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    )
}

/// A temp dir removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        let p = std::env::temp_dir().join(unique(tag));
        std::fs::create_dir_all(&p).unwrap();
        TempDir(p)
    }
    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Polls `f` until it holds or `timeout` passes (a deadline, not a fixed sleep).
pub fn wait_until(timeout: Duration, mut f: impl FnMut() -> bool) -> bool {
    let end = Instant::now() + timeout;
    while Instant::now() < end {
        if f() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    f()
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A docker-registry process; stopped (by PID) and its storage removed on drop.
pub struct Registry {
    pub host: String,
    child: Child,
    pub dir: TempDir,
}

pub const USER: &str = "alice";
pub const PASSWORD: &str = "s3cret-pw";

impl Registry {
    pub fn start() -> Registry {
        Registry::start_with(false)
    }

    /// With `htpasswd`, the registry requires Basic auth for USER/PASSWORD (bcrypt).
    pub fn start_with(htpasswd: bool) -> Registry {
        Registry::start_full(htpasswd, false)
    }

    /// With `tls`, the registry speaks only HTTPS, with a self-signed certificate.
    pub fn start_full(htpasswd: bool, tls: bool) -> Registry {
        let dir = TempDir::new("registry");
        let mut auth = String::new();
        if htpasswd {
            let file = dir.path().join("htpasswd");
            run_ok(
                Command::new("htpasswd")
                    .args(["-Bbc"])
                    .arg(&file)
                    .args([USER, PASSWORD]),
            );
            auth = format!(
                "auth:\n  htpasswd:\n    realm: coracle-test\n    path: {}\n",
                file.display()
            );
        }
        Registry::start_in(dir, &auth, tls)
    }

    /// A registry with this `auth:` section (YAML, may be empty) in its config.
    pub fn start_in(dir: TempDir, auth: &str, tls: bool) -> Registry {
        Registry::start_at("127.0.0.1", dir, auth, tls)
    }

    /// A plain-HTTP registry without auth listening on `ip` (not loopback: the TLS rules differ).
    pub fn start_on(ip: &str) -> Registry {
        Registry::start_at(ip, TempDir::new("registry"), "", false)
    }

    fn start_at(ip: &str, dir: TempDir, auth: &str, tls: bool) -> Registry {
        let port = TcpListener::bind((ip, 0))
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let host = format!("{ip}:{port}");
        let mut tls_config = String::new();
        if tls {
            let (cert, key) = self_signed(dir.path(), "tls");
            tls_config = format!(
                "  tls:\n    certificate: {}\n    key: {}\n",
                cert.display(),
                key.display()
            );
        }
        let config = format!(
            "version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: false\nstorage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\nhttp:\n  addr: {host}\n  secret: coracle-test\n{tls_config}{auth}",
            dir.path().join("data").display()
        );
        let config_path = dir.path().join("config.yml");
        std::fs::write(&config_path, config).unwrap();
        let log = std::fs::File::create(dir.path().join("registry.log")).unwrap();
        let child = Command::new("docker-registry")
            .arg("serve")
            .arg(&config_path)
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("docker-registry (apt-get install docker-registry)");
        let reg = Registry { host, child, dir };
        assert!(
            wait_until(Duration::from_secs(20), || TcpStream::connect(&reg.host)
                .is_ok()),
            "docker-registry did not listen on {}: {}",
            reg.host,
            std::fs::read_to_string(reg.dir.path().join("registry.log")).unwrap_or_default()
        );
        reg
    }

    /// The registry's log (access log included): what requests it served.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("registry.log")).unwrap_or_default()
    }

    pub fn reference(&self, repo_tag: &str) -> String {
        format!("{}/{repo_tag}", self.host)
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs a command; panics with its output unless it succeeds.
pub fn run_ok(cmd: &mut Command) -> Output {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// `coracle` with a private store and auth file under `home`.
pub struct Coracle {
    pub root: PathBuf,
    pub auth_file: PathBuf,
}

impl Coracle {
    pub fn new(home: &Path) -> Coracle {
        Coracle {
            root: home.join("store"),
            auth_file: home.join("auth.json"),
        }
    }

    pub fn cmd(&self) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_coracle"));
        c.arg("--root")
            .arg(&self.root)
            .env("REGISTRY_AUTH_FILE", &self.auth_file)
            .stdin(Stdio::null());
        c
    }

    pub fn run(&self, args: &[&str]) -> Output {
        self.cmd().args(args).output().unwrap()
    }

    /// Runs and asserts success; returns stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "coracle {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    /// Runs, asserts failure with exactly one line on stderr, returns that line.
    pub fn fails(&self, args: &[&str]) -> String {
        let out = self.run(args);
        let err = String::from_utf8_lossy(&out.stderr).to_string();
        assert!(
            !out.status.success(),
            "coracle {args:?} succeeded but should fail; stderr: {err}"
        );
        let lines: Vec<&str> = err.lines().filter(|l| l.starts_with("coracle:")).collect();
        assert_eq!(lines.len(), 1, "expected one error line, got: {err}");
        lines[0].to_string()
    }

    /// Blob files in the store (whatever its layout: every regular file named by 64 hex digits).
    pub fn blob_files(&self) -> Vec<String> {
        let mut out = Vec::new();
        walk(&self.root, &mut |p| {
            let name = p.file_name().unwrap().to_string_lossy().to_string();
            if name.len() == 64 && name.bytes().all(|b| b.is_ascii_hexdigit()) {
                out.push(name);
            }
        });
        out.sort();
        out
    }

    /// Every file in the store's temp area (ROOT/tmp) or named like a temp file.
    pub fn temp_files(&self) -> Vec<PathBuf> {
        let mut out = Vec::new();
        let tmp = self.root.join("tmp");
        walk(&self.root, &mut |p| {
            let name = p.file_name().unwrap().to_string_lossy().to_string();
            if p.starts_with(&tmp) || name.contains(".tmp") {
                out.push(p.to_path_buf());
            }
        });
        out
    }
}

fn walk(dir: &Path, f: &mut dyn FnMut(&Path)) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    for e in rd.flatten() {
        let p = e.path();
        match e.file_type() {
            Ok(t) if t.is_dir() => walk(&p, f),
            Ok(t) if t.is_file() => f(&p),
            _ => {}
        }
    }
}

/// `skopeo copy` without TLS checks (the test registries speak plain HTTP).
pub fn skopeo_copy(src: &str, dst: &str, all: bool) {
    let mut c = Command::new("skopeo");
    c.args([
        "copy",
        "--quiet",
        "--preserve-digests",
        "--src-tls-verify=false",
        "--dest-tls-verify=false",
    ]);
    if all {
        c.arg("--all");
    }
    run_ok(c.args([src, dst]));
}

/// `skopeo inspect --raw` digest of what a registry serves for a reference (sha256 of the raw manifest).
pub fn skopeo_raw(reference: &str) -> Vec<u8> {
    run_ok(Command::new("skopeo").args([
        "inspect",
        "--raw",
        "--tls-verify=false",
        &format!("docker://{reference}"),
    ]))
    .stdout
}

pub fn skopeo_inspect(reference: &str) -> serde_json::Value {
    let out = run_ok(Command::new("skopeo").args([
        "inspect",
        "--no-tags",
        "--tls-verify=false",
        &format!("docker://{reference}"),
    ]));
    serde_json::from_slice(&out.stdout).unwrap()
}

/// A self-signed P-256 certificate for 127.0.0.1 and its PKCS#8 key, as PEM files in `dir`.
pub fn self_signed(dir: &Path, name: &str) -> (PathBuf, PathBuf) {
    let (cert, key) = (
        dir.join(format!("{name}-cert.pem")),
        dir.join(format!("{name}-key.pem")),
    );
    let mut c = Command::new("openssl");
    c.args([
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
        "-days",
        "2",
    ]);
    c.args([
        "-subj",
        "/CN=coracle-test",
        "-addext",
        "subjectAltName=IP:127.0.0.1",
        "-keyout",
    ]);
    run_ok(c.arg(&key).arg("-out").arg(&cert));
    (cert, key)
}

/// The DER bytes inside a one-block PEM file.
pub fn pem_der(path: &Path) -> Vec<u8> {
    use base64::Engine as _;
    let text = std::fs::read_to_string(path).unwrap();
    let body: String = text.lines().filter(|l| !l.starts_with("-----")).collect();
    base64::engine::general_purpose::STANDARD
        .decode(body)
        .unwrap()
}

/// A global (non-loopback) IPv4 address of this machine, if it has one.
pub fn global_ipv4() -> Option<String> {
    let out = Command::new("ip")
        .args(["-4", "-o", "addr", "show", "scope", "global"])
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    let word = text
        .split_whitespace()
        .skip_while(|w| *w != "inet")
        .nth(1)?;
    Some(word.split('/').next()?.to_string())
}
