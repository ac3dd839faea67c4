//! Bootstrap from embeddings, semantic query, feedback and the IntuitionEngine, over the store.

use super::connections::{Column, ConnectionBatch};
use super::tokens::TokenBatch;
use super::{RuntimeStorage, State};
use crate::bootstrap::{normalize_rows, pca, top_k_one, topk_cosine_progress, word_ids, Pca, Q8};
use crate::connection::{LearnOutcome, Mutability};
use crate::error::{NgError, Result};
use crate::guardian::{now_f64, Guardian};
use crate::intuition::{Action, Proposal};
use crate::progress::Progress;
use crate::space::{space_max, NUM_AXES, NUM_SPACES, SPACE_NAMES};
use std::collections::HashMap;
use std::sync::Arc;

/// Token id of a vocabulary row whose token was deleted (0 is never a token id).
pub const DEAD: u32 = 0;

/// What a bootstrap keeps: the vocabulary, the token of each word, the L2-normalised
/// embeddings (cosine queries run in the original space) and the PCA that placed them.
///
/// The vocabulary follows its tokens: deleting a word's token removes the word (its row is
/// marked `DEAD` and skipped by queries; rows are compacted once a quarter are dead, and
/// snapshots hold live rows only).
#[derive(Clone, Debug)]
pub struct BootState {
    pub words: Vec<String>,
    /// Token of each row, `DEAD` where the token was deleted.
    pub ids: Vec<u32>,
    pub dim: usize,
    pub vectors: Vec<f32>,
    /// Live words -> row.
    pub index: HashMap<String, usize>,
    /// Live token ids -> row.
    pub row_of: rustc_hash::FxHashMap<u32, usize>,
    /// Rows marked `DEAD`.
    pub dead: usize,
    pub pca: Pca,
    /// (space, first PCA axis) of every space the words were placed in.
    pub spaces: Vec<(usize, usize)>,
    pub seed: u32,
    /// int8 copy of `vectors` for fast single queries, made on the first one.
    pub q8: std::sync::OnceLock<Q8>,
}

impl BootState {
    pub fn new(
        words: Vec<String>,
        ids: Vec<u32>,
        dim: usize,
        vectors: Vec<f32>,
        pca: Pca,
        spaces: Vec<(usize, usize)>,
        seed: u32,
    ) -> Self {
        let index = words
            .iter()
            .enumerate()
            .map(|(i, w)| (w.clone(), i))
            .collect();
        let row_of = ids.iter().enumerate().map(|(i, id)| (*id, i)).collect();
        BootState {
            words,
            ids,
            dim,
            vectors,
            index,
            row_of,
            dead: 0,
            pca,
            spaces,
            seed,
            q8: std::sync::OnceLock::new(),
        }
    }

    fn row(&self, i: usize) -> &[f32] {
        &self.vectors[i * self.dim..(i + 1) * self.dim]
    }

    /// Words still in the vocabulary.
    pub fn live(&self) -> usize {
        self.words.len() - self.dead
    }

    /// Rows of the live words, in vocabulary order.
    pub fn live_rows(&self) -> impl Iterator<Item = usize> + '_ {
        (0..self.ids.len()).filter(|i| self.ids[*i] != DEAD)
    }

    /// Whether any of these tokens is a word's token.
    pub fn holds_any(&self, tokens: &[u32]) -> bool {
        tokens.iter().any(|t| self.row_of.contains_key(t))
    }

    /// Drop the words of deleted tokens; returns how many went.
    pub fn forget_tokens(&mut self, tokens: &[u32]) -> usize {
        let mut n = 0;
        for t in tokens {
            if let Some(row) = self.row_of.remove(t) {
                self.ids[row] = DEAD;
                self.index.remove(&self.words[row]);
                self.dead += 1;
                n += 1;
            }
        }
        if self.dead > 0 && self.dead * 4 >= self.words.len() {
            *self = self.compacted();
        }
        n
    }

    /// A copy holding the live rows only.
    pub fn compacted(&self) -> BootState {
        let rows: Vec<usize> = self.live_rows().collect();
        let words = rows.iter().map(|r| self.words[*r].clone()).collect();
        let ids = rows.iter().map(|r| self.ids[*r]).collect();
        let mut vectors = Vec::with_capacity(rows.len() * self.dim);
        for r in &rows {
            vectors.extend_from_slice(self.row(*r));
        }
        BootState::new(
            words,
            ids,
            self.dim,
            vectors,
            self.pca.clone(),
            self.spaces.clone(),
            self.seed,
        )
    }

    /// Closest known spellings of a word (edit distance), for error messages.
    pub fn suggest(&self, word: &str, n: usize) -> Vec<String> {
        let lw = word.to_lowercase();
        let mut scored: Vec<(usize, &String)> = self
            .index
            .keys()
            .map(|w| (levenshtein(&lw, &w.to_lowercase()), w))
            .collect();
        scored.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.cmp(b.1)));
        scored.into_iter().take(n).map(|(_, w)| w.clone()).collect()
    }
}

