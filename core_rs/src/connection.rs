//! Connection V3.0: the 64-byte typed, directed link between two tokens, and its learning rules.

use crate::error::{NgError, Result};
use bytemuck::{Pod, Zeroable};

/// The 11 connection groups, 16 kinds each; the group is `kind >> 4`.
pub const GROUPS: [&str; 11] = [
    "semantic",
    "causal",
    "temporal",
    "spatial",
    "logical",
    "associative",
    "structural",
    "functional",
    "emotional",
    "rule",
    "dynamic",
];

/// The 176 connection kinds, code = index (group << 4 | position).
#[rustfmt::skip]
pub const KINDS: [&str; 176] = [
    // semantic 0x00
    "synonym", "antonym", "hypernym", "hyponym", "meronym", "holonym", "similar_to", "opposite_of",
    "instance_of", "has_instance", "related_to", "derived_from", "translation_of", "abbreviation_of", "variant_of", "defined_as",
    // causal 0x10
    "cause", "effect", "enables", "prevents", "triggers", "inhibits", "contributes_to", "results_from",
    "requires", "depends_on", "motivates", "produces", "consumes", "leads_to", "correlates_with", "explains",
    // temporal 0x20
    "before", "after", "during", "overlaps", "starts", "finishes", "meets", "simultaneous",
    "precedes", "follows", "interrupts", "recurs_with", "begins_with", "ends_with", "since", "until",
    // spatial 0x30
    "near", "far", "above", "below", "left_of", "right_of", "in_front_of", "behind",
    "inside", "outside", "contains", "surrounds", "adjacent_to", "between", "along", "across",
    // logical 0x40
    "implies", "equivalent_to", "contradicts", "conjunction", "disjunction", "exclusive_or", "negation", "subset_of",
    "superset_of", "disjoint_with", "member_of", "entails", "excludes", "if_then", "unless", "if_and_only_if",
    // associative 0x50
    "associated_with", "reminds_of", "co_occurs_with", "evokes", "symbolizes", "connoted_by", "linked_to", "paired_with",
    "grouped_with", "contrasted_with", "analogous_to", "suggests", "primes", "cues", "accompanies", "resembles",
    // structural 0x60
    "part_of", "has_part", "component_of", "has_component", "made_of", "composes", "element_of", "has_element",
    "attached_to", "connected_to", "supports", "supported_by", "layer_of", "branch_of", "root_of", "sequence_of",
    // functional 0x70
    "used_for", "capable_of", "tool_for", "operates_on", "controls", "controlled_by", "transforms", "input_to",
    "output_of", "serves", "implements", "performs", "regulates", "measures", "activates", "deactivates",
    // emotional 0x80
    "likes", "dislikes", "fears", "desires", "trusts", "distrusts", "enjoys", "hates",
    "loves", "admires", "envies", "pities", "hopes_for", "regrets", "calms", "excites",
    // rule / metaphor 0x90
    "metaphor_for", "metonym_of", "rule_for", "exception_to", "governs", "constrains", "permits", "forbids",
    "obliges", "convention_of", "allegory_of", "personifies", "stands_for", "norm_of", "default_for", "precondition_of",
    // dynamic 0xA0
    "transitions_to", "evolves_into", "oscillates_with", "accelerates", "decelerates", "amplifies", "dampens", "flows_to",
    "feeds_back_to", "converges_to", "diverges_from", "stabilizes", "destabilizes", "synchronizes_with", "replaces", "becomes",
];

/// Connection flag bits.
pub mod flags {
    pub const ACTIVE: u8 = 1 << 0;
    pub const PERSISTENT: u8 = 1 << 1;
    pub const BIDIRECTIONAL: u8 = 1 << 2;
    pub const INHIBITORY: u8 = 1 << 3;
    pub const MODIFIED: u8 = 1 << 4;
    pub const REINFORCED: u8 = 1 << 5;
    pub const DECAYING: u8 = 1 << 6;
    /// Names in bit order.
    pub const NAMES: [&str; 7] = [
        "ACTIVE",
        "PERSISTENT",
        "BIDIRECTIONAL",
        "INHIBITORY",
        "MODIFIED",
        "REINFORCED",
        "DECAYING",
    ];
}

/// How a connection may change under learning.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Mutability {
    Immutable = 0,
    Learnable = 1,
    Hypothesis = 2,
}

