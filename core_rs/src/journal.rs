//! The write journal: an append-only file of committed changes (a store sink), group-committed
//! with fsync; replayed over a snapshot at startup; compacted into a new snapshot.
//! (Owner: journal work. STUB until it lands.)

pub struct Journal {}
