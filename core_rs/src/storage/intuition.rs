//! The IntuitionEngine over the store: what it observes, what it proposes, and applying
//! the proposals the Guardian accepts.

use super::connections::{Column, ConnectionBatch};
use super::{RuntimeStorage, State};
use crate::clock::now_f64;
use crate::connection::Mutability;
use crate::error::{NgError, Result};
use crate::guardian::Guardian;
use crate::intuition::{Action, Proposal};

impl RuntimeStorage {
    /// Tokens used together (e.g. a selection).
    pub fn coactivate(&self, tokens: &[u32]) -> Result<()> {
        let mut st = self.state_write();
        if let Some(t) = tokens.iter().find(|t| !st.tokens.contains(**t)) {
            return Err(NgError::TokenNotFound(*t));
        }
        st.intuition.observe_coactivation(now_f64(), tokens);
        Ok(())
    }

    /// What the IntuitionEngine would propose now (nothing is changed).
    pub fn intuition_proposals(&self) -> Vec<Proposal> {
        let mut st = self.state_write();
        let next = st.intuition.next_proposal;
        let out = proposals(&mut st);
        st.intuition.next_proposal = next;
        out
    }

    /// Put every proposal to the Guardian and apply the accepted ones (hypotheses decay
    /// separately, with `decay_hypotheses`). Returns (proposal, accepted, reason).
    pub fn intuition_run(&self) -> Vec<(Proposal, bool, String)> {
        let mut st = self.state_write();
        let st = &mut *st;
        let props = proposals(st);
        let mut out = Vec::new();
        for p in props {
            let verdict = apply(st, &p);
            let (ok, reason) = match verdict {
                Ok(()) => (true, String::new()),
                Err(r) => (false, r),
            };
            let target = match p.action {
                Action::Create => format!("{} -> {}", p.a, p.b),
                _ => format!("connection {}", p.connection),
            };
            st.guardian.record(
                &st.cdna,
                &format!("intuition.{}", p.action.name()),
                target,
                ok,
                reason.clone(),
            );
            if ok {
                st.intuition.settle(&p);
            }
            out.push((p, ok, reason));
        }
        if out.iter().any(|(_, ok, _)| *ok) {
            self.emit(
                st,
                super::events::Change::Reset {
                    reason: "intuition",
                },
            );
        }
        out
    }
}

fn proposals(st: &mut State) -> Vec<Proposal> {
    let hyps: Vec<(u32, u32, u32, f32, u16)> = st
        .connections
        .records
        .iter()
        .filter(|c| c.mutability() == Mutability::Hypothesis)
        .map(|c| {
            (
                c.id,
                c.token_a,
                c.token_b,
                c.confidence_f(),
                c.evidence_count,
            )
        })
        .collect();
    let pairs: std::collections::HashSet<(u32, u32)> = st
        .connections
        .records
        .iter()
        .map(|c| (c.token_a, c.token_b))
        .collect();
    let (tokens, conns) = (&st.tokens, &st.connections);
    st.intuition.propose(
        |a, b| pairs.contains(&(a, b)),
        |id| tokens.contains(id) || conns.slot(id).is_some(),
        &hyps,
    )
}

