//! # gocua-server
//!
//! Where every phone's work meets: the sync endpoint (the server side of
//! sync-core's protocol), accounts with roles and areas, and the database
//! (SQLite embedded, PostgreSQL in production; several instances may share
//! one PostgreSQL).
//!
//! [`router`] builds the whole application for in-process tests; [`serve`]
//! runs it on a listener until a shutdown signal, for tests over a real
//! socket (bind port 0, read the address, no sleeps).

#![cfg_attr(not(test), warn(clippy::unwrap_used))]

pub mod api;
pub mod auth;
pub mod campaign;
pub mod db;
pub mod demo;
pub mod error;
pub mod openapi;
pub mod settings;
pub mod sync;
pub mod web;

use automerge::ActorId;
use governor::{DefaultKeyedRateLimiter, Quota};
use std::num::NonZeroU32;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

pub use error::AppError;
pub use settings::Settings;

/// Counters served at `/metrics`.
#[derive(Debug, Default)]
pub struct Metrics {
    /// HTTP requests answered.
    pub requests: AtomicU64,
    /// Sync requests answered.
    pub syncs: AtomicU64,
    /// New changes accepted.
    pub changes_in: AtomicU64,
    /// Requests refused by the rate limiter.
    pub rate_limited: AtomicU64,
}

impl Metrics {
    /// Prometheus text format.
    pub fn render(&self) -> String {
        let line = |name: &str, help: &str, v: &AtomicU64| {
            format!(
                "# HELP {name} {help}\n# TYPE {name} counter\n{name} {}\n",
                v.load(Ordering::Relaxed)
            )
        };
        [
            line(
                "gocua_http_requests_total",
                "HTTP requests answered",
                &self.requests,
            ),
            line(
                "gocua_sync_requests_total",
                "Sync requests answered",
                &self.syncs,
            ),
            line(
                "gocua_changes_accepted_total",
                "New document changes accepted",
                &self.changes_in,
            ),
            line(
                "gocua_rate_limited_total",
                "Requests refused by the rate limiter",
                &self.rate_limited,
            ),
        ]
        .concat()
    }
}

/// Everything a request handler needs.
#[derive(Clone)]
pub struct AppState {
    /// Database.
    pub db: db::Db,
    /// Settings in force.
    pub settings: Arc<Settings>,
    /// Token keys.
    pub keys: Arc<auth::TokenKeys>,
    /// This process's automerge actor (one per instance, never shared).
    pub actor: ActorId,
    /// Counters.
    pub metrics: Arc<Metrics>,
    /// Per-user (and per-login-name) request budget.
    pub limiter: Arc<DefaultKeyedRateLimiter<String>>,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

impl AppState {
    /// Connects to the database (applying migrations) and prepares keys.
    pub async fn new(settings: Settings) -> Result<AppState, AppError> {
        let db = db::Db::connect(&settings.db).await?;
        let secret = if settings.jwt_secret.is_empty() {
            db::accounts::shared_secret(&db).await?
        } else {
            settings.jwt_secret.clone()
        };
        let keys = auth::TokenKeys::new(
            secret.as_bytes(),
            settings.access_ttl_secs,
            settings.refresh_ttl_secs,
        );
        let per_minute =
            NonZeroU32::new(settings.rate_per_minute.max(1)).unwrap_or(NonZeroU32::MIN);
        Ok(AppState {
            db,
            keys: Arc::new(keys),
            actor: ActorId::random(),
            metrics: Arc::new(Metrics::default()),
            limiter: Arc::new(governor::RateLimiter::keyed(Quota::per_minute(per_minute))),
            settings: Arc::new(settings),
        })
    }

    /// Spends one unit of `key`'s budget, or says how long to wait.
    pub fn rate_check(&self, key: &str) -> Result<(), AppError> {
        match self.limiter.check_key(&key.to_owned()) {
            Ok(()) => Ok(()),
            Err(not_until) => {
                self.metrics.rate_limited.fetch_add(1, Ordering::Relaxed);
                let wait = not_until.wait_time_from(governor::clock::Clock::now(
                    &governor::clock::DefaultClock::default(),
                ));
                Err(AppError::RateLimited {
                    retry_after: wait.as_secs().max(1),
                })
            }
        }
    }
}

/// The whole application.
pub fn router(state: AppState) -> axum::Router {
    api::routes(state)
}

/// Serves the application on `listener` until `shutdown` completes, then
/// finishes the requests in flight.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    // Forget rate-limit budgets that are full again, once a minute, so the
    // limiter holds only recently active keys.
    let limiter = state.limiter.clone();
    let pruner = tokio::spawn(async move {
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(60));
        loop {
            tick.tick().await;
            limiter.retain_recent();
        }
    });
    let result = axum::serve(listener, router(state))
        .with_graceful_shutdown(shutdown)
        .await;
    pruner.abort();
    result
}
