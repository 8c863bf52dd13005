//! The machine's resources, checked before they are used: memory (the
//! lower of what the machine and the process's cgroup allow), disk space
//! (`statvfs`) and cores. Every refusal says what it needs, what there is,
//! and what to do.

use std::path::Path;

use crate::error::{Error, Result};

/// Bytes of memory this process can still be given: the lower of what the
/// machine has (`MemAvailable` plus free swap, from `/proc/meminfo`) and what
/// its control group allows (cgroup v2 `memory.max` less `memory.current`, or
/// v1 `memory.limit_in_bytes` less `memory.usage_in_bytes`): inside a
/// container with a 3 GiB limit, a 12 GB allocation is refused instead of the
/// process being killed. `u64::MAX` where neither is known.
pub fn available_bytes() -> u64 {
    machine_available().min(cgroup_available().unwrap_or(u64::MAX))
}

fn machine_available() -> u64 {
    let Ok(text) = std::fs::read_to_string("/proc/meminfo") else {
        return u64::MAX;
    };
    let field = |name: &str| -> Option<u64> {
        let line = text.lines().find(|l| l.starts_with(name))?;
        let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
        Some(kib * 1024)
    };
    match field("MemAvailable:") {
        Some(mem) => mem.saturating_add(field("SwapFree:").unwrap_or(0)),
        None => u64::MAX,
    }
}

/// Room left under this process's cgroup memory limit, if it has one.
fn cgroup_available() -> Option<u64> {
    let groups = std::fs::read_to_string("/proc/self/cgroup").ok()?;
    cgroup_room(&groups, |p| std::fs::read_to_string(p).ok())
}

/// The cgroup arithmetic, on `/proc/self/cgroup`'s text and a file reader
/// (so tests can give it any hierarchy): the tightest limit along the
/// group's path up to the root, less the usage where the limit is.
fn cgroup_room(groups: &str, read: impl Fn(&str) -> Option<String>) -> Option<u64> {
    let number = |p: &str| read(p).and_then(|s| s.trim().parse::<u64>().ok());
    let mut room: Option<u64> = None;
    for line in groups.lines() {
        let mut parts = line.splitn(3, ':');
        let (Some(_), Some(controllers), Some(path)) = (parts.next(), parts.next(), parts.next())
        else {
            continue;
        };
        let (root, limit, usage) = if controllers.is_empty() {
            ("/sys/fs/cgroup", "memory.max", "memory.current")
        } else if controllers.split(',').any(|c| c == "memory") {
            (
                "/sys/fs/cgroup/memory",
                "memory.limit_in_bytes",
                "memory.usage_in_bytes",
            )
        } else {
            continue;
        };
        // Walk from the group up to the root: a parent's limit binds too.
        let mut dir = path.trim_end_matches('/').to_string();
        loop {
            let base = format!("{root}{dir}");
            if let (Some(l), Some(u)) = (
                number(&format!("{base}/{limit}")),
                number(&format!("{base}/{usage}")),
            ) {
                // v1 reports "no limit" as a huge number near i64::MAX.
                if l < (1u64 << 60) {
                    let left = l.saturating_sub(u);
                    room = Some(room.map_or(left, |r| r.min(left)));
                }
            }
            match dir.rfind('/') {
                Some(k) => dir.truncate(k),
                None => break,
            }
            if dir.is_empty() {
                break;
            }
        }
    }
    room
}

/// The cores this process may run on (its CPU affinity and cgroup quota, as
/// `std::thread::available_parallelism` reads them; 1 where unknown).
pub fn available_cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// `requested` threads, or the available cores if that is fewer, with a
/// warning for the user when capped: more busy threads than cores only take
/// turns (a 0.4 s run took 40 s with 10,000 threads on 2 cores), and the
/// results never depend on the thread count. `what` names the flag.
pub fn usable_threads(requested: usize, what: &str) -> (usize, Option<String>) {
    let cores = available_cores();
    if requested > cores {
        let warning = format!(
            "{what} {requested} is more than the {cores} core(s) available; using {cores} (the results are the same bits)"
        );
        (cores, Some(warning))
    } else {
        (requested, None)
    }
}

/// Bytes free for an unprivileged writer on the filesystem holding `dir`
/// (`statvfs`), or `None` where the system does not say.
pub fn free_disk_bytes(dir: &Path) -> Option<u64> {
    use std::os::unix::ffi::OsStrExt;
    let c = std::ffi::CString::new(dir.as_os_str().as_bytes()).ok()?;
    let mut s: libc::statvfs = unsafe { std::mem::zeroed() };
    // SAFETY: a valid NUL-terminated path and a statvfs struct to fill.
    if unsafe { libc::statvfs(c.as_ptr(), &mut s) } != 0 {
        return None;
    }
    Some((s.f_bavail as u64).saturating_mul(s.f_frsize as u64))
}

