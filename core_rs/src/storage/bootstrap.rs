//! Bootstrap: map embeddings into the spaces and weave kNN connections within the CDNA's
//! degree limits, all or nothing (an `Undo` puts the stores back on any failure).

use super::connections::{Column, ConnectionBatch};
use super::tokens::TokenBatch;
use super::vocabulary::BootState;
use super::{RuntimeStorage, State};
use crate::bootstrap::{normalize_rows, pca, topk_cosine_progress, word_ids, Pca};
use crate::error::{NgError, Result};
use crate::progress::Progress;
use crate::space::{space_max, NUM_AXES, NUM_SPACES, SPACE_NAMES};
use std::collections::HashMap;
use std::sync::Arc;

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
        if dim > 0 && data.len() / dim != n {
            let vectors = data.len() / dim;
            return Err(NgError::WordVectorCount { words: n, vectors });
        }
        if let Some(i) = (0..opt.spaces.len()).find(|&i| opt.spaces[..i].contains(&opt.spaces[i])) {
            return Err(NgError::RepeatedSpace(SPACE_NAMES[opt.spaces[i]]));
        }
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
        let coords = place(&model, &data, n, &opt.spaces)?;
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
        self.emit(
            st,
            super::events::Change::Reset {
                reason: "bootstrap",
            },
        );
        Ok(report)
    }

    /// The current bootstrap, if any.
    pub fn boot(&self) -> Option<Arc<BootState>> {
        self.read().boot.clone()
    }
}