fn levenshtein(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            cur[j + 1] = (prev[j] + (ca != *cb) as usize)
                .min(prev[j + 1] + 1)
                .min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

/// How to bootstrap.
#[derive(Clone, Debug)]
pub struct BootOptions {
    /// Spaces to place words in; space j gets PCA axes 3j..3j+3.
    pub spaces: Vec<usize>,
    /// Neighbours woven per word (0: none).
    pub k: usize,
    pub seed: u32,
    /// Replace an earlier bootstrap (its tokens and their connections are deleted).
    pub replace: bool,
    /// Progress of the weaving, and a cancel flag (cancelling leaves the store untouched).
    pub progress: Option<Arc<Progress>>,
}

/// What a bootstrap did.
#[derive(Clone, Debug, Default)]
pub struct BootReport {
    pub words: usize,
    pub dim: usize,
    pub collisions: Vec<(String, u32, u32)>,
    pub explained_ratio: Vec<f64>,
    pub connections: usize,
    pub dropped_for_degree: usize,
}

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
    /// Map embeddings into the spaces and weave kNN connections: all or nothing.
    pub fn bootstrap(
        &self,
        words: Vec<String>,
        mut data: Vec<f32>,
        dim: usize,
        opt: &BootOptions,
    ) -> Result<BootReport> {
        let n = words.len();
        crate::bootstrap::check_weave(n, opt.k, self.read().cdna.max_out_degree as usize)?;
        if dim == 0 || data.len() != n * dim {
            return Err(NgError::invalid(
                "embeddings",
                format!("{} values", data.len()),
                format!("expected {n} words x {dim} dims"),
            ));
        }
        if n < 2 {
            return Err(NgError::invalid(
                "words",
                n,
                "a bootstrap needs at least 2 words",
            ));
        }
        if opt.spaces.is_empty() || opt.spaces.len() * 3 > dim.min(n) {
            let reason = if dim.min(n) < 3 {
                format!(
                    "placing words in a space takes 3 principal axes, so at least 3 words and \
                     3 dimensions; got {n} words of {dim} dimensions"
                )
            } else {
                format!(
                    "{n} words of {dim} dimensions fill at most {} spaces (3 principal axes each)",
                    dim.min(n) / 3
                )
            };
            return Err(NgError::invalid("spaces", opt.spaces.len(), reason));
        }
        if let Some(j) = (1..opt.spaces.len()).find(|j| opt.spaces[..*j].contains(&opt.spaces[*j]))
        {
            return Err(NgError::invalid(
                "spaces",
                SPACE_NAMES.get(opt.spaces[j]).copied().unwrap_or("?"),
                "a space is named twice",
            ));
        }
        let mut seen = HashMap::with_capacity(n);
        for (i, w) in words.iter().enumerate() {
            if w.is_empty() {
                return Err(NgError::invalid(
                    format!("words[{i}]"),
                    "\"\"",
                    "words must not be empty",
                ));
            }
            if let Some(j) = seen.insert(w.as_str(), i) {
                return Err(NgError::invalid(
                    format!("words[{i}]"),
                    w,
                    format!("repeats words[{j}]"),
                ));
            }
        }
        if let Some(i) = data.iter().position(|v| !v.is_finite()) {
            return Err(NgError::invalid(
                format!("embeddings[{}]", i / dim),
                words[i / dim].clone(),
                "holds a non-finite value",
            ));
        }
        drop(seen);
        normalize_rows(&mut data, dim);
        let model = pca(&data, n, dim, opt.spaces.len() * 3)?;
        let mut coords = vec![f32::NAN; n * NUM_SPACES * NUM_AXES];
        for (j, space) in opt.spaces.iter().enumerate() {
            let pts = model.project3(&data, n, 3 * j)?;
            let lim = space_max(*space) * 0.999;
            let spread: Vec<f32> = (0..3)
                .map(|a| 3.0 * (model.explained_variance[3 * j + a].sqrt() as f32))
                .collect();
            for (i, p) in pts.iter().enumerate() {
                for a in 0..3 {
                    let v = if spread[a] > 0.0 {
                        p[a] / spread[a] * 0.9 * lim
                    } else {
                        0.0
                    };
                    coords[(i * NUM_SPACES + space) * NUM_AXES + a] = v.clamp(-lim, lim);
                }
            }
        }
        let weave = if opt.k > 0 {
            Some(topk_cosine_progress(
                &data,
                n,
                dim,
                &data,
                n,
                opt.k,
                true,
                opt.progress.as_deref(),
            )?)
        } else {
            None
        };

        let mut st = self.state_write();
        // The commit point: a cancel before it changed nothing; from here on it is refused
        // and the bootstrap finishes (or rolls back on error) and returns its report.
        crate::progress::commit(opt.progress.as_deref())?;
        let st = &mut *st;
        let target = format!("{n} words");
        if st.boot.is_some() && !opt.replace {
            let e = NgError::invalid(
                "bootstrap",
                "again",
                "this runtime already holds a bootstrap; pass replace=True to replace it",
            );
            st.guardian
                .record(&st.cdna, "bootstrap", target, false, e.to_string());
            return Err(e);
        }
        let spaces: Vec<(usize, usize)> = opt
            .spaces
            .iter()
            .enumerate()
            .map(|(j, s)| (*s, 3 * j))
            .collect();
        let plan = Plan {
            words: &words,
            coords: &coords,
            weave: weave.as_ref(),
            seed: opt.seed,
        };
        // All or nothing: a failure (or a panic) anywhere below puts the stores back as
        // they were before the first change.
        let undo = Undo::take(st);
        let applied = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| plan.apply(st)));
        let applied = match applied {
            Ok(r) => r,
            Err(panic) => Err(NgError::Internal(crate::error::panic_message(&*panic))),
        };
        drop(weave);
        let (ids, mut report) = match applied {
            Ok(r) => r,
            Err(e) => {
                undo.restore(st);
                crate::mem::release_free_memory();
                st.guardian
                    .record(&st.cdna, "bootstrap", target, false, e.to_string());
                return Err(e);
            }
        };
        report.dim = dim;
        report.explained_ratio = model.explained_ratio.clone();
        st.boot = Some(Arc::new(BootState::new(
            words, ids, dim, data, model, spaces, opt.seed,
        )));
        drop(undo);
        crate::mem::release_free_memory();
        let names: Vec<&str> = opt.spaces.iter().map(|s| SPACE_NAMES[*s]).collect();
        st.guardian.record(
            &st.cdna,
            "bootstrap",
            target,
            true,
            format!(
                "{} connections into {}",
                report.connections,
                names.join(", ")
            ),
        );
        Ok(report)
    }

    /// The current bootstrap, if any.
    pub fn boot(&self) -> Option<Arc<BootState>> {
        self.read().boot.clone()
    }

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
        let mut qs = queries.to_vec();
        let norms = normalize_rows(&mut qs, boot.dim);
        if let Some(r) = norms.iter().position(|v| !(v.is_finite() && *v > 1e-12)) {
            return Err(NgError::invalid(
                format!("queries[{r}]"),
                if norms[r].is_finite() {
                    "zero vector"
                } else {
                    "non-finite"
                },
                "every query row needs a finite, non-zero direction",
            ));
        }
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
        let now = crate::cdna::now_secs() as u32;
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
        Ok(out)
    }

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
    let now = crate::cdna::now_secs() as u32;
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

