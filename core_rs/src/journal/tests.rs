//! Journal tests: a "crash" is a copy of the directory and snapshot taken while the journal is
//! still running (what the disk holds at that point), optionally with a torn frame appended;
//! recovery from the copy must give back every acknowledged write.

use super::*;
use crate::storage::connections::ConnectionBatch;
use crate::storage::tokens::{TokenBatch, TokenUpdate};
use crate::storage::Policy;

struct Lab {
    _dir: tempfile::TempDir,
    jdir: PathBuf,
    snap: PathBuf,
}

fn lab() -> Lab {
    let d = tempfile::tempdir().unwrap();
    Lab {
        jdir: d.path().join("lab.ngs.journal"),
        snap: d.path().join("lab.ngs"),
        _dir: d,
    }
}

fn open(l: &Lab) -> (Arc<RuntimeStorage>, Journal) {
    let store = Arc::new(RuntimeStorage::new());
    let j = Journal::open(&store, Options::new(&l.jdir, &l.snap)).unwrap();
    (store, j)
}

/// What the disk holds now, copied to a fresh place.
fn crash_copy(l: &Lab) -> Lab {
    let c = lab();
    std::fs::create_dir_all(&c.jdir).unwrap();
    if l.snap.exists() {
        std::fs::copy(&l.snap, &c.snap).unwrap();
    }
    for (_, p) in segment::list(&l.jdir).unwrap() {
        std::fs::copy(&p, c.jdir.join(p.file_name().unwrap())).unwrap();
    }
    c
}

fn create(store: &RuntimeStorage, n: usize, label: &str) -> Vec<u32> {
    let coords: Vec<f32> = (0..n * 24).map(|i| (i % 11) as f32 * 0.05).collect();
    let labels = (0..n).map(|i| Some(format!("{label}{i}"))).collect();
    store
        .create_tokens(&TokenBatch {
            coords: &coords,
            labels: Some(labels),
            default_weight: 0.5,
            ..Default::default()
        })
        .unwrap()
}

/// A bit of every journaled change.
fn workload(store: &RuntimeStorage) {
    let ids = create(store, 20, "w");
    store
        .update_token(
            ids[3],
            TokenUpdate {
                weight: Some(0.9),
                label: Some(None),
                coords: vec![(2, Some([0.1, 0.2, 0.3])), (5, None)],
                ..Default::default()
            },
        )
        .unwrap();
    let a: Vec<u32> = ids[..10].to_vec();
    let b: Vec<u32> = ids[10..].to_vec();
    let c = store
        .create_connections(&ConnectionBatch::associated(&a, &b))
        .unwrap();
    store.connection_feedback(c[0], true).unwrap();
    store.delete_connections(&[c[1]]).unwrap();
    store.delete_tokens(&[ids[0], ids[12]]).unwrap();
    store.set_profile("explorer", Policy::Refuse).unwrap();
    create(store, 3, "after");
}

fn assert_same(a: &RuntimeStorage, b: &RuntimeStorage) {
    let (x, y) = (a.read(), b.read());
    assert_eq!(x.tokens.records, y.tokens.records, "token records");
    assert_eq!(x.tokens.defined, y.tokens.defined, "space masks");
    assert_eq!(x.tokens.labels, y.tokens.labels, "labels");
    assert_eq!(x.connections.records, y.connections.records, "connections");
    assert_eq!(x.cdna, y.cdna, "cdna");
    let h = |s: &State| -> Vec<(String, Cdna)> {
        s.history
            .iter()
            .map(|v| (v.reason.clone(), v.cdna.clone()))
            .collect()
    };
    assert_eq!(h(&x), h(&y), "cdna history");
    assert_eq!(x.cursors(), y.cursors(), "id cursors");
    for t in &x.tokens.records {
        let id = t.local_id();
        assert_eq!(
            x.connections.out_degree(id),
            y.connections.out_degree(id),
            "degree of {id}"
        );
    }
}

use crate::Cdna;

#[test]
fn replay_after_a_crash_with_a_torn_tail_gives_back_every_durable_write() {
    let l = lab();
    let (live, j) = open(&l);
    workload(&live);
    j.wait_durable(j.last_seq()).unwrap();
    assert!(j.last_seq() >= 7, "every change got a frame");
    let c = crash_copy(&l);
    // a write torn mid-frame: half a frame at the end of the last segment
    let (_, last) = segment::list(&c.jdir).unwrap().pop().unwrap();
    let whole = frame::frame(
        j.last_seq() + 1,
        &[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13],
    );
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(&last)
        .unwrap();
    std::io::Write::write_all(&mut f, &whole[..20]).unwrap();
    drop(f);
    let torn_len = std::fs::metadata(&last).unwrap().len();
    let rec = recover::recover(&c.jdir, &c.snap).unwrap();
    assert_eq!(rec.last, j.last_seq());
    assert_eq!(
        std::fs::metadata(&last).unwrap().len(),
        torn_len - 20,
        "the torn frame is cut off"
    );
    let (back, j2) = open(&c);
    assert_same(&live, &back);
    assert_eq!(j2.last_seq(), j.last_seq());
    // ids handed out after the restart are the ones the live store would hand out
    assert_eq!(create(&back, 2, "x"), create(&live, 2, "x"));
}

