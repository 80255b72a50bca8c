//! Bounded parallelism on std threads (no async runtime): layers download side by side,
//! at most `workers` at a time; the first error stops the handing out of new work.

use super::error::{Error, Result};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;

/// Downloads in flight by default: enough to hide per-request latency, few enough not to
/// starve a small link or a small registry.
pub const DEFAULT_WORKERS: usize = 4;

/// Runs `f` on every item with at most `workers` threads; returns the first error.
pub fn for_each<T: Sync>(
    items: &[T],
    workers: usize,
    f: impl Fn(&T) -> Result<()> + Sync,
) -> Result<()> {
    let next = AtomicUsize::new(0);
    let failed = AtomicBool::new(false);
    let first_error: Mutex<Option<Error>> = Mutex::new(None);
    let worker = || {
        while !failed.load(Ordering::SeqCst) {
            let i = next.fetch_add(1, Ordering::SeqCst);
            let Some(item) = items.get(i) else { break };
            if let Err(e) = f(item) {
                failed.store(true, Ordering::SeqCst);
                first_error.lock().unwrap().get_or_insert(e);
            }
        }
    };
    let n = workers.clamp(1, items.len().max(1));
    std::thread::scope(|s| {
        for _ in 1..n {
            s.spawn(worker);
        }
        worker();
    });
    match first_error.into_inner().unwrap() {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_everything_bounded_and_reports_the_error() {
        let running = AtomicUsize::new(0);
        let peak = AtomicUsize::new(0);
        let count = AtomicUsize::new(0);
        let items: Vec<u32> = (0..20).collect();
        for_each(&items, 3, |_| {
            let now = running.fetch_add(1, Ordering::SeqCst) + 1;
            peak.fetch_max(now, Ordering::SeqCst);
            std::thread::yield_now();
            count.fetch_add(1, Ordering::SeqCst);
            running.fetch_sub(1, Ordering::SeqCst);
            Ok(())
        })
        .unwrap();
        assert_eq!(count.load(Ordering::SeqCst), 20);
        assert!(peak.load(Ordering::SeqCst) <= 3);
        let e = for_each(&items, 2, |i| {
            if *i == 5 {
                Err(Error::Invalid("five".into()))
            } else {
                Ok(())
            }
        });
        assert_eq!(e.unwrap_err().to_string(), "invalid argument: five");
    }
}