impl Mutability {
    pub fn name(self) -> &'static str {
        match self {
            Mutability::Immutable => "immutable",
            Mutability::Learnable => "learnable",
            Mutability::Hypothesis => "hypothesis",
        }
    }
    pub fn from_u8(v: u8) -> Mutability {
        match v {
            0 => Mutability::Immutable,
            2 => Mutability::Hypothesis,
            _ => Mutability::Learnable,
        }
    }
}

/// `associated_with` (0x50): the kind the runtime weaves with and the default of a new
/// connection.
pub const ASSOCIATED_WITH: u8 = 0x50;

/// Resolve a kind by name (case-insensitive) or by number.
pub fn parse_kind(name: &str) -> Result<u8> {
    let n = name.trim().to_ascii_lowercase();
    if let Some(i) = KINDS.iter().position(|k| *k == n) {
        return Ok(i as u8);
    }
    let parsed = if let Some(h) = n.strip_prefix("0x") {
        u8::from_str_radix(h, 16).ok()
    } else {
        n.parse::<u8>().ok()
    };
    match parsed {
        Some(k) if (k as usize) < KINDS.len() => Ok(k),
        _ => Err(NgError::UnknownConnectionKind(name.to_string())),
    }
}

/// Name of a kind code.
pub fn kind_name(kind: u8) -> &'static str {
    KINDS.get(kind as usize).copied().unwrap_or("unknown")
}

/// Group name of a kind code.
pub fn group_name(kind: u8) -> &'static str {
    GROUPS
        .get((kind >> 4) as usize)
        .copied()
        .unwrap_or("unknown")
}

/// The 16 kind codes of a group given by name (any case), or None for no such group.
pub fn group_kinds(name: &str) -> Option<std::ops::Range<u8>> {
    let n = name.trim().to_ascii_lowercase();
    let g = GROUPS.iter().position(|g| *g == n)? as u8;
    Some(g << 4..(g << 4) + 16)
}

/// Mutability a kind gets by its group.
pub fn mutability_of_kind(kind: u8) -> Mutability {
    match kind >> 4 {
        0x0 | 0x3 | 0x4 | 0x6 | 0x9 => Mutability::Immutable,
        _ => Mutability::Learnable,
    }
}

/// Fraction in [0, 1] to a byte.
#[inline]
pub fn unit_to_u8(v: f32) -> u8 {
    (v.clamp(0.0, 1.0) * 255.0).round() as u8
}

/// Byte to fraction in [0, 1].
#[inline]
pub fn u8_to_unit(v: u8) -> f32 {
    v as f32 / 255.0
}

/// Hypotheses under this confidence are dropped (10%).
pub const HYPOTHESIS_FLOOR: f32 = 0.10;

/// The 64-byte connection record. `token_a` is the source; the pair is never reordered.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Pod, Zeroable)]
pub struct Connection {
    pub token_a: u32,
    pub token_b: u32,
    pub kind: u8,
    /// Rigidity x255 (0-1).
    pub rigidity: u8,
    /// One bit per space in which the connection acts.
    pub active_levels: u8,
    pub flags: u8,
    pub activation_count: u32,
    /// The connection's strength (pull).
    pub pull_strength: f32,
    pub preferred_distance: f32,
    pub created_at: u32,
    pub last_activation: u32,
    // learning block
    pub mutability: u8,
    /// Confidence x255 (0-1).
    pub confidence: u8,
    pub evidence_count: u16,
    pub last_update: u32,
    /// Learning rate x255.
    pub learning_rate: u8,
    /// Decay rate x255 (per decay step, for hypotheses).
    pub decay_rate: u8,
    pub _reserved0: u16,
    /// 0 = made by hand, else the id of the proposal that made it.
    pub source_id: u32,
    /// Connection id in the store.
    pub id: u32,
    pub _reserved1: [u8; 12],
}

const _: () = assert!(std::mem::size_of::<Connection>() == 64);

/// What a feedback or decay step did to a connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LearnOutcome {
    /// Immutable: nothing changed.
    Unchanged,
    /// Confidence moved.
    Updated,
    /// A hypothesis fell under the floor and should be dropped.
    Drop,
}

impl Connection {
    pub fn mutability(&self) -> Mutability {
        Mutability::from_u8(self.mutability)
    }
    pub fn confidence_f(&self) -> f32 {
        u8_to_unit(self.confidence)
    }
    pub fn rigidity_f(&self) -> f32 {
        u8_to_unit(self.rigidity)
    }
    pub fn is_bidirectional(&self) -> bool {
        self.flags & flags::BIDIRECTIONAL != 0
    }