#[test]
fn a_damaged_frame_in_the_middle_is_refused_with_file_and_offset() {
    let l = lab();
    let (live, j) = open(&l);
    workload(&live);
    j.wait_durable(j.last_seq()).unwrap();
    let c = crash_copy(&l);
    let (_, seg) = segment::list(&c.jdir).unwrap().pop().unwrap();
    let mut bytes = std::fs::read(&seg).unwrap();
    let at = segment::HEADER + frame::HEAD + 5; // inside the first frame's payload
    bytes[at] ^= 0x40;
    std::fs::write(&seg, &bytes).unwrap();
    let store = Arc::new(RuntimeStorage::new());
    let e = Journal::open(&store, Options::new(&c.jdir, &c.snap))
        .err()
        .expect("a damaged frame is refused");
    let msg = e.to_string();
    assert!(matches!(e, JournalError::Corrupt { offset, .. } if offset == segment::HEADER as u64));
    assert!(msg.contains("journal-00000000000000000001.ngj"), "{msg}");
    assert!(
        msg.contains("offset 24") && msg.contains("checksum"),
        "{msg}"
    );
    assert_eq!(store.token_count(), 0, "nothing was applied");
    assert_eq!(
        std::fs::read(&seg).unwrap(),
        bytes,
        "the file is left as it is"
    );
}

#[test]
fn compaction_then_replay_equals_the_live_state() {
    let l = lab();
    let (live, j) = open(&l);
    workload(&live);
    let covered = j.compact().unwrap();
    assert_eq!(covered, j.last_seq());
    create(&live, 5, "post");
    j.wait_durable(j.last_seq()).unwrap();
    let segs = segment::list(&l.jdir).unwrap();
    assert_eq!(segs.len(), 1, "older segments are deleted");
    assert_eq!(segs[0].0, covered + 1);
    assert_eq!(recover::covered_by(&l.snap).unwrap(), covered);
    let (back, _j2) = open(&crash_copy(&l));
    assert_same(&live, &back);
}

#[test]
fn a_crash_between_snapshot_and_segment_deletion_replays_nothing_twice() {
    let l = lab();
    let (live, j) = open(&l);
    workload(&live);
    j.wait_durable(j.last_seq()).unwrap();
    let before = crash_copy(&l);
    live.clear();
    create(&live, 4, "new");
    j.wait_durable(j.last_seq()).unwrap();
    // the new snapshot (after the clear) beside the old segments it covers
    std::fs::copy(&l.snap, &before.snap).unwrap();
    let (back, _j2) = open(&before);
    let st = back.read();
    assert_eq!(
        st.tokens.len(),
        0,
        "old frames are not replayed over the newer snapshot"
    );
}

#[test]
fn a_reset_compacts_at_once_and_later_writes_replay_over_it() {
    let l = lab();
    let (live, j) = open(&l);
    workload(&live);
    let n = j.compactions();
    live.clear();
    assert_eq!(j.compactions(), n + 1, "the clear wrote a snapshot");
    assert_eq!(recover::covered_by(&l.snap).unwrap(), j.last_seq());
    assert_eq!(j.durable_seq(), j.last_seq());
    create(&live, 4, "fresh");
    j.wait_durable(j.last_seq()).unwrap();
    let (back, _j2) = open(&crash_copy(&l));
    assert_same(&live, &back);
    assert_eq!(back.token_count(), 4);
}

#[test]
fn group_commit_writes_queued_frames_with_one_fsync() {
    let l = lab();
    let (live, j) = open(&l);
    let before = j.fsyncs();
    let hold = j.hold_writer();
    std::thread::scope(|s| {
        for t in 0..4 {
            let live = &live;
            s.spawn(move || {
                for i in 0..50 {
                    create(live, 1, &format!("t{t}-{i}"));
                }
            });
        }
    });
    let last = j.last_seq();
    assert_eq!(last, 200);
    drop(hold);
    j.wait_durable(last).unwrap();
    let used = j.fsyncs() - before;
    assert!(used <= 2, "200 queued writes took {used} fsyncs");
    let (back, _j2) = open(&crash_copy(&l));
    assert_same(&live, &back);
}

