//! Layered settings: defaults → a TOML file (`--config`) → `GOCUA_…`
//! environment variables → command-line flags. Reading settings writes
//! nothing and starts nothing.

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// Every setting, with its default.
#[derive(Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct Settings {
    /// `sqlite://PATH` or `postgres://…`.
    pub db: String,
    /// Address to listen on.
    pub bind: String,
    /// Log as JSON lines (for log collectors) instead of text.
    pub log_json: bool,
    /// Access-token lifetime, seconds.
    pub access_ttl_secs: u64,
    /// Refresh-token lifetime, seconds.
    pub refresh_ttl_secs: u64,
    /// Largest request body, bytes (413 beyond, before reading it).
    pub max_body_bytes: usize,
    /// Most changes one sync may carry.
    pub max_changes_per_sync: usize,
    /// Requests per minute allowed per user (429 beyond).
    pub rate_per_minute: u32,
    /// JWT secret; generated and kept in the database when empty (the
    /// usual case: every instance on one database shares it).
    pub jwt_secret: String,
    /// Mark the review pages' session cookie `Secure` (sent over HTTPS
    /// only). Keep on behind TLS; the demo turns it off to serve plain
    /// HTTP on a local network.
    pub secure_cookies: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            db: "sqlite://gocua.db".into(),
            bind: "127.0.0.1:8080".into(),
            log_json: false,
            access_ttl_secs: 15 * 60,
            refresh_ttl_secs: 30 * 24 * 3600,
            max_body_bytes: 16 << 20,
            max_changes_per_sync: 20_000,
            rate_per_minute: 600,
            jwt_secret: String::new(),
            secure_cookies: true,
        }
    }
}

impl std::fmt::Debug for Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Settings")
            .field("db", &redact_url(&self.db))
            .field("bind", &self.bind)
            .field("log_json", &self.log_json)
            .field("access_ttl_secs", &self.access_ttl_secs)
            .field("refresh_ttl_secs", &self.refresh_ttl_secs)
            .field("max_body_bytes", &self.max_body_bytes)
            .field("max_changes_per_sync", &self.max_changes_per_sync)
            .field("rate_per_minute", &self.rate_per_minute)
            .field("secure_cookies", &self.secure_cookies)
            .field(
                "jwt_secret",
                &if self.jwt_secret.is_empty() {
                    ""
                } else {
                    "<redacted>"
                },
            )
            .finish()
    }
}

/// `postgres://user:secret@host/db` → `postgres://user:***@host/db`.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let creds = &url[s + 3..at];
            match creds.find(':') {
                Some(c) => format!("{}{}:***{}", &url[..s + 3], &creds[..c], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

impl Settings {
    /// Loads defaults, then the file (if given), then `GOCUA_*` variables.
    pub fn load(file: Option<&Path>) -> Result<Settings, Box<figment::Error>> {
        let mut fig = Figment::from(Serialized::defaults(Settings::default()));
        if let Some(f) = file {
            fig = fig.merge(Toml::file_exact(f));
        }
        fig.merge(Env::prefixed("GOCUA_"))
            .extract()
            .map_err(Box::new)
    }

    /// Sync decoding limits from these settings.
    pub fn limits(&self) -> sync_core::protocol::Limits {
        sync_core::protocol::Limits {
            max_frame_bytes: self.max_body_bytes,
            max_changes: self.max_changes_per_sync,
            ..sync_core::protocol::Limits::default()
        }
    }
}
