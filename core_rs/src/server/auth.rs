//! Who is asking, and what they may do.
//!
//! SKELETON: only the ephemeral admin API key works; users, passwords (argon2id), API keys
//! (SHA-256), JWT access/refresh, the one-time login link and the cookie come with the auth
//! work. The public surface below (Role, Principal, the extractor, Auth::open,
//! Auth::ephemeral_admin_key) is the contract the routes use.

use super::problem::Problem;
use super::{AppState, Config, StartError};
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use serde::{Deserialize, Serialize};

/// Roles, lowest first: `readonly` < `user` < `admin`.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Readonly,
    User,
    Admin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Readonly => "readonly",
            Role::User => "user",
            Role::Admin => "admin",
        }
    }
    pub fn parse(s: &str) -> Option<Role> {
        match s {
            "readonly" => Some(Role::Readonly),
            "user" => Some(Role::User),
            "admin" => Some(Role::Admin),
            _ => None,
        }
    }
}

/// An authenticated caller.
#[derive(Clone, Debug)]
pub struct Principal {
    /// User name (for an API key: its owner).
    pub name: String,
    pub role: Role,
    /// The API key id when authenticated by a key.
    pub key_id: Option<String>,
}

impl Principal {
    /// 403 unless this principal has at least `role`.
    pub fn require(&self, role: Role) -> Result<(), Problem> {
        if self.role >= role {
            Ok(())
        } else {
            Err(Problem::forbidden(format!(
                "this needs the {} role; {} has {}",
                role.as_str(),
                self.name,
                self.role.as_str()
            )))
        }
    }
    /// How writes by this principal are reported to the store's sinks.
    pub fn origin(&self) -> String {
        format!("api:{}", self.name)
    }
}

/// The auth store.
pub struct Auth {
    admin_key: String,
}

impl Auth {
    pub fn open(_config: &Config) -> Result<Auth, StartError> {
        Ok(Auth {
            admin_key: "ngk_skeleton_admin".into(),
        })
    }

    /// The key of the ephemeral admin principal of a kernel-started server.
    pub fn ephemeral_admin_key(&self) -> String {
        self.admin_key.clone()
    }

    /// Resolve request credentials (the `Authorization` header) to a principal.
    pub fn authenticate(&self, parts: &Parts) -> Result<Principal, Problem> {
        let header = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| Problem::unauthorized("credentials are required"))?;
        let token = header.strip_prefix("Bearer ").unwrap_or("");
        if token == self.admin_key {
            Ok(Principal {
                name: "admin".into(),
                role: Role::Admin,
                key_id: None,
            })
        } else {
            Err(Problem::unauthorized("the credentials are not valid"))
        }
    }
}

impl FromRequestParts<AppState> for Principal {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Problem> {
        if let Some(p) = parts.extensions.get::<Principal>() {
            return Ok(p.clone());
        }
        state.auth.authenticate(parts)
    }
}
