//! `run/create --init`: the built-in init is pid 1, runs the command as its child, reaps
//! orphans, forwards signals (stop ends the command with SIGTERM, not SIGKILL), passes the exit
//! code on; its store copy is read-only, shared, never the host binary; plain OCI (runc too).

mod common;
mod engine_support;

use engine_support::*;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

const GLIBC_IMAGE: &str = "engine-test/busybox-glibc:1";

fn coracle() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_coracle"))
}

/// The libraries and loader of the coracle binary (`ldd`); empty when it is linked statically.
fn loader_files() -> Vec<PathBuf> {
    let out = std::process::Command::new("ldd")
        .arg(coracle())
        .output()
        .expect("ldd (libc-bin)");
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .filter(|w| w.starts_with('/'))
        .map(PathBuf::from)
        .collect()
}

/// The image the init can run in: busybox when coracle is linked statically, else
/// busybox plus this coracle's loader and libraries at their paths (a development build is
/// dynamically linked; `create` refuses images without its loader, see `bad_input`).
fn init_image(env: &Env) -> &'static str {
    let files = loader_files();
    if files.is_empty() {
        return IMAGE;
    }
    let rootfs = env.path("glibc-rootfs");
    common::busybox_rootfs(&rootfs);
    for f in files {
        let dst = rootfs.join(f.strip_prefix("/").unwrap());
        std::fs::create_dir_all(dst.parent().unwrap()).unwrap();
        std::fs::copy(&f, &dst).unwrap();
    }
    env.ok(&[
        Path::new("import"),
        &rootfs,
        Path::new(GLIBC_IMAGE),
        Path::new("--cmd"),
        Path::new("sh"),
    ]);
    GLIBC_IMAGE
}

fn run_init(env: &Env, img: &str, cmd: &[&str]) -> std::process::Output {
    let mut args = vec!["run", "--rm", "--init", "--network", "none", img];
    args.extend(cmd);
    env.output(&args)
}

/// The one copy in the store's init directory.
fn store_copies(env: &Env) -> Vec<PathBuf> {
    std::fs::read_dir(env.root().join("init"))
        .map(|d| d.flatten().map(|e| e.path()).collect())
        .unwrap_or_default()
}

