//! Semantic queries over the bootstrap's vocabulary, and feedback on their answers.

use super::vocabulary::{BootState, DEAD};
use super::RuntimeStorage;
use crate::bootstrap::{normalize_rows, top_k_one, topk_cosine_progress, Q8};
use crate::clock::now_f64;
use crate::connection::LearnOutcome;
use crate::error::{NgError, Result};
use crate::progress::Progress;

/// One semantic query: a signed sum of words, or a vector.
#[derive(Clone, Debug)]
pub enum QueryInput {
    Terms(Vec<(String, f32)>),
    Vector(Vec<f32>),
}

/// Hits of a semantic query.
#[derive(Clone, Debug, Default)]
pub struct SemanticHits {
    pub ids: Vec<u32>,
    pub scores: Vec<f32>,
    pub words: Vec<String>,
}

impl RuntimeStorage {
    /// Rank the vocabulary by cosine to a query (words in the query are left out).
    pub fn semantic_query(&self, input: &QueryInput, k: usize) -> Result<SemanticHits> {
        let boot = self.boot().ok_or_else(no_bootstrap)?;
        let (q, exclude) = query_vector(&boot, input)?;
        if k == 0 {
            return Ok(SemanticHits::default());
        }
        // Ask for enough rows that k remain after the query's own words and dead rows.
        let want = k
            .saturating_add(exclude.len())
            .saturating_add(boot.dead)
            .min(boot.words.len());
        let q8 = boot.q8.get_or_init(|| Q8::new(&boot.vectors, boot.dim));
        let (idx, scores) = top_k_one(&boot.vectors, q8, &q, want);
        let mut hits = SemanticHits::default();
        for (i, s) in idx.iter().zip(&scores) {
            let i = *i as usize;
            if exclude.contains(&i) || boot.ids[i] == DEAD || hits.ids.len() == k {
                continue;
            }
            hits.ids.push(boot.ids[i]);
            hits.scores.push(s.clamp(-1.0, 1.0));
            hits.words.push(boot.words[i].clone());
        }
        let sources: Vec<u32> = exclude.iter().map(|i| boot.ids[*i]).collect();
        let mut st = self.state_write();
        st.intuition.observe_query(now_f64(), &sources, &hits.ids);
        Ok(hits)
    }

    /// Many queries at once: (token ids, scores), row-major (q, k).
    pub fn semantic_query_many(
        &self,
        queries: &[f32],
        q: usize,
        k: usize,
        progress: Option<&Progress>,
    ) -> Result<(Vec<u32>, Vec<f32>, usize)> {
        let boot = self.boot().ok_or_else(no_bootstrap)?;
        if queries.len() != q * boot.dim {
            return Err(NgError::invalid(
                "queries",
                format!("{} values", queries.len()),
                format!("expected ({q}, {})", boot.dim),
            ));
        }
        // Like a single query, a row with no direction (or NaN/inf) has no nearest words.
        for (row, v) in queries.chunks(boot.dim.max(1)).enumerate() {
            if let Some(x) = v.iter().find(|x| !x.is_finite()) {
                let problem = format!("holds {x}: query vectors must be finite");
                return Err(NgError::QueryRow { row, problem });
            }
            if v.iter()
                .map(|x| (*x as f64) * (*x as f64))
                .sum::<f64>()
                .sqrt()
                <= 1e-12
            {
                let problem = "is a zero vector: it has no direction to rank words by".into();
                return Err(NgError::QueryRow { row, problem });
            }
        }
        let mut qs = queries.to_vec();
        normalize_rows(&mut qs, boot.dim);
        let n = boot.words.len();
        let want = k.saturating_add(boot.dead).min(n);
        let (idx, scores, got) =
            topk_cosine_progress(&boot.vectors, n, boot.dim, &qs, q, want, false, progress)?;
        if boot.dead == 0 {
            return Ok((
                idx.iter().map(|i| boot.ids[*i as usize]).collect(),
                scores,
                got,
            ));
        }
        // Keep the first k live rows of each query's ranking.
        let k = k.min(boot.live());
        let (mut ids, mut out) = (Vec::with_capacity(q * k), Vec::with_capacity(q * k));
        for r in 0..q {
            let row = (r * got..(r + 1) * got).filter(|e| boot.ids[idx[*e] as usize] != DEAD);
            for e in row.take(k) {
                ids.push(boot.ids[idx[e] as usize]);
                out.push(scores[e]);
            }
        }
        Ok((ids, out, k))
    }

