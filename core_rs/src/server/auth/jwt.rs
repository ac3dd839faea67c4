//! HS256 access tokens signed with a key id (`kid`): the current key signs, the previous one
//! still verifies, so keys rotate without logging everyone out at once.

use super::{b64, random_hex, Role};
use base64::Engine;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

/// How many keys verify at once (current + previous).
pub const KEEP: usize = 2;

/// One signing key as stored in `jwt_keys.json`.
#[derive(Clone, Serialize, Deserialize)]
pub struct JwtKey {
    /// Key id, in the JWT header.
    pub kid: String,
    /// The 256-bit key, base64url.
    pub key: String,
    /// Unix seconds.
    pub created: u64,
}

/// The contents of `jwt_keys.json`: newest last; the last one signs.
#[derive(Clone, Default, Serialize, Deserialize)]
pub struct JwtKeys {
    /// Oldest first.
    pub keys: Vec<JwtKey>,
}

/// What an access token says.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Claims {
    /// User name.
    pub sub: String,
    /// The role.
    pub role: Role,
    /// Issued at, Unix seconds.
    pub iat: u64,
    /// Expiry, Unix seconds.
    pub exp: u64,
    /// Always "access".
    pub typ: String,
    /// Token id, for revocation at logout.
    #[serde(default)]
    pub jti: String,
}

/// Why a token was refused (all map to 401).
#[derive(Debug, PartialEq, Eq)]
pub enum JwtError {
    /// Not a JWT, or not HS256.
    Malformed,
    /// Its `kid` is not a key the server verifies with.
    UnknownKey,
    /// The signature does not match.
    BadSignature,
    /// Past its `exp`.
    Expired,
}

impl JwtKeys {
    /// Add a fresh key that signs from now on; drop keys beyond [`KEEP`]. Returns its kid.
    pub fn rotate(&mut self, now: u64) -> String {
        let kid = random_hex(6);
        self.keys.push(JwtKey {
            kid: kid.clone(),
            key: b64(&super::random_bytes::<32>()),
            created: now,
        });
        while self.keys.len() > KEEP {
            self.keys.remove(0);
        }
        kid
    }

    /// The kid that signs.
    pub fn current(&self) -> Option<&str> {
        self.keys.last().map(|k| k.kid.as_str())
    }

    fn secret(&self, kid: &str) -> Option<Vec<u8>> {
        let k = self.keys.iter().find(|k| k.kid == kid)?;
        base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(&k.key)
            .ok()
    }

    /// Sign an access token for `sub` with `role`, valid `ttl` seconds from `now`.
    pub fn sign(&self, sub: &str, role: Role, now: u64, ttl: u64) -> Option<String> {
        let kid = self.current()?;
        let secret = self.secret(kid)?;
        let mut header = Header::new(Algorithm::HS256);
        header.kid = Some(kid.to_string());
        let claims = Claims {
            sub: sub.to_string(),
            role,
            iat: now,
            exp: now.saturating_add(ttl),
            typ: "access".into(),
            jti: random_hex(8),
        };
        let key = EncodingKey::from_secret(&secret).ok()?;
        jsonwebtoken::encode(&header, &claims, &key).ok()
    }

    /// Verify `token` at time `now`: known kid, good HS256 signature, not expired.
    pub fn verify(&self, token: &str, now: u64) -> Result<Claims, JwtError> {
        let header = jsonwebtoken::decode_header(token).map_err(|_| JwtError::Malformed)?;
        if header.alg != Algorithm::HS256 {
            return Err(JwtError::Malformed);
        }
        let kid = header.kid.ok_or(JwtError::UnknownKey)?;
        let secret = self.secret(&kid).ok_or(JwtError::UnknownKey)?;
        let key = DecodingKey::from_secret(&secret).map_err(|_| JwtError::Malformed)?;
        let mut v = Validation::new(Algorithm::HS256);
        // Expiry is checked below against the server's clock.
        v.validate_exp = false;
        v.set_required_spec_claims(&["exp", "sub"]);
        let data = jsonwebtoken::decode::<Claims>(token, &key, &v).map_err(|e| {
            use jsonwebtoken::errors::ErrorKind as K;
            match e.kind() {
                K::InvalidSignature => JwtError::BadSignature,
                _ => JwtError::Malformed,
            }
        })?;
        let c = data.claims;
        if c.typ != "access" {
            return Err(JwtError::Malformed);
        }
        if c.exp <= now {
            return Err(JwtError::Expired);
        }
        Ok(c)
    }
}
