//! Guardian: checks every write against the CDNA and records what it accepted or refused.

use crate::cdna::{flags as cflags, Cdna};
use crate::clock::now_f64;
use crate::connection::kind_name;
use crate::error::{NgError, Refusal};
use std::collections::{HashSet, VecDeque};

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

/// The value a person wrote, as a float: an `f32` through its shortest decimal form, so
/// `0.1f32` becomes `0.1`, not `0.10000000149011612`.
fn as_f64(v: f32) -> f64 {
    v.to_string().parse().unwrap_or(v as f64)
}

/// `field = v` within `[lo, hi]` (finite in any case).
fn bound(field: &'static str, v: f32, lo: f32, hi: f32) -> std::result::Result<(), Refusal> {
    if !v.is_finite() {
        return Err(Refusal {
            field: Some(field),
            value: Some(as_f64(v)),
            limit: None,
            reason: format!("{field} = {v} is not a finite number"),
        });
    }
    if v < lo || v > hi {
        return Err(Refusal {
            field: Some(field),
            value: Some(as_f64(v)),
            limit: Some(as_f64(if v < lo { lo } else { hi })),
            reason: format!("{field} = {v} is outside the CDNA bounds [{lo}, {hi}]"),
        });
    }
    Ok(())
}

/// A degree `v` of `token` within the CDNA limit `max_{field}`; `name` is how the reason
/// says it.
fn degree(
    field: &'static str,
    name: &str,
    token: u32,
    v: u32,
    max: u32,
) -> std::result::Result<(), Refusal> {
    if v <= max {
        return Ok(());
    }
    Err(Refusal {
        field: Some(field),
        value: Some(v as f64),
        limit: Some(max as f64),
        reason: format!("token {token} would have {name} {v} > max_{field} {max}"),
    })
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
    pub fn refuse(&mut self, cdna: &Cdna, kind: &str, target: String, why: Refusal) -> NgError {
        self.record(cdna, kind, target, false, why.reason.clone());
        NgError::rejected(kind, why)
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

    // ---- the rules: each takes what it checks as input and changes nothing ----

    /// A token write within the CDNA bounds (weight, field radius and strength; only a
    /// finite weight when `ENABLE_VALIDATION` is off).
    pub fn check_token(cdna: &Cdna, w: &TokenWrite) -> std::result::Result<(), Refusal> {
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

    /// The fields of a token write that differ from what the token held, within the bounds
    /// (a value the token already held, e.g. under a CDNA accepted with policy "force",
    /// does not block a change of something else).
    pub fn check_token_change(
        cdna: &Cdna,
        was: &TokenWrite,
        now: &TokenWrite,
    ) -> std::result::Result<(), Refusal> {
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

    /// A connection's kind allowed and its strength and rigidity within the bounds (the
    /// rules a connection the store already holds can break, see `storage::guard`).
    pub fn check_connection(cdna: &Cdna, w: &ConnectionWrite) -> std::result::Result<(), Refusal> {
        if !cdna.kind_allowed(w.kind) {
            return Err(Refusal {
                field: Some("kind"),
                value: None,
                limit: None,
                reason: format!(
                    "connection kind {} is not allowed by the CDNA",
                    kind_name(w.kind)
                ),
            });
        }
        if !cdna.has_flag(cflags::ENABLE_VALIDATION) {
            bound("strength", w.strength, f32::MIN, f32::MAX)?;
            return bound("rigidity", w.rigidity, 0.0, 1.0);
        }
        bound("strength", w.strength, cdna.strength_min, cdna.strength_max)?;
        bound("rigidity", w.rigidity, cdna.rigidity_min, cdna.rigidity_max)?;
        Ok(())
    }

    /// A new connection `a -> b`: [`Self::check_connection`], and no self-loop in strict
    /// mode.
    pub fn check_new_connection(
        cdna: &Cdna,
        a: u32,
        b: u32,
        w: &ConnectionWrite,
    ) -> std::result::Result<(), Refusal> {
        Self::check_connection(cdna, w)?;
        if a == b && cdna.has_flag(cflags::STRICT_MODE) {
            return Err(Refusal {
                field: Some("STRICT_MODE"),
                value: None,
                limit: None,
                reason: format!("strict mode: token {a} may not connect to itself"),
            });
        }
        Ok(())
    }

    /// A token's degrees within the CDNA limits, counted as they would be after the write.
    pub fn check_degree(
        cdna: &Cdna,
        token: u32,
        out: u32,
        inn: u32,
    ) -> std::result::Result<(), Refusal> {
        degree("out_degree", "out-degree", token, out, cdna.max_out_degree)?;
        degree("in_degree", "in-degree", token, inn, cdna.max_in_degree)?;
        degree(
            "total_degree",
            "degree",
            token,
            out + inn,
            cdna.max_total_degree,
        )
    }

    /// The degree limits over a batch of new connections `(a, b)`: `degrees(t)` gives
    /// token `t`'s (out, in) degree once the whole batch is in. Returns the first row that
    /// takes a token past a limit.
    pub fn check_degrees(
        cdna: &Cdna,
        new: impl IntoIterator<Item = (u32, u32)>,
        degrees: impl Fn(u32) -> [u32; 2],
    ) -> std::result::Result<(), (usize, Refusal)> {
        for (row, (a, b)) in new.into_iter().enumerate() {
            for t in [a, b] {
                let [out, inn] = degrees(t);
                Self::check_degree(cdna, t, out, inn).map_err(|r| (row, r))?;
            }
        }
        Ok(())
    }

    /// Strict mode: no second connection `a -> b` of the same kind. `held` are the
    /// (a, b, kind) of the connections the store holds (read only in strict mode), `new`
    /// those of the batch. Returns the first new row that repeats one.
    pub fn check_duplicates(
        cdna: &Cdna,
        held: impl IntoIterator<Item = (u32, u32, u8)>,
        new: impl IntoIterator<Item = (u32, u32, u8)>,
    ) -> std::result::Result<(), (usize, Refusal)> {
        if !cdna.has_flag(cflags::STRICT_MODE) {
            return Ok(());
        }
        let mut seen: HashSet<(u32, u32, u8)> = held.into_iter().collect();
        for (row, (a, b, kind)) in new.into_iter().enumerate() {
            if !seen.insert((a, b, kind)) {
                return Err((
                    row,
                    Refusal {
                        field: Some("STRICT_MODE"),
                        value: None,
                        limit: None,
                        reason: format!(
                            "strict mode: {a} -> {b} ({}) already exists",
                            kind_name(kind)
                        ),
                    },
                ));
            }
        }
        Ok(())
    }

    /// The IntuitionEngine may change the graph only with `ENABLE_MUTATION` on.
    pub fn check_mutation(cdna: &Cdna) -> std::result::Result<(), Refusal> {
        if cdna.has_flag(cflags::ENABLE_MUTATION) {
            return Ok(());
        }
        Err(Refusal {
            field: Some("ENABLE_MUTATION"),
            value: None,
            limit: None,
            reason: "ENABLE_MUTATION is off in the CDNA (the creative profile turns it on)"
                .to_string(),
        })
    }

    /// A proposed CDNA: its own rules, and that the current one is not read-only.
    pub fn check_cdna(current: &Cdna, proposed: &Cdna) -> std::result::Result<(), Refusal> {
        if current.profile_state == crate::cdna::STATE_READONLY
            && proposed.profile_state == crate::cdna::STATE_READONLY
        {
            return Err(Refusal::new("the CDNA is read-only"));
        }
        let problems = proposed.problems();
        if problems.is_empty() {
            Ok(())
        } else {
            Err(Refusal::new(problems.join("; ")))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cdna::STATE_READONLY;
    use crate::error::Location;

    const TOKEN: TokenWrite = TokenWrite {
        weight: 0.5,
        field_radius: 1.0,
        field_strength: 0.5,
    };
    const EDGE: ConnectionWrite = ConnectionWrite {
        kind: 0x50,
        strength: 0.5,
        rigidity: 0.5,
    };

    fn with_flag(flag: u32, on: bool) -> Cdna {
        let mut c = Cdna::default();
        if on {
            c.flags |= flag;
        } else {
            c.flags &= !flag;
        }
        c
    }

    #[test]
    fn token_bounds_follow_the_cdna() {
        let c = Cdna::default();
        assert!(Guardian::check_token(&c, &TOKEN).is_ok());
        let r = Guardian::check_token(
            &c,
            &TokenWrite {
                weight: 1.5,
                ..TOKEN
            },
        )
        .unwrap_err();
        assert_eq!(r.field, Some("weight"));
        assert_eq!((r.value, r.limit), (Some(1.5), Some(1.0)));
        assert_eq!(r.reason, "weight = 1.5 is outside the CDNA bounds [0, 1]");
        // below the lower bound, the limit is the lower bound; the value keeps its decimals
        let r = Guardian::check_token(
            &c,
            &TokenWrite {
                weight: -0.1,
                ..TOKEN
            },
        )
        .unwrap_err();
        assert_eq!((r.value, r.limit), (Some(-0.1), Some(0.0)));
        let w = TokenWrite {
            field_strength: 2.0,
            ..TOKEN
        };
        let r = Guardian::check_token(&c, &w).unwrap_err();
        assert_eq!(r.field, Some("field_strength"));
    }

    #[test]
    fn non_finite_values_are_refused_even_without_validation() {
        let off = with_flag(cflags::ENABLE_VALIDATION, false);
        let nan = TokenWrite {
            weight: f32::NAN,
            ..TOKEN
        };
        for c in [Cdna::default(), off.clone()] {
            let r = Guardian::check_token(&c, &nan).unwrap_err();
            assert_eq!(r.reason, "weight = NaN is not a finite number");
            assert!(r.value.is_some_and(f64::is_nan) && r.limit.is_none());
        }
        // without validation the CDNA bounds do not apply
        let heavy = TokenWrite {
            weight: 7.0,
            ..TOKEN
        };
        assert!(Guardian::check_token(&off, &heavy).is_ok());
    }

    #[test]
    fn a_token_change_is_checked_only_where_it_changes() {
        let c = Cdna::default();
        let was = TokenWrite {
            weight: 3.0,
            ..TOKEN
        }; // held under a forced CDNA
        let radius = TokenWrite {
            field_radius: 2.0,
            ..was
        };
        assert!(Guardian::check_token_change(&c, &was, &radius).is_ok());
        let heavier = TokenWrite { weight: 4.0, ..was };
        let r = Guardian::check_token_change(&c, &was, &heavier).unwrap_err();
        assert_eq!((r.field, r.value), (Some("weight"), Some(4.0)));
    }

    #[test]
    fn disallowed_kind_is_refused() {
        let mut c = Cdna::default();
        c.set_kind_allowed(0x10, false);
        let w = ConnectionWrite { kind: 0x10, ..EDGE };
        let r = Guardian::check_connection(&c, &w).unwrap_err();
        assert_eq!(r.field, Some("kind"));
        assert_eq!(r.reason, "connection kind cause is not allowed by the CDNA");
    }

    #[test]
    fn connection_bounds_follow_the_cdna() {
        let c = Cdna::default();
        assert!(Guardian::check_connection(&c, &EDGE).is_ok());
        let w = ConnectionWrite {
            rigidity: 1.5,
            ..EDGE
        };
        let r = Guardian::check_connection(&c, &w).unwrap_err();
        assert_eq!(
            (r.field, r.value, r.limit),
            (Some("rigidity"), Some(1.5), Some(1.0))
        );
        // without validation strength may be anything finite, rigidity stays a unit value
        let off = with_flag(cflags::ENABLE_VALIDATION, false);
        let strong = ConnectionWrite {
            strength: 50.0,
            ..EDGE
        };
        assert!(Guardian::check_connection(&off, &strong).is_ok());
        assert!(Guardian::check_connection(&off, &w).is_err());
    }

    #[test]
    fn self_loops_are_refused_in_strict_mode_only() {
        assert!(Guardian::check_new_connection(&Cdna::default(), 7, 7, &EDGE).is_ok());
        let strict = with_flag(cflags::STRICT_MODE, true);
        assert!(Guardian::check_new_connection(&strict, 7, 8, &EDGE).is_ok());
        let r = Guardian::check_new_connection(&strict, 7, 7, &EDGE).unwrap_err();
        assert_eq!(r.field, Some("STRICT_MODE"));
        assert_eq!(r.reason, "strict mode: token 7 may not connect to itself");
        // the kind and bounds are checked first
        let bad = ConnectionWrite {
            strength: 9.0,
            ..EDGE
        };
        let r = Guardian::check_new_connection(&strict, 7, 7, &bad).unwrap_err();
        assert_eq!(r.field, Some("strength"));
    }

    #[test]
    fn degree_limits_name_the_limit_crossed() {
        let mut c = Cdna::default();
        (c.max_out_degree, c.max_in_degree, c.max_total_degree) = (3, 2, 4);
        assert!(Guardian::check_degree(&c, 5, 3, 1).is_ok());
        let r = Guardian::check_degree(&c, 5, 4, 0).unwrap_err();
        assert_eq!(
            (r.field, r.value, r.limit),
            (Some("out_degree"), Some(4.0), Some(3.0))
        );
        assert_eq!(
            r.reason,
            "token 5 would have out-degree 4 > max_out_degree 3"
        );
        let r = Guardian::check_degree(&c, 5, 0, 3).unwrap_err();
        assert_eq!(r.reason, "token 5 would have in-degree 3 > max_in_degree 2");
        let r = Guardian::check_degree(&c, 5, 3, 2).unwrap_err();
        assert_eq!(
            (r.field, r.value, r.limit),
            (Some("total_degree"), Some(5.0), Some(4.0))
        );
        assert_eq!(r.reason, "token 5 would have degree 5 > max_total_degree 4");
    }

    #[test]
    fn check_degrees_reports_the_first_row_over_a_limit() {
        let c = Cdna {
            max_in_degree: 1,
            ..Default::default()
        };
        // rows 0 and 2 both end at token 9, which would then have in-degree 2
        let new = [(1, 9), (2, 3), (4, 9)];
        let degrees = |t: u32| if t == 9 { [0, 2] } else { [1, 1] };
        let (row, r) = Guardian::check_degrees(&c, new, degrees).unwrap_err();
        assert_eq!(row, 0);
        assert_eq!((r.field, r.limit), (Some("in_degree"), Some(1.0)));
        assert!(Guardian::check_degrees(&c, [(2, 3)], degrees).is_ok());
    }

    #[test]
    fn duplicates_are_refused_in_strict_mode_only() {
        let held = [(1, 2, 0x50)];
        let new = [(1, 3, 0x50), (1, 2, 0x10), (1, 2, 0x50)];
        assert!(Guardian::check_duplicates(&Cdna::default(), held, new).is_ok());
        let strict = with_flag(cflags::STRICT_MODE, true);
        let (row, r) = Guardian::check_duplicates(&strict, held, new).unwrap_err();
        assert_eq!(row, 2);
        assert_eq!(
            r.reason,
            "strict mode: 1 -> 2 (associated_with) already exists"
        );
        // a repeat within the batch itself
        let (row, _) = Guardian::check_duplicates(&strict, [], [(4, 5, 0), (4, 5, 0)]).unwrap_err();
        assert_eq!(row, 1);
    }

    #[test]
    fn mutation_needs_its_flag() {
        let on = with_flag(cflags::ENABLE_MUTATION, true);
        assert!(Guardian::check_mutation(&on).is_ok());
        let r = Guardian::check_mutation(&with_flag(cflags::ENABLE_MUTATION, false)).unwrap_err();
        assert_eq!(r.field, Some("ENABLE_MUTATION"));
        assert!(r.reason.starts_with("ENABLE_MUTATION is off"));
    }

    #[test]
    fn cdna_changes_follow_its_own_rules_and_read_only() {
        let c = Cdna::default();
        let mut bad = c.clone();
        bad.scales[0] = -1.0;
        let r = Guardian::check_cdna(&c, &bad).unwrap_err();
        assert!(r.reason.contains("scale of physical"), "{r}");
        assert_eq!(r.field, None);
        let mut ro = c.clone();
        ro.profile_state = STATE_READONLY;
        let r = Guardian::check_cdna(&ro, &ro.clone()).unwrap_err();
        assert_eq!(r.reason, "the CDNA is read-only");
        // leaving the read-only state is allowed
        assert!(Guardian::check_cdna(&ro, &c).is_ok());
    }

    #[test]
    fn the_caller_adds_the_row_as_data() {
        let r = Guardian::check_token(
            &Cdna::default(),
            &TokenWrite {
                weight: 2.0,
                ..TOKEN
            },
        )
        .unwrap_err();
        let e = NgError::rejected("token.create", r.clone()).at_row(3);
        assert_eq!(e.row(), Some(3));
        assert_eq!(
            e.to_string(),
            "Guardian refused token.create: row 3: weight = 2 is outside the CDNA bounds [0, 1]"
        );
        // a single write made through the batch path drops the row, and only the row
        let e = e.without_row();
        assert_eq!(e.row(), None);
        assert_eq!(
            e.to_string(),
            "Guardian refused token.create: weight = 2 is outside the CDNA bounds [0, 1]"
        );
        let e = NgError::rejected("connection.create", r.clone())
            .at(Location::Edge { row: 1, a: 4, b: 5 })
            .at_row(9); // an outer row does not replace the one the refusal has
        assert_eq!(e.row(), Some(1));
        assert!(e.to_string().contains(": row 1 (4 -> 5): weight"), "{e}");
        let e = NgError::rejected("token.update", r)
            .at(Location::Token(8))
            .without_row();
        assert_eq!(
            e.to_string(),
            "Guardian refused token.update: token 8: weight = 2 is outside the CDNA bounds [0, 1]"
        );
        // other errors are wrapped with the row, as before
        let e = NgError::TokenNotFound(4).at(Location::Edge { row: 2, a: 4, b: 5 });
        assert_eq!(e.to_string(), "row 2: no token with id 4");
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
            Refusal::new("weight too big"),
        );
        assert!(e.to_string().contains("weight too big"));
        let ev = g.events(None);
        assert_eq!(ev.len(), 2);
        assert!(!ev[1].accepted);
        assert_eq!(ev[1].reason, "weight too big");
        assert_eq!(g.events(Some(1)).len(), 1);
        assert_eq!(g.total_rejections, 1);
    }
}
