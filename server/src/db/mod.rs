//! Storage: one implementation over `sqlx::AnyPool` that runs on SQLite (the
//! embedded default) and PostgreSQL (production), chosen by the URL scheme.
//!
//! Why one implementation rather than a trait with two: the SQL is written
//! once in the common dialect both engines accept (`$1` placeholders,
//! `ON CONFLICT … DO UPDATE`, `RETURNING`), so the backends cannot drift
//! apart; the few differences are in [`Backend`]. The same store test suite
//! runs on both (`server/tests/`). Migrations live in `migrations/sqlite` and
//! `migrations/postgres` and are applied on start.

pub mod accounts;
pub mod audit;
pub mod docs;

use crate::error::AppError;
use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyPool, Executor};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

/// Which engine is behind the pool.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    /// Embedded, one file.
    Sqlite,
    /// Production; several server instances may share one database.
    Postgres,
}

/// The database handle shared by every request.
#[derive(Clone, Debug)]
pub struct Db {
    /// Connection pool.
    pub pool: AnyPool,
    /// Engine.
    pub backend: Backend,
    /// SQLite allows one writer at a time: writers queue here rather than
    /// failing with "database is locked". PostgreSQL writers serialise on
    /// the `commune_seq` row instead, across instances.
    write_gate: Arc<tokio::sync::Mutex<()>>,
    /// Household documents kept between writes ([`docs::DocCache`]).
    pub(crate) doc_cache: Arc<docs::DocCache>,
    /// Sync requests preparing or writing changes at once (twice the
    /// cores): the rest wait before loading any document.
    pub(crate) writers: Arc<tokio::sync::Semaphore>,
}

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("../migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("../migrations/postgres");

impl Db {
    /// Connects to `sqlite://PATH` (created if missing) or `postgres://…`
    /// and applies pending migrations.
    pub async fn connect(url: &str) -> Result<Db, AppError> {
        sqlx::any::install_default_drivers();
        let backend = if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Backend::Postgres
        } else {
            return Err(AppError::Config(
                "database URL must start with sqlite:// or postgres://".into(),
            ));
        };
        let url = match backend {
            Backend::Sqlite if !url.contains("mode=") => {
                let sep = if url.contains('?') { '&' } else { '?' };
                format!("{url}{sep}mode=rwc")
            }
            _ => url.to_owned(),
        };
        let options = AnyConnectOptions::from_str(&url)
            .map_err(|e| AppError::Config(format!("database URL: {e}")))?;
        let pool = AnyPoolOptions::new()
            .max_connections(match backend {
                Backend::Sqlite => 8,
                Backend::Postgres => 16,
            })
            .acquire_timeout(Duration::from_secs(30))
            .after_connect(move |conn, _| {
                Box::pin(async move {
                    if backend == Backend::Sqlite {
                        // WAL + FULL: a commit is on disk when it returns.
                        // A 16 MB page cache per connection (SQLite's
                        // default is 2 MB): the writer re-reads the change
                        // log's and projection's index pages otherwise.
                        conn.execute(
                            "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; \
                             PRAGMA busy_timeout=30000; PRAGMA foreign_keys=ON; \
                             PRAGMA cache_size=-16384;",
                        )
                        .await?;
                    }
                    Ok(())
                })
            })
            .connect_with(options)
            .await
            .map_err(AppError::db)?;
        let migrator = match backend {
            Backend::Sqlite => &SQLITE_MIGRATIONS,
            Backend::Postgres => &POSTGRES_MIGRATIONS,
        };
        migrator
            .run(&pool)
            .await
            .map_err(|e| AppError::Internal(format!("migration: {e}")))?;
        Ok(Db {
            pool,
            backend,
            write_gate: Arc::new(tokio::sync::Mutex::new(())),
            doc_cache: Arc::new(docs::DocCache::new(docs::DOC_CACHE_HOUSEHOLDS)),
            writers: Arc::new(tokio::sync::Semaphore::new(
                std::thread::available_parallelism().map_or(2, |n| n.get()) * 2,
            )),
        })
    }

    /// Takes the SQLite writer gate (a no-op wait on PostgreSQL).
    pub async fn write_gate(&self) -> Option<tokio::sync::MutexGuard<'_, ()>> {
        match self.backend {
            Backend::Sqlite => Some(self.write_gate.lock().await),
            Backend::Postgres => None,
        }
    }

    /// Checks the database answers.
    pub async fn ping(&self) -> Result<(), AppError> {
        sqlx::query("SELECT 1")
            .execute(&self.pool)
            .await
            .map_err(AppError::db)?;
        Ok(())
    }
}

/// Milliseconds since the Unix epoch, server clock.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}
