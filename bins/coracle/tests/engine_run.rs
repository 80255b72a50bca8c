//! `coracle run`: exit codes, output, flags, and bad input refused with nothing left. Root,
//! real containers through the runtime crate (no network: `--network none` unless testing it).

mod common;
mod engine_support;

use engine_support::*;

#[test]
fn run_rm_exits_with_the_containers_code_and_streams_its_output() {
    let env = env();
    let out = env.output(&[
        "run",
        "--rm",
        "--network",
        "none",
        IMAGE,
        "sh",
        "-c",
        "echo out; echo err >&2; exit 3",
    ]);
    assert_eq!(code(&out), 3, "{}", stderr(&out));
    assert_eq!(stdout(&out), "out\n");
    assert_eq!(stderr(&out), "err\n");
    assert_store_empty(&env);
}

#[test]
fn run_127_for_a_missing_command_126_for_a_file_that_cannot_be_executed() {
    let env = env();
    let out = env.output(&["run", "--rm", "--network", "none", IMAGE, "nosuchcmd"]);
    assert_one_error(&out, 127, "nosuchcmd");
    let out = env.output(&["run", "--network", "none", IMAGE, "/etc/passwd"]);
    assert_one_error(&out, 126, "/etc/passwd");
    // A container that could not start is removed again, --rm or not.
    assert_store_empty(&env);
    assert!(ids(&env).is_empty());
}

#[test]
fn without_rm_the_exited_container_stays_until_rm() {
    let env = env();
    let out = env.output(&[
        "run",
        "--name",
        "keep",
        "--network",
        "none",
        IMAGE,
        "sh",
        "-c",
        "echo kept; exit 4",
    ]);
    assert_eq!(code(&out), 4);
    let c = inspect(&env, "keep");
    assert_eq!(c["State"]["Status"], "exited");
    assert_eq!(c["State"]["ExitCode"], 4);
    assert_eq!(c["Name"], "/keep");
    assert_eq!(env.ok(&["logs", "keep"]), "kept\n");
    let id = c["Id"].as_str().unwrap().to_string();
    assert_eq!(id.len(), 64);
    assert_eq!(env.ok(&["ps", "-a", "-q"]).trim(), &id[..12]);
    assert_eq!(
        env.ok(&["ps", "-q"]).trim(),
        "",
        "ps without -a shows only running ones"
    );
    env.ok(&["rm", &id[..5]]);
    assert_gone(&env, &id);
    assert_store_empty(&env);
}

