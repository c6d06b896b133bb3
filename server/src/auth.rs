//! Authentication: argon2id passwords, short-lived access tokens (JWT,
//! HS256 only), rotating refresh tokens bound to a device, and the
//! [`Caller`] extractor that every protected handler takes.
//!
//! The caller's role and area are read from the database on every request,
//! not from the token, so a reassignment or a revoked device takes effect at
//! once.

use crate::AppState;
use crate::db::{accounts, now_ms};
use crate::error::AppError;
use argon2::Argon2;
use argon2::password_hash::{
    PasswordHash, PasswordHasher, PasswordVerifier, SaltString, rand_core::OsRng,
};
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeSet;
use sync_core::model::Role;

/// Token issuer.
pub const ISSUER: &str = "gocua";
/// Token audience.
pub const AUDIENCE: &str = "gocua-api";
/// Clock leeway when checking `exp` / `nbf`, in seconds.
pub const LEEWAY_SECS: u64 = 30;

/// Hashes a password with argon2id and a random salt.
pub fn hash_password(password: &str) -> Result<String, AppError> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| AppError::Internal(format!("hash: {e}")))
}

/// Checks a password against a stored hash (constant-time in the hash).
pub fn verify_password(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash)
        .map(|h| {
            Argon2::default()
                .verify_password(password.as_bytes(), &h)
                .is_ok()
        })
        .unwrap_or(false)
}

/// Claims of an access token.
#[derive(Debug, Serialize, Deserialize, Clone)]
pub struct Claims {
    /// Issuer.
    pub iss: String,
    /// Audience.
    pub aud: String,
    /// User id.
    pub sub: String,
    /// Device id the token was issued to (`web` for browser sessions).
    pub dev: String,
    /// Expiry (seconds since epoch).
    pub exp: u64,
    /// Not before.
    pub nbf: u64,
    /// Issued at.
    pub iat: u64,
}

/// Signs and checks access tokens.
#[derive(Clone)]
pub struct TokenKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    /// Access-token lifetime in seconds.
    pub access_ttl_secs: u64,
    /// Refresh-token lifetime in seconds.
    pub refresh_ttl_secs: u64,
}

impl std::fmt::Debug for TokenKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenKeys")
            .field("secret", &"<redacted>")
            .field("access_ttl_secs", &self.access_ttl_secs)
            .finish()
    }
}

impl TokenKeys {
    /// Keys from a shared secret.
    pub fn new(secret: &[u8], access_ttl_secs: u64, refresh_ttl_secs: u64) -> Self {
        TokenKeys {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            access_ttl_secs,
            refresh_ttl_secs,
        }
    }

    /// Issues an access token.
    pub fn issue(&self, user: &str, device: &str) -> Result<String, AppError> {
        let now = (now_ms() / 1000) as u64;
        let claims = Claims {
            iss: ISSUER.into(),
            aud: AUDIENCE.into(),
            sub: user.into(),
            dev: device.into(),
            exp: now + self.access_ttl_secs,
            nbf: now,
            iat: now,
        };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(|e| AppError::Internal(format!("jwt: {e}")))
    }

    /// Verifies a token: HS256 only (an `alg` swap is refused), issuer,
    /// audience, expiry and not-before with at most 30 s of leeway.
    pub fn verify(&self, token: &str) -> Result<Claims, AppError> {
        let mut v = Validation::new(Algorithm::HS256);
        v.algorithms = vec![Algorithm::HS256];
        v.leeway = LEEWAY_SECS;
        v.validate_exp = true;
        v.validate_nbf = true;
        v.set_issuer(&[ISSUER]);
        v.set_audience(&[AUDIENCE]);
        v.set_required_spec_claims(&["exp", "nbf", "iss", "aud", "sub"]);
        jsonwebtoken::decode::<Claims>(token, &self.decoding, &v)
            .map(|d| d.claims)
            .map_err(|e| match e.kind() {
                jsonwebtoken::errors::ErrorKind::ExpiredSignature => {
                    AppError::Unauthorized("auth.expired")
                }
                _ => AppError::Unauthorized("auth.invalid_token"),
            })
    }
}

