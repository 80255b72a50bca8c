//! The monitor of a detached container: its memory budget (VmRSS ≤ 1 MiB while the container
//! is quiet).

mod common;
mod engine_support;

use engine_support::*;

/// A `/proc/PID/status` field in KiB.
fn status_kib(pid: i64, key: &str) -> u64 {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = s.lines().find(|l| l.starts_with(key)).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

/// The private pages of the coracle binary's read-only mappings in `pid`: what the dynamic
/// loader wrote when it relocated the binary (a PIE's RELRO: vtables, string slices, panic
/// locations). Every exec of a PIE pays it, in proportion to the build (about 0.9 MB for a
/// debug build with its panic locations, a fraction of that for release, none for a static
/// non-PIE build); the relay's design does not decide it.
fn relocated_kib(pid: i64) -> u64 {
    let exe = std::fs::canonicalize(env!("CARGO_BIN_EXE_coracle")).unwrap();
    let exe = exe.to_string_lossy().into_owned();
    let smaps = std::fs::read_to_string(format!("/proc/{pid}/smaps")).unwrap();
    let mut ours = false;
    let mut sum = 0;
    for line in smaps.lines() {
        let words: Vec<&str> = line.split_whitespace().collect();
        if words
            .first()
            .is_some_and(|w| w.contains('-') && !w.ends_with(':'))
        {
            ours = words.get(1) == Some(&"r--p") && words.get(5) == Some(&exe.as_str());
        } else if ours && words.first() == Some(&"Anonymous:") {
            sum += words[1].parse::<u64>().unwrap();
        }
    }
    sum
}

#[test]
fn a_quiet_containers_monitor_stays_within_1_mib() {
    let env = env();
    let id = env
        .ok(&[
            "run",
            "-d",
            "--network",
            "none",
            IMAGE,
            "sh",
            "-c",
            "trap 'echo woke' USR1; echo ready; while true; do sleep 0.2; done",
        ])
        .trim()
        .to_string();
    wait_until("ready", || logs(&env, &id).contains("ready"));
    let pid = inspect(&env, &id)["State"]["Pid"].as_i64().unwrap();
    let monitor = status_kib(pid, "PPid:") as i64;
    let relocated = if cfg!(debug_assertions) {
        relocated_kib(monitor)
    } else {
        0
    };
    let budget = 1024 + relocated;
    // The relay drops the pages start-up mapped once the container has been quiet for a
    // second: wait for that, not for a fixed time.
    let mut rss = 0;
    let end = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while std::time::Instant::now() < end {
        rss = status_kib(monitor, "VmRSS:");
        if rss <= budget {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let (anon, file) = (
        status_kib(monitor, "RssAnon:"),
        status_kib(monitor, "RssFile:"),
    );
    eprintln!(
        "monitor {monitor}: VmRSS {rss} KiB (RssAnon {anon}, RssFile {file}; relocated binary \
         pages {relocated})"
    );
    assert!(
        rss <= budget,
        "monitor VmRSS {rss} KiB > 1024 KiB + {relocated} KiB relocated (RssAnon {anon}, \
         RssFile {file})"
    );
    // It still relays after the drop: output reaches the log, the exit is recorded.
    env.ok(&["kill", "-s", "USR1", &id]);
    wait_until("woke", || logs(&env, &id).contains("woke"));
    env.ok(&["stop", "-t", "1", &id]);
    let c = inspect(&env, &id);
    assert_eq!(c["State"]["Status"], "exited");
    env.ok(&["rm", &id]);
    assert_gone(&env, &id);
    assert_store_empty(&env);
}
