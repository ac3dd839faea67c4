//! CDNA V2.1: the 384-byte configuration (6 blocks, FNV-1a checksum), its profiles,
//! validation and version history.

use crate::clock::now_secs;
use crate::connection::KINDS;
use crate::error::{NgError, Result};
use crate::space::{NUM_SPACES, SPACE_NAMES};

/// Serialized size of a CDNA record.
pub const CDNA_SIZE: usize = 384;
/// Block offsets and sizes: header, grid physics, graph topology, token properties,
/// connection constraints, evolution.
pub const BLOCKS: [(&str, usize, usize); 6] = [
    ("header", 0, 64),
    ("grid_physics", 64, 128),
    ("graph_topology", 192, 64),
    ("token_properties", 256, 32),
    ("connection_constraints", 288, 32),
    ("evolution", 320, 64),
];
const _: () = assert!(BLOCKS[5].1 + BLOCKS[5].2 == CDNA_SIZE);

mod record;
pub use record::fnv1a64;

pub const MAGIC: [u8; 4] = *b"CDNA";
pub const VERSION_MAJOR: u16 = 2;
pub const VERSION_MINOR: u16 = 1;

/// CDNA header flags.
pub mod flags {
    pub const ENABLE_VALIDATION: u32 = 1 << 0;
    pub const ENABLE_EVENTS: u32 = 1 << 1;
    pub const ENABLE_MUTATION: u32 = 1 << 2;
    pub const STRICT_MODE: u32 = 1 << 3;
    pub const NAMES: [&str; 4] = [
        "ENABLE_VALIDATION",
        "ENABLE_EVENTS",
        "ENABLE_MUTATION",
        "STRICT_MODE",
    ];

    /// The bit of a flag given by name, in any case (`"strict_mode"` is `STRICT_MODE`).
    pub fn parse(name: &str) -> crate::Result<u32> {
        let upper = name.to_ascii_uppercase();
        NAMES
            .iter()
            .position(|n| *n == upper)
            .map(|bit| 1 << bit)
            .ok_or_else(|| crate::NgError::UnknownName {
                what: "CDNA flag",
                name: name.to_string(),
                expected: NAMES.join(", "),
            })
    }

    #[cfg(test)]
    #[test]
    fn parse_takes_any_case_and_names_the_choices() {
        assert_eq!(parse("strict_mode").unwrap(), STRICT_MODE);
        assert_eq!(parse("Enable_Events").unwrap(), ENABLE_EVENTS);
        let e = parse("FAST").unwrap_err().to_string();
        assert!(
            e.starts_with("unknown CDNA flag \"FAST\": expected one of ENABLE_VALIDATION, "),
            "{e}"
        );
    }
}

/// Profile names, index = profile id.
pub const PROFILES: [&str; 4] = [
    Profile::Default.name(),
    Profile::Explorer.name(),
    Profile::Analyst.name(),
    Profile::Creative.name(),
];

/// Profile states.
pub const STATES: [&str; 4] = ["active", "quarantine", "validated", "readonly"];
pub const STATE_READONLY: u8 = 3;

/// The decoded CDNA. `to_bytes`/`from_bytes` give the 384-byte V2.1 layout.
#[derive(Clone, Debug, PartialEq)]
pub struct Cdna {
    // header
    pub created: u64,
    pub modified: u64,
    pub profile_id: u32,
    pub profile_state: u8,
    pub flags: u32,
    /// Monotonic revision, raised on every accepted change.
    pub revision: u32,
    // grid physics
    pub space_ids: [u8; NUM_SPACES],
    pub space_flags: [u8; NUM_SPACES],
    pub scales: [f32; NUM_SPACES],
    pub bucket_sizes: [u16; NUM_SPACES],
    pub field_strength_limit: f32,
    // graph topology
    pub allowed_kinds: [u64; 3],
    pub max_out_degree: u32,
    pub max_in_degree: u32,
    pub max_total_degree: u32,
    pub traversal_weight_threshold: f32,
    // token properties
    pub token_weight_min: f32,
    pub token_weight_max: f32,
    pub field_radius_min: f32,
    pub field_radius_max: f32,
    pub field_strength_min: f32,
    pub field_strength_max: f32,
    // connection constraints
    pub strength_min: f32,
    pub strength_max: f32,
    pub rigidity_min: f32,
    pub rigidity_max: f32,
    pub default_pull_strength: f32,
    pub decay_rate: f32,
    // evolution
    pub mutation_rate: f32,
    pub crossover_rate: f32,
    pub selection_pressure: f32,
}

