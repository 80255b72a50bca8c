//! The process's own memory map: dropping the file pages start-up mapped and a long-lived
//! process no longer needs (they stay in the page cache; a later touch maps them again).

use std::io;
use std::os::fd::BorrowedFd;

/// The page-cache pages mapped by this process's read-only, file-backed mappings, as
/// `/proc/self/smaps` says (and, in a mapping that also holds private copied-on-write pages
/// such as a RELRO segment with a few relocations, `/proc/self/pagemap` page by page), and the
/// KiB resident in them. Such a page is a view of the page cache: dropping its page-table
/// entry loses nothing, the next access maps the same page again. Private pages are left
/// out: dropping those would lose the writes.
pub struct CleanMappings {
    ranges: Vec<(usize, usize)>,
    pub resident_kib: u64,
}

pub fn clean_file_mappings() -> io::Result<CleanMappings> {
    let smaps = std::fs::read_to_string("/proc/self/smaps")?;
    let maps = parse_smaps(&smaps);
    let mut ranges = vec![];
    let mut resident_kib = 0;
    let mut pagemap = None;
    for m in maps.iter().filter(|m| m.droppable()) {
        if m.anon_kib == 0 {
            ranges.push((m.start, m.end));
            resident_kib += m.rss_kib;
            continue;
        }
        if pagemap.is_none() {
            pagemap = Some(std::fs::File::open("/proc/self/pagemap")?);
        }
        for run in file_page_runs(pagemap.as_ref().unwrap(), m.start, m.end)? {
            resident_kib += ((run.1 - run.0) / PAGE) as u64 * (PAGE as u64 / 1024);
            ranges.push(run);
        }
    }
    Ok(CleanMappings {
        ranges,
        resident_kib,
    })
}

const PAGE: usize = 4096;

/// The runs of present page-cache pages in `[start, end)`: pagemap entries with bit 63
/// (present) and bit 61 (a file page, not a private copy) set.
fn file_page_runs(
    pagemap: &std::fs::File,
    start: usize,
    end: usize,
) -> io::Result<Vec<(usize, usize)>> {
    use std::os::unix::fs::FileExt;
    let pages = (end - start) / PAGE;
    let mut raw = vec![0u8; pages * 8];
    pagemap.read_exact_at(&mut raw, (start / PAGE * 8) as u64)?;
    let mut runs: Vec<(usize, usize)> = vec![];
    for (i, e) in raw.chunks_exact(8).enumerate() {
        let entry = u64::from_le_bytes(e.try_into().expect("8 bytes"));
        if entry >> 63 & 1 == 0 || entry >> 61 & 1 == 0 {
            continue;
        }
        let at = start + i * PAGE;
        match runs.last_mut() {
            Some(last) if last.1 == at => last.1 = at + PAGE,
            _ => runs.push((at, at + PAGE)),
        }
    }
    Ok(runs)
}