#[test]
fn process_flags_env_workdir_user_entrypoint_hostname() {
    let env = env();
    let envfile = env.path("env.list");
    std::fs::write(&envfile, "# comment\n\nFROMFILE=f1\nB=from-file\n").unwrap();
    std::env::set_var("CORACLE_TEST_PASSED", "passed-through");
    let out = env.output(&[
        "run", "--rm", "--network", "none", "--env-file", envfile.to_str().unwrap(),
        "-e", "A=1", "-e", "B=2", "-e", "CORACLE_TEST_PASSED", "-w", "/tmp", "-u", "1000:1001",
        "--hostname", "box1", "--entrypoint", "/bin/sh", IMAGE,
        "-c", "echo $A $B $FROMFILE $CORACLE_TEST_PASSED; pwd; id -u; id -g; cat /etc/hostname; echo $HOSTNAME",
    ]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(
        stdout(&out),
        "1 2 f1 passed-through\n/tmp\n1000\n1001\nbox1\nbox1\n"
    );
    assert_store_empty(&env);
}

#[test]
fn read_only_root_and_bind_mounts_ro_and_rw() {
    let env = env();
    let rw = env.path("rw");
    let ro = env.path("ro");
    std::fs::create_dir_all(&rw).unwrap();
    std::fs::create_dir_all(&ro).unwrap();
    std::fs::write(ro.join("given"), "from host\n").unwrap();
    let out = env.output(&[
        "run", "--rm", "--network", "none", "--read-only",
        "-v", &format!("{}:/data", rw.display()),
        "-v", &format!("{}:/in:ro", ro.display()),
        IMAGE, "sh", "-c",
        "echo written > /data/out; cat /in/given; touch /in/x 2>/dev/null && echo in-writable; touch /x 2>/dev/null && echo root-writable; true",
    ]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(stdout(&out), "from host\n");
    assert_eq!(
        std::fs::read_to_string(rw.join("out")).unwrap(),
        "written\n"
    );
    assert_store_empty(&env);
}

#[test]
fn cap_drop_and_cap_add_change_the_capability_sets() {
    let env = env();
    let caps = |extra: &[&str]| {
        let mut args = vec!["run", "--rm", "--network", "none"];
        args.extend_from_slice(extra);
        args.extend_from_slice(&[IMAGE, "sh", "-c", "grep CapEff /proc/self/status"]);
        let out = env.output(&args);
        assert_eq!(code(&out), 0, "{}", stderr(&out));
        let hex = stdout(&out).split_whitespace().nth(1).unwrap().to_string();
        u64::from_str_radix(&hex, 16).unwrap()
    };
    let default = caps(&[]);
    assert_eq!(
        default & (1 << 0),
        1 << 0,
        "CAP_CHOWN is in Docker's default set"
    );
    assert_eq!(default & (1 << 12), 0, "CAP_NET_ADMIN is not");
    let changed = caps(&["--cap-drop", "chown", "--cap-add", "NET_ADMIN"]);
    assert_eq!(changed & 1, 0);
    assert_eq!(changed & (1 << 12), 1 << 12);
    assert_eq!(caps(&["--cap-drop", "ALL"]), 0);
    // ALL: every capability we hold (this sandbox's bounding set may lack some).
    let ours = std::fs::read_to_string("/proc/self/status").unwrap();
    let bounding = ours
        .lines()
        .find_map(|l| l.strip_prefix("CapBnd:"))
        .map(|h| u64::from_str_radix(h.trim(), 16).unwrap())
        .unwrap();
    assert_eq!(caps(&["--cap-add", "ALL"]), bounding);
    assert_eq!(
        caps(&["--cap-drop", "ALL", "--cap-add", "NET_ADMIN"]),
        1 << 12
    );
}

#[test]
fn resource_flags_reach_the_cgroup() {
    let env = env();
    let id = env
        .ok(&[
            "run",
            "-d",
            "--network",
            "none",
            "-m",
            "64m",
            "--pids-limit",
            "50",
            "--cpus",
            "0.5",
            IMAGE,
            "sleep",
            "60",
        ])
        .trim()
        .to_string();
    let read = |p: String| std::fs::read_to_string(p).unwrap().trim().to_string();
    assert_eq!(
        read(format!("/sys/fs/cgroup/memory/{id}/memory.limit_in_bytes")),
        "67108864"
    );
    assert_eq!(read(format!("/sys/fs/cgroup/pids/{id}/pids.max")), "50");
    assert_eq!(
        read(format!("/sys/fs/cgroup/cpu/{id}/cpu.cfs_quota_us")),
        "50000"
    );
    env.ok(&["rm", "-f", &id]);
    assert_gone(&env, &id);
}

#[test]
fn oom_kill_is_recorded() {
    let env = env();
    // A shell variable that grows past the 16 MiB limit.
    let out = env.output(&[
        "run",
        "--name",
        "oom",
        "--network",
        "none",
        "-m",
        "16m",
        IMAGE,
        "sh",
        "-c",
        "x=aaaaaaaaaaaaaaaa; while true; do x=$x$x; done",
    ]);
    assert_eq!(code(&out), 137, "{}", stderr(&out));
    let c = inspect(&env, "oom");
    assert_eq!(c["State"]["OOMKilled"], true, "{c}");
    assert_eq!(c["State"]["ExitCode"], 137);
    env.ok(&["rm", "oom"]);
    assert_store_empty(&env);
}

#[test]
fn bad_input_is_one_error_line_exit_125_and_nothing_left() {
    let env = env();
    env.ok(&[
        "create",
        "--name",
        "taken",
        "--network",
        "none",
        IMAGE,
        "true",
    ]);
    let before = ids(&env);
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (
            vec!["run", "--rm", "no/such-image:1", "true"],
            "no/such-image",
        ),
        (
            vec!["run", "--name", "taken", "--network", "none", IMAGE, "true"],
            "taken",
        ),
        (vec!["run", "--name", "-bad", IMAGE, "true"], "--name"),
        (vec!["run", "-v", "./rel:/x", IMAGE, "true"], "-v"),
        (vec!["run", "-v", "vol:relative", IMAGE, "true"], "-v"),
        (vec!["run", "-v", "/tmp:/x:rx", IMAGE, "true"], "-v"),
        (
            vec!["run", "-v", "/no/such/dir:/x", IMAGE, "true"],
            "/no/such/dir",
        ),
        (
            vec!["run", "--network", "nosuchnet", IMAGE, "true"],
            "nosuchnet",
        ),
        (vec!["run", "-m", "lots", IMAGE, "true"], "-m"),
        (vec!["run", "-p", "notaport", IMAGE, "true"], "-p"),
        (vec!["run", "-u", "someone", IMAGE, "true"], "someone"),
        (
            vec!["run", "--cap-add", "NOT_A_CAP", IMAGE, "true"],
            "NOT_A_CAP",
        ),
        (vec!["run", "-w", "relative", IMAGE, "true"], "-w"),
        (vec!["run", "--tmpfs", "rel", IMAGE, "true"], "--tmpfs"),
        (vec!["run", "--tmpfs", "/x:bogus", IMAGE, "true"], "bogus"),
        (
            vec!["run", "--mount", "type=bind", IMAGE, "true"],
            "--mount",
        ),
        (
            vec!["run", "--mount", "type=bind,src=rel,dst=/x", IMAGE, "true"],
            "--mount",
        ),
        (
            vec!["run", "--mount", "type=volume,dst=", IMAGE, "true"],
            "target",
        ),
        (
            vec!["run", "--mount", "type=npipe,src=a,dst=/x", IMAGE, "true"],
            "npipe",
        ),
        (
            vec!["run", "--restart", "sometimes", IMAGE, "true"],
            "--restart",
        ),
    ];
    for (args, what) in cases {
        let out = env.output(&args);
        assert_one_error(&out, 125, what);
        assert_eq!(ids(&env), before, "{args:?} left a container");
    }
    let mounts = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    let n = mounts
        .lines()
        .filter(|l| l.contains(env.root().to_str().unwrap()))
        .count();
    assert_eq!(n, 1, "only the created container's rootfs is mounted");
    env.ok(&["rm", "taken"]);
    assert_store_empty(&env);
}

#[test]
fn a_port_in_use_is_refused_with_nothing_left() {
    let env = env();
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    let spec = format!("127.0.0.1:{port}:80");
    // The named volume made for it goes too; one that existed stays.
    env.ok(&["volume", "create", "keptvol"]);
    let out = env.output(&[
        "run",
        "--rm",
        "-p",
        &spec,
        "-v",
        "portvol:/data",
        "-v",
        "keptvol:/kept",
        IMAGE,
        "true",
    ]);
    assert_one_error(&out, 125, &port.to_string());
    assert!(ids(&env).is_empty());
    assert_eq!(env.ok(&["volume", "ls", "-q"]), "keptvol\n");
    env.ok(&["volume", "rm", "keptvol"]);
    assert_store_empty(&env);
}

#[test]
fn concurrent_creates_never_share_a_name_or_corrupt_records() {
    let env = env();
    let children: Vec<_> = (0..6)
        .map(|i| {
            let name = if i < 3 {
                "same".to_string()
            } else {
                format!("n{i}")
            };
            env.cmd(&[
                "create",
                "--name",
                &name,
                "--network",
                "none",
                IMAGE,
                "true",
            ])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap()
        })
        .collect();
    let ok = children
        .into_iter()
        .map(|mut c| c.wait().unwrap().success())
        .collect::<Vec<_>>();
    assert_eq!(
        ok[..3].iter().filter(|o| **o).count(),
        1,
        "one 'same' wins: {ok:?}"
    );
    assert!(ok[3..].iter().all(|o| *o), "{ok:?}");
    let lines: Vec<serde_json::Value> = env
        .ok(&["ps", "-a", "--format", "json"])
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let mut names: Vec<&str> = lines.iter().map(|l| l["Names"].as_str().unwrap()).collect();
    names.sort();
    assert_eq!(names, ["n3", "n4", "n5", "same"]);
    assert!(lines.iter().all(|l| l["State"] == "created"));
    let ids = ids(&env);
    let mut args = vec!["rm"];
    args.extend(ids.iter().map(String::as_str));
    env.ok(&args);
    assert_store_empty(&env);
}

#[test]
fn run_i_gives_the_container_our_stdin_and_without_i_it_reads_nothing() {
    use std::io::Write;
    let env = env();
    let run = |extra: &[&str]| {
        let mut args = vec!["run", "--rm", "--network", "none"];
        args.extend_from_slice(extra);
        args.extend_from_slice(&[IMAGE, "sh", "-c", "cat; echo end"]);
        let mut c = env
            .cmd(&args)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        c.stdin.take().unwrap().write_all(b"piped in\n").unwrap();
        let out = c.wait_with_output().unwrap();
        assert_eq!(out.status.code(), Some(0));
        String::from_utf8(out.stdout).unwrap()
    };
    assert_eq!(run(&["-i"]), "piped in\nend\n");
    assert_eq!(run(&[]), "end\n");
    assert_store_empty(&env);
}

#[test]
fn a_named_volume_is_made_on_first_use_and_survives_rm() {
    let env = env();
    let out = env.output(&[
        "run",
        "--rm",
        "--network",
        "none",
        "-v",
        "data1:/data",
        IMAGE,
        "sh",
        "-c",
        "echo kept > /data/file",
    ]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let on_host = env.root().join("volumes/data1/_data/file");
    assert_eq!(std::fs::read_to_string(&on_host).unwrap(), "kept\n");
    let out = env.output(&[
        "run",
        "--rm",
        "--network",
        "none",
        "-v",
        "data1:/again:ro",
        IMAGE,
        "sh",
        "-c",
        "cat /again/file; touch /again/x 2>/dev/null && echo writable; true",
    ]);
    assert_eq!(stdout(&out), "kept\n", "{}", stderr(&out));
    assert_store_empty(&env);
}

#[test]
fn run_t_gives_the_container_a_pty_and_it_reads_our_stdin() {
    use std::io::Write;
    let env = env();
    let out = env.output(&[
        "run",
        "--rm",
        "-t",
        "--network",
        "none",
        IMAGE,
        "sh",
        "-c",
        "tty; echo $TERM; test -t 0 && echo stdin-is-tty; exit 2",
    ]);
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    assert_eq!(stdout(&out), "/dev/pts/0\r\nxterm\r\nstdin-is-tty\r\n");
    let mut c = env
        .cmd(&[
            "run",
            "--rm",
            "-i",
            "-t",
            "--network",
            "none",
            IMAGE,
            "sh",
            "-c",
            "read x; echo got $x",
        ])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    c.stdin.as_mut().unwrap().write_all(b"hello\n").unwrap();
    let out = c.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    // The pty echoes the input, then the answer, with the tty's \r\n.
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        "hello\r\ngot hello\r\n"
    );
    // Detached with a pty: the output is in the log, as one stream.
    let id = env
        .ok(&[
            "run",
            "-d",
            "-t",
            "--network",
            "none",
            IMAGE,
            "sh",
            "-c",
            "echo to-err >&2",
        ])
        .trim()
        .to_string();
    assert_eq!(env.ok(&["wait", &id]).trim(), "0");
    let logs = env.output(&["logs", &id]);
    assert_eq!(
        (stdout(&logs).as_str(), stderr(&logs).as_str()),
        ("to-err\r\n", "")
    );
    env.ok(&["rm", &id]);
    assert_store_empty(&env);
    let leftover = std::fs::read_dir(std::env::temp_dir())
        .unwrap()
        .flatten()
        .any(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with(&format!("coracle-console-{}", &id[..12]))
        });
    assert!(!leftover, "console socket left in the temp dir");
}