fn all_kinds() -> [u64; 3] {
    let mut m = [0u64; 3];
    for k in 0..KINDS.len() {
        m[k / 64] |= 1 << (k % 64);
    }
    m
}

impl Default for Cdna {
    fn default() -> Self {
        Cdna::of(Profile::Default)
    }
}

/// One numeric field of the CDNA: its name, its block, and how to read and write it.
#[derive(Clone, Copy)]
pub struct Field {
    pub name: &'static str,
    pub block: &'static str,
    get: fn(&Cdna) -> f64,
    /// Sets the field (no rule checked here: the Guardian checks the whole result).
    set: fn(&mut Cdna, f64) -> Result<()>,
}

impl std::fmt::Debug for Field {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Field({}, {})", self.name, self.block)
    }
}

/// A whole number >= 0 that fits a u32, for the degree limits.
fn whole(name: &str, v: f64) -> Result<u32> {
    if v.is_finite() && v >= 0.0 && v.fract() == 0.0 && v <= u32::MAX as f64 {
        Ok(v as u32)
    } else {
        Err(NgError::invalid(name, v, "must be a whole number >= 0"))
    }
}

/// A table row for an `f32` field (`f32!`) or a whole-number `u32` field (`u32!`).
macro_rules! field {
    (f32 $name:ident, $block:literal) => {
        Field {
            name: stringify!($name),
            block: $block,
            get: |c| c.$name as f64,
            set: |c, v| {
                c.$name = v as f32;
                Ok(())
            },
        }
    };
    (u32 $name:ident, $block:literal) => {
        Field {
            name: stringify!($name),
            block: $block,
            get: |c| c.$name as f64,
            set: |c, v| {
                c.$name = whole(stringify!($name), v)?;
                Ok(())
            },
        }
    };
}

/// The numeric fields that `field` and `set_field` accept, in block order: the one list of
/// them.
pub const FIELD_TABLE: [Field; 20] = [
    field!(f32 field_strength_limit, "grid_physics"),
    field!(u32 max_out_degree, "graph_topology"),
    field!(u32 max_in_degree, "graph_topology"),
    field!(u32 max_total_degree, "graph_topology"),
    field!(f32 traversal_weight_threshold, "graph_topology"),
    field!(f32 token_weight_min, "token_properties"),
    field!(f32 token_weight_max, "token_properties"),
    field!(f32 field_radius_min, "token_properties"),
    field!(f32 field_radius_max, "token_properties"),
    field!(f32 field_strength_min, "token_properties"),
    field!(f32 field_strength_max, "token_properties"),
    field!(f32 strength_min, "connection_constraints"),
    field!(f32 strength_max, "connection_constraints"),
    field!(f32 rigidity_min, "connection_constraints"),
    field!(f32 rigidity_max, "connection_constraints"),
    field!(f32 default_pull_strength, "connection_constraints"),
    field!(f32 decay_rate, "connection_constraints"),
    field!(f32 mutation_rate, "evolution"),
    field!(f32 crossover_rate, "evolution"),
    field!(f32 selection_pressure, "evolution"),
];

/// (name, block) of every field in [`FIELD_TABLE`].
pub const FIELDS: [(&str, &str); FIELD_TABLE.len()] = {
    let mut out = [("", ""); FIELD_TABLE.len()];
    let mut i = 0;
    while i < out.len() {
        out[i] = (FIELD_TABLE[i].name, FIELD_TABLE[i].block);
        i += 1;
    }
    out
};

fn lookup(name: &str) -> Result<&'static Field> {
    FIELD_TABLE
        .iter()
        .find(|f| f.name == name)
        .ok_or_else(|| unknown_field(name))
}

/// The four profiles: a fresh CDNA is the default one with a profile's changes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Profile {
    Default = 0,
    Explorer = 1,
    Analyst = 2,
    Creative = 3,
}

impl Profile {
    /// Index = profile id.
    pub const ALL: [Profile; 4] = [
        Profile::Default,
        Profile::Explorer,
        Profile::Analyst,
        Profile::Creative,
    ];

