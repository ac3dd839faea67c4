//! Token V2.0: the 64-byte record placed in the eight coordinate spaces.

use crate::error::{NgError, Result};
use crate::space::{decode, encode, NUM_AXES, NUM_SPACES};
use bytemuck::{Pod, Zeroable};

/// Entity types (4 bits), in id bits 24-27 and flag bits 8-11.
pub const ENTITY_TYPES: [&str; 15] = [
    "undefined",
    "object",
    "event",
    "state",
    "process",
    "concept",
    "relation",
    "pattern",
    "rule",
    "goal",
    "memory",
    "sensor",
    "actuator",
    "controller",
    "buffer",
];

/// System flag bits 0-7.
pub mod flags {
    pub const ACTIVE: u16 = 1 << 0;
    pub const PERSISTENT: u16 = 1 << 1;
    pub const MUTABLE: u16 = 1 << 2;
    pub const SYNCHRONIZED: u16 = 1 << 3;
    pub const COMPRESSED: u16 = 1 << 4;
    pub const ENCRYPTED: u16 = 1 << 5;
    pub const DIRTY: u16 = 1 << 6;
    pub const LOCKED: u16 = 1 << 7;
    /// Names of the system flags, bit order.
    pub const NAMES: [&str; 8] = [
        "ACTIVE",
        "PERSISTENT",
        "MUTABLE",
        "SYNCHRONIZED",
        "COMPRESSED",
        "ENCRYPTED",
        "DIRTY",
        "LOCKED",
    ];
    /// Entity-type copy lives in bits 8-11.
    pub const ENTITY_SHIFT: u16 = 8;
    pub const ENTITY_MASK: u16 = 0x0F00;
    /// User flags, bits 12-15.
    pub const USER_SHIFT: u16 = 12;
    pub const USER_MASK: u16 = 0xF000;
    pub const SYSTEM_MASK: u16 = 0x00FF;
}

/// Largest local id (24 bits).
pub const MAX_LOCAL_ID: u32 = (1 << 24) - 1;

/// Resolve an entity type name (case-insensitive) or its number.
pub fn parse_entity(name: &str) -> Result<u8> {
    let n = name.trim().to_ascii_lowercase();
    if let Some(i) = ENTITY_TYPES.iter().position(|s| *s == n) {
        return Ok(i as u8);
    }
    match n.parse::<u8>() {
        Ok(k) if (k as usize) < ENTITY_TYPES.len() => Ok(k),
        _ => Err(NgError::UnknownEntityType(name.to_string())),
    }
}

/// Name of an entity type number.
pub fn entity_name(e: u8) -> &'static str {
    ENTITY_TYPES.get(e as usize).copied().unwrap_or("undefined")
}

/// The 64-byte token record. Field order keeps every field naturally aligned with no padding.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Pod, Zeroable)]
pub struct Token {
    /// 8 spaces x (X, Y, Z), fixed point per space (48 bytes).
    pub coords: [[i16; NUM_AXES]; NUM_SPACES],
    /// bits 0-23 local id, 24-27 entity type, 28-31 domain.
    pub id: u32,
    /// Token weight.
    pub weight: f32,
    /// Creation / last-change time, seconds since the Unix epoch.
    pub timestamp: u32,
    /// bits 0-7 system flags, 8-11 entity type, 12-15 user flags.
    pub flags: u16,
    /// Field radius x100 (0.00-2.55).
    pub field_radius: u8,
    /// Field strength x255 (0-1).
    pub field_strength: u8,
}

const _: () = assert!(std::mem::size_of::<Token>() == 64);
const _: () = assert!(std::mem::align_of::<Token>() == 4);

impl Token {
    /// Local id (bits 0-23).
    #[inline]
    pub fn local_id(&self) -> u32 {
        self.id & MAX_LOCAL_ID
    }
    /// Entity type (bits 24-27 of id).
    #[inline]
    pub fn entity(&self) -> u8 {
        ((self.id >> 24) & 0x0F) as u8
    }
    /// Domain (bits 28-31 of id).
    #[inline]
    pub fn domain(&self) -> u8 {
        (self.id >> 28) as u8
    }
    /// Set entity type in both the id and the flags copy.
    pub fn set_entity(&mut self, e: u8) {
        let e = e & 0x0F;
        self.id = (self.id & !(0x0F << 24)) | ((e as u32) << 24);
        self.flags = (self.flags & !flags::ENTITY_MASK) | ((e as u16) << flags::ENTITY_SHIFT);
    }
    /// Set the domain nibble.
    pub fn set_domain(&mut self, d: u8) {
        self.id = (self.id & !(0x0F << 28)) | (((d & 0x0F) as u32) << 28);
    }
    /// Decoded coordinates of one space.
    #[inline]
    pub fn space_coords(&self, space: usize) -> [f32; 3] {
        let c = self.coords[space];
        [
            decode(space, c[0]),
            decode(space, c[1]),
            decode(space, c[2]),
        ]
    }
    /// Encode and set one space's coordinates.
    pub fn set_space_coords(&mut self, space: usize, xyz: [f32; 3], clamp: bool) -> Result<()> {
        let mut raw = [0i16; 3];
        for (axis, v) in xyz.iter().enumerate() {
            raw[axis] = encode(space, axis, *v, clamp)?;
        }
        self.coords[space] = raw;
        Ok(())
    }
    /// Field radius as float (0.00-2.55).
    #[inline]
    pub fn field_radius_f(&self) -> f32 {
        self.field_radius as f32 / 100.0
    }
    /// Field strength as float (0-1).
    #[inline]
    pub fn field_strength_f(&self) -> f32 {
        self.field_strength as f32 / 255.0
    }
}

/// Encode a field radius (0.00-2.55) into its byte.
pub fn encode_field_radius(r: f32) -> Result<u8> {
    if !r.is_finite() || !(0.0..=2.55).contains(&r) {
        return Err(NgError::invalid("field_radius", r, "must be in [0, 2.55]"));
    }
    Ok((r * 100.0 + 0.5) as u8)
}

/// Encode a field strength (0-1) into its byte.
pub fn encode_field_strength(s: f32) -> Result<u8> {
    if !s.is_finite() || !(0.0..=1.0).contains(&s) {
        return Err(NgError::invalid("field_strength", s, "must be in [0, 1]"));
    }
    Ok((s * 255.0 + 0.5) as u8)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_is_64_bytes_and_packs_id_fields() {
        assert_eq!(std::mem::size_of::<Token>(), 64);
        let mut t = Token::zeroed();
        t.id = 42;
        t.set_entity(5);
        t.set_domain(3);
        assert_eq!(t.local_id(), 42);
        assert_eq!(t.entity(), 5);
        assert_eq!(t.domain(), 3);
        assert_eq!((t.flags & flags::ENTITY_MASK) >> 8, 5);
    }

    #[test]
    fn entity_names_resolve() {
        assert_eq!(parse_entity("Concept").unwrap(), 5);
        assert_eq!(parse_entity("14").unwrap(), 14);
        assert!(parse_entity("15").is_err());
        assert!(parse_entity("thing").is_err());
    }

    #[test]
    fn field_encoding_bounds() {
        assert_eq!(encode_field_radius(2.55).unwrap(), 255);
        assert!(encode_field_radius(2.6).is_err());
        assert_eq!(encode_field_strength(1.0).unwrap(), 255);
        assert!(encode_field_strength(-0.1).is_err());
    }
}
