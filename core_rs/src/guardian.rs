//! Guardian: checks every write against the CDNA and records what it accepted or refused.

use crate::cdna::{flags as cflags, Cdna};
use crate::connection::kind_name;
use crate::error::{NgError, Result};
use std::collections::VecDeque;

/// Most events kept in memory (older ones are dropped, the total still counts them).
pub const EVENT_LIMIT: usize = 10_000;

/// One thing the Guardian saw.
#[derive(Clone, Debug, PartialEq)]
pub struct Event {
    /// Seconds since the Unix epoch (fractional).
    pub time: f64,
    /// What was attempted, e.g. `token.create`, `connection.create_many`, `cdna.profile`.
    pub kind: String,
    /// What it was done to, e.g. `token 17`, `1000 tokens`.
    pub target: String,
    pub accepted: bool,
    /// Why it was refused (empty when accepted).
    pub reason: String,
}

/// Fractional Unix time now.
pub fn now_f64() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

/// The event log and the write checks.
#[derive(Clone, Debug, Default)]
pub struct Guardian {
    events: VecDeque<Event>,
    /// Events ever recorded, including those dropped from the ring.
    pub total_events: u64,
    /// Writes refused since the start.
    pub total_rejections: u64,
}

/// The token fields a write sets, as floats, for checking.
#[derive(Clone, Copy, Debug)]
pub struct TokenWrite {
    pub weight: f32,
    pub field_radius: f32,
    pub field_strength: f32,
}

/// The connection fields a write sets, for checking.
#[derive(Clone, Copy, Debug)]
pub struct ConnectionWrite {
    pub kind: u8,
    pub strength: f32,
    pub rigidity: f32,
}

/// Longest text kept in an event field (a refused call with huge arguments must not fill
/// the log).
pub const EVENT_TEXT_LIMIT: usize = 1000;

fn shorten(mut s: String) -> String {
    if s.len() > EVENT_TEXT_LIMIT {
        let mut cut = EVENT_TEXT_LIMIT;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        s.truncate(cut);
        s.push_str("...");
    }
    s
}

fn bound(field: &str, v: f32, lo: f32, hi: f32) -> std::result::Result<(), String> {
    if !v.is_finite() {
        return Err(format!("{field} = {v} is not a finite number"));
    }
    if v < lo || v > hi {
        return Err(format!(
            "{field} = {v} is outside the CDNA bounds [{lo}, {hi}]"
        ));
    }
    Ok(())
}

impl Guardian {
    /// Record an event (if the CDNA has events enabled, or always for refusals).
    pub fn record(
        &mut self,
        cdna: &Cdna,
        kind: &str,
        target: String,
        accepted: bool,
        reason: String,
    ) {
        if !accepted {
            self.total_rejections += 1;
        }
        if !cdna.has_flag(cflags::ENABLE_EVENTS) && accepted {
            return;
        }
        self.total_events += 1;
        if self.events.len() == EVENT_LIMIT {
            self.events.pop_front();
        }
        self.events.push_back(Event {
            time: now_f64(),
            kind: shorten(kind.to_string()),
            target: shorten(target),
            accepted,
            reason: shorten(reason),
        });
    }

    /// Refuse: record the event and build the error.
    pub fn refuse(&mut self, cdna: &Cdna, kind: &str, target: String, reason: String) -> NgError {
        self.record(cdna, kind, target, false, reason.clone());
        NgError::Rejected {
            action: kind.to_string(),
            reason,
        }
    }

    /// Events, oldest first; `last` keeps only the newest n.
    pub fn events(&self, last: Option<usize>) -> Vec<Event> {
        let n = last.unwrap_or(self.events.len()).min(self.events.len());
        self.events
            .iter()
            .skip(self.events.len() - n)
            .cloned()
            .collect()
    }

    pub fn restore_events(&mut self, events: Vec<Event>, total: u64, rejections: u64) {
        self.events = events.into_iter().collect();
        while self.events.len() > EVENT_LIMIT {
            self.events.pop_front();
        }
        self.total_events = total;
        self.total_rejections = rejections;
    }