    pub const fn name(self) -> &'static str {
        match self {
            Profile::Default => "default",
            Profile::Explorer => "explorer",
            Profile::Analyst => "analyst",
            Profile::Creative => "creative",
        }
    }

    /// The profile of a name (case and surrounding blanks ignored).
    pub fn parse(name: &str) -> Option<Profile> {
        let n = name.trim().to_ascii_lowercase();
        Profile::ALL.into_iter().find(|p| p.name() == n)
    }

    /// The profile a stored id names.
    pub fn from_id(id: u32) -> Option<Profile> {
        Profile::ALL.get(id as usize).copied()
    }

    /// What the profile changes from the default values.
    fn adjust(self, c: &mut Cdna) {
        match self {
            Profile::Default => {}
            Profile::Explorer => {
                c.max_out_degree = 2000;
                c.max_in_degree = 2000;
                c.max_total_degree = 4000;
                c.mutation_rate = 0.05;
            }
            Profile::Analyst => {
                c.max_out_degree = 500;
                c.max_in_degree = 500;
                c.max_total_degree = 1000;
                c.flags |= flags::STRICT_MODE;
            }
            Profile::Creative => {
                c.mutation_rate = 0.1;
                c.crossover_rate = 0.2;
                c.flags |= flags::ENABLE_MUTATION;
            }
        }
    }
}

impl Cdna {
    /// A fresh CDNA with one of the four profiles, by name.
    pub fn profile(name: &str) -> Result<Cdna> {
        Profile::parse(name)
            .map(Cdna::of)
            .ok_or_else(|| NgError::UnknownProfile(name.to_string()))
    }

    /// A fresh CDNA with a profile.
    pub fn of(profile: Profile) -> Cdna {
        let now = now_secs();
        let mut c = Cdna {
            created: now,
            modified: now,
            profile_id: profile as u32,
            profile_state: 0,
            flags: flags::ENABLE_VALIDATION | flags::ENABLE_EVENTS,
            revision: 0,
            space_ids: [1, 2, 3, 4, 5, 6, 7, 8],
            space_flags: [1; NUM_SPACES],
            scales: [1.0; NUM_SPACES],
            bucket_sizes: [64; NUM_SPACES],
            field_strength_limit: 1.0,
            allowed_kinds: all_kinds(),
            max_out_degree: 1000,
            max_in_degree: 1000,
            max_total_degree: 2000,
            traversal_weight_threshold: 0.0,
            token_weight_min: 0.0,
            token_weight_max: 1.0,
            field_radius_min: 0.0,
            field_radius_max: 2.55,
            field_strength_min: 0.0,
            field_strength_max: 1.0,
            strength_min: 0.0,
            strength_max: 1.0,
            rigidity_min: 0.0,
            rigidity_max: 1.0,
            default_pull_strength: 0.5,
            decay_rate: 0.05,
            mutation_rate: 0.01,
            crossover_rate: 0.0,
            selection_pressure: 1.0,
        };
        profile.adjust(&mut c);
        c
    }

