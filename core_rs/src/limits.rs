//! Memory limits: a size that allocates, taken from user input or from a file, is checked
//! here before the allocation, so too much becomes an error naming the size and the memory it
//! would need instead of an abort of the whole process (a dead Jupyter kernel, a dead server).
//!
//! The limit is what this process can get now: the system's available memory (RAM + free
//! swap), its cgroup's room and its own address-space and data limits (`ulimit -v`/`-d`).
//! Requests below `SMALL` are accepted without looking, so small queries pay nothing.

use crate::error::{NgError, Result};
use std::fmt::Display;

/// Requests up to this many bytes are always accepted.
pub const SMALL: u64 = 64 << 20;

/// The product of sizes (counts and bytes per item) as bytes; `None` when it overflows.
pub fn bytes_of(parts: &[usize]) -> Option<u64> {
    parts
        .iter()
        .try_fold(1u64, |acc, p| acc.checked_mul(u64::try_from(*p).ok()?))
}

/// `bytes` in binary units with one decimal ("7.5 TiB"); `None` (an overflow) as "over 16 EiB".
pub fn human(bytes: Option<u64>) -> String {
    let Some(b) = bytes else {
        return "over 16 EiB".to_string();
    };
    const UNITS: [&str; 7] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
    let mut v = b as f64;
    let mut u = 0;
    while v >= 1024.0 && u + 1 < UNITS.len() {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{b} B")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}

/// Why `bytes` cannot be had ("needs 7.5 TiB, more than the 12.0 GiB of memory available"),
/// or `None` when it fits. `what` says what the memory is for.
pub fn refusal(bytes: Option<u64>, what: impl FnOnce() -> String) -> Option<String> {
    if bytes.is_some_and(|b| b <= SMALL) {
        return None;
    }
    let avail = available();
    if bytes.is_some_and(|b| b <= avail) {
        return None;
    }
    Some(format!(
        "{} needs {}, more than the {} of memory this process can get",
        what(),
        human(bytes),
        human(Some(avail))
    ))
}

/// Refuse an argument (`field = value`) whose work needs more memory than there is:
/// `NgError::InvalidValue` naming the size and the memory (a `ValidationError` in Python).
pub fn check(
    field: &str,
    value: impl Display,
    bytes: Option<u64>,
    what: impl FnOnce() -> String,
) -> Result<()> {
    match refusal(bytes, what) {
        None => Ok(()),
        Some(reason) => Err(NgError::invalid(field, value, reason)),
    }
}

/// A zeroed vector of `n` items, or `NgError::OutOfMemory` naming `what` when the allocation
/// fails (instead of the abort `vec![0; n]` would be).
pub fn zeroed<T: bytemuck::Pod>(n: usize, what: &str) -> Result<Vec<T>> {
    bytemuck::allocation::try_zeroed_vec(n).map_err(|_| NgError::OutOfMemory {
        what: what.to_string(),
        bytes: human(bytes_of(&[n, std::mem::size_of::<T>()])),
    })
}

/// Bytes this process can still allocate (see the module doc); `u64::MAX` when unknown.
pub fn available() -> u64 {
    #[cfg_attr(not(target_os = "linux"), allow(unused_mut))]
    let mut avail = system_available();
    #[cfg(target_os = "linux")]
    {
        avail = avail.min(linux::cgroup_room());
        let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
        avail = avail.min(linux::rlimit_room(libc::RLIMIT_AS, &status, "VmSize:"));
        avail = avail.min(linux::rlimit_room(libc::RLIMIT_DATA, &status, "VmData:"));
    }
    avail
}

fn system_available() -> u64 {
    #[cfg(target_os = "linux")]
    if let Some(b) = linux::meminfo_available() {
        return b;
    }
    #[cfg(unix)]
    {
        // SAFETY: sysconf only reads system configuration values.
        let (pages, size) = unsafe {
            (
                libc::sysconf(libc::_SC_PHYS_PAGES),
                libc::sysconf(libc::_SC_PAGESIZE),
            )
        };
        if pages > 0 && size > 0 {
            return (pages as u64).saturating_mul(size as u64);
        }
    }
    u64::MAX
}

#[cfg(target_os = "linux")]
mod linux {
    /// A "Name:   123 kB" line of a /proc file, in bytes.
    pub fn kb_field(text: &str, name: &str) -> Option<u64> {
        let line = text.lines().find(|l| l.starts_with(name))?;
        let kb: u64 = line[name.len()..].split_whitespace().next()?.parse().ok()?;
        kb.checked_mul(1024)
    }

    /// MemAvailable + SwapFree.
    pub fn meminfo_available() -> Option<u64> {
        let m = std::fs::read_to_string("/proc/meminfo").ok()?;
        let avail = kb_field(&m, "MemAvailable:")?;
        Some(avail.saturating_add(kb_field(&m, "SwapFree:").unwrap_or(0)))
    }

    /// Room under a resource limit, given the process's current use (a /proc/self/status field).
    pub fn rlimit_room(resource: libc::__rlimit_resource_t, status: &str, field: &str) -> u64 {
        let mut lim = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: getrlimit writes one rlimit struct that lives on this frame.
        if unsafe { libc::getrlimit(resource, &mut lim) } != 0
            || lim.rlim_cur == libc::RLIM_INFINITY
        {
            return u64::MAX;
        }
        let used = kb_field(status, field).unwrap_or(0);
        lim.rlim_cur.saturating_sub(used)
    }

    /// Room under the memory limit of this process's cgroup (v2, or v1's memory controller):
    /// the limit less what the group holds that it cannot reclaim (page cache can be).
    pub fn cgroup_room() -> u64 {
        let cg = std::fs::read_to_string("/proc/self/cgroup").unwrap_or_default();
        let mut room = u64::MAX;
        for line in cg.lines() {
            let mut parts = line.splitn(3, ':');
            let (Some(_), Some(ctl), Some(rel)) = (parts.next(), parts.next(), parts.next()) else {
                continue;
            };
            let found = if ctl.is_empty() {
                room_in(
                    &format!("/sys/fs/cgroup{rel}"),
                    "memory.max",
                    "memory.current",
                    "file",
                )
            } else if ctl.split(',').any(|c| c == "memory") {
                [
                    format!("/sys/fs/cgroup/memory{rel}"),
                    "/sys/fs/cgroup/memory".into(),
                ]
                .iter()
                .find_map(|d| {
                    room_in(
                        d,
                        "memory.limit_in_bytes",
                        "memory.usage_in_bytes",
                        "total_cache",
                    )
                })
            } else {
                None
            };
            room = room.min(found.unwrap_or(u64::MAX));
        }
        room
    }

    fn room_in(dir: &str, max: &str, current: &str, cache: &str) -> Option<u64> {
        let read = |f: &str| std::fs::read_to_string(format!("{dir}/{f}")).ok();
        let max: u64 = read(max)?.trim().parse().ok()?; // "max" (no limit) does not parse
        let cur: u64 = read(current)?.trim().parse().ok()?;
        let stat = read("memory.stat").unwrap_or_default();
        let cached: u64 = stat
            .lines()
            .find_map(|l| l.strip_prefix(cache)?.strip_prefix(' '))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0);
        Some(max.saturating_sub(cur.saturating_sub(cached)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_multiply_with_overflow_seen() {
        assert_eq!(
            bytes_of(&[1_000_000, 1_000_000, 8]),
            Some(8_000_000_000_000)
        );
        assert_eq!(bytes_of(&[usize::MAX, 2]), None);
        assert_eq!(bytes_of(&[]), Some(1));
    }

    #[test]
    fn human_units() {
        assert_eq!(human(Some(512)), "512 B");
        assert_eq!(human(Some(8_000_000_000_000)), "7.3 TiB");
        assert_eq!(human(Some(3 << 30)), "3.0 GiB");
        assert_eq!(human(None), "over 16 EiB");
    }

    #[test]
    fn small_requests_pass_and_absurd_ones_name_the_size() {
        assert!(check("k", 10, Some(1 << 20), || unreachable!()).is_ok());
        let e = check("k", 1_000_000, bytes_of(&[1 << 40, 1 << 20]), || {
            "the result".to_string()
        })
        .unwrap_err()
        .to_string();
        assert!(
            e.starts_with("k = 1000000 is invalid: the result needs 1.0 EiB"),
            "{e}"
        );
        assert!(
            check("k", 1, None, || "x".into()).is_err(),
            "an overflow is refused"
        );
    }

    #[test]
    fn availability_is_known_here() {
        let a = available();
        assert!(a > 0);
    }

    #[test]
    fn zeroed_reports_failure_instead_of_aborting() {
        assert_eq!(zeroed::<u32>(3, "x").unwrap(), vec![0, 0, 0]);
        let e = zeroed::<u64>(usize::MAX / 8, "the test buffer").unwrap_err();
        assert!(e.to_string().contains("the test buffer"), "{e}");
    }
}