    /// Force between the two tokens at `distance`:
    /// (preferred_distance - distance) x rigidity x pull_strength x confidence.
    pub fn force(&self, distance: f32) -> f32 {
        (self.preferred_distance - distance)
            * self.rigidity_f()
            * self.pull_strength
            * self.confidence_f()
    }

    /// Apply one piece of feedback: success raises confidence by the learning rate, failure
    /// lowers it by half of that; evidence counts either way; immutable kinds never change.
    pub fn apply_feedback(&mut self, success: bool, now: u32) -> LearnOutcome {
        if self.mutability() == Mutability::Immutable {
            return LearnOutcome::Unchanged;
        }
        if success {
            self.confidence = self.confidence.saturating_add(self.learning_rate);
            self.flags |= flags::REINFORCED;
        } else {
            self.confidence = self.confidence.saturating_sub(self.learning_rate / 2);
        }
        self.flags |= flags::MODIFIED;
        self.evidence_count = self.evidence_count.saturating_add(1);
        self.last_update = now;
        if self.mutability() == Mutability::Hypothesis && self.confidence_f() < HYPOTHESIS_FLOOR {
            LearnOutcome::Drop
        } else {
            LearnOutcome::Updated
        }
    }

    /// One decay step: hypotheses lose `decay_rate` confidence and are dropped under 10%.
    pub fn decay(&mut self, now: u32) -> LearnOutcome {
        if self.mutability() != Mutability::Hypothesis {
            return LearnOutcome::Unchanged;
        }
        self.confidence = self.confidence.saturating_sub(self.decay_rate);
        self.flags |= flags::DECAYING;
        self.last_update = now;
        if self.confidence_f() < HYPOTHESIS_FLOOR {
            LearnOutcome::Drop
        } else {
            LearnOutcome::Updated
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn kinds_are_unique_and_grouped() {
        let set: HashSet<_> = KINDS.iter().collect();
        assert_eq!(set.len(), 176);
        assert_eq!(parse_kind("associated_with").unwrap(), ASSOCIATED_WITH);
        assert_eq!(group_kinds(" Associative"), Some(0x50..0x60));
        assert_eq!(group_kinds("dynamic").map(|r| r.len()), Some(16));
        assert!(group_kinds("associated_with").is_none());
        assert_eq!(parse_kind("cause").unwrap(), 0x10);
        assert_eq!(parse_kind("before").unwrap(), 0x20);
        assert_eq!(parse_kind("part_of").unwrap(), 0x60);
        assert_eq!(parse_kind("used_for").unwrap(), 0x70);
        assert_eq!(parse_kind("likes").unwrap(), 0x80);
        assert_eq!(parse_kind("0x10").unwrap(), 0x10);
        assert!(parse_kind("176").is_err());
        assert_eq!(group_name(0xA3), "dynamic");
        assert_eq!(mutability_of_kind(0x00), Mutability::Immutable);
        assert_eq!(mutability_of_kind(0x50), Mutability::Learnable);
    }

    fn learnable() -> Connection {
        let mut c = Connection::zeroed();
        c.kind = 0x50;
        c.mutability = Mutability::Learnable as u8;
        c.confidence = 128;
        c.learning_rate = 26;
        c.decay_rate = 20;
        c
    }

    #[test]
    fn feedback_rules() {
        let mut c = learnable();
        assert_eq!(c.apply_feedback(true, 1), LearnOutcome::Updated);
        assert_eq!(c.confidence, 154);
        assert_eq!(c.apply_feedback(false, 2), LearnOutcome::Updated);
        assert_eq!(c.confidence, 141);
        assert_eq!(c.evidence_count, 2);
        let mut s = c;
        s.mutability = Mutability::Immutable as u8;
        let before = s;
        assert_eq!(s.apply_feedback(true, 3), LearnOutcome::Unchanged);
        assert_eq!(s, before);
    }

    #[test]
    fn hypotheses_decay_and_drop_under_ten_percent() {
        let mut c = learnable();
        c.mutability = Mutability::Hypothesis as u8;
        c.confidence = 60;
        assert_eq!(c.decay(1), LearnOutcome::Updated);
        assert_eq!(c.confidence, 40);
        assert_eq!(c.decay(2), LearnOutcome::Drop);
    }

    #[test]
    fn force_law() {
        let mut c = learnable();
        c.rigidity = 255;
        c.confidence = 255;
        c.pull_strength = 0.5;
        c.preferred_distance = 1.0;
        assert!((c.force(0.5) - 0.25).abs() < 1e-6);
    }
}