    pub fn profile_name(&self) -> &'static str {
        Profile::from_id(self.profile_id).map_or("custom", Profile::name)
    }

    pub fn has_flag(&self, f: u32) -> bool {
        self.flags & f != 0
    }

    /// Whether a connection kind is allowed.
    pub fn kind_allowed(&self, kind: u8) -> bool {
        let k = kind as usize;
        k < KINDS.len() && self.allowed_kinds[k / 64] & (1 << (k % 64)) != 0
    }

    /// Allow or forbid one kind.
    pub fn set_kind_allowed(&mut self, kind: u8, allowed: bool) {
        let k = kind as usize;
        if k < KINDS.len() {
            if allowed {
                self.allowed_kinds[k / 64] |= 1 << (k % 64);
            } else {
                self.allowed_kinds[k / 64] &= !(1 << (k % 64));
            }
        }
    }

    /// Read a numeric field by name (one of [`FIELDS`]).
    pub fn field(&self, name: &str) -> Result<f64> {
        Ok((lookup(name)?.get)(self))
    }

    /// Set a numeric field by name (no validation here: the Guardian validates the result).
    pub fn set_field(&mut self, name: &str, v: f64) -> Result<()> {
        (lookup(name)?.set)(self, v)
    }

    /// Every rule the CDNA breaks, as readable lines (empty = valid).
    pub fn problems(&self) -> Vec<String> {
        let mut p = Vec::new();
        for (i, s) in self.scales.iter().enumerate() {
            if !s.is_finite() || *s < f32::MIN_POSITIVE || *s > 1000.0 {
                p.push(format!(
                    "scale of {} = {s} must be in (0, 1000]",
                    SPACE_NAMES[i]
                ));
            }
        }
        for (i, b) in self.bucket_sizes.iter().enumerate() {
            if *b == 0 {
                p.push(format!("bucket size of {} must be >= 1", SPACE_NAMES[i]));
            }
        }
        let mut range = |name: &str, lo: f32, hi: f32, min: f32, max: f32| {
            if !lo.is_finite() || !hi.is_finite() {
                p.push(format!("{name} bounds must be finite, got [{lo}, {hi}]"));
            } else if lo > hi {
                p.push(format!(
                    "{name}_min = {lo} is greater than {name}_max = {hi}"
                ));
            } else if lo < min || hi > max {
                p.push(format!(
                    "{name} bounds [{lo}, {hi}] must lie within [{min}, {max}]"
                ));
            }
        };
        range(
            "token_weight",
            self.token_weight_min,
            self.token_weight_max,
            -1e6,
            1e6,
        );
        range(
            "field_radius",
            self.field_radius_min,
            self.field_radius_max,
            0.0,
            2.55,
        );
        range(
            "field_strength",
            self.field_strength_min,
            self.field_strength_max,
            0.0,
            1.0,
        );
        range("strength", self.strength_min, self.strength_max, -1e6, 1e6);
        range("rigidity", self.rigidity_min, self.rigidity_max, 0.0, 1.0);
        let unit = |name: &str, v: f32, p: &mut Vec<String>| {
            if !v.is_finite() || !(0.0..=1.0).contains(&v) {
                p.push(format!("{name} = {v} must be in [0, 1]"));
            }
        };
        unit("decay_rate", self.decay_rate, &mut p);
        unit("mutation_rate", self.mutation_rate, &mut p);
        unit("crossover_rate", self.crossover_rate, &mut p);
        if !self.selection_pressure.is_finite() || !(0.0..=10.0).contains(&self.selection_pressure)
        {
            p.push(format!(
                "selection_pressure = {} must be in [0, 10]",
                self.selection_pressure
            ));
        }
        if !self.field_strength_limit.is_finite() || self.field_strength_limit < 0.0 {
            p.push(format!(
                "field_strength_limit = {} must be >= 0",
                self.field_strength_limit
            ));
        }
        if !self.traversal_weight_threshold.is_finite() {
            p.push("traversal_weight_threshold must be finite".to_string());
        }
        if !(self.default_pull_strength >= self.strength_min
            && self.default_pull_strength <= self.strength_max)
        {
            p.push(format!(
                "default_pull_strength = {} must lie within the strength bounds [{}, {}]",
                self.default_pull_strength, self.strength_min, self.strength_max
            ));
        }
        for (name, v) in [
            ("max_out_degree", self.max_out_degree),
            ("max_in_degree", self.max_in_degree),
            ("max_total_degree", self.max_total_degree),
        ] {
            if v == 0 {
                p.push(format!("{name} must be >= 1"));
            }
        }
        if self.allowed_kinds[2] >> (KINDS.len() - 128) != 0 {
            p.push("allowed_kinds has bits set past the 176 kinds".to_string());
        }
        if self.profile_id as usize >= PROFILES.len() {
            p.push(format!("profile id {} is unknown", self.profile_id));
        }
        if self.profile_state as usize >= STATES.len() {
            p.push(format!("profile state {} is unknown", self.profile_state));
        }
        p
    }
}

fn unknown_field(name: &str) -> NgError {
    let names: Vec<&str> = FIELDS.iter().map(|f| f.0).collect();
    NgError::invalid(
        "CDNA field",
        name,
        format!("unknown field; expected one of {}", names.join(", ")),
    )
}

/// One entry of the CDNA history: the configuration before a change, and why it changed.
#[derive(Clone, Debug)]
pub struct CdnaVersion {
    pub cdna: Cdna,
    pub changed_at: f64,
    pub reason: String,
}