/// Every container gets the default seccomp profile (Docker's and Podman's practice): a new user
/// namespace, which needs no capability, is refused, in the init and in an exec'd process;
/// `seccomp=unconfined` lifts it; `--cap-add SYS_ADMIN` brings back what that capability guards.
#[test]
fn the_default_seccomp_profile_refuses_namespaces_unless_unconfined_or_sys_admin() {
    let env = env();
    let probe = "grep Seccomp: /proc/self/status; busybox unshare -U true 2>&1; echo user=$?";
    let run = |extra: &[&str]| {
        let mut args = vec!["run", "--rm", "--network", "none"];
        args.extend_from_slice(extra);
        args.extend_from_slice(&[IMAGE, "sh", "-c", probe]);
        let out = env.output(&args);
        assert_eq!(code(&out), 0, "{}", stderr(&out));
        stdout(&out)
    };
    let confined = run(&[]);
    assert!(confined.starts_with("Seccomp:\t2\n"), "{confined}");
    assert!(confined.contains("Operation not permitted") && confined.ends_with("user=1\n"));
    let free = run(&["--security-opt", "seccomp=unconfined"]);
    assert_eq!(free, "Seccomp:\t0\nuser=0\n");
    let admin = run(&["--cap-add", "SYS_ADMIN"]);
    assert_eq!(admin, "Seccomp:\t2\nuser=0\n");
    let id = env
        .ok(&["run", "-d", "--network", "none", IMAGE, "sleep", "600"])
        .trim()
        .to_string();
    let out = env.output(&["exec", &id, "sh", "-c", probe]);
    assert!(
        stdout(&out).ends_with("user=1\n"),
        "exec'd: {}",
        stdout(&out)
    );
    assert!(
        stdout(&out).starts_with("Seccomp:\t2\n"),
        "{}",
        stdout(&out)
    );
    env.ok(&["rm", "-f", &id]);
    assert_gone(&env, &id);
    assert_store_empty(&env);
}