fn apply(st: &mut State, p: &Proposal) -> std::result::Result<(), String> {
    Guardian::check_mutation(&st.cdna).map_err(|r| r.reason)?;
    let now = crate::clock::now_secs() as u32;
    match p.action {
        Action::Create => {
            let (a, b) = ([p.a], [p.b]);
            let cb = ConnectionBatch {
                strengths: Column::All(st.cdna.default_pull_strength),
                confidence: Column::All(p.confidence),
                hypothesis: true,
                source_id: p.id,
                ..ConnectionBatch::associated(&a, &b)
            };
            let recs = st
                .connections
                .prepare(&cb, &st.tokens, &st.cdna)
                .map_err(|e| e.to_string())?;
            st.connections.commit(recs);
            Ok(())
        }
        Action::Promote | Action::Modify => {
            let slot = st
                .connections
                .slot(p.connection)
                .ok_or("the connection no longer exists")?;
            let c = &mut st.connections.records[slot];
            if p.action == Action::Promote {
                c.mutability = Mutability::Learnable as u8;
            } else if c.mutability() == Mutability::Immutable {
                return Err(format!(
                    "connection {} is of an immutable kind",
                    p.connection
                ));
            } else {
                c.apply_feedback(false, now);
            }
            c.flags |= crate::connection::flags::MODIFIED;
            c.last_update = now;
            st.connections.touch();
            Ok(())
        }
        Action::Delete => {
            if st.connections.slot(p.connection).is_none() {
                return Err("the connection no longer exists".to_string());
            }
            st.connections.remove(&[p.connection]);
            st.intuition.forget_connections(&[p.connection]);
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::connection::Mutability;
    use crate::intuition::Action;
    use crate::storage::bootstrap::fixture::{animals, token};
    use crate::storage::semantic::QueryInput;
    use crate::storage::Policy;

    #[test]
    fn queries_and_feedback_become_a_hypothesis_once_mutation_is_on() {
        let (rt, _) = animals();
        let (cat, dog, pear) = (token(&rt, "cat"), token(&rt, "dog"), token(&rt, "pear"));
        // "cat" answers dog (rank 1, evidence 1) and pear (rank 2, evidence 1/2) ...
        let q = QueryInput::Terms(vec![("cat".to_string(), 1.0)]);
        rt.semantic_query(&q, 2).unwrap();
        assert!(rt.intuition_proposals().is_empty());
        // ... and good feedback adds 2 each: cat -> dog reaches 3 but is connected already,
        // cat -> pear reaches 4.5 and is proposed
        rt.feedback(&[cat], dog, true).unwrap();
        rt.feedback(&[cat], pear, true).unwrap();
        rt.feedback(&[cat], pear, true).unwrap();
        let props = rt.intuition_proposals();
        assert_eq!(props.len(), 1);
        let p = &props[0];
        assert_eq!(
            (p.action, p.a, p.b, p.evidence),
            (Action::Create, cat, pear, 4.5)
        );
        assert!((p.confidence - 0.45).abs() < 1e-6);
        // looking does not use up proposal ids
        assert_eq!(rt.intuition_proposals()[0].id, p.id);

        // the default profile has ENABLE_MUTATION off: the Guardian refuses, nothing changes
        let n = rt.read().connections.len();
        let run = rt.intuition_run();
        assert_eq!(run.len(), 1);
        assert!(
            !run[0].1 && run[0].2.starts_with("ENABLE_MUTATION is off"),
            "{:?}",
            run[0]
        );
        assert_eq!(rt.read().connections.len(), n);
        let ev = rt.events(Some(1));
        assert_eq!(
            (ev[0].kind.as_str(), ev[0].accepted),
            ("intuition.create", false)
        );
        assert_eq!(ev[0].target, format!("{cat} -> {pear}"));

        rt.set_profile("creative", Policy::Refuse).unwrap();
        let run = rt.intuition_run();
        assert!(run[0].1, "{:?}", run[0]);
        let st = rt.read();
        assert_eq!(st.connections.len(), n + 1);
        let made = st
            .connections
            .records
            .iter()
            .find(|c| (c.token_a, c.token_b) == (cat, pear))
            .unwrap();
        assert_eq!(made.mutability(), Mutability::Hypothesis);
        assert_eq!(made.source_id, run[0].0.id);
        drop(st);
        // the evidence is settled: nothing more to propose
        assert!(rt.intuition_proposals().is_empty());
    }

    #[test]
    fn coactivation_of_unknown_tokens_is_refused() {
        let (rt, _) = animals();
        let cat = token(&rt, "cat");
        assert!(rt.coactivate(&[cat, 999]).is_err());
        assert!(rt.read().intuition.experiences.is_empty());
        rt.coactivate(&[cat, token(&rt, "car")]).unwrap();
        assert_eq!(rt.read().intuition.pairs.len(), 2);
    }
}
