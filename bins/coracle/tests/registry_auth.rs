//! Auth against a real registry with htpasswd (bcrypt) Basic auth: anonymous pulls are
//! refused with a clear error, bad credentials do not log in, good ones do and are kept
//! in the auth file (auth.json format), logout forgets them.

mod registry_support;

use registry_support::{oci, run_ok, Coracle, Registry, TempDir, PASSWORD, USER};
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

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