#[test]
fn concurrent_writers_each_waiting_share_fsyncs() {
    let l = lab();
    let (live, j) = open(&l);
    let before = j.fsyncs();
    std::thread::scope(|s| {
        for t in 0..8 {
            let (live, j) = (&live, &j);
            s.spawn(move || {
                for i in 0..25 {
                    create(live, 1, &format!("t{t}-{i}"));
                    j.wait_durable(j.last_seq()).unwrap();
                }
            });
        }
    });
    let used = j.fsyncs() - before;
    assert!(used <= 200, "at most one fsync per write ({used})");
    assert_eq!(j.durable_seq(), 200);
    let (back, _j2) = open(&crash_copy(&l));
    assert_same(&live, &back);
}

#[test]
fn a_segment_past_the_size_limit_is_compacted() {
    let l = lab();
    let store = Arc::new(RuntimeStorage::new());
    let mut opts = Options::new(&l.jdir, &l.snap);
    opts.compact_bytes = 4096;
    let j = Journal::open(&store, opts).unwrap();
    for i in 0..100 {
        create(&store, 2, &format!("s{i}"));
        j.wait_durable(j.last_seq()).unwrap();
    }
    assert!(j.compactions() > 0);
    // the writer rotates after the compaction it asked for: flush it through
    create(&store, 1, "last");
    j.wait_durable(j.last_seq()).unwrap();
    let segs = segment::list(&l.jdir).unwrap();
    assert!(segs.len() <= 2, "{segs:?}");
    let (back, _j2) = open(&crash_copy(&l));
    assert_same(&store, &back);
}

#[test]
fn a_clean_close_leaves_a_snapshot_and_an_empty_segment() {
    let l = lab();
    let (live, j) = open(&l);
    workload(&live);
    let last = j.last_seq();
    j.close().unwrap();
    assert!(j.wait_durable(last).is_ok());
    assert!(matches!(
        j.wait_durable(last + 1),
        Err(JournalError::Failed(_))
    ));
    let segs = segment::list(&l.jdir).unwrap();
    assert_eq!(segs.len(), 1);
    assert_eq!(
        std::fs::metadata(&segs[0].1).unwrap().len(),
        segment::HEADER as u64
    );
    let (back, j2) = open(&l);
    assert_eq!(j2.compactions(), 0);
    assert_eq!(j2.last_seq(), last);
    assert_same(&live, &back);
    drop(live);
}

#[test]
fn a_snapshot_older_than_the_journal_is_refused() {
    let l = lab();
    let (live, j) = open(&l);
    create(&live, 3, "a");
    let old = std::fs::read(&l.snap).unwrap();
    j.compact().unwrap();
    create(&live, 3, "b");
    j.wait_durable(j.last_seq()).unwrap();
    let c = crash_copy(&l);
    std::fs::write(&c.snap, old).unwrap();
    let store = Arc::new(RuntimeStorage::new());
    let e = Journal::open(&store, Options::new(&c.jdir, &c.snap))
        .err()
        .unwrap();
    assert!(e.to_string().contains("are missing"), "{e}");
}

#[test]
fn a_second_journal_on_the_same_directory_is_refused() {
    let l = lab();
    let (_live, _j) = open(&l);
    let other = Arc::new(RuntimeStorage::new());
    let e = Journal::open(&other, Options::new(&l.jdir, &l.snap))
        .err()
        .unwrap();
    assert!(matches!(e, JournalError::InUse(_)), "{e}");
}

#[test]
fn a_fresh_journal_keeps_the_store_and_writes_the_first_snapshot() {
    let l = lab();
    let store = Arc::new(RuntimeStorage::new());
    create(&store, 5, "kept");
    let j = Journal::open(&store, Options::new(&l.jdir, &l.snap)).unwrap();
    assert_eq!(store.token_count(), 5);
    assert!(l.snap.exists());
    assert_eq!(j.last_seq(), 0);
}

#[test]
fn the_durable_future_resolves_once_fsynced() {
    struct Unpark(std::thread::Thread);
    impl std::task::Wake for Unpark {
        fn wake(self: Arc<Self>) {
            self.0.unpark();
        }
    }
    let l = lab();
    let (live, j) = open(&l);
    create(&live, 1, "f");
    let mut fut = std::pin::pin!(j.durable(j.last_seq()));
    let waker = Waker::from(Arc::new(Unpark(std::thread::current())));
    let mut cx = Context::from_waker(&waker);
    loop {
        match fut.as_mut().poll(&mut cx) {
            Poll::Ready(r) => break r.unwrap(),
            Poll::Pending => std::thread::park(),
        }
    }
    assert!(j.durable_seq() >= 1);
}

use std::future::Future;
