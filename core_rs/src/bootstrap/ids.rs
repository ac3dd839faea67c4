//! Deterministic token ids from words: MurmurHash3 (x86_32) folded to 24 bits, collisions
//! resolved by linear probing.

use crate::error::{NgError, Result};
use rayon::prelude::*;

/// Largest 24-bit local token id.
pub const MAX_ID: u32 = 0xFF_FFFF;

/// 32-bit MurmurHash3 (x86_32) of bytes with a seed.
pub fn murmur3_32(data: &[u8], seed: u32) -> u32 {
    const C1: u32 = 0xcc9e_2d51;
    const C2: u32 = 0x1b87_3593;
    let mut h = seed;
    let mut blocks = data.chunks_exact(4);
    for b in &mut blocks {
        let mut k = u32::from_le_bytes([b[0], b[1], b[2], b[3]]);
        k = k.wrapping_mul(C1).rotate_left(15).wrapping_mul(C2);
        h ^= k;
        h = h.rotate_left(13).wrapping_mul(5).wrapping_add(0xe654_6b64);
    }
    let tail = blocks.remainder();
    if !tail.is_empty() {
        let mut k = 0u32;
        for (i, &byte) in tail.iter().enumerate() {
            k |= (byte as u32) << (8 * i);
        }
        k = k.wrapping_mul(C1).rotate_left(15).wrapping_mul(C2);
        h ^= k;
    }
    // the length is mixed in modulo 2^32, as in the reference implementation
    h ^= data.len() as u32;
    h ^= h >> 16;
    h = h.wrapping_mul(0x85eb_ca6b);
    h ^= h >> 13;
    h = h.wrapping_mul(0xc2b2_ae35);
    h ^ (h >> 16)
}

/// The id a word wants before collisions: its hash with the high byte xor-folded into the low
/// 24 bits; 0 maps to 1.
pub fn wanted_id(word: &str, seed: u32) -> u32 {
    let h = murmur3_32(word.as_bytes(), seed);
    match (h & MAX_ID) ^ (h >> 24) {
        0 => 1,
        id => id,
    }
}

/// A word that had to move: (word, wanted id, given id).
pub type Moved = (String, u32, u32);

#[inline]
fn next_id(id: u32) -> u32 {
    if id >= MAX_ID {
        1
    } else {
        id + 1
    }
}

/// Deterministic 24-bit token ids (1..=16_777_215) for words, in word order, plus the
/// (word, wanted id, given id) of every word that had to move because its id was used by an
/// earlier word in the list or `taken(id)` was true. A word listed twice gets two ids.
/// `live` is how many ids `taken` holds. Errors with `IdSpaceExhausted` when more ids are
/// needed than are free.
pub fn word_ids(
    words: &[String],
    seed: u32,
    live: usize,
    taken: impl Fn(u32) -> bool,
) -> Result<(Vec<u32>, Vec<Moved>)> {
    let full = NgError::IdSpaceExhausted {
        live,
        wanted: words.len(),
    };
    if words.len() > (MAX_ID as usize).saturating_sub(live) {
        return Err(full);
    }
    let wanted = wanted_ids(words, seed);
    let (ids, rows) = resolve_ids(&wanted, live, taken)?;
    let moved = rows
        .into_iter()
        .map(|r| (words[r].clone(), wanted[r], ids[r]))
        .collect();
    Ok((ids, moved))
}

/// The id each word wants ([`wanted_id`]), in parallel: the per-block half of [`word_ids`].
pub fn wanted_ids(words: &[String], seed: u32) -> Vec<u32> {
    words.par_iter().map(|w| wanted_id(w, seed)).collect()
}

