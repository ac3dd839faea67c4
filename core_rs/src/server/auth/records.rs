//! What the auth state files hold, and the views the API returns (never a secret or a hash).

use super::Role;
use serde::{Deserialize, Serialize};

/// A user in `users.json`.
#[derive(Clone, Serialize, Deserialize)]
pub struct UserRec {
    pub name: String,
    pub role: Role,
    /// argon2id PHC string; `None`: cannot log in with a password.
    pub password: Option<String>,
    #[serde(default)]
    pub disabled: bool,
    #[serde(default)]
    pub created: u64,
    /// The kernel's ephemeral admin: lives in memory only.
    #[serde(skip)]
    pub ephemeral: bool,
}

/// An API key in `api_keys.json`.
#[derive(Clone, Serialize, Deserialize)]
pub struct KeyRec {
    pub id: String,
    pub owner: String,
    pub role: Role,
    /// SHA-256 (hex) of the whole key string.
    pub sha256: String,
    pub created: u64,
    pub expires: Option<u64>,
    pub last_used: Option<u64>,
    #[serde(skip)]
    pub ephemeral: bool,
}

/// A refresh token in `refresh.json`, keyed by the SHA-256 of the token.
#[derive(Clone, Serialize, Deserialize)]
pub struct RefreshRec {
    /// Every token rotated from the same login shares a family; reusing a rotated token
    /// revokes the whole family.
    pub family: String,
    pub user: String,
    pub expires: u64,
    /// Already exchanged for a new one.
    pub used: bool,
}

/// A user as the API shows it.
#[derive(Clone, Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct UserInfo {
    pub name: String,
    pub role: Role,
    pub disabled: bool,
    pub has_password: bool,
    /// Unix seconds.
    pub created: u64,
    /// The kernel's ephemeral admin (not stored).
    pub ephemeral: bool,
}

impl From<&UserRec> for UserInfo {
    fn from(u: &UserRec) -> Self {
        UserInfo {
            name: u.name.clone(),
            role: u.role,
            disabled: u.disabled,
            has_password: u.password.is_some(),
            created: u.created,
            ephemeral: u.ephemeral,
        }
    }
}

/// An API key as the API shows it (no secret, no hash).
#[derive(Clone, Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct KeyInfo {
    pub id: String,
    pub owner: String,
    pub role: Role,
    /// Unix seconds.
    pub created: u64,
    pub expires: Option<u64>,
    pub last_used: Option<u64>,
    pub ephemeral: bool,
}

impl From<&KeyRec> for KeyInfo {
    fn from(k: &KeyRec) -> Self {
        KeyInfo {
            id: k.id.clone(),
            owner: k.owner.clone(),
            role: k.role,
            created: k.created,
            expires: k.expires,
            last_used: k.last_used,
            ephemeral: k.ephemeral,
        }
    }
}

/// What a login or a refresh returns.
#[derive(Clone, Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TokenPair {
    /// HS256 JWT for `Authorization: Bearer`.
    pub access_token: String,
    /// Always "Bearer".
    pub token_type: String,
    /// Seconds until the access token expires.
    pub expires_in: u64,
    /// Opaque; exchange it at `/api/v1/auth/refresh` (once: it rotates).
    pub refresh_token: String,
}
