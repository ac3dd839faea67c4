//! Consistency checks of a loaded snapshot beyond its checksums: a file made or edited
//! elsewhere (with valid CRCs) must not bring in what the API would refuse.

use crate::storage::connections::MAX_CONNECTION_ID;
use crate::storage::State;

/// Tokens must have a known entity type and a finite weight (what the API refuses, a file
/// must not smuggle in).
pub(crate) fn tokens(state: &State) -> std::result::Result<(), String> {
    token_records(&state.tokens.records)
}

/// [`tokens`] on the records alone.
pub(crate) fn token_records(records: &[crate::Token]) -> std::result::Result<(), String> {
    use rayon::prelude::*;
    match records.par_iter().find_first(|t| !token_is_valid(t)) {
        None => Ok(()),
        Some(t) => Err(token_problem(t).unwrap_or_default()),
    }
}

/// Whether a token record passes [`token_records`]: a known entity type (in its id and in its
/// flags) and a finite weight.
#[inline(always)]
pub(crate) fn token_is_valid(t: &crate::Token) -> bool {
    use crate::token::{flags, ENTITY_TYPES};
    let types = ENTITY_TYPES.len() as u16;
    (t.entity() as u16) < types
        && (t.flags & flags::ENTITY_MASK) >> flags::ENTITY_SHIFT < types
        && t.weight.is_finite()
}

/// What is wrong with a token record that [`token_is_valid`] refuses.
pub(crate) fn token_problem(t: &crate::Token) -> Option<String> {
    use crate::token::{flags, ENTITY_TYPES};
    let types = ENTITY_TYPES.len() as u16;
    if token_is_valid(t) {
        None
    } else if !t.weight.is_finite() {
        Some(format!(
            "token {} has weight {}: weights must be finite",
            t.local_id(),
            t.weight
        ))
    } else {
        Some(format!(
            "token {} has entity type {}: entity types are 0..={}",
            t.local_id(),
            t.entity()
                .max(((t.flags & flags::ENTITY_MASK) >> flags::ENTITY_SHIFT) as u8),
            types - 1
        ))
    }
}

/// Connections must have unique ids in 1..=`MAX_CONNECTION_ID`, known kinds, finite strengths
/// and distances, and both tokens in the file. (Ids may lie above the file's next id: the
/// allocation cursor wraps around to reuse freed ids.) The connection index must have been
/// rebuilt from the records: its id table and degrees answer the repeat and token checks.
pub(crate) fn connections(state: &State) -> std::result::Result<(), String> {
    connection_fields(state)?;
    unique_connection_ids(state)
}

/// Connection ids are unique: the rebuilt id table has an entry per record (the ids are
/// sorted to name a repeated one only when it has fewer).
pub(crate) fn unique_connection_ids(state: &State) -> std::result::Result<(), String> {
    if state.connections.id_to_slot.len() == state.connections.records.len() {
        return Ok(());
    }
    let id = repeated_connection_id(&state.connections.records).unwrap_or(0);
    Err(format!("connection id {id} is repeated"))
}

/// An id that two of `recs` share, if any.
fn repeated_connection_id(recs: &[crate::Connection]) -> Option<u32> {
    use rayon::prelude::*;
    let mut ids: Vec<u32> = recs.par_iter().map(|c| c.id).collect();
    ids.par_sort_unstable();
    ids.windows(2).find(|w| w[0] == w[1]).map(|w| w[0])
}

/// The checks of [`connections`] but the one for repeated ids (which a rebuilt id table
/// answers: it has fewer entries than there are records).
fn connection_fields(state: &State) -> std::result::Result<(), String> {
    use rayon::prelude::*;
    let (recs, tokens) = (&state.connections.records, &state.tokens);
    let missing = names_a_missing_token(state);
    let bad = recs.par_iter().find_first(|c| {
        !record_is_valid(c)
            || (missing && !(tokens.contains(c.token_a) && tokens.contains(c.token_b)))
    });
    match bad {
        Some(c) => Err(record_problem(c).unwrap_or_else(|| dangling(c.id, c.token_a, c.token_b))),
        None => Ok(()),
    }
}

/// Whether some connection names a token the token table lacks. Every token a connection
/// names has a degree, so one lookup per token with a degree answers for all the connections
/// (whose index must be current); which connection it is, is looked
/// for only when there is one.
pub(crate) fn names_a_missing_token(state: &State) -> bool {
    let tokens = &state.tokens;
    state
        .connections
        .degrees
        .iter()
        .any(|(t, _)| !tokens.contains(t))
}

/// Whether a connection's own fields are valid (id in range, known kind, finite strength,
/// finite distance >= 0); whether its tokens exist is checked against a token table.
#[inline(always)]
pub(crate) fn record_is_valid(c: &crate::Connection) -> bool {
    c.id != 0
        && c.id <= MAX_CONNECTION_ID
        && (c.kind as usize) < crate::connection::KINDS.len()
        && c.pull_strength.is_finite()
        && c.preferred_distance.is_finite()
        && c.preferred_distance >= 0.0
}

/// What is wrong with a connection's own fields, if anything (see [`record_is_valid`]).
pub(crate) fn record_problem(c: &crate::Connection) -> Option<String> {
    Some(if c.id == 0 {
        "a connection has id 0".to_string()
    } else if c.id > MAX_CONNECTION_ID {
        format!(
            "connection id {} is past the last connection id {MAX_CONNECTION_ID}",
            c.id
        )
    } else if c.kind as usize >= crate::connection::KINDS.len() {
        format!("connection {} has unknown kind {}", c.id, c.kind)
    } else if !c.pull_strength.is_finite() {
        format!(
            "connection {} has strength {}: strengths must be finite",
            c.id, c.pull_strength
        )
    } else if !(c.preferred_distance.is_finite() && c.preferred_distance >= 0.0) {
        format!(
            "connection {} has preferred distance {}: it must be a finite number >= 0",
            c.id, c.preferred_distance
        )
    } else {
        return None;
    })
}

/// The problem of connection `id` whose tokens `a -> b` are not both in the token table.
pub(crate) fn dangling(id: u32, a: u32, b: u32) -> String {
    format!("connection {id} links tokens {a} -> {b} that are not in the file")
}