#[test]
fn security_opt_no_new_privileges_and_a_seccomp_profile() {
    let env = env();
    // `run --rm --network none --security-opt OPT IMAGE CMD...`
    let with = |opt: &str, cmd: &[&str]| {
        let mut args = vec![
            "run",
            "--rm",
            "--network",
            "none",
            "--security-opt",
            opt,
            IMAGE,
        ];
        args.extend_from_slice(cmd);
        env.output(&args)
    };
    let sh = |script| ["sh", "-c", script];
    let out = with(
        "no-new-privileges",
        &sh("grep NoNewPrivs /proc/self/status"),
    );
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(stdout(&out).split_whitespace().nth(1), Some("1"));
    let profile = env.path("seccomp.json");
    std::fs::write(
        &profile,
        r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["mkdir","mkdirat"],"action":"SCMP_ACT_ERRNO","errnoRet":1}]}"#,
    )
    .unwrap();
    let opt = format!("seccomp={}", profile.display());
    let out = with(
        &opt,
        &sh("mkdir /tmp/d 2>/dev/null && echo made || echo refused"),
    );
    assert_eq!(
        (code(&out), stdout(&out).as_str()),
        (0, "refused\n"),
        "{}",
        stderr(&out)
    );
    // A profile the runtime refuses: one line, 125, nothing left.
    std::fs::write(
        &profile,
        r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["mkdir"],"action":"SCMP_ACT_BOGUS"}]}"#,
    )
    .unwrap();
    assert_one_error(&with(&opt, &["true"]), 125, "SCMP_ACT_BOGUS");
    for bad in [
        "seccomp=/no/such/profile.json",
        "label=type:spc_t",
        "systempaths=unconfined",
    ] {
        assert_one_error(&with(bad, &["true"]), 125, "--security-opt");
    }
    // What Docker and Podman scripts pass to turn off what coracle does not do: accepted.
    for what_we_do in ["apparmor=unconfined", "label=disable"] {
        let out = with(what_we_do, &["true"]);
        assert_eq!(code(&out), 0, "{what_we_do}: {}", stderr(&out));
    }
    // A profile reaches the runtime, which applies it or says why not (this host has no
    // AppArmor: the AppArmor guest, tests/v2/run.sh --lsm, proves the runtime's side).
    if !std::path::Path::new("/sys/module/apparmor/parameters/enabled").exists() {
        let out = with("apparmor=coracle-test-none", &["true"]);
        assert_one_error(&out, 125, "AppArmor is not enabled");
        assert!(ids(&env).is_empty(), "a container was left");
    }
    assert_store_empty(&env);
}

