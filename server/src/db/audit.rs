//! The audit log: who read or exported which list, when, for which area,
//! how many residents. Codes and counts only — never names or numbers.

use super::{Db, now_ms};
use crate::error::AppError;
use sqlx::Row;

/// Writes one audit entry.
pub async fn record(
    db: &Db,
    user: &str,
    action: &str,
    commune: Option<&str>,
    area: &str,
    residents: i64,
) -> Result<(), AppError> {
    sqlx::query(
        "INSERT INTO audit_log (id, at, user_id, action, commune, area, residents)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(uuid::Uuid::now_v7().to_string())
    .bind(now_ms())
    .bind(user)
    .bind(action)
    .bind(commune)
    .bind(area)
    .bind(residents)
    .execute(&db.pool)
    .await
    .map_err(AppError::db)?;
    Ok(())
}

/// One audit entry.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Entry {
    /// Server time, ms since epoch.
    pub at: i64,
    /// Who.
    pub user_id: String,
    /// What (`sync.deliver`, `list.read`, `export`…).
    pub action: String,
    /// Commune code.
    pub commune: Option<String>,
    /// Area description.
    pub area: String,
    /// How many residents (or households, for sync) it concerned.
    pub residents: i64,
}

/// The latest entries for a commune.
pub async fn recent(db: &Db, commune: &str, limit: i64) -> Result<Vec<Entry>, AppError> {
    let rows = sqlx::query(
        "SELECT at, user_id, action, commune, area, residents FROM audit_log
         WHERE commune = $1 ORDER BY at DESC LIMIT $2",
    )
    .bind(commune)
    .bind(limit)
    .fetch_all(&db.pool)
    .await
    .map_err(AppError::db)?;
    rows.iter()
        .map(|r| {
            Ok(Entry {
                at: r.try_get(0).map_err(AppError::db)?,
                user_id: r.try_get(1).map_err(AppError::db)?,
                action: r.try_get(2).map_err(AppError::db)?,
                commune: r.try_get(3).map_err(AppError::db)?,
                area: r.try_get(4).map_err(AppError::db)?,
                residents: r.try_get(5).map_err(AppError::db)?,
            })
        })
        .collect()
}
