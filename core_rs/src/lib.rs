//! NeuroGraph runtime core: tokens in eight coordinate spaces, typed connections, the CDNA
//! configuration guarded by the Guardian, one shared store, snapshots and metrics.
//!
//! Plain Rust with no Python types; `python/` (feature `python`) holds the thin bindings.
#![cfg_attr(not(test), deny(clippy::unwrap_used))]

pub mod bootstrap;
pub mod bytes;
pub mod cdna;
pub mod clock;
pub mod community;
pub mod connection;
#[cfg(feature = "parquet")]
pub mod dataset;
pub mod edges;
pub mod error;
pub mod graph;
pub mod grid;
pub mod guardian;
pub mod idmap;
pub mod intuition;
pub mod journal;
pub mod layout;
pub mod limits;
pub mod mem;
pub mod metrics;
pub mod persist;
pub mod progress;
pub mod quantize;
#[cfg(feature = "server")]
pub mod server;
pub mod snapshot;
pub mod space;
pub mod storage;
pub mod table;
pub mod token;
pub mod unionfind;

#[cfg(feature = "python")]
mod python;

pub use cdna::Cdna;
pub use connection::Connection;
pub use error::{NgError, Result};
pub use storage::RuntimeStorage;
pub use token::Token;
