//! IntuitionEngine: learns from the experience stream (queries, feedback, co-activations)
//! and proposes changes to connections as hypotheses, which the Guardian then accepts or
//! rejects.

use std::collections::HashMap;

/// Pairs seen together this many times (weighted) become a proposal.
pub const PROPOSE_AT: f32 = 3.0;
/// A hypothesis with this confidence and evidence is proposed for promotion.
pub const PROMOTE_CONFIDENCE: f32 = 0.8;
pub const PROMOTE_EVIDENCE: u16 = 3;
/// Most experiences kept.
pub const EXPERIENCE_LIMIT: usize = 10_000;
/// A co-activation of up to this many tokens counts every ordered pair; a larger one only
/// pairs each token with the `COACTIVATION_WINDOW` tokens on either side of it in the order
/// given (so its cost grows linearly, not with the square of its size).
pub const COACTIVATION_ALL_PAIRS: usize = 64;
pub const COACTIVATION_WINDOW: usize = 8;

/// One thing that happened.
#[derive(Clone, Debug, PartialEq)]
pub struct Experience {
    pub time: f64,
    /// "query", "feedback+" / "feedback-", "coactivation".
    pub kind: String,
    /// The tokens involved: for a query the query tokens then the results.
    pub tokens: Vec<u32>,
}

/// What the engine proposes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// Create a hypothesis connection a -> b.
    Create,
    /// Raise a hypothesis to a learnable connection.
    Promote,
    /// Lower a connection's confidence (repeated bad feedback).
    Modify,
    /// Remove a hypothesis under the confidence floor.
    Delete,
}

impl Action {
    pub fn name(self) -> &'static str {
        match self {
            Action::Create => "create",
            Action::Promote => "promote",
            Action::Modify => "modify",
            Action::Delete => "delete",
        }
    }
}

/// A proposed change.
#[derive(Clone, Debug, PartialEq)]
pub struct Proposal {
    pub id: u32,
    pub action: Action,
    pub a: u32,
    pub b: u32,
    /// Connection concerned (0 for Create).
    pub connection: u32,
    pub confidence: f32,
    pub evidence: f32,
}

/// The experience log and co-activation counts.
#[derive(Clone, Debug, Default)]
pub struct Intuition {
    pub experiences: Vec<Experience>,
    /// Weighted co-activation count of ordered pairs (a, b).
    pub pairs: HashMap<(u32, u32), f32>,
    /// Bad feedback per connection id since it was last modified.
    pub complaints: HashMap<u32, u32>,
    pub next_proposal: u32,
}

impl Intuition {
    fn push(&mut self, e: Experience) {
        if self.experiences.len() == EXPERIENCE_LIMIT {
            self.experiences.remove(0);
        }
        self.experiences.push(e);
    }

    /// A query with its source tokens and the tokens it returned: each source co-activates
    /// with the top results (weight falling with rank).
    pub fn observe_query(&mut self, time: f64, sources: &[u32], results: &[u32]) {
        for s in sources {
            for (rank, r) in results.iter().take(5).enumerate() {
                if s != r {
                    *self.pairs.entry((*s, *r)).or_insert(0.0) += 1.0 / (rank as f32 + 1.0);
                }
            }
        }
        let mut tokens = sources.to_vec();
        tokens.extend_from_slice(results);
        self.push(Experience {
            time,
            kind: "query".into(),
            tokens,
        });
    }

    /// Feedback on (source -> target): good feedback is strong co-activation evidence; bad
    /// feedback counts against the connections it touched.
    pub fn observe_feedback(
        &mut self,
        time: f64,
        sources: &[u32],
        target: u32,
        good: bool,
        touched: &[u32],
    ) {
        for s in sources {
            if *s == target {
                continue;
            }
            let e = self.pairs.entry((*s, target)).or_insert(0.0);
            if good {
                *e += 2.0;
            } else {
                *e = (*e - 2.0).max(0.0);
            }
        }
        if !good {
            for c in touched {
                *self.complaints.entry(*c).or_insert(0) += 1;
            }
        }
        let mut tokens = sources.to_vec();
        tokens.push(target);
        self.push(Experience {
            time,
            kind: if good { "feedback+" } else { "feedback-" }.into(),
            tokens,
        });
    }

    /// Tokens activated together (e.g. a selection): every ordered pair co-activates, or
    /// for more than `COACTIVATION_ALL_PAIRS` tokens every pair within
    /// `COACTIVATION_WINDOW` places of each other.
    pub fn observe_coactivation(&mut self, time: f64, tokens: &[u32]) {
        let reach = if tokens.len() <= COACTIVATION_ALL_PAIRS {
            tokens.len()
        } else {
            COACTIVATION_WINDOW
        };
        for (i, a) in tokens.iter().enumerate() {
            let hi = (i + reach + 1).min(tokens.len());
            for b in &tokens[i.saturating_sub(reach)..hi] {
                if a != b {
                    *self.pairs.entry((*a, *b)).or_insert(0.0) += 1.0;
                }
            }
        }
        self.push(Experience {
            time,
            kind: "coactivation".into(),
            tokens: tokens.to_vec(),
        });
    }

    fn proposal(
        &mut self,
        action: Action,
        a: u32,
        b: u32,
        connection: u32,
        confidence: f32,
        evidence: f32,
    ) -> Proposal {
        self.next_proposal += 1;
        Proposal {
            id: self.next_proposal,
            action,
            a,
            b,
            connection,
            confidence,
            evidence,
        }
    }