/// A new random refresh token (returned to the client once) and its hash
/// (stored).
pub fn new_refresh_token() -> (String, String) {
    use base64::Engine;
    let mut bytes = [0u8; 32];
    bytes[..16].copy_from_slice(uuid::Uuid::new_v4().as_bytes());
    bytes[16..].copy_from_slice(uuid::Uuid::new_v4().as_bytes());
    let token = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
    let hash = hash_refresh_token(&token);
    (token, hash)
}

/// The stored form of a refresh token.
pub fn hash_refresh_token(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Where a caller may look and act.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Area {
    /// The whole province (provincial standing office).
    Province(String),
    /// The whole commune (leaders).
    Commune(String),
    /// These hamlets of a commune (officers, volunteers).
    Hamlets {
        /// Commune code.
        commune: String,
        /// Hamlet ids.
        hamlets: BTreeSet<String>,
    },
}

impl Area {
    /// The commune of a commune- or hamlet-level area.
    pub fn commune(&self) -> Option<&str> {
        match self {
            Area::Province(_) => None,
            Area::Commune(c) | Area::Hamlets { commune: c, .. } => Some(c),
        }
    }

    /// Whether a household in `commune`/`hamlet` is inside.
    pub fn contains(&self, commune: &str, hamlet: &str) -> bool {
        match self {
            Area::Province(p) => commune_in_province(commune, p),
            Area::Commune(c) => c == commune,
            Area::Hamlets {
                commune: c,
                hamlets,
            } => c == commune && hamlets.contains(hamlet),
        }
    }

    /// Short description for the audit log (codes only, no names).
    pub fn describe(&self) -> String {
        match self {
            Area::Province(p) => format!("province:{p}"),
            Area::Commune(c) => format!("commune:{c}"),
            Area::Hamlets { commune, hamlets } => {
                format!(
                    "commune:{commune}/hamlets:{}",
                    hamlets.iter().cloned().collect::<Vec<_>>().join(",")
                )
            }
        }
    }
}

fn commune_in_province(commune: &str, province: &str) -> bool {
    sync_core::ids::CommuneCode::parse(commune)
        .map(|c| c.province_code() == province)
        .unwrap_or(false)
}

/// The authenticated caller, with role and area read fresh from the database.
#[derive(Clone, Debug)]
pub struct Caller {
    /// User id.
    pub user_id: String,
    /// Role.
    pub role: Role,
    /// Area.
    pub area: Area,
    /// Device the token was issued to.
    pub device: String,
    /// Bumped whenever the user's hamlets change.
    pub area_version: i64,
}

impl Caller {
    /// Refuses unless the caller has one of `roles`.
    pub fn require(&self, roles: &[Role]) -> Result<(), AppError> {
        if roles.contains(&self.role) {
            Ok(())
        } else {
            Err(AppError::Forbidden)
        }
    }
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = AppError;

    /// Authenticates, and refuses a token of a revoked device.
    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let caller = authenticate(parts, state).await?;
        match accounts::device(&state.db, &caller.device).await? {
            Some(d) if !d.revoked && d.user_id == caller.user_id => Ok(caller),
            _ => Err(AppError::Unauthorized("auth.device_revoked")),
        }
    }
}

/// The caller of the sync endpoint: like [`Caller`], but a revoked device
/// gets through, so that sync can answer it with a wipe.
#[derive(Clone, Debug)]
pub struct SyncCaller(pub Caller);

impl FromRequestParts<AppState> for SyncCaller {
    type Rejection = AppError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        authenticate(parts, state).await.map(SyncCaller)
    }
}

async fn authenticate(parts: &Parts, state: &AppState) -> Result<Caller, AppError> {
    let header = parts
        .headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .ok_or(AppError::Unauthorized("auth.missing"))?;
    let token = header
        .strip_prefix("Bearer ")
        .ok_or(AppError::Unauthorized("auth.missing"))?;
    let claims = state.keys.verify(token)?;
    let user = accounts::user_by_id(&state.db, &claims.sub)
        .await?
        .filter(|u| !u.disabled)
        .ok_or(AppError::Unauthorized("auth.invalid_token"))?;
    state.rate_check(&user.id)?;
    let area = user.area(&state.db).await?;
    Ok(Caller {
        user_id: user.id,
        role: user.role,
        area,
        device: claims.dev,
        area_version: user.area_version,
    })
}