/// Resolve wanted ids (in word order) into distinct ids by linear probing: the global,
/// sequential half of [`word_ids`]. Returns the ids and the rows that had to move. A wanted
/// id outside 1..=MAX_ID is refused.
pub fn resolve_ids(
    wanted: &[u32],
    live: usize,
    taken: impl Fn(u32) -> bool,
) -> Result<(Vec<u32>, Vec<usize>)> {
    let full = NgError::IdSpaceExhausted {
        live,
        wanted: wanted.len(),
    };
    if wanted.len() > (MAX_ID as usize).saturating_sub(live) {
        return Err(full);
    }
    if let Some(r) = wanted.iter().position(|&w| w == 0 || w > MAX_ID) {
        return Err(NgError::invalid(
            format!("wanted[{r}]"),
            wanted[r],
            format!("token ids are 1..={MAX_ID}"),
        ));
    }
    // one bit per id: 2 MiB, zero pages until touched
    let mut used = vec![0u64; (MAX_ID as usize + 1).div_ceil(64)];
    let is_used = |used: &[u64], id: u32| used[(id >> 6) as usize] & (1u64 << (id & 63)) != 0;
    let mut ids = Vec::with_capacity(wanted.len());
    let mut moved = Vec::new();
    for (row, &want) in wanted.iter().enumerate() {
        let mut id = want;
        let mut probes = 0u32;
        while is_used(&used, id) || taken(id) {
            probes += 1;
            if probes >= MAX_ID {
                return Err(full);
            }
            id = next_id(id);
        }
        used[(id >> 6) as usize] |= 1u64 << (id & 63);
        if id != want {
            moved.push(row);
        }
        ids.push(id);
    }
    Ok((ids, moved))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bootstrap_murmur3_known_vectors() {
        assert_eq!(murmur3_32(b"", 0), 0);
        assert_eq!(murmur3_32(b"", 1), 0x514E_28B7);
        assert_eq!(murmur3_32(b"", 0xffff_ffff), 0x81F1_6F39);
        assert_eq!(murmur3_32(b"hello", 0), 0x248B_FA47);
        assert_eq!(
            murmur3_32(b"The quick brown fox jumps over the lazy dog", 0),
            0x2E4F_F723
        );
        assert_eq!(murmur3_32(b"\0\0\0\0", 0), 0x2362_F9DE);
        assert_eq!(murmur3_32(b"\x21\x43\x65\x87", 0x5082_EDEE), 0x2362_F9DE);
        assert_eq!(murmur3_32(b"\x21\x43\x65", 0), 0x7E4A_8634);
        assert_eq!(murmur3_32(b"\x21\x43", 0), 0xA0F7_B07A);
        assert_eq!(murmur3_32(b"\x21", 0), 0x7266_1CF4);
        assert_eq!(murmur3_32(b"aaaa", 0x9747_b28c), 0x5A97_808A);
        assert_eq!(murmur3_32(b"Hello, world!", 0x9747_b28c), 0x2488_4CBA);
    }

    fn words(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn bootstrap_word_ids_are_deterministic_and_in_range() {
        let w: Vec<String> = (0..5000).map(|i| format!("word{i}")).collect();
        let (a, moved_a) = word_ids(&w, 42, 0, |_| false).unwrap();
        let (b, moved_b) = word_ids(&w, 42, 0, |_| false).unwrap();
        assert_eq!(a, b);
        assert_eq!(moved_a, moved_b);
        assert!(a.iter().all(|&id| (1..=MAX_ID).contains(&id)));
        let mut sorted = a.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted.len(), a.len(), "ids are unique");
        for (i, word) in w.iter().enumerate() {
            if !moved_a.iter().any(|(mw, _, _)| mw == word) {
                assert_eq!(a[i], wanted_id(word, 42));
            }
        }
        let (c, _) = word_ids(&w, 43, 0, |_| false).unwrap();
        assert_ne!(a, c, "the seed changes the ids");
    }

    #[test]
    fn bootstrap_word_ids_probe_past_collisions() {
        let w = words(&["apple", "apple", "pear"]);
        let want = wanted_id("apple", 7);
        let (ids, moved) = word_ids(&w, 7, 0, |_| false).unwrap();
        assert_eq!(ids[0], want);
        assert_eq!(ids[1], next_id(want));
        assert_eq!(moved, vec![("apple".to_string(), want, next_id(want))]);
        // taken ids are skipped, several in a row
        let pear = wanted_id("pear", 7);
        let blocked = [pear, next_id(pear), next_id(next_id(pear))];
        let (ids, moved) = word_ids(&w[2..], 7, 0, |id| blocked.contains(&id)).unwrap();
        let expect = next_id(blocked[2]);
        assert_eq!(ids, vec![expect]);
        assert_eq!(moved, vec![("pear".to_string(), pear, expect)]);
    }

    #[test]
    fn bootstrap_word_ids_wrap_and_exhaust() {
        assert_eq!(next_id(MAX_ID), 1);
        // every id from 2 up taken: the probe wraps from MAX_ID to 1
        let w = words(&["x"]);
        let (ids, _) = word_ids(&w, 0, 0, |id| id >= 2).unwrap();
        assert_eq!(ids, vec![1]);
        let err = word_ids(&w, 0, 0, |_| true).unwrap_err();
        assert!(matches!(err, NgError::IdSpaceExhausted { .. }));
    }
}
