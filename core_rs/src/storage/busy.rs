//! Whether the store can be had now, for callers that must not wait long for its lock (the
//! server's request threads): each helper waits at most `timeout` and says whether the lock
//! was free, without holding it afterwards. A long write (a bulk create, a bootstrap, a
//! snapshot load) holds the write lock for its whole commit; a request asking while it runs
//! gets "busy" in bounded time instead of parking a worker thread.

use super::RuntimeStorage;
use std::time::Duration;

impl RuntimeStorage {
    /// True when the store could be read within `timeout` (no write held it that long).
    pub fn readable_within(&self, timeout: Duration) -> bool {
        self.state.try_read_for(timeout).is_some()
    }

    /// True when the store could be written within `timeout` (no read or write held it that
    /// long). While it waits, new readers queue behind it, as they would behind the write.
    pub fn writable_within(&self, timeout: Duration) -> bool {
        self.state.try_write_for(timeout).is_some()
    }

    /// True while a write holds the store's lock.
    pub fn write_in_progress(&self) -> bool {
        self.state.is_locked_exclusive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::Policy;
    use std::sync::mpsc;

    #[test]
    fn a_held_write_lock_is_reported_busy_and_then_free() {
        let rt = std::sync::Arc::new(RuntimeStorage::new());
        let (held_tx, held_rx) = mpsc::channel();
        let (go_tx, go_rx) = mpsc::channel::<()>();
        let writer = {
            let rt = rt.clone();
            std::thread::spawn(move || {
                rt.change_cdna("hold", Policy::Refuse, |_| {
                    held_tx.send(()).ok();
                    go_rx.recv().ok();
                    Ok(())
                })
            })
        };
        held_rx.recv().unwrap();
        assert!(rt.write_in_progress());
        assert!(!rt.readable_within(Duration::from_millis(1)));
        assert!(!rt.writable_within(Duration::from_millis(1)));
        go_tx.send(()).unwrap();
        writer.join().unwrap().unwrap();
        assert!(rt.readable_within(Duration::from_secs(60)));
        assert!(rt.writable_within(Duration::from_secs(60)));
        assert!(!rt.write_in_progress());
    }
}
