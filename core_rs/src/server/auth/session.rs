//! Sessions: password login, refresh-token rotation with reuse detection, one-time login
//! links and WebSocket tickets, JWT key rotation.

use super::records::RefreshRec;
use super::{
    b64, invalid_credentials, password, random_bytes, random_hex, sha256_hex, Auth, Principal,
    Role, TokenPair,
};
use crate::server::problem::Problem;

/// Seconds a login link stays valid (it is also spent by its first use).
pub const LOGIN_LINK_TTL: f64 = 300.0;
/// Seconds a WebSocket ticket stays valid.
pub const WS_TICKET_TTL: f64 = 30.0;
/// Most one-time tokens held at once; the oldest is dropped beyond it.
const MAX_TICKETS: usize = 4096;
/// Most refresh tokens held at once; the oldest expire first beyond it.
const MAX_REFRESH: usize = 100_000;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(super) enum TicketKind {
    Login,
    Ws,
}

pub(super) struct Ticket {
    kind: TicketKind,
    principal: Principal,
    expires: f64,
}

impl Auth {
    fn issue_ticket(&self, kind: TicketKind, principal: Principal, ttl: f64) -> String {
        let prefix = match kind {
            TicketKind::Login => "ngl_",
            TicketKind::Ws => "ngw_",
        };
        let token = format!("{prefix}{}", b64(&random_bytes::<32>()));
        let now = self.clock.now();
        let mut t = self.tickets.lock();
        if t.len() >= MAX_TICKETS {
            t.retain(|_, x| x.expires > now);
            while t.len() >= MAX_TICKETS {
                let oldest = t
                    .iter()
                    .min_by(|a, b| a.1.expires.total_cmp(&b.1.expires))
                    .map(|(k, _)| k.clone());
                match oldest {
                    Some(k) => t.remove(&k),
                    None => break,
                };
            }
        }
        t.insert(
            sha256_hex(&token),
            Ticket {
                kind,
                principal,
                expires: now + ttl,
            },
        );
        token
    }

    fn redeem(&self, kind: TicketKind, token: &str) -> Result<Principal, Problem> {
        let refused = || Problem::unauthorized("the one-time token is not valid or was used");
        if token.len() > 128 {
            return Err(refused());
        }
        let now = self.clock.now();
        let t = self
            .tickets
            .lock()
            .remove(&sha256_hex(token))
            .ok_or_else(refused)?;
        if t.kind != kind || t.expires <= now {
            return Err(refused());
        }
        // The principal must still exist with (at most) its role.
        Auth::principal_for(
            &self.data.lock(),
            &t.principal.name,
            t.principal.role,
            t.principal.key_id,
        )
    }

    /// A one-time login token for the kernel's ephemeral admin (5 minutes or first use);
    /// exchange it at `GET /login?token=...` for the session cookie.
    pub fn login_link(&self) -> Result<String, Problem> {
        self.login_link_for(super::EPHEMERAL_ADMIN)
    }

    /// A one-time login token for user `name`.
    pub fn login_link_for(&self, name: &str) -> Result<String, Problem> {
        let role = {
            let d = self.data.lock();
            let u = d
                .users
                .get(name)
                .ok_or_else(|| Problem::not_found(format!("no user {name}")))?;
            u.role
        };
        let p = Principal {
            name: name.into(),
            role,
            key_id: None,
        };
        Ok(self.issue_ticket(TicketKind::Login, p, LOGIN_LINK_TTL))
    }

    /// Spend a login link: the session JWT for the cookie and who it is for.
    pub fn redeem_login_link(&self, token: &str) -> Result<(String, Principal), Problem> {
        let p = self.redeem(TicketKind::Login, token)?;
        let jwt = self.sign_access(&p.name, p.role, self.session_ttl)?;
        Ok((jwt, p))
    }

    /// Seconds the session cookie lives.
    pub fn session_ttl(&self) -> u64 {
        self.session_ttl
    }