/// What a bootstrap writes: tokens for the words (ids hashed from the words), and the woven
/// connections, replacing an earlier bootstrap's tokens.
struct Plan<'a> {
    words: &'a [String],
    coords: &'a [f32],
    /// (neighbour rows, similarities, k) of the weave.
    weave: Option<&'a (Vec<u32>, Vec<f32>, usize)>,
    seed: u32,
}

impl Plan<'_> {
    /// Write into the stores; on error the caller restores them (see `Undo`).
    fn apply(&self, st: &mut State) -> Result<(Vec<u32>, BootReport)> {
        let n = self.words.len();
        let old_ids: Vec<u32> = match &st.boot {
            Some(b) => {
                let mut v: Vec<u32> = b.live_rows().map(|r| b.ids[r]).collect();
                v.sort_unstable();
                v
            }
            None => Vec::new(),
        };
        let live = st.tokens.len() - old_ids.len();
        let tokens = &st.tokens;
        let (ids, collisions) = word_ids(self.words, self.seed, live, |id| {
            tokens.contains(id) && old_ids.binary_search(&id).is_err()
        })?;
        if !old_ids.is_empty() {
            st.connections.remove_touching(&old_ids);
            st.tokens.remove(&old_ids);
            st.intuition.forget_tokens(&old_ids);
            st.boot = None;
        }
        let entities = vec![5u8; n]; // concept
        let labels: Vec<Option<String>> = self.words.iter().cloned().map(Some).collect();
        let batch = TokenBatch {
            coords: self.coords,
            entities: Some(&entities),
            labels: Some(labels),
            ids: Some(&ids),
            undefined_nan: true,
            default_weight: 1.0,
            ..Default::default()
        };
        let prepared = st.tokens.prepare(&batch, &st.cdna)?;
        st.tokens.commit(prepared);
        let mut report = BootReport {
            words: n,
            collisions,
            ..Default::default()
        };
        if let Some((idx, sims, k)) = self.weave {
            let (a, b, s, dropped) = degree_limited_edges(&ids, idx, sims, *k, &st.cdna);
            report.dropped_for_degree = dropped;
            let cb = ConnectionBatch {
                strengths: Column::Each(&s),
                ..ConnectionBatch::associated(&a, &b)
            };
            let recs = st.connections.prepare(&cb, &st.tokens, &st.cdna)?;
            report.connections = recs.records.len();
            st.connections.commit(recs);
        }
        Ok((ids, report))
    }
}

