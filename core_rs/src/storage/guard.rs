//! The Guardian's view of the data the store already holds: which tokens and connections a
//! CDNA would break, and what a change may do about them (refuse, clamp, or accept as is).

use super::State;
use crate::cdna::{flags as cflags, Cdna};
use crate::connection::kind_name;
use crate::guardian::{ConnectionWrite, Guardian, TokenWrite};
use rayon::prelude::*;

/// What a CDNA change does when the data the store holds already breaks the new rules.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Policy {
    /// Refuse the change, naming how many records break it and one of them.
    #[default]
    Refuse,
    /// Clamp token weights and fields and connection strengths and rigidities into the new
    /// bounds; what cannot be clamped (forbidden kinds, degrees) still refuses.
    Clamp,
    /// Accept the change and leave the data as it is (`validate()` reports the conflict).
    Force,
}

impl Policy {
    pub fn parse(name: &str) -> Option<Policy> {
        match name {
            "refuse" => Some(Policy::Refuse),
            "clamp" => Some(Policy::Clamp),
            "force" => Some(Policy::Force),
            _ => None,
        }
    }
}

/// One rule that held data breaks: how many records, one example, and whether clamping
/// can repair it.
#[derive(Clone, Debug, PartialEq)]
pub struct Violation {
    /// Which rule: "token bounds", "connection kinds", "connection bounds", "degrees",
    /// "self-loops".
    pub rule: &'static str,
    pub count: usize,
    /// e.g. "tokens" or "connections".
    pub what: &'static str,
    /// One offending record and why, e.g. "token 17: weight = 0.9 is outside ...".
    pub example: String,
    pub clampable: bool,
}

impl std::fmt::Display for Violation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (what, verb) = if self.count == 1 {
            (self.what.trim_end_matches('s'), "breaks")
        } else {
            (self.what, "break")
        };
        write!(f, "{} {what} {verb} it (e.g. {})", self.count, self.example)
    }
}

/// The first failure of each kind over records checked in parallel: (count, first example).
fn first_and_count<T: Sync>(
    items: &[T],
    check: impl Fn(&T) -> Option<String> + Sync,
) -> Option<(usize, String)> {
    let found: Vec<(usize, String)> = items
        .par_iter()
        .enumerate()
        .filter_map(|(i, t)| check(t).map(|r| (i, r)))
        .collect();
    let n = found.len();
    found.into_iter().next().map(|(_, r)| (n, r))
}

/// Every rule of `cdna` that the tokens and connections held in `st` break.
pub fn violations(st: &State, cdna: &Cdna) -> Vec<Violation> {
    let mut out = Vec::new();
    if let Some((count, example)) = first_and_count(&st.tokens.records, |t| {
        let w = TokenWrite {
            weight: t.weight,
            field_radius: t.field_radius_f(),
            field_strength: t.field_strength_f(),
        };
        Guardian::check_token(cdna, &w)
            .err()
            .map(|r| format!("token {}: {r}", t.local_id()))
    }) {
        out.push(Violation {
            rule: "token bounds",
            count,
            what: "tokens",
            example,
            clampable: true,
        });
    }
    let kinds = |c: &crate::Connection| {
        (!cdna.kind_allowed(c.kind)).then(|| {
            format!(
                "connection {}: kind {} is not allowed",
                c.id,
                kind_name(c.kind)
            )
        })
    };
    if let Some((count, example)) = first_and_count(&st.connections.records, kinds) {
        out.push(Violation {
            rule: "connection kinds",
            count,
            what: "connections",
            example,
            clampable: false,
        });
    }
    if let Some((count, example)) = first_and_count(&st.connections.records, |c| {
        if !cdna.kind_allowed(c.kind) {
            return None; // counted above
        }
        let w = ConnectionWrite {
            kind: c.kind,
            strength: c.pull_strength,
            rigidity: c.rigidity_f(),
        };
        Guardian::check_connection(cdna, &w)
            .err()
            .map(|r| format!("connection {}: {r}", c.id))
    }) {
        out.push(Violation {
            rule: "connection bounds",
            count,
            what: "connections",
            example,
            clampable: true,
        });
    }
    let degrees: Vec<(u32, [u32; 2])> = st.connections.degrees.iter().collect();
    if let Some((count, example)) = first_and_count(&degrees, |(t, [o, i])| {
        let limit = |what: &str, v: u32, max: u32| {
            (v > max).then(|| format!("token {t} has {what} {v} > max_{what} {max}"))
        };
        limit("out_degree", *o, cdna.max_out_degree)
            .or_else(|| limit("in_degree", *i, cdna.max_in_degree))
            .or_else(|| limit("total_degree", o + i, cdna.max_total_degree))
    }) {
        out.push(Violation {
            rule: "degrees",
            count,
            what: "tokens",
            example,
            clampable: false,
        });
    }
    if cdna.has_flag(cflags::STRICT_MODE) {
        if let Some((count, example)) = first_and_count(&st.connections.records, |c| {
            (c.token_a == c.token_b).then(|| {
                format!(
                    "connection {}: token {} connects to itself (strict mode)",
                    c.id, c.token_a
                )
            })
        }) {
            out.push(Violation {
                rule: "self-loops",
                count,
                what: "connections",
                example,
                clampable: false,
            });
        }
    }
    out
}