/// Drop `maps` (`madvise(MADV_DONTNEED)`), then wait with [`crate::fd::poll_readable`]: a
/// process that sleeps right after the drop keeps mapped only the few pages between the two. Only a single-threaded process
/// drops anything (another thread could make a mapping writable and write to it after `maps`
/// was read); with more threads this is a plain poll.
pub fn drop_then_poll(
    maps: &CleanMappings,
    fds: &[BorrowedFd<'_>],
    timeout_ms: i32,
) -> io::Result<Option<Vec<i16>>> {
    let ranges = if single_threaded() {
        &maps.ranges[..]
    } else {
        &[]
    };
    // Free heap pages back to the kernel too (what parsing smaps and the last burst used).
    // SAFETY: malloc_trim only returns free memory of glibc's allocator; no live allocation
    // moves.
    unsafe { libc::malloc_trim(0) };
    for &(start, end) in ranges {
        // SAFETY: the range is pages of a read-only, file-backed mapping of this process that
        // were page-cache pages, not private copies, when smaps/pagemap were read (this is the
        // only thread, and it did not change the mapping since, so still so): MADV_DONTNEED
        // only removes page-table entries whose content the file still holds, so no memory
        // that Rust code may reference changes value. A failure (the mapping went away, or is
        // locked) changes nothing.
        unsafe { libc::madvise(start as *mut libc::c_void, end - start, libc::MADV_DONTNEED) };
    }
    crate::fd::poll_readable(fds, timeout_ms)
}

/// Whether this thread is the process's only one (`Threads:` in /proc/self/status).
fn single_threaded() -> bool {
    std::fs::read_to_string("/proc/self/status").is_ok_and(|s| {
        s.lines()
            .find_map(|l| l.strip_prefix("Threads:"))
            .is_some_and(|n| n.trim() == "1")
    })
}

/// One mapping of smaps: its range, permissions, path and page counts.
#[derive(Debug, Default, PartialEq)]
struct Mapping {
    start: usize,
    end: usize,
    perms: String,
    path: String,
    rss_kib: u64,
    anon_kib: u64,
    locked_kib: u64,
}

impl Mapping {
    fn droppable(&self) -> bool {
        self.path.starts_with('/')
            && !self.perms.contains('w')
            && self.locked_kib == 0
            && self.rss_kib > 0
    }
}

fn parse_smaps(text: &str) -> Vec<Mapping> {
    let mut out: Vec<Mapping> = vec![];
    for line in text.lines() {
        let mut words = line.split_whitespace();
        let first = words.next().unwrap_or_default();
        if let Some((a, b)) = first.split_once('-') {
            if let (Ok(start), Ok(end)) =
                (usize::from_str_radix(a, 16), usize::from_str_radix(b, 16))
            {
                let perms = words.next().unwrap_or_default().to_string();
                // offset, device, inode, then the path (which may hold spaces).
                let path = words.skip(3).collect::<Vec<_>>().join(" ");
                out.push(Mapping {
                    start,
                    end,
                    perms,
                    path,
                    ..Mapping::default()
                });
                continue;
            }
        }
        let kib = words.next().and_then(|w| w.parse().ok()).unwrap_or(0);
        if let Some(m) = out.last_mut() {
            match first {
                "Rss:" => m.rss_kib = kib,
                "Anonymous:" => m.anon_kib = kib,
                "Locked:" => m.locked_kib = kib,
                _ => {}
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_read_only_file_mappings_are_droppable() {
        let text = "\
55d0a000-55d0b000 r--p 00000000 fe:01 12 /usr/bin/x y
Rss:                   4 kB
Anonymous:             0 kB
Locked:                0 kB
55d0b000-55d0c000 r--p 00001000 fe:01 12 /usr/bin/x
Rss:                   4 kB
Anonymous:             4 kB
Locked:                0 kB
55d0c000-55d0d000 rw-p 00002000 fe:01 12 /usr/bin/x
Rss:                   4 kB
Anonymous:             0 kB
Locked:                0 kB
7ffd000-7ffe000 r-xp 00000000 00:00 0 [vdso]
Rss:                   4 kB
Anonymous:             0 kB
Locked:                0 kB
";
        let maps = parse_smaps(text);
        assert_eq!(maps.len(), 4);
        assert_eq!(maps[0].path, "/usr/bin/x y");
        assert_eq!((maps[0].start, maps[0].end), (0x55d0a000, 0x55d0b000));
        let ok: Vec<bool> = maps.iter().map(Mapping::droppable).collect();
        // The second holds a private page: dropped page by page (pagemap), not whole.
        assert_eq!(ok, [true, true, false, false]);
        assert_eq!((maps[0].anon_kib, maps[1].anon_kib), (0, 4));
    }

    /// Resident KiB of file pages (`RssFile:`).
    fn rss_file() -> u64 {
        let s = std::fs::read_to_string("/proc/self/status").unwrap();
        let l = s.lines().find_map(|l| l.strip_prefix("RssFile:")).unwrap();
        l.trim().trim_end_matches("kB").trim().parse().unwrap()
    }

    #[test]
    fn dropping_keeps_the_process_working_and_unmaps_file_pages() {
        // A forked child is single-threaded (the test harness is not): only there is
        // anything dropped.
        // SAFETY: the child only reads files, polls, and leaves with _exit.
        let pid = unsafe { libc::fork() };
        assert!(pid >= 0);
        if pid == 0 {
            let ok = std::panic::catch_unwind(|| {
                let maps = clean_file_mappings().unwrap();
                let before = rss_file();
                let (r, w) = std::io::pipe().unwrap();
                std::io::Write::write_all(&mut &w, b"x").unwrap();
                use std::os::fd::AsFd;
                let ready = drop_then_poll(&maps, &[r.as_fd()], 1000).unwrap();
                // Code and read-only data came back from the page cache as they were touched.
                let after = rss_file();
                maps.resident_kib > 0
                    && ready.map(|r| r[0] & libc::POLLIN) == Some(libc::POLLIN)
                    && after < before
            });
            // SAFETY: leaves the forked child without running the harness's exit path.
            unsafe { libc::_exit(if matches!(ok, Ok(true)) { 0 } else { 1 }) };
        }
        let mut status = 0;
        // SAFETY: waits for our own child.
        assert_eq!(unsafe { libc::waitpid(pid, &mut status, 0) }, pid);
        assert_eq!(status, 0, "the child saw a failure");
    }
}
