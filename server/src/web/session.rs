//! Browser sessions: a random token in an `HttpOnly`, `SameSite=Strict`
//! cookie (`Secure` unless the `secure_cookies` setting is off), stored
//! only as its SHA-256 in `web_sessions`; a per-session CSRF token that
//! every form carries; the caller's role and area read fresh on every
//! request, exactly as for the API's bearer tokens.
//!
//! The login form itself is protected by a double-submit token (a cookie
//! and a hidden field that must match) and the same per-name rate limit as
//! the API's login.

use super::WebError;
use super::i18n::Lang;
use crate::AppState;
use crate::auth::{self, Caller};
use crate::db::{accounts, now_ms};
use crate::error::AppError;
use axum::extract::FromRequestParts;
use axum::http::HeaderMap;
use axum::http::request::Parts;
use axum_extra::extract::cookie::{Cookie, CookieJar, SameSite};
use sqlx::Row;
use sync_core::model::Role;

/// The session cookie.
pub const SESSION_COOKIE: &str = "gocua_session";
/// The login form's double-submit cookie.
pub const LOGIN_COOKIE: &str = "gocua_login";
/// The page language.
pub const LANG_COOKIE: &str = "gocua_lang";
/// How long a session lasts (a working day).
pub const SESSION_TTL_MS: i64 = 12 * 3_600_000;

/// A random URL-safe token (256 bits).
pub fn random_token() -> String {
    use base64::Engine;
    let bytes: [u8; 32] = rand::random();
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// The language asked by the `gocua_lang` cookie (Vietnamese by default).
pub fn lang_of(headers: &HeaderMap) -> Lang {
    CookieJar::from_headers(headers)
        .get(LANG_COOKIE)
        .map(|c| Lang::from_code(c.value()))
        .unwrap_or_default()
}

/// A cookie as every one of ours is set.
pub fn cookie(
    state: &AppState,
    name: &'static str,
    value: String,
    max_age_secs: i64,
) -> Cookie<'static> {
    Cookie::build((name, value))
        .path("/")
        .http_only(true)
        .same_site(SameSite::Strict)
        .secure(state.settings.secure_cookies)
        .max_age(time::Duration::seconds(max_age_secs))
        .build()
}

/// A signed-in browser.
#[derive(Debug, Clone)]
pub struct WebSession {
    /// Who, with role and area read now.
    pub caller: Caller,
    /// The user's row (display name).
    pub user: accounts::User,
    /// The token forms must carry.
    pub csrf: String,
    /// Page language.
    pub lang: Lang,
}

impl WebSession {
    /// Refuses a form without this session's CSRF token, or one posted from
    /// another site (`Origin` not this host).
    pub fn check_form(&self, headers: &HeaderMap, csrf: &str) -> Result<(), WebError> {
        let same_token = csrf.len() == self.csrf.len()
            && csrf
                .bytes()
                .zip(self.csrf.bytes())
                .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                == 0;
        if same_token && same_origin(headers) {
            Ok(())
        } else {
            Err(WebError::Csrf(self.lang))
        }
    }
}

/// Whether a `Secure` cookie set in answer to this request will come back:
/// the request came over HTTPS (a TLS proxy says so in
/// `X-Forwarded-Proto`), or from this machine (browsers treat loopback as
/// secure).
pub fn secure_transport(headers: &HeaderMap) -> bool {
    let https = headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|p| p.eq_ignore_ascii_case("https"));
    let host = headers
        .get("host")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let name = match host.rsplit_once(':') {
        Some((n, port)) if port.chars().all(|c| c.is_ascii_digit()) => n,
        _ => host,
    };
    https || matches!(name, "localhost" | "127.0.0.1" | "[::1]")
}

/// A request's `Origin`, when the browser sent one, names this host.
pub fn same_origin(headers: &HeaderMap) -> bool {
    let Some(origin) = headers.get("origin").and_then(|v| v.to_str().ok()) else {
        return true;
    };
    let host = headers
        .get("host")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    origin
        .split_once("://")
        .is_some_and(|(_, rest)| rest == host)
}

