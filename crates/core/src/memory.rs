//! Refusing allocations the machine cannot hold, before making them.

use crate::error::{Error, Result};

/// Bytes of memory the machine can still give us: `MemAvailable` plus free swap
/// from `/proc/meminfo`, or `u64::MAX` where that file does not exist.
pub fn available_bytes() -> u64 {
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
    v.resize(len, T::default());
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
}