/// Token coordinates (n x 8 x 3, NaN in the spaces not placed) of `n` normalised rows: space
/// `spaces[j]` gets principal axes 3j..3j+3, scaled so 3 standard deviations fill 90% of the
/// space, clamped inside it. The bootstrap and the distributed kernels both place with this.
pub fn place(model: &Pca, data: &[f32], n: usize, spaces: &[usize]) -> Result<Vec<f32>> {
    let m = model.n_axes();
    if let Some(&s) = spaces.iter().find(|&&s| s >= NUM_SPACES) {
        return Err(NgError::invalid("spaces", s, "spaces are 0..=7"));
    }
    if spaces.len() * 3 > m {
        return Err(NgError::invalid(
            "spaces",
            spaces.len(),
            format!(
                "a model of {m} axes places words in at most {} spaces",
                m / 3
            ),
        ));
    }
    let mut coords = vec![f32::NAN; n * NUM_SPACES * NUM_AXES];
    // every space's axes in one pass over the data (space j: axes 3j..3j+3)
    let all = model.project_all(data, n)?;
    if m == 0 {
        return Ok(coords);
    }
    for (j, space) in spaces.iter().enumerate() {
        let pts = all
            .chunks_exact(m)
            .map(|r| [r[3 * j], r[3 * j + 1], r[3 * j + 2]]);
        let lim = space_max(*space) * 0.999;
        let spread: Vec<f32> = (0..3)
            .map(|a| 3.0 * (model.explained_variance[3 * j + a].sqrt() as f32))
            .collect();
        for (i, p) in pts.enumerate() {
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
    Ok(coords)
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

/// Weave edges i -> neighbour, strongest first, keeping every token within the CDNA degree
/// limits (new tokens start at degree 0). Returns (a, b, strengths, dropped).
pub fn degree_limited_edges(
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

/// A small vocabulary whose neighbours are known: three pairs of near-parallel vectors
/// (cat/dog, car/truck, apple/pear) in 6 dimensions, nearly orthogonal across pairs.
#[cfg(test)]
pub(crate) mod fixture {
    use super::*;

    pub const WORDS: [&str; 6] = ["cat", "dog", "car", "truck", "apple", "pear"];
    #[rustfmt::skip]
    pub const VECTORS: [f32; 36] = [
        1.0, 0.2, 0.0, 0.0, 0.0, 0.0, // cat
        1.0, 0.3, 0.0, 0.0, 0.0, 0.1, // dog
        0.0, 0.0, 1.0, 0.2, 0.0, 0.0, // car
        0.0, 0.0, 1.0, 0.3, 0.1, 0.0, // truck
        0.0, 0.0, 0.0, 0.0, 1.0, 0.2, // apple
        0.0, 0.1, 0.0, 0.0, 1.0, 0.3, // pear
    ];
    /// The cognitive space.
    pub const SPACE: usize = 4;

    pub fn options(k: usize) -> BootOptions {
        BootOptions {
            spaces: vec![SPACE],
            k,
            seed: 7,
            replace: false,
            progress: None,
        }
    }

    pub fn words() -> Vec<String> {
        WORDS.iter().map(|w| w.to_string()).collect()
    }

    /// A runtime bootstrapped with the vocabulary, each word woven to its nearest neighbour.
    pub fn animals() -> (RuntimeStorage, BootReport) {
        let rt = RuntimeStorage::new();
        let report = rt
            .bootstrap(words(), VECTORS.to_vec(), 6, &options(1))
            .unwrap();
        (rt, report)
    }

    /// The token of a word.
    pub fn token(rt: &RuntimeStorage, word: &str) -> u32 {
        let boot = rt.boot().unwrap();
        boot.ids[boot.index[word]]
    }
}

#[cfg(test)]
mod tests {
    use super::fixture::*;
    use super::*;
    use crate::storage::Policy;

    fn pairs(rt: &RuntimeStorage) -> Vec<(String, String)> {
        let st = rt.read();
        let label = |t: u32| st.tokens.labels[&t].to_string();
        let mut v: Vec<_> = st
            .connections
            .records
            .iter()
            .map(|c| (label(c.token_a), label(c.token_b)))
            .collect();
        v.sort();
        v
    }

    fn pair(a: &str, b: &str) -> (String, String) {
        (a.to_string(), b.to_string())
    }

    #[test]
    fn words_become_tokens_woven_to_their_nearest_neighbour() {
        let (rt, report) = animals();
        assert_eq!((report.words, report.dim), (6, 6));
        assert_eq!((report.connections, report.dropped_for_degree), (6, 0));
        assert!(report.collisions.is_empty());
        let mut want = vec![
            pair("apple", "pear"),
            pair("car", "truck"),
            pair("cat", "dog"),
            pair("dog", "cat"),
            pair("pear", "apple"),
            pair("truck", "car"),
        ];
        want.sort();
        assert_eq!(pairs(&rt), want);
        let st = rt.read();
        assert_eq!(st.tokens.len(), 6);
        for w in WORDS {
            let t = token(&rt, w);
            let slot = st.tokens.slot(t).unwrap();
            assert_eq!(st.tokens.labels[&t], w);
            // placed in the cognitive space only, as a concept of weight 1
            assert_eq!(st.tokens.defined[slot], 1 << SPACE);
            assert_eq!(st.tokens.records[slot].weight, 1.0);
            assert_eq!(st.tokens.records[slot].entity(), 5);
        }
        // woven strengths are the cosine similarities (cat . dog = 1.06 / |cat| |dog|)
        let cat_dog = 1.06 / (1.04f32.sqrt() * 1.1f32.sqrt());
        let c = st
            .connections
            .records
            .iter()
            .find(|c| c.token_a == token(&rt, "cat"))
            .unwrap();
        assert!(
            (c.pull_strength - cat_dog).abs() < 1e-4,
            "{}",
            c.pull_strength
        );
        let ev = st.guardian.events(Some(1));
        assert_eq!((ev[0].kind.as_str(), ev[0].accepted), ("bootstrap", true));
    }

    #[test]
    fn a_second_bootstrap_needs_replace_and_then_replaces_the_first() {
        let (rt, _) = animals();
        let e = rt
            .bootstrap(words(), VECTORS.to_vec(), 6, &options(1))
            .unwrap_err();
        assert!(e.to_string().contains("replace=True"), "{e}");
        assert_eq!(rt.read().tokens.len(), 6);
        let fewer: Vec<String> = WORDS[..3].iter().map(|w| w.to_string()).collect();
        let opt = BootOptions {
            replace: true,
            ..options(0)
        };
        let report = rt
            .bootstrap(fewer, VECTORS[..18].to_vec(), 6, &opt)
            .unwrap();
        assert_eq!((report.words, report.connections), (3, 0));
        let st = rt.read();
        assert_eq!((st.tokens.len(), st.connections.len()), (3, 0));
        assert_eq!(st.boot.as_ref().unwrap().live(), 3);
    }

    #[test]
    fn a_refused_bootstrap_puts_everything_back() {
        let rt = RuntimeStorage::new();
        let coords = vec![0.25f32; 2 * 24];
        let held = rt
            .create_tokens(&TokenBatch {
                coords: &coords,
                default_weight: 0.5,
                ..Default::default()
            })
            .unwrap();
        rt.create_connections(&ConnectionBatch::associated(&held[..1], &held[1..]))
            .unwrap();
        // word tokens weigh 1.0: a CDNA that caps weights below that refuses them
        rt.change_cdna("cap", Policy::Refuse, |c| {
            c.token_weight_max = 0.9;
            Ok(())
        })
        .unwrap();
        let e = rt
            .bootstrap(words(), VECTORS.to_vec(), 6, &options(1))
            .unwrap_err();
        assert!(e.to_string().contains("weight = 1 is outside"), "{e}");
        let st = rt.read();
        assert_eq!((st.tokens.len(), st.connections.len()), (2, 1));
        assert!(st.boot.is_none());
        let ev = st.guardian.events(Some(1));
        assert_eq!((ev[0].kind.as_str(), ev[0].accepted), ("bootstrap", false));
    }

    #[test]
    fn degree_limited_edges_keep_the_strongest_within_the_limits() {
        let cdna = crate::cdna::Cdna {
            max_in_degree: 1,
            ..Default::default()
        };
        // three words, two neighbours each: every word's first choice is word 2
        let ids = [10, 20, 30];
        let idx = [2, 1, 2, 0, 1, 0];
        let sims = [0.9, 0.5, 0.8, 0.4, 0.7, 0.6];
        let (a, b, s, dropped) = degree_limited_edges(&ids, &idx, &sims, 2, &cdna);
        // 0.9 (10 -> 30) wins word 30; 0.8 (20 -> 30) is dropped; 0.7 (30 -> 20) takes 20;
        // 0.6 (30 -> 10) takes 10; 0.5 and 0.4 find their targets full
        assert_eq!(dropped, 3);
        assert_eq!((a, b), (vec![10, 30, 30], vec![30, 20, 10]));
        assert_eq!(s, vec![0.9, 0.7, 0.6]);
    }
}