    /// The query words' tokens of a text query.
    pub fn query_tokens(&self, input: &QueryInput) -> Result<Vec<u32>> {
        let boot = self.boot().ok_or_else(no_bootstrap)?;
        let (_, rows) = query_vector(&boot, input)?;
        Ok(rows.iter().map(|r| boot.ids[*r]).collect())
    }

    /// Feedback that `target` was a good (or bad) answer for `sources`: every connection
    /// source -> target learns by the Connection V3 rules, and the experience is recorded.
    pub fn feedback(
        &self,
        sources: &[u32],
        target: u32,
        good: bool,
    ) -> Result<Vec<(u32, LearnOutcome)>> {
        let mut st = self.state_write();
        let st = &mut *st;
        for t in sources.iter().chain(std::iter::once(&target)) {
            if !st.tokens.contains(*t) {
                return Err(NgError::TokenNotFound(*t));
            }
        }
        let now = crate::clock::now_secs() as u32;
        let mut out = Vec::new();
        let mut drop = Vec::new();
        for c in st.connections.records.iter_mut() {
            if c.token_b == target && sources.contains(&c.token_a) {
                let r = c.apply_feedback(good, now);
                if r == LearnOutcome::Drop {
                    drop.push(c.id);
                }
                out.push((c.id, r));
            }
        }
        if out.iter().any(|(_, r)| *r != LearnOutcome::Unchanged) {
            st.connections.touch();
        }
        st.connections.remove(&drop);
        drop.sort_unstable();
        st.intuition.forget_connections(&drop);
        let touched: Vec<u32> = out.iter().map(|(c, _)| *c).collect();
        st.intuition
            .observe_feedback(now_f64(), sources, target, good, &touched);
        let kind = if good {
            "feedback.good"
        } else {
            "feedback.bad"
        };
        st.guardian.record(
            &st.cdna,
            kind,
            format!("token {target}"),
            true,
            format!("{} connections", out.len()),
        );
        let learned: Vec<u32> = out
            .iter()
            .filter(|(_, r)| *r == LearnOutcome::Updated)
            .map(|(c, _)| *c)
            .collect();
        if !learned.is_empty() {
            self.emit(st, super::events::Change::ConnectionsLearned(&learned));
        }
        if !drop.is_empty() {
            self.emit(st, super::events::Change::ConnectionsDeleted(&drop));
        }
        Ok(out)
    }
}

fn no_bootstrap() -> NgError {
    NgError::invalid(
        "query",
        "text",
        "this runtime has no bootstrap yet: call rt.bootstrap(...) with embeddings first",
    )
}