/// Most history entries kept.
pub const HISTORY_LIMIT: usize = 256;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn profiles_roundtrip_through_384_bytes() {
        for p in PROFILES {
            let c = Cdna::profile(p).unwrap();
            assert!(c.problems().is_empty(), "{p}: {:?}", c.problems());
            let b = c.to_bytes();
            assert_eq!(b.len(), 384);
            assert_eq!(&b[0..4], b"CDNA");
            assert_eq!(Cdna::from_bytes(&b).unwrap(), c);
        }
        assert!(Cdna::profile("wild").is_err());
    }

    #[test]
    fn the_record_layout_does_not_change() {
        // the bytes of this CDNA as the V2.1 writer made them before the shared byte cursor
        let mut c = Cdna::profile("creative").unwrap();
        (c.created, c.modified, c.revision, c.profile_state) = (1, 2, 3, 2);
        c.set_kind_allowed(0x20, false);
        let b = c.to_bytes();
        assert_eq!(fnv1a64(&b), 0xc6d9ad56d7862890);
        assert_eq!(Cdna::from_bytes(&b).unwrap(), c);
    }

    #[test]
    fn every_field_name_reads_and_writes_its_field() {
        // N4: one table; FIELDS names every field field() and set_field() accept
        assert_eq!(FIELDS.len(), 20);
        let blocks: Vec<&str> = BLOCKS.iter().map(|b| b.0).collect();
        for (i, (name, block)) in FIELDS.iter().enumerate() {
            assert!(blocks.contains(block), "{name}: {block}");
            let mut c = Cdna::default();
            let v = 3.0 + i as f64;
            c.set_field(name, v).unwrap();
            assert_eq!(c.field(name).unwrap(), v, "{name}");
            // exactly that field changed
            let changed: Vec<&str> = FIELDS
                .iter()
                .map(|f| f.0)
                .filter(|f| c.field(f).unwrap() != Cdna::default().field(f).unwrap())
                .collect();
            assert_eq!(changed, [*name]);
        }
        for name in ["mutation_rate", "crossover_rate", "selection_pressure"] {
            assert!(FIELDS.iter().any(|f| f.0 == name && f.1 == "evolution"));
        }
        let mut c = Cdna::default();
        assert!(c.set_field("max_out_degree", 2.5).is_err());
        assert!(c.set_field("max_in_degree", -1.0).is_err());
        let e = c.field("nope").unwrap_err().to_string();
        assert!(
            e.contains("unknown field") && e.contains("selection_pressure"),
            "{e}"
        );
    }

    #[test]
    fn profiles_by_name_and_id() {
        for (i, p) in Profile::ALL.into_iter().enumerate() {
            assert_eq!((p as usize, PROFILES[i]), (i, p.name()));
            assert_eq!(Profile::from_id(i as u32), Some(p));
            assert_eq!(
                Profile::parse(&format!(" {} ", p.name().to_uppercase())),
                Some(p)
            );
            assert_eq!(Cdna::of(p).profile_name(), p.name());
        }
        assert_eq!(Profile::parse("wild"), None);
        let c = Cdna {
            profile_id: 9,
            ..Cdna::default()
        };
        assert_eq!(c.profile_name(), "custom");
    }

    #[test]
    fn profile_values() {
        let e = Cdna::profile("explorer").unwrap();
        assert_eq!((e.max_out_degree, e.max_total_degree), (2000, 4000));
        assert_eq!(e.mutation_rate, 0.05);
        let a = Cdna::profile("analyst").unwrap();
        assert_eq!((a.max_out_degree, a.max_total_degree), (500, 1000));
        assert!(a.has_flag(flags::STRICT_MODE));
        let c = Cdna::profile("creative").unwrap();
        assert!(c.has_flag(flags::ENABLE_MUTATION));
        assert_eq!((c.mutation_rate, c.crossover_rate), (0.1, 0.2));
    }

    #[test]
    fn corrupted_record_is_refused() {
        let mut b = Cdna::default().to_bytes();
        b[100] ^= 0xFF;
        assert!(Cdna::from_bytes(&b).unwrap_err().contains("checksum"));
    }

    #[test]
    fn validation_names_the_rule() {
        let mut c = Cdna::default();
        c.scales[4] = -1.0;
        c.token_weight_min = 2.0;
        let p = c.problems();
        assert!(p.iter().any(|s| s.contains("cognitive")));
        assert!(p.iter().any(|s| s.contains("token_weight_min")));
    }

    #[test]
    fn kind_mask() {
        let mut c = Cdna::default();
        assert!(c.kind_allowed(175));
        c.set_kind_allowed(0x50, false);
        assert!(!c.kind_allowed(0x50));
        assert!(c.kind_allowed(0x51));
    }
}
