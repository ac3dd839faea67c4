//! Checking a proposed CDNA without applying it: what `POST /cdna/validate` answers.

use super::{guard, RuntimeStorage};
use crate::cdna::Cdna;
use crate::guardian::Guardian;

impl RuntimeStorage {
    /// Everything that would refuse `next` if it replaced the current CDNA now: the
    /// Guardian's rules for the change itself, then the records held that would break it
    /// (as `change_cdna` with the refuse policy reports them). Empty: it would be accepted.
    pub fn cdna_dry_run(&self, next: &Cdna) -> Vec<String> {
        let st = self.read();
        let mut out = Vec::new();
        match Guardian::check_cdna(&st.cdna, next) {
            Err(r) => out.push(r.reason),
            Ok(()) => out.extend(
                guard::new_violations(&st, &st.cdna, next)
                    .iter()
                    .map(|v| v.to_string()),
            ),
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::tokens::TokenBatch;

    #[test]
    fn a_dry_run_names_what_breaks_and_changes_nothing() {
        let rt = RuntimeStorage::new();
        let coords = vec![0.25f32; 2 * 24];
        rt.create_tokens(&TokenBatch {
            coords: &coords,
            default_weight: 0.9,
            ..Default::default()
        })
        .unwrap();
        let before = rt.cdna();
        let mut next = before.clone();
        assert!(rt.cdna_dry_run(&next).is_empty());
        next.token_weight_max = 0.5;
        let p = rt.cdna_dry_run(&next);
        assert_eq!(p.len(), 1, "{p:?}");
        next.scales[0] = -1.0;
        assert!(rt.cdna_dry_run(&next)[0].contains("scale"));
        assert_eq!(rt.cdna(), before);
    }
}