    /// A single-use ticket (30 s) authenticating one WebSocket upgrade as `p`.
    pub fn ws_ticket(&self, p: &Principal) -> String {
        self.issue_ticket(TicketKind::Ws, p.clone(), WS_TICKET_TTL)
    }

    pub(super) fn redeem_ws_ticket(&self, token: &str) -> Result<Principal, Problem> {
        self.redeem(TicketKind::Ws, token)
    }

    pub(super) fn sign_access(&self, name: &str, role: Role, ttl: u64) -> Result<String, Problem> {
        self.jwt
            .read()
            .sign(name, role, self.clock.now_secs(), ttl)
            .ok_or_else(Problem::internal)
    }

    /// Start a new JWT signing key; the previous one keeps verifying, older ones stop.
    /// Returns the new key id.
    pub fn rotate_jwt_key(&self) -> Result<String, Problem> {
        let mut k = self.jwt.write();
        let mut next = k.clone();
        let kid = next.rotate(self.clock.now_secs());
        self.dir
            .write_json("jwt_keys.json", &next)
            .map_err(|_| Problem::internal())?;
        *k = next;
        Ok(kid)
    }

    /// Issue an access + refresh pair in refresh family `family` (a new one if `None`).
    fn issue_pair(
        &self,
        name: &str,
        role: Role,
        family: Option<String>,
    ) -> Result<TokenPair, Problem> {
        let access = self.sign_access(name, role, self.access_ttl)?;
        let refresh = format!("ngr_{}", b64(&random_bytes::<32>()));
        let now = self.clock.now_secs();
        let mut d = self.data.lock();
        if d.refresh.len() >= MAX_REFRESH {
            d.refresh.retain(|_, r| r.expires > now && !r.used);
        }
        if d.refresh.len() >= MAX_REFRESH {
            return Err(Problem::busy(60));
        }
        d.refresh.insert(
            sha256_hex(&refresh),
            RefreshRec {
                family: family.unwrap_or_else(|| random_hex(8)),
                user: name.into(),
                expires: now.saturating_add(self.refresh_ttl),
                used: false,
            },
        );
        self.save_refresh(&d)?;
        Ok(TokenPair {
            access_token: access,
            token_type: "Bearer".into(),
            expires_in: self.access_ttl,
            refresh_token: refresh,
        })
    }

    /// Verify `password` for `name` off the async workers (at most 2 at once). One generic
    /// error for an unknown user, a disabled one and a wrong password.
    pub async fn verify_password(&self, name: &str, password: &str) -> Result<Principal, Problem> {
        let phc = {
            let d = self.data.lock();
            d.users
                .get(name)
                .filter(|u| !u.disabled)
                .and_then(|u| u.password.clone())
        };
        let known = phc.is_some();
        let pw = password.to_string();
        let (dummy, cost) = (self.dummy.clone(), self.cost);
        let _permit = self
            .hash_gate
            .acquire()
            .await
            .map_err(|_| Problem::internal())?;
        let ok = tokio::task::spawn_blocking(move || {
            // Unknown users cost a verification too, so timing does not tell them apart.
            let phc = phc.unwrap_or_else(|| {
                dummy
                    .get_or_init(|| {
                        password::hash("not a password at all", cost).unwrap_or_default()
                    })
                    .clone()
            });
            password::verify(&pw, &phc)
        })
        .await
        .unwrap_or(false);
        let wrong = || Problem::unauthorized("the name or the password is wrong");
        if !(ok && known) {
            return Err(wrong());
        }
        let d = self.data.lock();
        let role = d.users.get(name).map(|u| u.role).ok_or_else(wrong)?;
        Auth::principal_for(&d, name, role, None).map_err(|_| wrong())
    }

    /// Password login: an access + refresh pair. A hash made with other argon2 parameters
    /// than the configured ones is replaced by a fresh one.
    pub async fn login(
        &self,
        name: &str,
        password: &str,
    ) -> Result<(TokenPair, Principal), Problem> {
        let p = self.verify_password(name, password).await?;
        self.rehash_if_stale(name, password).await;
        Ok((self.issue_pair(&p.name, p.role, None)?, p))
    }