/// The codes of a byte-quantised field (`code / per_unit`) that lie within `[lo, hi]`.
fn code_range(lo: f32, hi: f32, per_unit: f32, max_code: f32) -> Option<(u8, u8)> {
    let a = (lo * per_unit).ceil().max(0.0);
    let b = (hi * per_unit).floor().min(max_code);
    (a <= b).then_some((a as u8, b as u8))
}

/// The violations of `next` that are new or larger than under `current` (data that already
/// broke the current rules does not block an unrelated change).
pub fn new_violations(st: &State, current: &Cdna, next: &Cdna) -> Vec<Violation> {
    let after = violations(st, next);
    if after.is_empty() {
        return after;
    }
    let before = violations(st, current);
    after
        .into_iter()
        .filter(|v| {
            before
                .iter()
                .find(|b| b.rule == v.rule)
                .is_none_or(|b| v.count > b.count)
        })
        .collect()
}

/// Clamp every token and connection into `cdna`'s bounds; returns how many records changed.
/// Byte-quantised fields are clamped in their byte codes, so the result really lies within
/// the bounds.
pub fn clamp_into(st: &mut State, cdna: &Cdna) -> usize {
    if !cdna.has_flag(cflags::ENABLE_VALIDATION) {
        return 0;
    }
    let fit = |v: f32, lo: f32, hi: f32| v.max(lo).min(hi);
    let fit_code = |v: u8, r: Option<(u8, u8)>| r.map_or(v, |(lo, hi)| v.clamp(lo, hi));
    let radius = code_range(cdna.field_radius_min, cdna.field_radius_max, 100.0, 255.0);
    let strength = code_range(
        cdna.field_strength_min,
        cdna.field_strength_max,
        255.0,
        255.0,
    );
    let rigidity = code_range(cdna.rigidity_min, cdna.rigidity_max, 255.0, 255.0);
    let mut changed = 0;
    for t in st.tokens.records.iter_mut() {
        let before = (t.weight, t.field_radius, t.field_strength);
        t.weight = fit(t.weight, cdna.token_weight_min, cdna.token_weight_max);
        t.field_radius = fit_code(t.field_radius, radius);
        t.field_strength = fit_code(t.field_strength, strength);
        if (t.weight, t.field_radius, t.field_strength) != before {
            changed += 1;
        }
    }
    if changed > 0 {
        st.tokens.touch();
    }
    let mut conn_changed = 0;
    for c in st.connections.records.iter_mut() {
        let before = (c.pull_strength, c.rigidity);
        c.pull_strength = fit(c.pull_strength, cdna.strength_min, cdna.strength_max);
        c.rigidity = fit_code(c.rigidity, rigidity);
        if (c.pull_strength, c.rigidity) != before {
            conn_changed += 1;
        }
    }
    if conn_changed > 0 {
        st.connections.touch();
    }
    changed + conn_changed
}
