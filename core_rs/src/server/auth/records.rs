//! What the auth state files hold, and the views the API returns (never a secret or a hash).

use super::Role;
use serde::{Deserialize, Serialize};

/// A user in `users.json`.
#[derive(Clone, Serialize, Deserialize)]
pub struct UserRec {
    /// User name.
    pub name: String,
    /// The role.
    pub role: Role,
    /// argon2id PHC string; `None`: cannot log in with a password.
    pub password: Option<String>,
    /// A disabled user cannot log in and their keys and tokens stop working.
    #[serde(default)]
    pub disabled: bool,
    /// Unix seconds.
    #[serde(default)]
    pub created: u64,
    /// The kernel's ephemeral admin: lives in memory only.
    #[serde(skip)]
    pub ephemeral: bool,
}

/// An API key in `api_keys.json`.
#[derive(Clone, Serialize, Deserialize)]
pub struct KeyRec {
    /// Key id (the `<id>` of `ngk_<id>_<secret>`).
    pub id: String,
    /// The user the key acts for.
    pub owner: String,
    /// The role.
    pub role: Role,
    /// SHA-256 (hex) of the whole key string.
    pub sha256: String,
    /// Unix seconds.
    pub created: u64,
    /// Unix seconds; none: never.
    pub expires: Option<u64>,
    /// Unix seconds of the last request with this key (saved with other changes).
    pub last_used: Option<u64>,
    /// Belongs to the kernel's ephemeral admin (memory only).
    #[serde(skip)]
    pub ephemeral: bool,
}

/// A refresh token in `refresh.json`, keyed by the SHA-256 of the token.
#[derive(Clone, Serialize, Deserialize)]
pub struct RefreshRec {
    /// Every token rotated from the same login shares a family; reusing a rotated token
    /// revokes the whole family.
    pub family: String,
    /// The user it belongs to.
    pub user: String,
    /// Unix seconds.
    pub expires: u64,
    /// Already exchanged for a new one.
    pub used: bool,
}

/// A user as the API shows it.
#[derive(Clone, Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct UserInfo {
    /// User name.
    pub name: String,
    /// The role.
    pub role: Role,
    /// A disabled user cannot log in and their keys and tokens stop working.
    pub disabled: bool,
    /// Whether the user can log in with a password.
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
    /// Key id (the `<id>` of `ngk_<id>_<secret>`).
    pub id: String,
    /// The user the key acts for.
    pub owner: String,
    /// The role.
    pub role: Role,
    /// Unix seconds.
    pub created: u64,
    /// Unix seconds; none: never.
    pub expires: Option<u64>,
    /// Unix seconds of the last request with this key (saved with other changes).
    pub last_used: Option<u64>,
    /// Belongs to the kernel's ephemeral admin (memory only).
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