/// The stores as they were before a bootstrap, to put back if it fails.
struct Undo {
    tokens: super::tokens::TokenStore,
    connections: super::connections::ConnectionStore,
    boot: Option<Arc<BootState>>,
    intuition: crate::intuition::Intuition,
}

impl Undo {
    fn take(st: &State) -> Undo {
        Undo {
            tokens: st.tokens.clone(),
            connections: st.connections.clone(),
            boot: st.boot.clone(),
            intuition: st.intuition.clone(),
        }
    }

    fn restore(self, st: &mut State) {
        st.tokens = self.tokens;
        st.connections = self.connections;
        st.boot = self.boot;
        st.intuition = self.intuition;
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

/// Weave edges i -> neighbour, strongest first, keeping every token within the CDNA degree
/// limits (new tokens start at degree 0). Returns (a, b, strengths, dropped).
fn degree_limited_edges(
    ids: &[u32],
    idx: &[u32],
    sims: &[f32],
    k: usize,
    cdna: &crate::cdna::Cdna,
) -> (Vec<u32>, Vec<u32>, Vec<f32>, usize) {
    let n = ids.len();
    let mut order: Vec<usize> = (0..n * k).collect();
    order.sort_by(|x, y| sims[*y].total_cmp(&sims[*x]).then(x.cmp(y)));
    let (mut out_d, mut in_d) = (vec![0u32; n], vec![0u32; n]);
    let (mut a, mut b, mut s) = (
        Vec::with_capacity(n * k),
        Vec::with_capacity(n * k),
        Vec::with_capacity(n * k),
    );
    let mut dropped = 0;
    let mut keep = vec![false; n * k];
    for e in order {
        let (i, j) = (e / k, idx[e] as usize);
        let ok = out_d[i] < cdna.max_out_degree
            && in_d[j] < cdna.max_in_degree
            && out_d[i] + in_d[i] < cdna.max_total_degree
            && out_d[j] + in_d[j] < cdna.max_total_degree;
        if ok {
            out_d[i] += 1;
            in_d[j] += 1;
            keep[e] = true;
        } else {
            dropped += 1;
        }
    }
    // Similarities become strengths within the CDNA's bounds (non-negative where the
    // bounds allow it); max/min, unlike clamp, never panic on odd bounds.
    let hi = cdna.strength_max;
    let lo = cdna.strength_min.max(0.0).min(hi);
    for e in 0..n * k {
        if keep[e] {
            a.push(ids[e / k]);
            b.push(ids[idx[e] as usize]);
            s.push(sims[e].max(lo).min(hi));
        }
    }
    (a, b, s, dropped)
}