#[test]
fn user_names_and_groups_come_from_the_images_passwd_and_group() {
    let env = env();
    for (user, want) in [
        ("daemon", "1 1 1,4242"),
        ("daemon:extra", "1 4242 4242"),
        ("1000:1001", "1000 1001 1001"),
    ] {
        let out = env.output(&[
            "run",
            "--rm",
            "--network",
            "none",
            "-u",
            user,
            IMAGE,
            "sh",
            "-c",
            "echo $(id -u) $(id -g) $(id -G | tr ' ' ',')",
        ]);
        assert_eq!(code(&out), 0, "{user}: {}", stderr(&out));
        assert_eq!(stdout(&out).trim(), want, "-u {user}");
    }
    assert_store_empty(&env);
}

#[test]
fn tmpfs_mounts_with_dockers_defaults_and_given_options() {
    let env = env();
    let out = env.output(&[
        "run", "--rm", "--network", "none", "--read-only", "--tmpfs", "/scratch",
        "--tmpfs", "/big:size=1m,mode=0700,exec", IMAGE, "sh", "-c",
        "echo ok > /scratch/f && cat /scratch/f; grep -E ' /(scratch|big) ' /proc/mounts | cut -d' ' -f2-4",
    ]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let text = stdout(&out);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "ok", "writable though the root is read-only");
    let scratch = lines.iter().find(|l| l.starts_with("/scratch ")).unwrap();
    assert!(
        scratch.starts_with("/scratch tmpfs rw,nosuid,nodev,noexec"),
        "{scratch}"
    );
    let big = lines.iter().find(|l| l.starts_with("/big ")).unwrap();
    assert!(
        big.contains("size=1024k") && big.contains("mode=700"),
        "{big}"
    );
    assert!(!big.contains("noexec"), "{big}");
    assert_store_empty(&env);
}

