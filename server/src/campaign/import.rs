//! Importing the commune police's resident export into household
//! documents: new households are created, known residents get the
//! registry's latest account status, and nothing the field recorded is
//! touched (registry and field outcomes live side by side in the document).
//!
//! Matching a row to a known resident: by personal ID number within the
//! commune; for a row without one, by household key, name and birth date.
//! A new person at a known household (same household key) is added to it.
//!
//! Writes go in batches of [`BATCH`] households, one transaction each; a
//! crash mid-import leaves whole batches, and running the same file again
//! finishes the job without duplicating anyone (rows already imported now
//! match).

use super::import_file::{self, Format, HamletRef, ImportOptions, ImportRow, ParsedFile};
use crate::db::docs::{self, LocalWrite};
use crate::db::{Db, accounts, audit, now_ms};
use crate::error::AppError;
use automerge::ActorId;
use serde::{Deserialize, Serialize};
use sqlx::Row;
use std::collections::HashMap;
use sync_core::doc::{HouseholdDoc, LocalChanges, NewHousehold};
use sync_core::model::{HouseholdId, RegistryStatus, ResidentId, ResidentInfo};
use utoipa::ToSchema;

/// Households written per transaction.
pub const BATCH: usize = 500;

/// A rejected row, as the report gives it (no personal data).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct RejectedOut {
    /// Row number as the user sees it in the file.
    pub row: usize,
    /// Column header as written, if one column is at fault.
    pub column: Option<String>,
    /// Stable code (`import.bad_id`, `import.duplicate_id`, …).
    pub code: String,
    /// Vietnamese explanation.
    pub message_vi: String,
}

/// What an import did.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ImportSummary {
    /// Import run id.
    pub id: String,
    /// File name as uploaded.
    pub file_name: String,
    /// Data rows read.
    pub rows_total: usize,
    /// Rows accepted.
    pub accepted: usize,
    /// Households created.
    pub households_created: usize,
    /// Residents created (in new or known households).
    pub residents_created: usize,
    /// Known residents whose registry status changed.
    pub residents_updated: usize,
    /// Known residents the registry now shows activated (targets closed).
    pub targets_closed: usize,
    /// Rows rejected, with reasons.
    pub rejected: Vec<RejectedOut>,
    /// Columns not used.
    pub ignored_columns: Vec<String>,
}

/// Stage of a running import, for progress bars.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stage {
    /// Reading and checking rows.
    Reading,
    /// Writing households.
    Writing,
}

impl Stage {
    /// Vietnamese label.
    pub fn label_vi(self) -> &'static str {
        match self {
            Stage::Reading => "Đọc và kiểm tra tệp",
            Stage::Writing => "Ghi hộ gia đình",
        }
    }
}

/// Progress callback: stage, done, total.
pub type Progress = Box<dyn FnMut(Stage, usize, usize) + Send>;

struct Known {
    resident: ResidentId,
    household: HouseholdId,
    registry: String,
    state: String,
}