    /// Password login for a browser: the session JWT for the HttpOnly cookie (lives
    /// `session_ttl`, no refresh token) and who it is for.
    pub async fn cookie_login(
        &self,
        name: &str,
        password: &str,
    ) -> Result<(String, Principal), Problem> {
        let p = self.verify_password(name, password).await?;
        self.rehash_if_stale(name, password).await;
        let jwt = self.sign_access(&p.name, p.role, self.session_ttl)?;
        Ok((jwt, p))
    }

    async fn rehash_if_stale(&self, name: &str, pw: &str) {
        let want = format!(
            "$m={},t={},p={}$",
            self.cost.m_kib, self.cost.t, self.cost.p
        );
        let stale = {
            let d = self.data.lock();
            d.users
                .get(name)
                .and_then(|u| u.password.as_deref())
                .is_some_and(|h| !h.replace("$v=19", "").contains(&want))
        };
        if !stale {
            return;
        }
        let (cost, pw) = (self.cost, pw.to_string());
        let Ok(_permit) = self.hash_gate.acquire().await else {
            return;
        };
        if let Ok(Some(phc)) = tokio::task::spawn_blocking(move || password::hash(&pw, cost)).await
        {
            let mut d = self.data.lock();
            if let Ok(u) = Auth::stored_user(&mut d, name) {
                u.password = Some(phc);
                let _ = self.save_users(&d);
            }
        }
    }

    /// Exchange a refresh token for a new pair. A token already exchanged revokes its whole
    /// family (someone else holds a copy).
    pub fn refresh(&self, token: &str) -> Result<(TokenPair, Principal), Problem> {
        let h = sha256_hex(token);
        let now = self.clock.now_secs();
        let (family, user) = {
            let mut d = self.data.lock();
            let r = d.refresh.get_mut(&h).ok_or_else(invalid_credentials)?;
            if r.used {
                let fam = r.family.clone();
                d.refresh.retain(|_, x| x.family != fam);
                self.save_refresh(&d)?;
                return Err(Problem::unauthorized(
                    "this refresh token was already used; its session is revoked",
                ));
            }
            if r.expires <= now {
                return Err(Problem::unauthorized("the refresh token has expired"));
            }
            r.used = true;
            (r.family.clone(), r.user.clone())
        };
        let p = {
            let d = self.data.lock();
            let role = d
                .users
                .get(&user)
                .map(|u| u.role)
                .ok_or_else(invalid_credentials)?;
            Auth::principal_for(&d, &user, role, None)?
        };
        Ok((self.issue_pair(&p.name, p.role, Some(family))?, p))
    }

    /// Revoke the family of refresh token `token` (logout). Unknown tokens are ignored.
    pub fn logout(&self, token: &str) -> Result<(), Problem> {
        let h = sha256_hex(token);
        let mut d = self.data.lock();
        if let Some(fam) = d.refresh.get(&h).map(|r| r.family.clone()) {
            d.refresh.retain(|_, x| x.family != fam);
            self.save_refresh(&d)?;
        }
        Ok(())
    }

    /// Change the caller's own password after checking the current one.
    pub async fn change_password(
        &self,
        name: &str,
        current: &str,
        new: &str,
    ) -> Result<(), Problem> {
        super::check_password(new)?;
        self.verify_password(name, current).await?;
        let cost = self.cost;
        let pw = new.to_string();
        let _permit = self
            .hash_gate
            .acquire()
            .await
            .map_err(|_| Problem::internal())?;
        let phc = tokio::task::spawn_blocking(move || password::hash(&pw, cost))
            .await
            .ok()
            .flatten()
            .ok_or_else(Problem::internal)?;
        let mut d = self.data.lock();
        Auth::stored_user(&mut d, name)?.password = Some(phc);
        d.refresh.retain(|_, r| r.user != name);
        self.save_refresh(&d)?;
        self.save_users(&d)
    }
}