impl FromRequestParts<AppState> for WebSession {
    type Rejection = WebError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, WebError> {
        let lang = lang_of(&parts.headers);
        let jar = CookieJar::from_headers(&parts.headers);
        let token = jar
            .get(SESSION_COOKIE)
            .map(|c| c.value().to_owned())
            .ok_or(WebError::SignIn)?;
        let hash = auth::hash_refresh_token(&token);
        let row =
            sqlx::query("SELECT user_id, csrf, expires_at FROM web_sessions WHERE token_hash = $1")
                .bind(&hash)
                .fetch_optional(&state.db.pool)
                .await
                .map_err(|e| WebError::App(AppError::db(e), lang))?
                .ok_or(WebError::SignIn)?;
        let get = |e| WebError::App(AppError::db(e), lang);
        let user_id: String = row.try_get(0).map_err(get)?;
        let csrf: String = row.try_get(1).map_err(get)?;
        let expires: i64 = row.try_get(2).map_err(get)?;
        if expires <= now_ms() {
            return Err(WebError::SignIn);
        }
        let app = |e| WebError::App(e, lang);
        let user = accounts::user_by_id(&state.db, &user_id)
            .await
            .map_err(app)?
            .filter(|u| !u.disabled && u.role != Role::Volunteer)
            .ok_or(WebError::SignIn)?;
        state.rate_check(&user.id).map_err(app)?;
        let area = user.area(&state.db).await.map_err(app)?;
        let caller = Caller {
            user_id: user.id.clone(),
            role: user.role,
            area,
            device: format!("web:{}", &hash[..12]),
            area_version: user.area_version,
        };
        Ok(WebSession {
            caller,
            user,
            csrf,
            lang,
        })
    }
}

/// Checks a login; a new session's cookie token on success. Volunteers are
/// refused (they use the phone app): `Ok(None)`.
pub async fn sign_in(
    state: &AppState,
    username: &str,
    password: &str,
) -> Result<Option<String>, AppError> {
    let name_key: String = username.chars().take(64).collect();
    state.rate_check(&format!("login:{name_key}"))?;
    let user = if crate::api::storable(username) {
        accounts::user_by_username(&state.db, username).await?
    } else {
        None
    };
    let ok = match &user {
        Some(u) => auth::verify_password(password, &u.password_hash) && !u.disabled,
        None => {
            auth::verify_password(password, crate::api::DUMMY_HASH);
            false
        }
    };
    let user = user.filter(|_| ok).ok_or(AppError::BadLogin)?;
    if user.role == Role::Volunteer {
        return Ok(None);
    }
    let token = random_token();
    let now = now_ms();
    let _gate = state.db.write_gate().await;
    // Expired sessions of anyone go as new ones come.
    sqlx::query("DELETE FROM web_sessions WHERE expires_at <= $1")
        .bind(now)
        .execute(&state.db.pool)
        .await
        .map_err(AppError::db)?;
    sqlx::query(
        "INSERT INTO web_sessions (token_hash, user_id, csrf, created_at, expires_at)
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(auth::hash_refresh_token(&token))
    .bind(&user.id)
    .bind(random_token())
    .bind(now)
    .bind(now + SESSION_TTL_MS)
    .execute(&state.db.pool)
    .await
    .map_err(AppError::db)?;
    tracing::info!(user = %user.id, "web session started");
    Ok(Some(token))
}

/// Ends the session whose cookie `jar` carries.
pub async fn sign_out(state: &AppState, jar: &CookieJar) -> Result<(), AppError> {
    if let Some(c) = jar.get(SESSION_COOKIE) {
        let _gate = state.db.write_gate().await;
        sqlx::query("DELETE FROM web_sessions WHERE token_hash = $1")
            .bind(auth::hash_refresh_token(c.value()))
            .execute(&state.db.pool)
            .await
            .map_err(AppError::db)?;
    }
    Ok(())
}
