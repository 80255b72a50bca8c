//! Auth against a real registry with htpasswd (bcrypt) Basic auth: anonymous pulls are
//! refused with a clear error, bad credentials do not log in, good ones do and are kept
//! in the auth file (auth.json format), logout forgets them. The same with a token-auth
//! registry (bearer tokens per the distribution token spec, from the test's token server).

mod registry_support;

use registry_support::token::TokenServer;
use registry_support::{oci, run_ok, Coracle, Registry, TempDir, PASSWORD, USER};
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::Ordering;

#[test]
fn htpasswd_registry_login_pull_logout() {
    let reg = Registry::start_with(true);
    let work = TempDir::new("auth");
    let layout = work.path().join("layout");
    let built = oci::write_image(
        &layout,
        &oci::busybox_rootfs(work.path(), Path::new("/bin/busybox")),
        "amd64",
        "auth",
    );
    oci::write_layout(&layout, "t", &[&built]);
    let reference = reg.reference("private/app:1");
    run_ok(
        Command::new("skopeo")
            .args([
                "copy",
                "--quiet",
                "--preserve-digests",
                "--dest-tls-verify=false",
                "--dest-creds",
                &format!("{USER}:{PASSWORD}"),
            ])
            .arg(format!("oci:{}:t", layout.display()))
            .arg(format!("docker://{reference}")),
    );
    let coracle = Coracle::new(work.path());

    let err = coracle.fails(&["pull", &reference]);
    assert!(
        err.contains(&reference) && err.contains("unauthorized") && err.contains("coracle login"),
        "{err}"
    );
    assert!(coracle.blob_files().is_empty());

    let err = coracle.fails(&["login", "-u", USER, "-p", "wrong", &reg.host]);
    assert!(err.contains("unauthorized") && err.contains(USER), "{err}");
    assert!(
        !coracle.auth_file.exists(),
        "a refused login stores nothing"
    );

    let err = coracle.fails(&["login", &reg.host]);
    assert!(err.contains("--username"), "{err}");

    let mut child = coracle
        .cmd()
        .args(["login", "-u", USER, "--password-stdin", &reg.host])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    writeln!(child.stdin.take().unwrap(), "{PASSWORD}").unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "login: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let auth: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&coracle.auth_file).unwrap()).unwrap();
    use base64::Engine as _;
    let stored = auth["auths"][&reg.host]["auth"].as_str().unwrap();
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(stored)
        .unwrap();
    assert_eq!(decoded, format!("{USER}:{PASSWORD}").as_bytes());
    let mode = std::os::unix::fs::PermissionsExt::mode(
        &std::fs::metadata(&coracle.auth_file).unwrap().permissions(),
    );
    assert_eq!(mode & 0o077, 0, "the auth file is private");

    let out = coracle.ok(&["pull", &reference]);
    assert!(out.contains(built.manifest.as_str()));
    coracle.ok(&["push", &reference, &reg.reference("private/copy:2")]);

    coracle.ok(&["logout", &reg.host]);
    let err = coracle.fails(&["pull", &reg.reference("private/copy:2")]);
    assert!(err.contains("unauthorized"), "{err}");
    let err = coracle.fails(&["logout", &reg.host]);
    assert!(
        err.contains(&reg.host) && err.contains("not found"),
        "{err}"
    );
}

#[test]
fn token_auth_registry_bearer_flow() {
    let certs = TempDir::new("token-certs");
    let tokens = TokenServer::start(certs.path());
    let reg = Registry::start_in(
        TempDir::new("token-registry"),
        &tokens.registry_auth(),
        false,
    );
    let work = TempDir::new("token");
    let layout = work.path().join("layout");
    let built = oci::write_image(
        &layout,
        &oci::busybox_rootfs(work.path(), Path::new("/bin/busybox")),
        "amd64",
        "token",
    );
    oci::write_layout(&layout, "t", &[&built]);
    let reference = reg.reference("tok/app:1");
    let creds = format!("{USER}:{PASSWORD}");
    let mut copy = Command::new("skopeo");
    copy.args([
        "copy",
        "--quiet",
        "--preserve-digests",
        "--dest-tls-verify=false",
        "--dest-creds",
        &creds,
    ]);
    run_ok(
        copy.arg(format!("oci:{}:t", layout.display()))
            .arg(format!("docker://{reference}")),
    );
    let coracle = Coracle::new(work.path());

    let err = coracle.fails(&["pull", &reference]);
    assert!(
        err.contains("unauthorized") && err.contains("coracle login"),
        "{err}"
    );
    let err = coracle.fails(&["login", "-u", USER, "-p", "nope", &reg.host]);
    assert!(err.contains("unauthorized") && err.contains(USER), "{err}");
    assert!(!coracle.auth_file.exists());

    let before = tokens.issued.load(Ordering::SeqCst);
    coracle.ok(&["login", "-u", USER, "-p", PASSWORD, &reg.host]);
    assert!(coracle
        .ok(&["pull", &reference])
        .contains(built.manifest.as_str()));
    // Push to another repository: a token for both scopes, every blob mounted.
    let out = coracle.run(&["push", &reference, &reg.reference("tok/copy:2")]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && stderr.contains("mounted"),
        "{stderr}"
    );
    assert!(
        tokens.issued.load(Ordering::SeqCst) > before,
        "tokens came from the token server"
    );
}
