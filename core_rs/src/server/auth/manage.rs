//! Managing users and API keys (admins and the Python API).

use super::records::{KeyRec, UserRec};
use super::{
    check_password, new_key, password, sha256_hex, valid_name, Auth, Data, KeyInfo, Role, UserInfo,
    EPHEMERAL_ADMIN,
};
use crate::server::problem::Problem;
use axum::http::StatusCode;

impl Auth {
    // ---- users -------------------------------------------------------------------------

    /// Add a user. `password` may be `None` (the user then works through API keys only).
    pub fn add_user(
        &self,
        name: &str,
        role: Role,
        password: Option<&str>,
    ) -> Result<UserInfo, Problem> {
        if !valid_name(name) || name == EPHEMERAL_ADMIN {
            let mut p = Problem::unprocessable(
                "a user name has 1-64 letters, digits, '_', '-', '.' or '@' and is not reserved",
            );
            p.field = Some("name".into());
            return Err(p);
        }
        let phc = match password {
            Some(pw) => {
                check_password(pw)?;
                Some(password::hash(pw, self.cost).ok_or_else(Problem::internal)?)
            }
            None => None,
        };
        let mut d = self.data.lock();
        if d.users.contains_key(name) {
            return Err(Problem::new(
                StatusCode::CONFLICT,
                "conflict",
                format!("user {name} exists"),
            ));
        }
        let rec = UserRec {
            name: name.into(),
            role,
            password: phc,
            disabled: false,
            created: self.clock.now_secs(),
            ephemeral: false,
        };
        let info = UserInfo::from(&rec);
        d.users.insert(name.into(), rec);
        if let Err(e) = self.save_users(&d) {
            d.users.remove(name);
            return Err(e);
        }
        Ok(info)
    }

    pub(super) fn stored_user<'a>(d: &'a mut Data, name: &str) -> Result<&'a mut UserRec, Problem> {
        match d.users.get_mut(name) {
            Some(u) if !u.ephemeral => Ok(u),
            Some(_) => Err(Problem::forbidden("the ephemeral admin cannot be changed")),
            None => Err(Problem::not_found(format!("no user {name}"))),
        }
    }

    /// Remove a user with their API keys and refresh tokens.
    pub fn remove_user(&self, name: &str) -> Result<(), Problem> {
        let mut d = self.data.lock();
        Self::stored_user(&mut d, name)?;
        d.users.remove(name);
        d.keys.retain(|_, k| k.owner != name);
        d.refresh.retain(|_, r| r.user != name);
        self.save_users(&d)?;
        self.save_keys(&d)?;
        self.save_refresh(&d)
    }

    /// Change a user's role. Their keys are capped by the new role from the next request on.
    pub fn set_role(&self, name: &str, role: Role) -> Result<UserInfo, Problem> {
        self.update_user(name, Some(role), None)
    }

    /// Change a user's role and/or disabled flag.
    pub fn update_user(
        &self,
        name: &str,
        role: Option<Role>,
        disabled: Option<bool>,
    ) -> Result<UserInfo, Problem> {
        let mut d = self.data.lock();
        let u = Self::stored_user(&mut d, name)?;
        if let Some(r) = role {
            u.role = r;
        }
        if let Some(x) = disabled {
            u.disabled = x;
        }
        let info = UserInfo::from(&*u);
        if disabled == Some(true) {
            d.refresh.retain(|_, r| r.user != name);
            self.save_refresh(&d)?;
        }
        self.save_users(&d)?;
        Ok(info)
    }

    /// Set a user's password (no check of the old one: admins and the Python API).
    pub fn set_password(&self, name: &str, new_password: &str) -> Result<(), Problem> {
        check_password(new_password)?;
        let phc = password::hash(new_password, self.cost).ok_or_else(Problem::internal)?;
        let mut d = self.data.lock();
        Self::stored_user(&mut d, name)?.password = Some(phc);
        d.refresh.retain(|_, r| r.user != name);
        self.save_refresh(&d)?;
        self.save_users(&d)
    }

    /// All users, by name.
    pub fn list_users(&self) -> Vec<UserInfo> {
        self.data
            .lock()
            .users
            .values()
            .map(UserInfo::from)
            .collect()
    }

    // ---- API keys ----------------------------------------------------------------------

    /// Create an API key for `owner` with `role` (at most the owner's), valid `expires`
    /// seconds (`None`: no expiry). Returns the key's info and the secret, shown only here.
    pub fn create_key(
        &self,
        owner: &str,
        role: Role,
        expires: Option<u64>,
    ) -> Result<(KeyInfo, String), Problem> {
        let now = self.clock.now_secs();
        let mut d = self.data.lock();
        let o = d
            .users
            .get(owner)
            .ok_or_else(|| Problem::not_found(format!("no user {owner}")))?;
        if role > o.role {
            let mut p = Problem::unprocessable(format!(
                "a key's role cannot exceed its owner's ({} has {})",
                owner,
                o.role.as_str()
            ));
            p.field = Some("role".into());
            return Err(p);
        }
        if d.keys.values().filter(|k| k.owner == owner).count() >= 1000 {
            return Err(Problem::unprocessable("this user has 1000 keys already"));
        }
        let (id, secret) = new_key();
        let rec = KeyRec {
            id: id.clone(),
            owner: owner.into(),
            role,
            sha256: sha256_hex(&secret),
            created: now,
            expires: expires.map(|s| now.saturating_add(s)),
            last_used: None,
            ephemeral: false,
        };
        let info = KeyInfo::from(&rec);
        d.keys.insert(id.clone(), rec);
        if let Err(e) = self.save_keys(&d) {
            d.keys.remove(&id);
            return Err(e);
        }
        Ok((info, secret))
    }

    /// Revoke (delete) an API key.
    pub fn revoke_key(&self, id: &str) -> Result<(), Problem> {
        let mut d = self.data.lock();
        match d.keys.get(id) {
            None => return Err(Problem::not_found(format!("no API key {id}"))),
            Some(k) if k.ephemeral => {
                return Err(Problem::forbidden(
                    "the ephemeral admin key cannot be revoked",
                ))
            }
            Some(_) => {}
        }
        d.keys.remove(id);
        self.save_keys(&d)
    }

    /// All API keys (no secrets, no hashes).
    pub fn list_keys(&self) -> Vec<KeyInfo> {
        self.data.lock().keys.values().map(KeyInfo::from).collect()
    }

    /// Replace API key `id` by a new one with the same owner, role and expiry; the old secret
    /// stops working at once. Returns the new key's info and secret.
    pub fn rotate_key(&self, id: &str) -> Result<(KeyInfo, String), Problem> {
        let (owner, role, expires) = {
            let d = self.data.lock();
            let k = d
                .keys
                .get(id)
                .ok_or_else(|| Problem::not_found(format!("no API key {id}")))?;
            if k.ephemeral {
                return Err(Problem::forbidden(
                    "the ephemeral admin key cannot be rotated",
                ));
            }
            let now = self.clock.now_secs();
            (
                k.owner.clone(),
                k.role,
                k.expires.map(|e| e.saturating_sub(now)),
            )
        };
        let made = self.create_key(&owner, role, expires)?;
        self.revoke_key(id)?;
        Ok(made)
    }
}
