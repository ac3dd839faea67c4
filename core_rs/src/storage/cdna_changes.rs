//! Changing the CDNA: [`RuntimeStorage::change_cdna`] (through the Guardian, with the
//! refuse/clamp/force policy for data that breaks the change), profiles, rollback, and the
//! named changes the API offers (scales, flags, numeric fields, allowed kinds), each with the
//! description the Guardian's event log and the CDNA history record.

use super::{guard, plural, Policy, RuntimeStorage};
use crate::cdna::{flags, Cdna, CdnaVersion, HISTORY_LIMIT};
use crate::clock::now_f64;
use crate::error::{NgError, Refusal, Result};
use crate::guardian::Guardian;
use crate::metrics::Op;
use crate::space::SPACE_NAMES;

/// "name=value, name=value".
fn listed<T: std::fmt::Display>(changes: impl Iterator<Item = (String, T)>) -> String {
    changes
        .map(|(n, v)| format!("{n}={v}"))
        .collect::<Vec<_>>()
        .join(", ")
}

impl RuntimeStorage {
    pub fn cdna(&self) -> Cdna {
        self.state.read().cdna.clone()
    }

    /// Change the CDNA through the Guardian; the old one goes to the history. A change
    /// that the tokens or connections held already break is refused, unless `policy` says
    /// to clamp them into the new bounds or to accept it as it is. A change that changes
    /// nothing makes no new revision.
    pub fn change_cdna(
        &self,
        what: &str,
        policy: Policy,
        f: impl FnOnce(&mut Cdna) -> Result<()>,
    ) -> Result<Cdna> {
        self.metrics.time(Op::CdnaChange, || {
            let mut st = self.state.write();
            let st = &mut *st;
            let mut next = st.cdna.clone();
            let applied = f(&mut next);
            let mut check = match applied {
                Ok(()) => Guardian::check_cdna(&st.cdna, &next),
                Err(e) => Err(Refusal::new(e.to_string())),
            };
            if check.is_ok() && next == st.cdna {
                return Ok(next);
            }
            let broken = match (&check, policy) {
                (Ok(()), Policy::Refuse | Policy::Clamp) => {
                    guard::new_violations(st, &st.cdna, &next)
                }
                _ => Vec::new(),
            };
            let blocking: Vec<&guard::Violation> = broken
                .iter()
                .filter(|v| policy == Policy::Refuse || !v.clampable)
                .collect();
            if !blocking.is_empty() {
                let list: Vec<String> = blocking.iter().map(|v| v.to_string()).collect();
                let hint = if blocking.iter().all(|v| v.clampable) {
                    "pass policy=\"clamp\" to clamp them into the new bounds, or policy=\"force\" to keep them as they are"
                } else {
                    "pass policy=\"force\" to accept it and keep them as they are"
                };
                check = Err(Refusal::new(format!(
                    "the data held breaks it: {}; {hint}",
                    list.join("; ")
                )));
            }
            if let Err(reason) = check {
                let e = st
                    .guardian
                    .refuse(&st.cdna, "cdna.change", what.to_string(), reason);
                let why = match e.root() {
                    NgError::Rejected(r) => r.located_reason(),
                    other => other.to_string(),
                };
                self.emit(
                    st,
                    super::events::Change::Refused {
                        action: "cdna.change",
                        reason: &why,
                    },
                );
                return Err(e);
            }
            // Clamp brings every record into the new bounds, not only those it newly breaks.
            let clamped = if policy == Policy::Clamp {
                guard::clamp_into(st, &next)
            } else {
                0
            };
            next.revision = st.cdna.revision + 1;
            next.modified = crate::clock::now_secs();
            let old = std::mem::replace(&mut st.cdna, next);
            st.history.push(CdnaVersion {
                cdna: old,
                changed_at: now_f64(),
                reason: what.to_string(),
            });
            if st.history.len() > HISTORY_LIMIT {
                st.history.remove(0);
            }
            let note = if clamped > 0 {
                format!("clamped {}", plural(clamped, "record"))
            } else if policy == Policy::Force {
                let n: usize = guard::violations(st, &st.cdna).iter().map(|v| v.count).sum();
                if n > 0 {
                    format!("forced: {} break it", plural(n, "record"))
                } else {
                    String::new()
                }
            } else {
                String::new()
            };
            st.guardian
                .record(&st.cdna, "cdna.change", what.to_string(), true, note);
            self.emit(st, super::events::Change::CdnaChanged);
            if clamped > 0 {
                self.emit(st, super::events::Change::Reset { reason: "cdna clamp" });
            }
            Ok(st.cdna.clone())
        })
    }

    /// Switch to a profile (its values replace the current ones).
    pub fn set_profile(&self, name: &str, policy: Policy) -> Result<Cdna> {
        let fresh = Cdna::profile(name);
        let r = self.change_cdna(&format!("profile -> {name}"), policy, |c| {
            let created = c.created;
            *c = fresh?;
            c.created = created;
            Ok(())
        });
        r.map_err(|e| match e {
            NgError::Rejected(_) if Cdna::profile(name).is_err() => {
                NgError::UnknownProfile(name.to_string())
            }
            e => e,
        })
    }

