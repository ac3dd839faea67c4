//! The CDNA's 384-byte V2.1 record: six fixed-offset blocks and an FNV-1a checksum.

use super::{Cdna, CDNA_SIZE, MAGIC, VERSION_MAJOR, VERSION_MINOR};
use crate::bytes::{Reader, Writer};

impl Cdna {
    /// The 384-byte V2.1 record, checksum filled in.
    pub fn to_bytes(&self) -> [u8; CDNA_SIZE] {
        let mut w = Writer::with_capacity(CDNA_SIZE);
        // header (64)
        w.bytes(&MAGIC);
        w.u16(VERSION_MAJOR);
        w.u16(VERSION_MINOR);
        w.u64(self.created);
        w.u64(self.modified);
        w.u32(self.profile_id);
        w.u8(self.profile_state);
        w.pad_to(32);
        w.u32(self.flags);
        w.u32(self.revision);
        // checksum at 40..48, filled below
        w.pad_to(64);
        // grid physics (128)
        w.bytes(&self.space_ids);
        w.bytes(&self.space_flags);
        for s in self.scales {
            w.f32(s);
        }
        for s in self.bucket_sizes {
            w.u16(s);
        }
        w.f32(self.field_strength_limit);
        w.pad_to(192);
        // graph topology (64)
        for m in self.allowed_kinds {
            w.u64(m);
        }
        w.u32(self.max_out_degree);
        w.u32(self.max_in_degree);
        w.u32(self.max_total_degree);
        w.f32(self.traversal_weight_threshold);
        w.pad_to(256);
        // token properties (32)
        for v in [
            self.token_weight_min,
            self.token_weight_max,
            self.field_radius_min,
            self.field_radius_max,
            self.field_strength_min,
            self.field_strength_max,
        ] {
            w.f32(v);
        }
        w.pad_to(288);
        // connection constraints (32)
        for v in [
            self.strength_min,
            self.strength_max,
            self.rigidity_min,
            self.rigidity_max,
            self.default_pull_strength,
            self.decay_rate,
        ] {
            w.f32(v);
        }
        w.pad_to(320);
        // evolution (64)
        for v in [
            self.mutation_rate,
            self.crossover_rate,
            self.selection_pressure,
        ] {
            w.f32(v);
        }
        w.pad_to(CDNA_SIZE);
        let mut b = [0u8; CDNA_SIZE];
        b.copy_from_slice(&w.into_inner());
        let sum = fnv1a64(&b);
        b[40..48].copy_from_slice(&sum.to_le_bytes());
        b
    }

    /// Parse and verify a 384-byte record (magic, version, checksum, rules).
    pub fn from_bytes(b: &[u8]) -> std::result::Result<Cdna, String> {
        if b.len() != CDNA_SIZE {
            return Err(format!(
                "CDNA record is {} bytes, expected {CDNA_SIZE}",
                b.len()
            ));
        }
        if b[0..4] != MAGIC {
            return Err("CDNA record has no 'CDNA' magic".to_string());
        }
        let mut r = Reader::new(b, "CDNA record");
        r.seek(4);
        let (major, minor) = (r.u16()?, r.u16()?);
        if (major, minor) != (VERSION_MAJOR, VERSION_MINOR) {
            return Err(format!(
                "CDNA version {major}.{minor} is not supported (expected 2.1)"
            ));
        }
        let mut zeroed = [0u8; CDNA_SIZE];
        zeroed.copy_from_slice(b);
        zeroed[40..48].fill(0);
        let mut sum = Reader::new(&b[40..48], "CDNA checksum");
        if fnv1a64(&zeroed) != sum.u64()? {
            return Err("CDNA checksum mismatch".to_string());
        }
        let created = r.u64()?;
        let modified = r.u64()?;
        let profile_id = r.u32()?;
        let profile_state = r.u8()?;
        r.seek(32);
        let flags = r.u32()?;
        let revision = r.u32()?;
        r.seek(64);
        let mut c = Cdna {
            created,
            modified,
            profile_id,
            profile_state,
            flags,
            revision,
            ..Cdna::default()
        };
        for v in c.space_ids.iter_mut().chain(c.space_flags.iter_mut()) {
            *v = r.u8()?;
        }
        for v in c.scales.iter_mut() {
            *v = r.f32()?;
        }
        for v in c.bucket_sizes.iter_mut() {
            *v = r.u16()?;
        }
        c.field_strength_limit = r.f32()?;
        r.seek(192);
        for v in c.allowed_kinds.iter_mut() {
            *v = r.u64()?;
        }
        c.max_out_degree = r.u32()?;
        c.max_in_degree = r.u32()?;
        c.max_total_degree = r.u32()?;
        c.traversal_weight_threshold = r.f32()?;
        r.seek(256);
        for v in [
            &mut c.token_weight_min,
            &mut c.token_weight_max,
            &mut c.field_radius_min,
            &mut c.field_radius_max,
            &mut c.field_strength_min,
            &mut c.field_strength_max,
        ] {
            *v = r.f32()?;
        }
        r.seek(288);
        for v in [
            &mut c.strength_min,
            &mut c.strength_max,
            &mut c.rigidity_min,
            &mut c.rigidity_max,
            &mut c.default_pull_strength,
            &mut c.decay_rate,
        ] {
            *v = r.f32()?;
        }
        r.seek(320);
        for v in [
            &mut c.mutation_rate,
            &mut c.crossover_rate,
            &mut c.selection_pressure,
        ] {
            *v = r.f32()?;
        }
        let problems = c.problems();
        if !problems.is_empty() {
            return Err(format!(
                "CDNA record breaks its rules: {}",
                problems.join("; ")
            ));
        }
        Ok(c)
    }
}

/// 64-bit FNV-1a.
pub fn fnv1a64(data: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in data {
        h ^= *b as u64;
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}