fn status_kb(status: &str, key: &str) -> u64 {
    let line = status.lines().find(|l| l.starts_with(key)).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

#[test]
fn pid_1_is_the_init_and_the_command_its_child_and_the_init_stays_small() {
    let env = env();
    let img = init_image(&env);
    let out = run_init(&env, img, &["busybox", "ps", "-o", "pid,ppid,comm,args"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let ps = stdout(&out);
    let rows: Vec<Vec<&str>> = ps
        .lines()
        .skip(1)
        .map(|l| l.split_whitespace().collect())
        .collect();
    let init = rows.iter().find(|r| r[0] == "1").expect("pid 1");
    assert_eq!(init[2], "coracle-init", "{ps}");
    assert_eq!(init[3..6], ["/dev/coracle-init", "--", "busybox"], "{ps}");
    let me = rows.iter().find(|r| r[2] == "busybox").expect("ps itself");
    assert_eq!(me[1], "1", "the command is the init's child: {ps}");
    // What the init keeps resident for the container's life.
    let out = run_init(&env, img, &["cat", "/proc/1/status"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let status = stdout(&out);
    let (rss, anon) = (status_kb(&status, "VmRSS:"), status_kb(&status, "RssAnon:"));
    eprintln!("coracle-init as pid 1: VmRSS {rss} kB, RssAnon {anon} kB");
    // Its private memory; the rest of VmRSS is the binary's pages (shared with the page cache),
    // a few MB of a debug build's 100 MB.
    assert!(anon <= 1536, "init RssAnon {anon} kB");
    assert!(rss <= 16 * 1024, "init VmRSS {rss} kB");
    assert_store_empty(&env);
}

#[test]
fn orphans_are_reaped_and_no_zombie_is_left() {
    let env = env();
    let img = init_image(&env);
    // The orphan's parent (a subshell) exits at once, so it is reparented to pid 1; then we
    // watch it go: reaped, it vanishes from /proc. At the end no process is a zombie.
    let script = r#"
        (sleep 0.1 & echo $! > /tmp/orphan)
        read p < /tmp/orphan
        i=0
        while [ -e /proc/$p ] && [ $i -lt 200 ]; do sleep 0.05; i=$((i+1)); done
        [ -e /proc/$p ] && { read a b s rest < /proc/$p/stat; echo "orphan $p left: $s"; exit 1; }
        for f in /proc/[0-9]*/stat; do
            read a b s rest < $f 2>/dev/null && [ "$s" = Z ] && { echo "zombie: $a $b"; exit 1; }
        done
        echo reaped
    "#;
    let out = run_init(&env, img, &["sh", "-c", script]);
    assert_eq!(code(&out), 0, "{}{}", stdout(&out), stderr(&out));
    assert_eq!(stdout(&out).trim(), "reaped");
    assert_store_empty(&env);
}

#[test]
fn stop_ends_the_command_through_the_forwarded_sigterm() {
    let env = env();
    let img = init_image(&env);
    let id = env
        .ok(&[
            "run",
            "-d",
            "--init",
            "--network",
            "none",
            img,
            "sleep",
            "300",
        ])
        .trim()
        .to_string();
    assert_eq!(inspect(&env, &id)["HostConfig"]["Init"], true);
    assert_eq!(
        inspect(&env, &id)["Path"],
        "sleep",
        "the record keeps the command"
    );
    // The init has forked the command (so it is in its signal loop).
    wait_until("the command under the init", || {
        env.ok(&["top", &id])
            .lines()
            .any(|l| l.ends_with("sleep 300") && !l.contains("coracle-init"))
    });
    let t = Instant::now();
    env.ok(&["stop", "-t", "30", &id]);
    let took = t.elapsed();
    assert!(took < Duration::from_secs(5), "stop took {took:?}");
    assert_eq!(
        inspect(&env, &id)["State"]["ExitCode"],
        143,
        "SIGTERM reached `sleep` (137 would be the SIGKILL)"
    );
    env.ok(&["rm", &id]);
    assert_gone(&env, &id);
}

#[test]
fn exit_codes_pass_through() {
    let env = env();
    let img = init_image(&env);
    assert_eq!(code(&run_init(&env, img, &["sh", "-c", "exit 7"])), 7);
    assert_eq!(code(&run_init(&env, img, &["sh", "-c", "exit 0"])), 0);
    // Killed by signal N: 128+N.
    assert_eq!(code(&run_init(&env, img, &["sh", "-c", "kill -9 $$"])), 137);
    assert_eq!(
        code(&run_init(&env, img, &["sh", "-c", "kill -USR1 $$"])),
        138
    );
    let out = run_init(&env, img, &["nosuch"]);
    assert_one_error(&out, 127, "nosuch");
    let out = run_init(&env, img, &["/etc/passwd"]);
    assert_one_error(&out, 126, "/etc/passwd");
    assert_store_empty(&env);
}

#[test]
fn with_a_tty_the_command_is_the_terminals_foreground_group() {
    let env = env();
    let img = init_image(&env);
    let out = env.output(&[
        "run",
        "--rm",
        "-t",
        "--init",
        "--network",
        "none",
        img,
        "sh",
        "-c",
        "read pid comm st ppid pgrp sess tty tpgid rest < /proc/$$/stat; \
         echo ppid=$ppid own=$((pgrp == pid)) fg=$((pgrp == tpgid))",
    ]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(stdout(&out).trim(), "ppid=1 own=1 fg=1");
    assert_store_empty(&env);
}

#[test]
fn the_store_copy_is_read_only_shared_and_never_the_host_binary() {
    let env = env();
    let img = init_image(&env);
    let mut ids = vec![];
    for _ in 0..2 {
        let id = env.ok(&[
            "run",
            "-d",
            "--init",
            "--network",
            "none",
            img,
            "sleep",
            "300",
        ]);
        ids.push(id.trim().to_string());
    }
    let copies = store_copies(&env);
    assert_eq!(copies.len(), 1, "one copy for both: {copies:?}");
    let copy = &copies[0];
    let meta = std::fs::metadata(copy).unwrap();
    assert_eq!(meta.permissions().mode() & 0o7777, 0o555);
    let host = std::fs::metadata(coracle()).unwrap();
    assert_ne!(
        (meta.dev(), meta.ino()),
        (host.dev(), host.ino()),
        "a copy, not the host binary"
    );
    assert_eq!(meta.len(), host.len());
    let before = std::fs::read(copy).unwrap();
    let attack = "busybox grep ' /dev/coracle-init ' /proc/self/mountinfo; \
                  busybox chmod 777 /dev/coracle-init && echo chmod-worked; \
                  echo x >> /dev/coracle-init && echo write-worked; \
                  echo x >> /proc/1/exe && echo exe-write-worked; \
                  mount -o remount,rw /dev/coracle-init && echo remount-worked; \
                  true";
    for id in &ids {
        let out = env.output(&["exec", id, "sh", "-c", attack]);
        assert_eq!(code(&out), 0, "{}", stderr(&out));
        let text = stdout(&out);
        assert!(!text.contains("worked"), "{text}");
        let mnt = text.lines().next().unwrap_or_default();
        let opts = mnt.split(' ').nth(5).unwrap_or_default();
        for o in ["ro", "nosuid", "nodev"] {
            assert!(opts.split(',').any(|x| x == o), "{o} missing: {mnt}");
        }
        // Both containers' init is the one store copy.
        let pid = inspect(&env, id)["State"]["Pid"].as_i64().unwrap();
        let exe = std::fs::metadata(format!("/proc/{pid}/exe")).unwrap();
        assert_eq!((exe.dev(), exe.ino()), (meta.dev(), meta.ino()));
    }
    assert!(std::fs::read(copy).unwrap() == before, "the copy changed");
    for id in &ids {
        env.ok(&["rm", "-f", id]);
        assert_gone(&env, id);
    }
    assert_eq!(
        store_copies(&env),
        std::slice::from_ref(copy),
        "kept for the next container"
    );
}

#[test]
fn system_prune_removes_copies_of_other_builds_no_container_names() {
    let env = env();
    let img = init_image(&env);
    let id = env
        .ok(&[
            "run",
            "-d",
            "--init",
            "--network",
            "none",
            img,
            "sleep",
            "300",
        ])
        .trim()
        .to_string();
    let current = store_copies(&env).remove(0);
    // Copies left by two older coracle builds; the running container is made to name one.
    let dir = env.root().join("init");
    let (named, unnamed) = (dir.join("coracle-init-1-1"), dir.join("coracle-init-2-2"));
    for p in [&named, &unnamed] {
        std::fs::write(p, b"old build").unwrap();
    }
    let cfg = env
        .root()
        .join("containers")
        .join(&id)
        .join("bundle/config.json");
    let text = std::fs::read_to_string(&cfg).unwrap();
    let current_s = current.to_string_lossy().into_owned();
    assert!(text.contains(&current_s));
    std::fs::write(&cfg, text.replace(&current_s, &named.to_string_lossy())).unwrap();
    let out = env.ok(&["system", "prune", "-f"]);
    assert!(out.contains("Deleted init copy: coracle-init-2-2"), "{out}");
    let mut left = store_copies(&env);
    left.sort();
    assert_eq!(left, [named.clone(), current.clone()]);
    env.ok(&["rm", "-f", &id]);
    let out = env.ok(&["system", "prune", "-f"]);
    assert!(out.contains("Deleted init copy: coracle-init-1-1"), "{out}");
    assert_eq!(
        store_copies(&env),
        [current],
        "the running build's copy stays"
    );
    assert_gone(&env, &id);
}

#[test]
fn runc_runs_an_init_container_too() {
    let env = env();
    let img = init_image(&env);
    assert!(
        std::process::Command::new("runc")
            .arg("--version")
            .output()
            .is_ok(),
        "runc is missing: apt-get install runc"
    );
    let args = [
        "run",
        "--rm",
        "--runtime",
        "runc",
        "--init",
        "--network",
        "none",
        img,
    ];
    let ps = [&args[..], &["busybox", "ps", "-o", "pid,ppid,comm"]].concat();
    let out = env.output(&ps);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.lines()
            .any(|l| l.split_whitespace().collect::<Vec<_>>() == ["1", "0", "coracle-init"]),
        "{text}"
    );
    let exit7 = [&args[..], &["sh", "-c", "exit 7"]].concat();
    assert_eq!(code(&env.output(&exit7)), 7);
    assert_store_empty(&env);
}

#[test]
fn bad_input_and_no_init_without_the_flag() {
    let env = env();
    // Without --init nothing of it is made.
    env.ok(&["run", "--rm", "--network", "none", IMAGE, "true"]);
    assert!(!env.root().join("init").exists());
    for (flag, value) in [("-v", "/tmp:/dev"), ("--tmpfs", "/dev/coracle-init")] {
        let out = env.output(&[
            "run",
            "--rm",
            "--init",
            flag,
            value,
            "--network",
            "none",
            IMAGE,
            "true",
        ]);
        assert_one_error(&out, 125, "--init");
        assert!(stderr(&out).contains(flag), "{}", stderr(&out));
    }
    // A development (dynamically linked) coracle cannot be the init of an image without its
    // loader: refused at create, nothing left. A static one runs there.
    let out = env.output(&["create", "--init", "--name", "noloader", IMAGE, "true"]);
    if loader_files().is_empty() {
        assert_eq!(code(&out), 0, "{}", stderr(&out));
        env.ok(&["rm", "noloader"]);
    } else {
        assert_one_error(&out, 125, "dynamically linked");
    }
    assert_store_empty(&env);
}