/// The peak resident memory of this process so far (`VmHWM` in
/// `/proc/self/status`), in bytes; `None` where the system does not report it.
pub fn peak_rss_bytes() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = text.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// Fails with [`Error::OutOfMemory`] if `bytes` (or `None`, an overflowed size)
/// exceeds what the machine has available.
pub fn check_allocation(
    what: impl Into<String>,
    bytes: Option<u64>,
    hint: &'static str,
) -> Result<()> {
    let available = available_bytes();
    let needed = bytes.unwrap_or(u64::MAX);
    if needed > available {
        return Err(Error::OutOfMemory {
            what: what.into(),
            needed,
            available,
            hint,
        });
    }
    Ok(())
}

/// A zeroed vector of `len` elements, refused with a clear error (instead of an
/// abort) when the machine cannot hold it.
pub fn zeroed_vec<T: Clone + Default>(
    what: &str,
    len: usize,
    hint: &'static str,
) -> Result<Vec<T>> {
    let mut v = reserved_vec(what, len, hint)?;
    v.resize(len, T::default());
    Ok(v)
}

/// An empty vector with room for `len` elements, refused with a clear
/// error (instead of an abort) when the machine cannot hold it: for a buffer whose every
/// element is written before it is read, so that no thread first writes
/// zeros through all of it (its pages are first touched where, and by the
/// thread that, its values are written).
pub fn reserved_vec<T>(what: &str, len: usize, hint: &'static str) -> Result<Vec<T>> {
    let bytes = (len as u64).checked_mul(std::mem::size_of::<T>() as u64);
    check_allocation(what, bytes, hint)?;
    let mut v: Vec<T> = Vec::new();
    v.try_reserve_exact(len).map_err(|_| Error::OutOfMemory {
        what: what.to_string(),
        needed: bytes.unwrap_or(u64::MAX),
        available: available_bytes(),
        hint,
    })?;
    advise_huge_pages(v.as_ptr().cast(), bytes.unwrap_or(0));
    Ok(v)
}

/// Asks Linux to back a big buffer with 2 MiB pages where it can (the
/// `madvise` setting of transparent huge pages). A spike reads a column of W
/// at a new place each time; with 4 KiB pages every 4 KiB of it is a TLB
/// miss, and a dense spike record faults its pages in 4 KiB at a time. From
/// 4 MiB, as NumPy does. Only a hint: nothing changes but speed, and errors
/// are ignored.
fn advise_huge_pages(ptr: *const u8, bytes: u64) {
    #[cfg(target_os = "linux")]
    {
        const HUGE: usize = 2 << 20;
        if bytes < 2 * HUGE as u64 {
            return;
        }
        let start = (ptr as usize).next_multiple_of(HUGE);
        let end = (ptr as usize + bytes as usize) / HUGE * HUGE;
        if end > start {
            // SAFETY: the range lies inside the caller's live allocation, and
            // MADV_HUGEPAGE changes no contents.
            unsafe {
                libc::madvise(start as *mut libc::c_void, end - start, libc::MADV_HUGEPAGE);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_absurd_sizes() {
        let err = check_allocation("test array", Some(u64::MAX / 2), "use less").unwrap_err();
        assert!(err.to_string().contains("test array needs"), "{err}");
        assert!(check_allocation("tiny", Some(8), "").is_ok());
        assert!(zeroed_vec::<f64>("x", usize::MAX / 16, "").is_err());
        assert_eq!(zeroed_vec::<f64>("x", 3, "").unwrap(), vec![0.0; 3]);
    }

    #[test]
    fn cgroup_limits_bind_at_every_level() {
        let files = |p: &str| -> Option<String> {
            Some(
                match p {
                    "/sys/fs/cgroup/job/memory.max" => "3221225472",
                    "/sys/fs/cgroup/job/memory.current" => "1073741824",
                    "/sys/fs/cgroup/job/step/memory.max" => "max",
                    "/sys/fs/cgroup/job/step/memory.current" => "5",
                    "/sys/fs/cgroup/memory/box/memory.limit_in_bytes" => "4096",
                    "/sys/fs/cgroup/memory/box/memory.usage_in_bytes" => "1024",
                    "/sys/fs/cgroup/memory/free/memory.limit_in_bytes" => "9223372036854771712",
                    "/sys/fs/cgroup/memory/free/memory.usage_in_bytes" => "1024",
                    _ => return None,
                }
                .to_string(),
            )
        };
        // cgroup v2: the parent's 3 GiB limit, 1 GiB used.
        assert_eq!(cgroup_room("0::/job/step\n", files), Some(2 << 30));
        // cgroup v1 memory controller.
        assert_eq!(cgroup_room("4:memory:/box\n2:cpu:/x\n", files), Some(3072));
        // v1's "unlimited" and no group at all.
        assert_eq!(cgroup_room("4:cpu,memory:/free\n", files), None);
        assert_eq!(cgroup_room("0::/\n", files), None);
    }

    #[test]
    fn free_disk_is_reported() {
        let free = free_disk_bytes(Path::new(".")).unwrap();
        assert!(free > 0);
        assert_eq!(free_disk_bytes(Path::new("/nonexistent-dir")), None);
    }
}