    /// Check a token write against the CDNA bounds (the reason on refusal).
    pub fn check_token(cdna: &Cdna, w: &TokenWrite) -> std::result::Result<(), String> {
        if !cdna.has_flag(cflags::ENABLE_VALIDATION) {
            return bound("weight", w.weight, f32::MIN, f32::MAX);
        }
        bound(
            "weight",
            w.weight,
            cdna.token_weight_min,
            cdna.token_weight_max,
        )?;
        bound(
            "field_radius",
            w.field_radius,
            cdna.field_radius_min,
            cdna.field_radius_max,
        )?;
        bound(
            "field_strength",
            w.field_strength,
            cdna.field_strength_min,
            cdna.field_strength_max,
        )?;
        Ok(())
    }

    /// Check the fields of a token write that differ from what the token held.
    pub fn check_token_change(
        cdna: &Cdna,
        was: &TokenWrite,
        now: &TokenWrite,
    ) -> std::result::Result<(), String> {
        let keep = |v: f32, old: f32, field: f32| if v == old { field } else { v };
        // A field left as it was is checked with a value that always passes.
        let probe = TokenWrite {
            weight: keep(now.weight, was.weight, cdna.token_weight_min),
            field_radius: keep(now.field_radius, was.field_radius, cdna.field_radius_min),
            field_strength: keep(
                now.field_strength,
                was.field_strength,
                cdna.field_strength_min,
            ),
        };
        Self::check_token(cdna, &probe)
    }

    /// Check a connection write's kind and bounds (degrees are checked by the store).
    pub fn check_connection(cdna: &Cdna, w: &ConnectionWrite) -> std::result::Result<(), String> {
        if !cdna.kind_allowed(w.kind) {
            return Err(format!(
                "connection kind {} is not allowed by the CDNA",
                kind_name(w.kind)
            ));
        }
        if !cdna.has_flag(cflags::ENABLE_VALIDATION) {
            bound("strength", w.strength, f32::MIN, f32::MAX)?;
            return bound("rigidity", w.rigidity, 0.0, 1.0);
        }
        bound("strength", w.strength, cdna.strength_min, cdna.strength_max)?;
        bound("rigidity", w.rigidity, cdna.rigidity_min, cdna.rigidity_max)?;
        Ok(())
    }

    /// Check a proposed CDNA: its own rules, and that the current one is not read-only.
    pub fn check_cdna(current: &Cdna, proposed: &Cdna) -> std::result::Result<(), String> {
        if current.profile_state == crate::cdna::STATE_READONLY
            && proposed.profile_state == crate::cdna::STATE_READONLY
        {
            return Err("the CDNA is read-only".to_string());
        }
        let problems = proposed.problems();
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems.join("; "))
        }
    }

    /// Refuse a write when a CDNA check failed.
    pub fn gate(
        &mut self,
        cdna: &Cdna,
        kind: &str,
        target: impl Fn() -> String,
        check: std::result::Result<(), String>,
    ) -> Result<()> {
        match check {
            Ok(()) => Ok(()),
            Err(reason) => Err(self.refuse(cdna, kind, target(), reason)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_bounds_follow_the_cdna() {
        let c = Cdna::default();
        let ok = TokenWrite {
            weight: 0.5,
            field_radius: 1.0,
            field_strength: 0.5,
        };
        assert!(Guardian::check_token(&c, &ok).is_ok());
        let bad = TokenWrite { weight: 1.5, ..ok };
        assert!(Guardian::check_token(&c, &bad)
            .unwrap_err()
            .contains("weight = 1.5"));
    }

    #[test]
    fn events_ring_and_refusals() {
        let c = Cdna::default();
        let mut g = Guardian::default();
        g.record(&c, "token.create", "token 1".into(), true, String::new());
        let e = g.refuse(
            &c,
            "token.create",
            "token 2".into(),
            "weight too big".into(),
        );
        assert!(e.to_string().contains("weight too big"));
        let ev = g.events(None);
        assert_eq!(ev.len(), 2);
        assert!(!ev[1].accepted);
        assert_eq!(g.events(Some(1)).len(), 1);
        assert_eq!(g.total_rejections, 1);
    }

    #[test]
    fn disallowed_kind_is_refused() {
        let mut c = Cdna::default();
        c.set_kind_allowed(0x10, false);
        let w = ConnectionWrite {
            kind: 0x10,
            strength: 0.5,
            rigidity: 0.5,
        };
        assert!(Guardian::check_connection(&c, &w)
            .unwrap_err()
            .contains("cause"));
    }
}