    /// Restore the configuration as it was `steps` changes ago. The restore is itself a
    /// change (a new revision), so `rollback(1)` twice returns to where you started.
    pub fn rollback_cdna(&self, steps: usize, policy: Policy) -> Result<Cdna> {
        let target = {
            let st = self.state.read();
            if steps == 0 || steps > st.history.len() {
                return Err(NgError::invalid(
                    "steps",
                    steps,
                    format!("history holds {} earlier versions", st.history.len()),
                ));
            }
            st.history[st.history.len() - steps].cdna.clone()
        };
        let rev = target.revision;
        self.change_cdna(&format!("rollback to revision {rev}"), policy, move |c| {
            *c = target;
            Ok(())
        })
    }

    /// Everything the CDNA's own rules and the data held against it break, as lines.
    pub fn cdna_problems(&self) -> Vec<String> {
        let st = self.state.read();
        let mut p = st.cdna.problems();
        p.extend(
            guard::violations(&st, &st.cdna)
                .iter()
                .map(|v| v.to_string()),
        );
        p
    }

    pub fn history(&self) -> Vec<CdnaVersion> {
        self.state.read().history.clone()
    }

    /// Set distance scales, `(space, scale)` pairs, refused if the data held breaks them.
    /// A positive scale too small for a normal float32 (it would be stored as 0, a denormal
    /// or inf) is refused naming the value given.
    pub fn set_scales(&self, changes: &[(usize, f64)]) -> Result<Cdna> {
        for &(s, v) in changes {
            if v > 0.0 && (v as f32) < f32::MIN_POSITIVE {
                return Err(NgError::ScaleTooSmall {
                    space: SPACE_NAMES[s],
                    value: v,
                    min: f32::MIN_POSITIVE,
                });
            }
        }
        let what = listed(
            changes
                .iter()
                .map(|(s, v)| (SPACE_NAMES[*s].to_string(), v)),
        );
        self.change_cdna(&format!("scales {what}"), Policy::Refuse, |c| {
            for (s, v) in changes {
                c.scales[*s] = *v as f32;
            }
            Ok(())
        })
    }

    /// Turn header flags (bits of [`flags`]) on or off; flags not named keep their value.
    pub fn set_flags(&self, changes: &[(u32, bool)], policy: Policy) -> Result<Cdna> {
        let name = |bit: u32| flags::NAMES[bit.trailing_zeros() as usize % flags::NAMES.len()];
        let what = listed(changes.iter().map(|(bit, on)| (name(*bit).to_string(), on)));
        self.change_cdna(&format!("flags {what}"), policy, |c| {
            for (bit, on) in changes {
                if *on {
                    c.flags |= bit;
                } else {
                    c.flags &= !bit;
                }
            }
            Ok(())
        })
    }

    /// Set numeric fields by name (bounds, degree limits, rates), validated as one change.
    pub fn set_fields(&self, changes: &[(String, f64)], policy: Policy) -> Result<Cdna> {
        let what = listed(changes.iter().map(|(n, v)| (n.clone(), v)));
        self.change_cdna(&what, policy, |c| {
            for (n, v) in changes {
                c.set_field(n, *v)?;
            }
            Ok(())
        })
    }

    /// Allow or forbid connection kinds (codes).
    pub fn set_kinds_allowed(&self, kinds: &[u8], allowed: bool, policy: Policy) -> Result<Cdna> {
        let names: Vec<&str> = kinds
            .iter()
            .map(|k| crate::connection::kind_name(*k))
            .collect();
        let verb = if allowed { "allow" } else { "forbid" };
        let what = format!("{verb} kinds {}", names.join(", "));
        self.change_cdna(&what, policy, |c| {
            for k in kinds {
                c.set_kind_allowed(*k, allowed);
            }
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::connection::ASSOCIATED_WITH;
    use crate::space::COGNITIVE;

    #[test]
    fn each_change_is_one_revision_with_its_description() {
        let rt = RuntimeStorage::new();
        rt.set_scales(&[(COGNITIVE, 2.0), (0, 0.5)]).unwrap();
        assert_eq!(rt.cdna().scales[COGNITIVE], 2.0);
        rt.set_flags(
            &[(flags::STRICT_MODE, true), (flags::ENABLE_EVENTS, false)],
            Policy::Refuse,
        )
        .unwrap();
        let f = rt.cdna().flags;
        assert!(f & flags::STRICT_MODE != 0 && f & flags::ENABLE_EVENTS == 0);
        rt.set_fields(&[("max_out_degree".into(), 7.0)], Policy::Refuse)
            .unwrap();
        assert_eq!(rt.cdna().max_out_degree, 7);
        rt.set_kinds_allowed(&[ASSOCIATED_WITH], false, Policy::Refuse)
            .unwrap();
        assert!(!rt.cdna().kind_allowed(ASSOCIATED_WITH));
        let what: Vec<String> = rt.history().into_iter().map(|v| v.reason).collect();
        assert_eq!(
            what,
            [
                "scales cognitive=2, physical=0.5",
                "flags STRICT_MODE=true, ENABLE_EVENTS=false",
                "max_out_degree=7",
                "forbid kinds associated_with",
            ]
        );
    }

    #[test]
    fn refusals_change_nothing() {
        let rt = RuntimeStorage::new();
        let before = rt.cdna();
        let e = rt
            .set_scales(&[(COGNITIVE, 1e-40)])
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with(
                "scale of cognitive = 1e-40 is too small: the smallest scale is 1.1754944e-38"
            ),
            "{e}"
        );
        assert!(rt.set_scales(&[(COGNITIVE, -1.0)]).is_err());
        assert!(rt
            .set_fields(&[("nope".into(), 1.0)], Policy::Refuse)
            .is_err());
        assert_eq!(rt.cdna(), before);
        assert!(rt.history().is_empty());
    }
}