/// The normalised query vector and the vocabulary rows it names.
fn query_vector(boot: &BootState, input: &QueryInput) -> Result<(Vec<f32>, Vec<usize>)> {
    let mut q = vec![0f32; boot.dim];
    let mut rows = Vec::new();
    match input {
        QueryInput::Terms(terms) => {
            if terms.is_empty() {
                return Err(NgError::invalid("query", "\"\"", "the query has no words"));
            }
            for (w, sign) in terms {
                let Some(&i) = boot.index.get(w) else {
                    let s = boot.suggest(w, 3);
                    return Err(NgError::invalid(
                        "word",
                        w,
                        format!("not in the vocabulary; did you mean: {}?", s.join(", ")),
                    ));
                };
                for (d, v) in q.iter_mut().zip(boot.row(i)) {
                    *d += sign * v;
                }
                rows.push(i);
            }
        }
        QueryInput::Vector(v) => {
            if v.len() != boot.dim {
                return Err(NgError::invalid(
                    "vector",
                    format!("{} values", v.len()),
                    format!("expected {}", boot.dim),
                ));
            }
            if v.iter().any(|x| !x.is_finite()) {
                return Err(NgError::invalid(
                    "vector",
                    "non-finite",
                    "query vectors must be finite",
                ));
            }
            q.copy_from_slice(v);
        }
    }
    let norms = normalize_rows(&mut q, boot.dim);
    if norms.first().is_none_or(|n| *n <= 1e-12) {
        return Err(NgError::invalid(
            "query",
            "zero vector",
            "the query has no direction (its words cancel out, or the vector is zero)",
        ));
    }
    Ok((q, rows))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::bootstrap::fixture::{animals, token, VECTORS};

    fn terms(words: &[(&str, f32)]) -> QueryInput {
        QueryInput::Terms(words.iter().map(|(w, s)| (w.to_string(), *s)).collect())
    }

    #[test]
    fn a_query_ranks_the_vocabulary_by_cosine_without_its_own_words() {
        let (rt, _) = animals();
        let hits = rt.semantic_query(&terms(&[("cat", 1.0)]), 2).unwrap();
        // dog is nearly parallel to cat; pear shares a little of its second axis
        assert_eq!(hits.words, ["dog", "pear"]);
        assert_eq!(hits.ids, [token(&rt, "dog"), token(&rt, "pear")]);
        let cat_dog = 1.06 / (1.04f32.sqrt() * 1.1f32.sqrt());
        assert!((hits.scores[0] - cat_dog).abs() < 0.02, "{:?}", hits.scores);
        assert!(hits.scores[1] < 0.1);
        // a sum of words: car + apple is nearest to truck (which shares a little of apple's
        // axis) and pear (which does not share car's), then the rest
        let hits = rt
            .semantic_query(&terms(&[("car", 1.0), ("apple", 1.0)]), 3)
            .unwrap();
        assert_eq!(hits.words[..2], ["truck", "pear"]);
        assert_eq!(
            rt.query_tokens(&terms(&[("dog", 1.0)])).unwrap(),
            [token(&rt, "dog")]
        );
    }

    #[test]
    fn batched_query_rows_need_a_finite_direction() {
        let (rt, _) = animals();
        let mut q = VECTORS[..12].to_vec();
        assert_eq!(rt.semantic_query_many(&q, 2, 1, None).unwrap().2, 1);
        q[7] = f32::NAN;
        let e = rt.semantic_query_many(&q, 2, 1, None).unwrap_err();
        assert_eq!(
            e.to_string(),
            "query row 1 holds NaN: query vectors must be finite"
        );
        q[6..].fill(0.0);
        let e = rt.semantic_query_many(&q, 2, 1, None).unwrap_err();
        assert!(matches!(e, NgError::QueryRow { row: 1, .. }), "{e}");
    }

    #[test]
    fn the_vocabulary_reads_follow_deleted_words() {
        let fresh = RuntimeStorage::new();
        assert!(fresh.bootstrap_info().is_none());
        assert!(matches!(
            fresh.bootstrap_vocabulary(),
            Err(NgError::NoBootstrap)
        ));
        assert_eq!(fresh.has_words(&["cat".into()]), [false]);
        let (rt, _) = animals();
        rt.delete_tokens(&[token(&rt, "dog")]).unwrap();
        let (words, ids) = rt.bootstrap_vocabulary().unwrap();
        assert_eq!(words, ["cat", "car", "truck", "apple", "pear"]);
        assert_eq!(ids[0], token(&rt, "cat"));
        let (v, dim) = rt.bootstrap_vectors().unwrap();
        assert_eq!((v.len(), dim), (5 * 6, 6));
        assert_eq!(rt.has_words(&["dog".into(), "pear".into()]), [false, true]);
        let info = rt.bootstrap_info().unwrap();
        assert_eq!((info.words, info.dim, info.seed), (5, 6, 7));
        assert_eq!(info.spaces, [("cognitive", 0)]);
    }

    #[test]
    fn bootstrap_arguments_are_checked_before_anything_is_written() {
        use crate::storage::bootstrap::fixture::{options, words};
        let rt = RuntimeStorage::new();
        let e = rt.bootstrap(words(), VECTORS[..30].to_vec(), 6, &options(1));
        assert!(matches!(
            e,
            Err(NgError::WordVectorCount {
                words: 6,
                vectors: 5
            })
        ));
        let mut twice = options(1);
        twice.spaces = vec![4, 4];
        let e = rt
            .bootstrap(words(), VECTORS.to_vec(), 6, &twice)
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "each space may be named once, got cognitive twice"
        );
        assert_eq!(rt.read().tokens.records.len(), 0);
    }

    #[test]
    fn query_refusals_name_the_problem() {
        let (rt, _) = animals();
        let e = rt.semantic_query(&terms(&[("kat", 1.0)]), 2).unwrap_err();
        assert!(e.to_string().contains("did you mean: cat"), "{e}");
        let e = rt
            .semantic_query(&terms(&[("cat", 1.0), ("cat", -1.0)]), 2)
            .unwrap_err();
        assert!(e.to_string().contains("no direction"), "{e}");
        let e = rt
            .semantic_query(&QueryInput::Vector(vec![1.0; 5]), 2)
            .unwrap_err();
        assert!(e.to_string().contains("expected 6"), "{e}");
        let empty = RuntimeStorage::new();
        let e = empty
            .semantic_query(&terms(&[("cat", 1.0)]), 2)
            .unwrap_err();
        assert!(e.to_string().contains("no bootstrap yet"), "{e}");
    }

    #[test]
    fn batched_queries_match_single_ones_and_skip_deleted_words() {
        let (rt, _) = animals();
        // the vectors of cat and apple: each finds itself first, then its partner
        let mut q = VECTORS[..6].to_vec();
        q.extend_from_slice(&VECTORS[24..30]);
        let (ids, scores, k) = rt.semantic_query_many(&q, 2, 2, None).unwrap();
        assert_eq!(k, 2);
        let want = ["cat", "dog", "apple", "pear"].map(|w| token(&rt, w));
        assert_eq!(ids, want);
        assert!((scores[0] - 1.0).abs() < 1e-5 && scores[1] < scores[0]);
        // a deleted word leaves the vocabulary and the rankings
        rt.delete_tokens(&[token(&rt, "dog")]).unwrap();
        let (ids, _, _) = rt.semantic_query_many(&q[..6], 1, 2, None).unwrap();
        assert_eq!(ids, [token(&rt, "cat"), token(&rt, "pear")]);
        let hits = rt.semantic_query(&terms(&[("cat", 1.0)]), 1).unwrap();
        assert_eq!(hits.words, ["pear"]);
    }

    #[test]
    fn feedback_teaches_the_connections_from_the_sources_to_the_target() {
        let (rt, _) = animals();
        let (cat, dog, car) = (token(&rt, "cat"), token(&rt, "dog"), token(&rt, "car"));
        let before = rt.read().connections.records.clone();
        let conf = |id: u32| rt.get_connection(id).unwrap().confidence_f();
        let out = rt.feedback(&[cat], dog, true).unwrap();
        // exactly cat -> dog learns (dog -> cat is the other direction)
        assert_eq!(out.len(), 1);
        let (cid, outcome) = out[0];
        assert_eq!(outcome, LearnOutcome::Updated);
        let c = rt.get_connection(cid).unwrap();
        assert_eq!((c.token_a, c.token_b), (cat, dog));
        let was = before.iter().find(|c| c.id == cid).unwrap().confidence_f();
        assert!(conf(cid) > was);
        let out = rt.feedback(&[cat], dog, false).unwrap();
        assert_eq!(out, [(cid, LearnOutcome::Updated)]);
        assert!(conf(cid) < was + 0.1);
        // no connection car -> dog: nothing learns, the experience is still recorded
        assert!(rt.feedback(&[car], dog, true).unwrap().is_empty());
        assert_eq!(rt.read().intuition.experiences.len(), 3);
        let e = rt.feedback(&[cat], 999, true).unwrap_err();
        assert!(matches!(e, NgError::TokenNotFound(999)));
    }
}