#[test]
fn mount_flag_bind_volume_and_tmpfs() {
    let env = env();
    let host = env.path("host-dir");
    std::fs::create_dir_all(&host).unwrap();
    std::fs::write(host.join("f"), "from-host\n").unwrap();
    let bind = format!("type=bind,source={},target=/b,readonly", host.display());
    let out = env.output(&[
        "run", "--rm", "--network", "none", "--mount", &bind,
        "--mount", "type=volume,src=mvol,dst=/v",
        "--mount", "type=tmpfs,target=/t,tmpfs-size=2m",
        IMAGE, "sh", "-c",
        "cat /b/f; touch /b/x 2>/dev/null && echo b-writable; echo v > /v/f; grep ' /t ' /proc/mounts | cut -d' ' -f3",
    ]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(stdout(&out), "from-host\ntmpfs\n");
    assert_eq!(
        std::fs::read_to_string(env.root().join("volumes/mvol/_data/f")).unwrap(),
        "v\n"
    );
    assert_store_empty(&env);
}

/// Runs `coracle ARGS` on a real pty (python3's pty module), resizes that terminal once the
/// container says "ready", and returns what the terminal showed by the container's exit.
const RESIZE_ON_A_PTY: &str = r#"
import os, pty, sys, fcntl, termios, struct, time, select
pid, fd = pty.fork()
if pid == 0:
    os.execv(sys.argv[1], sys.argv[1:])
out = b""
def read_until(tok):
    global out
    end = time.time() + 10
    while tok not in out and time.time() < end:
        if select.select([fd], [], [], 0.2)[0]:
            try:
                out += os.read(fd, 1024)
            except OSError:
                return
fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 30, 100, 0, 0))
read_until(b"ready")
fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 42, 132, 0, 0))
read_until(b"42 132")
os.write(fd, b"\x03")
read_until(b"bye")
_, status = os.waitpid(pid, 0)
sys.stdout.write(out.decode(errors="replace"))
sys.exit(os.waitstatus_to_exitcode(status))
"#;

#[test]
fn run_it_on_a_terminal_passes_its_size_changes_and_ctrl_c() {
    let env = env();
    let script = env.path("resize.py");
    std::fs::write(&script, RESIZE_ON_A_PTY).unwrap();
    let out = std::process::Command::new("python3")
        .arg(&script)
        .arg(env!("CARGO_BIN_EXE_coracle"))
        .arg("--root")
        .arg(env.root())
        .args(["run", "--rm", "-it", "--network", "none", IMAGE, "sh", "-c"])
        .arg("trap 'busybox stty size' WINCH; trap 'echo bye; exit 5' INT; busybox stty size; echo ready; while true; do sleep 0.1; done")
        .output()
        .unwrap();
    let shown = String::from_utf8_lossy(&out.stdout);
    assert!(shown.contains("30 100"), "the size at the start: {shown:?}");
    assert!(
        shown.contains("42 132"),
        "the size after the resize: {shown:?}"
    );
    assert!(
        shown.contains("bye"),
        "Ctrl-C reached the container: {shown:?}"
    );
    assert_eq!(out.status.code(), Some(5), "{shown:?}");
    assert_store_empty(&env);
}
