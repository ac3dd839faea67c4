//! argon2id password hashes (PHC strings).

use argon2::{Algorithm, Argon2, Params, PasswordHasher, PasswordVerifier, Version};

/// argon2id cost: memory in KiB, iterations, lanes. The default is the OWASP floor
/// (19 MiB, t = 2, p = 1); tests use the minimum to stay fast.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PasswordCost {
    /// Memory in KiB.
    pub m_kib: u32,
    /// Iterations.
    pub t: u32,
    /// Lanes.
    pub p: u32,
}

impl Default for PasswordCost {
    fn default() -> Self {
        PasswordCost {
            m_kib: 19 * 1024,
            t: 2,
            p: 1,
        }
    }
}

impl PasswordCost {
    /// The cheapest valid cost (tests only).
    pub fn minimum() -> Self {
        PasswordCost {
            m_kib: 8,
            t: 1,
            p: 1,
        }
    }
}

/// Longest password accepted (bytes); argon2 time does not depend on it much, but bodies do.
pub const MAX_PASSWORD: usize = 1024;
/// Shortest password accepted.
pub const MIN_PASSWORD: usize = 8;

/// Hash `password` into a PHC string.
pub fn hash(password: &str, cost: PasswordCost) -> Option<String> {
    let params = Params::new(cost.m_kib, cost.t, cost.p, None).ok()?;
    let a = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
    let salt = super::random_bytes::<16>();
    a.hash_password_with_salt(password.as_bytes(), &salt)
        .ok()
        .map(|h| h.to_string())
}

/// Whether `password` matches the PHC string `phc` (its own parameters are used).
pub fn verify(password: &str, phc: &str) -> bool {
    Argon2::default()
        .verify_password(password.as_bytes(), phc)
        .is_ok()
}
