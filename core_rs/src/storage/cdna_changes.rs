//! The named CDNA changes the API offers (scales, flags, numeric fields, allowed kinds),
//! each one [`RuntimeStorage::change_cdna`] with the description the Guardian's event log
//! and the CDNA history record.

use super::{Policy, RuntimeStorage};
use crate::cdna::{flags, Cdna};
use crate::error::{NgError, Result};
use crate::space::SPACE_NAMES;

/// "name=value, name=value".
fn listed<T: std::fmt::Display>(changes: impl Iterator<Item = (String, T)>) -> String {
    changes
        .map(|(n, v)| format!("{n}={v}"))
        .collect::<Vec<_>>()
        .join(", ")
}

impl RuntimeStorage {
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
