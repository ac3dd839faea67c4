//! The vocabulary a bootstrap keeps: its words, their tokens and embeddings, and the
//! spelling suggestions for an unknown word.

use super::RuntimeStorage;
use crate::bootstrap::{Pca, Q8};
use crate::error::{NgError, Result};
use crate::space::SPACE_NAMES;
use std::collections::HashMap;

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

    /// The embedding of row `i`.
    pub(crate) fn row(&self, i: usize) -> &[f32] {
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

/// Edit distance between two words (insertions, deletions, substitutions of characters).
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

/// What `bootstrap_info` reports: live words, dimension, seed, the spaces placed (with the
/// first PCA axis of each) and the explained-variance ratio of every axis.
#[derive(Clone, Debug, PartialEq)]
pub struct BootInfo {
    pub words: usize,
    pub dim: usize,
    pub seed: u32,
    pub spaces: Vec<(&'static str, usize)>,
    pub explained_variance_ratio: Vec<f64>,
}

impl RuntimeStorage {
    fn require_boot(&self) -> Result<std::sync::Arc<BootState>> {
        self.boot().ok_or(NgError::NoBootstrap)
    }

    /// The bootstrap's figures, None without one.
    pub fn bootstrap_info(&self) -> Option<BootInfo> {
        self.boot().map(|b| BootInfo {
            words: b.live(),
            dim: b.dim,
            seed: b.seed,
            spaces: b
                .spaces
                .iter()
                .map(|(s, f)| (SPACE_NAMES[*s], *f))
                .collect(),
            explained_variance_ratio: b.pca.explained_ratio.clone(),
        })
    }

    /// The live vocabulary and the token id of each word, in vocabulary order.
    pub fn bootstrap_vocabulary(&self) -> Result<(Vec<String>, Vec<u32>)> {
        let b = self.require_boot()?;
        Ok(b.live_rows()
            .map(|r| (b.words[r].clone(), b.ids[r]))
            .unzip())
    }

    /// The normalised embedding of each live word, row-major (live words x dim), and dim.
    pub fn bootstrap_vectors(&self) -> Result<(Vec<f32>, usize)> {
        let b = self.require_boot()?;
        let mut out = Vec::with_capacity(b.live() * b.dim);
        for r in b.live_rows() {
            out.extend_from_slice(&b.vectors[r * b.dim..(r + 1) * b.dim]);
        }
        Ok((out, b.dim))
    }

    /// Which of `words` the vocabulary holds (all false without a bootstrap).
    pub fn has_words(&self, words: &[String]) -> Vec<bool> {
        match self.boot() {
            Some(b) => words.iter().map(|w| b.index.contains_key(w)).collect(),
            None => vec![false; words.len()],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::bootstrap::fixture::animals;

    #[test]
    fn edit_distance() {
        assert_eq!(levenshtein("", ""), 0);
        assert_eq!(levenshtein("cat", "cat"), 0);
        assert_eq!(levenshtein("cat", "cta"), 2);
        assert_eq!(levenshtein("cat", "cart"), 1);
        assert_eq!(levenshtein("kitten", "sitting"), 3);
        assert_eq!(levenshtein("", "dög"), 3);
    }

    #[test]
    fn suggestions_are_the_closest_live_words() {
        let (rt, _) = animals();
        let boot = rt.boot().unwrap();
        assert_eq!(boot.suggest("CAR", 2), ["car", "cat"]);
        assert_eq!(boot.suggest("pearl", 1), ["pear"]);
    }

    #[test]
    fn deleted_words_leave_and_the_rows_compact() {
        let (rt, _) = animals();
        let mut boot = (*rt.boot().unwrap()).clone();
        let (cat, dog) = (boot.ids[0], boot.ids[1]);
        let car = boot.row(2).to_vec();
        assert_eq!(boot.forget_tokens(&[cat, 12345]), 1);
        assert_eq!((boot.live(), boot.dead, boot.words.len()), (5, 1, 6));
        assert!(!boot.index.contains_key("cat") && boot.holds_any(&[dog]));
        assert_eq!(boot.live_rows().next(), Some(1));
        // a quarter dead: the rows are compacted, vectors follow their words
        boot.forget_tokens(&[dog]);
        assert_eq!((boot.live(), boot.dead, boot.words.len()), (4, 0, 4));
        assert_eq!(boot.words[0], "car");
        assert_eq!(boot.row(0), car);
    }
}