/// Imports one file into `commune`.
pub async fn run(
    db: &Db,
    commune: &str,
    by_user: &str,
    file_name: &str,
    bytes: Vec<u8>,
    default_hamlet: Option<String>,
    mut progress: Progress,
) -> Result<ImportSummary, AppError> {
    let hamlets: Vec<HamletRef> = accounts::hamlets_of(db, commune)
        .await?
        .into_iter()
        .map(|(id, name)| HamletRef { id, name })
        .collect();
    if let Some(h) = &default_hamlet
        && !hamlets.iter().any(|x| &x.id == h)
    {
        return Err(AppError::bad_request(
            "import.unknown_hamlet",
            "the hamlet is not one of the commune's",
            "Thôn/tổ dân phố đã chọn không thuộc xã này.",
        ));
    }
    // Parse on a blocking thread; progress goes back through a channel.
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<(usize, usize)>();
    let parse = tokio::task::spawn_blocking(move || {
        let opts = ImportOptions {
            hamlets: &hamlets,
            default_hamlet: default_hamlet.as_deref(),
        };
        let mut report = |done: usize, total: usize| {
            let _ = tx.send((done, total));
        };
        import_file::parse(&bytes, Format::sniff(&bytes), &opts, &mut report)
    });
    let parsed: ParsedFile = {
        tokio::pin!(parse);
        loop {
            tokio::select! {
                Some((done, total)) = rx.recv() => progress(Stage::Reading, done, total),
                joined = &mut parse => {
                    break joined
                        .map_err(|e| AppError::Internal(format!("import task: {e}")))?
                        .map_err(|e| AppError::bad_request(e.code(), e.to_string(), e.message_vi()))?;
                }
            }
        }
    };
    let rows_total = parsed.rows.len() + parsed.rejected.len();
    let accepted = parsed.rows.len();

    // What the commune already holds.
    let rows = sqlx::query(
        "SELECT r.id, r.household, r.personal_id, r.registry, r.state, h.import_key, r.name_folded,
                r.birth_date
         FROM residents r JOIN households h ON h.id = r.household WHERE r.commune = $1",
    )
    .bind(commune)
    .fetch_all(&db.pool)
    .await
    .map_err(AppError::db)?;
    let mut by_pid: HashMap<String, Known> = HashMap::new();
    let mut by_name: HashMap<(String, String, String), Known> = HashMap::new();
    let mut households_by_key: HashMap<String, HouseholdId> = HashMap::new();
    for r in &rows {
        let known = || -> Result<Known, AppError> {
            let rid: String = r.try_get(0).map_err(AppError::db)?;
            let hid: String = r.try_get(1).map_err(AppError::db)?;
            Ok(Known {
                resident: ResidentId::parse(&rid)
                    .ok_or_else(|| AppError::Internal("bad resident id".into()))?,
                household: HouseholdId::parse(&hid)
                    .ok_or_else(|| AppError::Internal("bad household id".into()))?,
                registry: r.try_get(3).map_err(AppError::db)?,
                state: r.try_get(4).map_err(AppError::db)?,
            })
        };
        let pid: Option<String> = r.try_get(2).map_err(AppError::db)?;
        let key: Option<String> = r.try_get(5).map_err(AppError::db)?;
        if let Some(key) = &key {
            households_by_key.insert(key.clone(), known()?.household);
        }
        match (pid, key) {
            (Some(pid), _) => {
                by_pid.insert(pid, known()?);
            }
            (None, Some(key)) => {
                let name: String = r.try_get(6).map_err(AppError::db)?;
                let birth: Option<String> = r.try_get(7).map_err(AppError::db)?;
                by_name.insert((key, name, birth.unwrap_or_default()), known()?);
            }
            (None, None) => {}
        }
    }

    // Sort the rows into updates of known households and new households.
    let mut updates: HashMap<HouseholdId, Vec<Update>> = HashMap::new();
    let mut new_households: Vec<(String, Vec<ImportRow>)> = Vec::new();
    let mut new_index: HashMap<String, usize> = HashMap::new();
    // (resident, activated, first listed by this import). A resident the
    // registry already shows activated when first listed was activated at
    // some earlier, unknown time: it counts as activated before any day
    // of the reports, not as today's work.
    let mut marks: Vec<(ResidentId, bool, bool)> = Vec::new();
    let (mut residents_updated, mut targets_closed) = (0usize, 0usize);
    for row in parsed.rows {
        let activated = row.registry == RegistryStatus::Activated;
        let known = match &row.personal_id {
            Some(pid) => by_pid.get(pid.as_str()),
            None => by_name.get(&(
                row.household_key.clone(),
                sync_core::text::fold(&row.full_name),
                row.birth_date
                    .as_ref()
                    .map(|b| b.to_iso_string())
                    .unwrap_or_default(),
            )),
        };
        if let Some(k) = known {
            marks.push((k.resident, activated, false));
            if k.registry != row.registry.code() {
                residents_updated += 1;
                if activated && k.state != "activated" {
                    targets_closed += 1;
                }
                updates
                    .entry(k.household)
                    .or_default()
                    .push(Update::Registry(k.resident, row.registry));
            }
            continue;
        }
        if let Some(h) = households_by_key.get(&row.household_key) {
            let rid = ResidentId::new();
            marks.push((rid, activated, true));
            updates
                .entry(*h)
                .or_default()
                .push(Update::Add(rid, info_of(&row)));
            continue;
        }
        let i = *new_index
            .entry(row.household_key.clone())
            .or_insert_with(|| {
                new_households.push((row.household_key.clone(), Vec::new()));
                new_households.len() - 1
            });
        new_households[i].1.push(row);
    }
    let households_created = new_households.len();
    let mut residents_created = new_households.iter().map(|(_, r)| r.len()).sum::<usize>();
    residents_created += updates
        .values()
        .flatten()
        .filter(|u| matches!(u, Update::Add(..)))
        .count();

    let total = updates.len() + new_households.len();
    let mut done = 0usize;
    progress(Stage::Writing, 0, total);
    let actor = ActorId::random();

    // Known households: load, change, write.
    let update_list: Vec<(HouseholdId, Vec<Update>)> = updates.into_iter().collect();
    for chunk in update_list.chunks(BATCH) {
        let mut docs_changes: Vec<(HouseholdDoc, LocalChanges)> = Vec::new();
        for (hid, ups) in chunk {
            let Some(mut doc) = docs::load(db, &actor, *hid).await? else {
                continue;
            };
            let mut all = LocalChanges::default();
            for u in ups {
                let c = match u {
                    Update::Registry(rid, status) => doc.set_registry(*rid, *status),
                    Update::Add(rid, info) => doc.add_resident(*rid, info),
                }
                .map_err(|e| AppError::Internal(format!("import: {e}")))?;
                all.0.extend(c.0);
            }
            docs_changes.push((doc, all));
        }
        let mut writes = Vec::with_capacity(docs_changes.len());
        for (doc, changes) in &mut docs_changes {
            writes.push(LocalWrite {
                doc,
                changes: std::mem::take(changes),
                import_key: None,
                fresh: false,
            });
        }
        docs::write_local_batch(db, commune, writes).await?;
        done += chunk.len();
        progress(Stage::Writing, done, total);
    }

    // New households: build the documents on blocking threads, write in batches.
    for chunk in new_households.chunks(BATCH) {
        let chunk: Vec<(String, Vec<ImportRow>)> = chunk.to_vec();
        let commune_owned = commune.to_owned();
        let actor = actor.clone();
        let built = tokio::task::spawn_blocking(move || {
            chunk
                .into_iter()
                .map(|(key, rows)| {
                    let residents: Vec<(ResidentId, ResidentInfo)> = rows
                        .iter()
                        .map(|r| (ResidentId::new(), info_of(r)))
                        .collect();
                    let new = NewHousehold {
                        id: HouseholdId::new(),
                        commune: commune_owned.clone(),
                        hamlet: rows[0].hamlet.clone(),
                        address: rows[0].address.clone(),
                        residents,
                    };
                    let activated: Vec<(ResidentId, bool)> = new
                        .residents
                        .iter()
                        .map(|(id, info)| (*id, info.registry == RegistryStatus::Activated))
                        .collect();
                    HouseholdDoc::create(&actor, &new).map(|(doc, ch)| (key, doc, ch, activated))
                })
                .collect::<Result<Vec<_>, _>>()
        })
        .await
        .map_err(|e| AppError::Internal(format!("import task: {e}")))?
        .map_err(|e| AppError::Internal(format!("import: {e}")))?;
        let n = built.len();
        let mut built = built;
        for (_, _, _, activated) in &built {
            for (rid, a) in activated {
                marks.push((*rid, *a, true));
            }
        }
        let mut writes = Vec::with_capacity(built.len());
        for (key, doc, changes, _) in &mut built {
            writes.push(LocalWrite {
                doc,
                changes: std::mem::take(changes),
                import_key: Some(key.clone()),
                fresh: true,
            });
        }
        docs::write_local_batch(db, commune, writes).await?;
        done += n;
        progress(Stage::Writing, done, total);
    }

    // What the registry said, and when.
    let now = now_ms();
    for chunk in marks.chunks(2000) {
        let _gate = db.write_gate().await;
        let mut tx = db.pool.begin().await.map_err(AppError::db)?;
        // Multi-row upserts, 200 rows (800 parameters) a statement.
        for rows in chunk.chunks(200) {
            let values: Vec<String> = (0..rows.len())
                .map(|i| {
                    format!(
                        "(${}, ${}, ${}, ${})",
                        4 * i + 1,
                        4 * i + 2,
                        4 * i + 3,
                        4 * i + 4
                    )
                })
                .collect();
            let sql = format!(
                "INSERT INTO registry_marks (resident, commune, checked_at, activated_at) VALUES {}
                 ON CONFLICT (resident) DO UPDATE SET checked_at = excluded.checked_at,
                     activated_at = COALESCE(registry_marks.activated_at, excluded.activated_at)",
                values.join(", ")
            );
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
            for (rid, activated, first) in rows {
                let at = if *first { 0 } else { now };
                q = q
                    .bind(rid.to_string())
                    .bind(commune)
                    .bind(now)
                    .bind(activated.then_some(at));
            }
            q.execute(&mut *tx).await.map_err(AppError::db)?;
        }
        tx.commit().await.map_err(AppError::db)?;
    }

    let rejected: Vec<RejectedOut> = parsed
        .rejected
        .into_iter()
        .map(|r| RejectedOut {
            row: r.row,
            column: r.column,
            code: r.code,
            message_vi: r.message_vi,
        })
        .collect();
    let summary = ImportSummary {
        id: uuid::Uuid::now_v7().to_string(),
        file_name: file_name.chars().take(200).collect(),
        rows_total,
        accepted,
        households_created,
        residents_created,
        residents_updated,
        targets_closed,
        rejected,
        ignored_columns: parsed.ignored_columns,
    };
    {
        let _gate = db.write_gate().await;
        sqlx::query(
            "INSERT INTO import_runs (id, commune, by_user, at, file_name, rows_total, accepted, rejected,
                 households_created, residents_created, residents_updated, report)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
        )
        .bind(&summary.id)
        .bind(commune)
        .bind(by_user)
        .bind(now)
        .bind(&summary.file_name)
        .bind(rows_total as i64)
        .bind(accepted as i64)
        .bind(summary.rejected.len() as i64)
        .bind(households_created as i64)
        .bind(residents_created as i64)
        .bind(residents_updated as i64)
        .bind(serde_json::to_string(&summary.rejected).unwrap_or_default())
        .execute(&db.pool)
        .await
        .map_err(AppError::db)?;
    }
    audit::record(
        db,
        by_user,
        "import",
        Some(commune),
        &format!("commune:{commune}"),
        accepted as i64,
    )
    .await?;
    tracing::info!(
        commune,
        rows = rows_total,
        accepted,
        rejected = summary.rejected.len(),
        households_created,
        "import done"
    );
    Ok(summary)
}

enum Update {
    Registry(ResidentId, RegistryStatus),
    Add(ResidentId, ResidentInfo),
}

fn info_of(r: &ImportRow) -> ResidentInfo {
    ResidentInfo {
        full_name: r.full_name.clone(),
        sex: r.sex,
        registry: r.registry,
        protected: sync_core::model::ProtectedResidentInfo {
            personal_id: r.personal_id.clone(),
            birth_date: r.birth_date,
            phone: r.phone.clone(),
        },
        newcomer: false,
    }
}