    /// Proposals from the evidence so far. `connected(a, b)` tells whether a -> b exists;
    /// `hypotheses` lists (connection id, a, b, confidence, evidence count) of hypothesis
    /// connections; `known(id)` whether a connection still exists. Sorted, deterministic.
    pub fn propose(
        &mut self,
        connected: impl Fn(u32, u32) -> bool,
        exists: impl Fn(u32) -> bool,
        hypotheses: &[(u32, u32, u32, f32, u16)],
    ) -> Vec<Proposal> {
        let mut out = Vec::new();
        let mut pairs: Vec<((u32, u32), f32)> = self
            .pairs
            .iter()
            .filter(|(_, w)| **w >= PROPOSE_AT)
            .map(|(k, w)| (*k, *w))
            .collect();
        pairs.sort_by(|x, y| y.1.total_cmp(&x.1).then(x.0.cmp(&y.0)));
        for ((a, b), w) in pairs {
            if exists(a) && exists(b) && !connected(a, b) {
                let conf = (0.1 * w).clamp(0.2, 0.6);
                let p = self.proposal(Action::Create, a, b, 0, conf, w);
                out.push(p);
            }
        }
        for &(cid, a, b, conf, evidence) in hypotheses {
            if conf >= PROMOTE_CONFIDENCE && evidence >= PROMOTE_EVIDENCE {
                let p = self.proposal(Action::Promote, a, b, cid, conf, evidence as f32);
                out.push(p);
            } else if conf < crate::connection::HYPOTHESIS_FLOOR {
                let p = self.proposal(Action::Delete, a, b, cid, conf, evidence as f32);
                out.push(p);
            }
        }
        let mut complaints: Vec<(u32, u32)> = self
            .complaints
            .iter()
            .filter(|(_, n)| **n >= 2)
            .map(|(c, n)| (*c, *n))
            .collect();
        complaints.sort_unstable();
        for (cid, n) in complaints {
            if exists(cid) {
                let p = self.proposal(Action::Modify, 0, 0, cid, 0.0, n as f32);
                out.push(p);
            }
        }
        out
    }

    /// Forget the co-activation evidence about these tokens (they were deleted), so it
    /// never applies to a later token that gets the same id; the experience log stays as
    /// history. `tokens` is sorted.
    pub fn forget_tokens(&mut self, tokens: &[u32]) {
        if !self.pairs.is_empty() {
            let gone = |t: &u32| tokens.binary_search(t).is_ok();
            self.pairs.retain(|(a, b), _| !gone(a) && !gone(b));
        }
    }

    /// Forget the evidence about connections that no longer exist. `connections` is sorted.
    pub fn forget_connections(&mut self, connections: &[u32]) {
        if !self.complaints.is_empty() {
            self.complaints
                .retain(|c, _| connections.binary_search(c).is_err());
        }
    }

    /// Forget the evidence behind an applied proposal.
    pub fn settle(&mut self, p: &Proposal) {
        match p.action {
            Action::Create => {
                self.pairs.remove(&(p.a, p.b));
            }
            Action::Modify => {
                self.complaints.remove(&p.connection);
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_coactivation_becomes_a_create_proposal() {
        let mut i = Intuition::default();
        i.observe_query(0.0, &[1], &[2, 3]);
        assert!(i.propose(|_, _| false, |_| true, &[]).is_empty());
        i.observe_feedback(1.0, &[1], 2, true, &[]);
        let p = i.propose(|_, _| false, |_| true, &[]);
        assert_eq!(p.len(), 1);
        assert_eq!((p[0].action, p[0].a, p[0].b), (Action::Create, 1, 2));
        // an existing connection is not proposed again
        assert!(i.propose(|a, b| (a, b) == (1, 2), |_| true, &[]).is_empty());
    }

    #[test]
    fn promotions_deletions_and_modifications() {
        let mut i = Intuition::default();
        let hyp = [(10, 1, 2, 0.9, 3), (11, 1, 3, 0.05, 1), (12, 1, 4, 0.5, 9)];
        i.observe_feedback(0.0, &[1], 5, false, &[20]);
        i.observe_feedback(0.0, &[1], 5, false, &[20]);
        let p = i.propose(|_, _| true, |_| true, &hyp);
        let acts: Vec<_> = p.iter().map(|p| (p.action, p.connection)).collect();
        assert_eq!(
            acts,
            vec![
                (Action::Promote, 10),
                (Action::Delete, 11),
                (Action::Modify, 20)
            ]
        );
        i.settle(&p[2]);
        assert!(i.complaints.is_empty());
    }

    #[test]
    fn a_large_coactivation_is_linear_and_keeps_near_pairs() {
        let mut i = Intuition::default();
        let ids: Vec<u32> = (1..=3000).collect();
        i.observe_coactivation(0.0, &ids);
        assert_eq!(i.pairs.len(), 2 * (3000 * 8 - (8 * 9) / 2));
        assert!(i.pairs.contains_key(&(10, 18)) && !i.pairs.contains_key(&(10, 19)));
        let small: Vec<u32> = (1..=10).collect();
        let mut j = Intuition::default();
        j.observe_coactivation(0.0, &small);
        assert_eq!(j.pairs.len(), 90);
    }

    #[test]
    fn forgotten_tokens_leave_no_evidence() {
        let mut i = Intuition::default();
        for _ in 0..3 {
            i.observe_coactivation(0.0, &[1, 2, 3]);
        }
        i.forget_tokens(&[2]);
        assert!(i.pairs.keys().all(|(a, b)| *a != 2 && *b != 2));
        assert_eq!(i.pairs.len(), 2);
    }
}
