//! Household documents on the server: the change log, compacted snapshots
//! and the resident projection, all written in one transaction.
//!
//! * `changes` is the log: every accepted change once (unique by hash),
//!   numbered per commune in commit order. The `commune_seq` row is locked
//!   for the length of a writing transaction, so on PostgreSQL several
//!   server instances hand out numbers in commit order and a reader never
//!   sees seq N+1 without N. On SQLite one writer at a time holds the gate.
//! * `doc_snapshots` holds each document saved uncompressed at
//!   `snapshot_seq`; the document is that snapshot plus the household's
//!   later changes, concatenated (automerge loads the concatenation).
//! * `households` / `residents` are the projection lists and reports read.

use super::{Db, now_ms};
use crate::error::AppError;
use automerge::{ActorId, Change, ReadDoc};
use sqlx::{Any, AnyConnection, AssertSqlSafe, Row, Transaction};
use std::collections::BTreeMap;
use sync_core::doc::{DocId, DocPart, HouseholdDoc, LocalChanges, NewHousehold};
use sync_core::model::HouseholdId;
use sync_core::status::State;

/// A household's documents are re-saved as a snapshot past this many
/// changes after the last one.
pub const SNAPSHOT_AFTER: i64 = 64;

/// Where a household lives.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Place {
    /// Commune code.
    pub commune: String,
    /// Hamlet id.
    pub hamlet: String,
}

/// Locks the commune's sequence row for this transaction and returns the
/// current number.
async fn lock_seq(tx: &mut Transaction<'_, Any>, commune: &str) -> Result<i64, AppError> {
    sqlx::query(
        "INSERT INTO commune_seq (commune, seq) VALUES ($1, 0) ON CONFLICT (commune) DO NOTHING",
    )
    .bind(commune)
    .execute(&mut **tx)
    .await
    .map_err(AppError::db)?;
    sqlx::query("UPDATE commune_seq SET seq = seq WHERE commune = $1 RETURNING seq")
        .bind(commune)
        .fetch_one(&mut **tx)
        .await
        .and_then(|r| r.try_get::<i64, _>(0))
        .map_err(AppError::db)
}

async fn store_seq(tx: &mut Transaction<'_, Any>, commune: &str, seq: i64) -> Result<(), AppError> {
    sqlx::query("UPDATE commune_seq SET seq = $1 WHERE commune = $2")
        .bind(seq)
        .bind(commune)
        .execute(&mut **tx)
        .await
        .map_err(AppError::db)?;
    Ok(())
}

/// The current sequence number of a commune (0 if nothing yet).
pub async fn current_seq(db: &Db, commune: &str) -> Result<i64, AppError> {
    let row = sqlx::query("SELECT seq FROM commune_seq WHERE commune = $1")
        .bind(commune)
        .fetch_optional(&db.pool)
        .await
        .map_err(AppError::db)?;
    Ok(match row {
        Some(r) => r.try_get(0).map_err(AppError::db)?,
        None => 0,
    })
}

/// Where a household is, if the server has it.
pub async fn place_of<'e, E>(exec: E, household: HouseholdId) -> Result<Option<Place>, AppError>
where
    E: sqlx::Executor<'e, Database = Any>,
{
    let row = sqlx::query("SELECT commune, hamlet FROM households WHERE id = $1")
        .bind(household.to_string())
        .fetch_optional(exec)
        .await
        .map_err(AppError::db)?;
    row.map(|r| {
        Ok(Place {
            commune: r.try_get(0).map_err(AppError::db)?,
            hamlet: r.try_get(1).map_err(AppError::db)?,
        })
    })
    .transpose()
}

/// The saved bytes of one document part: snapshot followed by later changes.
pub async fn doc_bytes(
    conn: &mut AnyConnection,
    household: HouseholdId,
    part: DocPart,
) -> Result<Vec<u8>, AppError> {
    let id = household.to_string();
    let snap = sqlx::query(
        "SELECT bytes, snapshot_seq FROM doc_snapshots WHERE household = $1 AND part = $2",
    )
    .bind(&id)
    .bind(part.code())
    .fetch_optional(&mut *conn)
    .await
    .map_err(AppError::db)?;
    let (mut bytes, since): (Vec<u8>, i64) = match snap {
        Some(r) => (
            r.try_get(0).map_err(AppError::db)?,
            r.try_get(1).map_err(AppError::db)?,
        ),
        None => (Vec::new(), 0),
    };
    let rows = sqlx::query(
        "SELECT bytes FROM changes WHERE household = $1 AND part = $2 AND seq > $3 ORDER BY seq",
    )
    .bind(&id)
    .bind(part.code())
    .bind(since)
    .fetch_all(&mut *conn)
    .await
    .map_err(AppError::db)?;
    for r in rows {
        let b: Vec<u8> = r.try_get(0).map_err(AppError::db)?;
        bytes.extend_from_slice(&b);
    }
    Ok(bytes)
}

async fn load_in_tx(
    tx: &mut Transaction<'_, Any>,
    actor: &ActorId,
    household: HouseholdId,
) -> Result<HouseholdDoc, AppError> {
    let main = doc_bytes(tx, household, DocPart::Main).await?;
    let protected = doc_bytes(tx, household, DocPart::Protected).await?;
    HouseholdDoc::load(actor, household, &main, &protected)
        .map_err(|e| AppError::Internal(format!("load: {e}")))
}

/// Loads a household's documents.
pub async fn load(
    db: &Db,
    actor: &ActorId,
    household: HouseholdId,
) -> Result<Option<HouseholdDoc>, AppError> {
    if place_of(&db.pool, household).await?.is_none() {
        return Ok(None);
    }
    let mut conn = db.pool.acquire().await.map_err(AppError::db)?;
    let main = doc_bytes(&mut conn, household, DocPart::Main).await?;
    let protected = doc_bytes(&mut conn, household, DocPart::Protected).await?;
    HouseholdDoc::load(actor, household, &main, &protected)
        .map(Some)
        .map_err(|e| AppError::Internal(format!("load: {e}")))
}

/// Incoming changes for one household, tagged with where they came from.
#[derive(Debug)]
pub struct Incoming {
    /// Household.
    pub household: HouseholdId,
    /// Changes per part.
    pub parts: Vec<(DocPart, Vec<Change>)>,
    /// The sender's area no longer includes the household (changes made
    /// offline before a reassignment are kept, and tagged).
    pub out_of_area: bool,
}

/// What the caller is allowed to write where: checked per household.
pub trait WriteCheck: Sync {
    /// `Ok(out_of_area)` to accept, `Err` to refuse the whole request.
    fn check(&self, place: &Place) -> Result<bool, AppError>;
}

/// Applies changes from a device in one transaction per commune: new
/// changes are logged with sequence numbers, documents re-projected.
/// Changes already present are ignored. Returns the number of new changes.
pub async fn apply_incoming(
    db: &Db,
    actor: &ActorId,
    device: &str,
    check: &(dyn WriteCheck + Sync),
    commune: &str,
    incoming: Vec<(DocId, Vec<Change>)>,
) -> Result<usize, AppError> {
    let mut by_household: BTreeMap<HouseholdId, Vec<(DocPart, Vec<Change>)>> = BTreeMap::new();
    for (doc, changes) in incoming {
        by_household
            .entry(doc.household)
            .or_default()
            .push((doc.part, changes));
    }
    let _gate = db.write_gate().await;
    let mut tx = db.pool.begin().await.map_err(AppError::db)?;
    let mut seq = lock_seq(&mut tx, commune).await?;
    let start = seq;
    let received = now_ms();
    for (household, parts) in by_household {
        let known = place_of(&mut *tx, household).await?;
        let mut doc = load_in_tx(&mut tx, actor, household).await?;
        let mut fresh_all = Vec::new();
        for (part, changes) in parts {
            let fresh: Vec<Change> = changes
                .into_iter()
                .filter(|c| doc.part(part).get_change_by_hash(&c.hash()).is_none())
                .collect();
            doc.apply_changes(part, fresh.clone()).map_err(|_| {
                AppError::Protocol(sync_core::protocol::ProtocolError::InvalidChange)
            })?;
            if !doc.missing_deps(part).is_empty() {
                return Err(AppError::bad_request(
                    "sync.missing_dependencies",
                    "changes depend on history the server does not have",
                    "Thay đổi phụ thuộc dữ liệu máy chủ chưa có; hãy đồng bộ lại toàn bộ",
                ));
            }
            fresh_all.extend(fresh.into_iter().map(|c| (part, c)));
        }
        if fresh_all.is_empty() {
            continue;
        }
        // The household's place: known, or (a household created in the
        // field) read from its new skeleton.
        let place = match known {
            Some(p) => p,
            None => {
                let v = doc.view().map_err(|_| AppError::NotFound)?;
                Place {
                    commune: v.commune,
                    hamlet: v.hamlet,
                }
            }
        };
        if place.commune != commune {
            return Err(AppError::NotFound);
        }
        let out_of_area = check.check(&place)?;
        for (part, change) in &fresh_all {
            seq += 1;
            insert_change(
                &mut tx,
                commune,
                seq,
                household,
                *part,
                change,
                device,
                received,
                out_of_area,
            )
            .await?;
        }
        reproject(&mut tx, &mut doc, seq).await?;
    }
    if seq != start {
        store_seq(&mut tx, commune, seq).await?;
    }
    tx.commit().await.map_err(AppError::db)?;
    Ok((seq - start) as usize)
}

#[allow(clippy::too_many_arguments)]
async fn insert_change(
    tx: &mut Transaction<'_, Any>,
    commune: &str,
    seq: i64,
    household: HouseholdId,
    part: DocPart,
    change: &Change,
    device: &str,
    received: i64,
    out_of_area: bool,
) -> Result<(), AppError> {
    sqlx::query(
        "INSERT INTO changes (commune, seq, household, part, hash, bytes, origin_device, received_at, out_of_area)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(commune)
    .bind(seq)
    .bind(household.to_string())
    .bind(part.code())
    .bind(change.hash().to_string())
    .bind(change.raw_bytes().to_vec())
    .bind(device)
    .bind(received)
    .bind(out_of_area as i64)
    .execute(&mut **tx)
    .await
    .map_err(AppError::db)?;
    Ok(())
}

/// Creates a household on the server (import, demo) and logs its changes.
pub async fn create_household(
    db: &Db,
    actor: &ActorId,
    new: &NewHousehold,
) -> Result<(), AppError> {
    let (mut doc, changes) =
        HouseholdDoc::create(actor, new).map_err(|e| AppError::Internal(e.to_string()))?;
    write_local(db, &new.commune, &mut doc, changes).await
}

/// Logs changes made on the server itself (a settlement on the review page,
/// a registry update) and re-projects the household.
pub async fn write_local(
    db: &Db,
    commune: &str,
    doc: &mut HouseholdDoc,
    changes: LocalChanges,
) -> Result<(), AppError> {
    write_local_batch(
        db,
        commune,
        vec![LocalWrite {
            doc,
            changes,
            import_key: None,
            fresh: false,
        }],
    )
    .await
}

/// One household's server-side changes in a [`write_local_batch`].
#[derive(Debug)]
pub struct LocalWrite<'d> {
    /// The document, changes already applied.
    pub doc: &'d mut HouseholdDoc,
    /// The changes to log.
    pub changes: LocalChanges,
    /// The import's grouping key of the household, stored with it.
    pub import_key: Option<String>,
    /// The household is new (created by these changes): nothing to delete
    /// or compact.
    pub fresh: bool,
}

/// [`write_local`] for many households of one commune in one transaction
/// (imports): one commit, one sequence lock.
pub async fn write_local_batch<'d>(
    db: &Db,
    commune: &str,
    items: Vec<LocalWrite<'d>>,
) -> Result<(), AppError> {
    let _gate = db.write_gate().await;
    let mut tx = db.pool.begin().await.map_err(AppError::db)?;
    let mut seq = lock_seq(&mut tx, commune).await?;
    let received = now_ms();
    for LocalWrite {
        doc,
        changes,
        import_key,
        fresh,
    } in items
    {
        for (part, change) in &changes.0 {
            seq += 1;
            insert_change(
                &mut tx,
                commune,
                seq,
                doc.id(),
                *part,
                change,
                "server",
                received,
                false,
            )
            .await?;
        }
        reproject_with(&mut tx, doc, seq, fresh, import_key.as_deref()).await?;
    }
    store_seq(&mut tx, commune, seq).await?;
    tx.commit().await.map_err(AppError::db)?;
    Ok(())
}

/// Rewrites the projection rows of a household and, past
/// [`SNAPSHOT_AFTER`] changes, compacts its documents.
async fn reproject(
    tx: &mut Transaction<'_, Any>,
    doc: &mut HouseholdDoc,
    seq: i64,
) -> Result<(), AppError> {
    reproject_with(tx, doc, seq, false, None).await
}

/// [`reproject`], where `fresh` says the household was created in this
/// transaction (no old rows to delete, nothing to compact) and
/// `import_key` is stored with it.
async fn reproject_with(
    tx: &mut Transaction<'_, Any>,
    doc: &mut HouseholdDoc,
    seq: i64,
    fresh: bool,
    import_key: Option<&str>,
) -> Result<(), AppError> {
    let id = doc.id().to_string();
    let view = doc
        .view()
        .map_err(|e| AppError::Internal(format!("view: {e}")))?;
    let statuses = doc
        .statuses()
        .map_err(|e| AppError::Internal(format!("status: {e}")))?;
    let conflicts = doc.field_conflicts().len()
        + statuses
            .iter()
            .filter(|(_, s)| s.state == State::Conflict)
            .count();
    let walk_key = sync_core::store::walk_key(&view.hamlet, &view.address);
    sqlx::query(
        "INSERT INTO households (id, commune, hamlet, house_number, alley, street, walk_key, conflicts, updated_seq,
             import_key)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
         ON CONFLICT (id) DO UPDATE SET hamlet = excluded.hamlet, house_number = excluded.house_number,
             alley = excluded.alley, street = excluded.street, walk_key = excluded.walk_key,
             conflicts = excluded.conflicts, updated_seq = excluded.updated_seq,
             import_key = COALESCE(excluded.import_key, households.import_key)",
    )
    .bind(&id)
    .bind(&view.commune)
    .bind(&view.hamlet)
    .bind(&view.address.house_number)
    .bind(&view.address.alley)
    .bind(&view.address.street)
    .bind(walk_key)
    .bind(conflicts as i64)
    .bind(seq)
    .bind(import_key)
    .execute(&mut **tx)
    .await
    .map_err(AppError::db)?;
    if !fresh {
        sqlx::query("DELETE FROM residents WHERE household = $1")
            .bind(&id)
            .execute(&mut **tx)
            .await
            .map_err(AppError::db)?;
    }
    let records = doc.outcome_records();
    // One multi-row INSERT for the household's residents.
    const COLS: usize = 21;
    let mut rows_sql = Vec::with_capacity(view.residents.len());
    for i in 0..view.residents.len() {
        let b = i * COLS;
        let ps: Vec<String> = (1..=COLS).map(|k| format!("${}", b + k)).collect();
        rows_sql.push(format!(
            "({}, NULL, {})",
            ps[..13].join(", "),
            ps[13..].join(", ")
        ));
    }
    let sql = format!(
        "INSERT INTO residents (id, household, commune, hamlet, full_name, name_folded, sort_key, state,
             detail, registry, attempts, last_visit_at, awaiting_confirmation, assignee,
             birth_date, personal_id, decided_at, decided_by, explanation, absent_at,
             field_activated_at, newcomer)
         VALUES {}",
        rows_sql.join(", ")
    );
    let mut insert = sqlx::query(AssertSqlSafe(sql));
    for (r, (_, st)) in view.residents.iter().zip(statuses.iter()) {
        let detail = st.state.detail_code();
        let mine = records.get(&r.id).map(Vec::as_slice).unwrap_or_default();
        let latest = mine.iter().max_by_key(|o| (o.at_ms, o.visit));
        let explanation = match st.state {
            State::Ineligible { .. } => mine
                .iter()
                .filter(|o| matches!(o.outcome, sync_core::model::Outcome::Ineligible { .. }))
                .max_by_key(|o| (o.at_ms, o.visit))
                .and_then(|o| doc.explanation(o.visit, r.id)),
            _ => None,
        };
        let field_activated_at = mine
            .iter()
            .filter(|o| matches!(o.outcome, sync_core::model::Outcome::Activated { .. }))
            .map(|o| o.at_ms)
            .min();
        let absent_at = st
            .absent_at_ms
            .iter()
            .map(|ms| ms.to_string())
            .collect::<Vec<_>>()
            .join(",");
        insert = insert
            .bind(r.id.to_string())
            .bind(&id)
            .bind(&view.commune)
            .bind(&view.hamlet)
            .bind(&r.full_name)
            .bind(sync_core::text::fold(&r.full_name))
            .bind(sync_core::text::name_sort_key(&r.full_name))
            .bind(st.state.code())
            .bind(detail)
            .bind(r.registry.code())
            .bind(st.attempts as i64)
            .bind(st.last_visit_at_ms)
            .bind(st.awaiting_confirmation as i64)
            .bind(r.protected.birth_date.as_ref().map(|b| b.to_iso_string()))
            .bind(
                r.protected
                    .personal_id
                    .as_ref()
                    .map(|p| p.as_str().to_owned()),
            )
            .bind(latest.map(|o| o.at_ms))
            .bind(latest.map(|o| o.by.user.clone()))
            .bind(explanation)
            .bind(absent_at)
            .bind(field_activated_at)
            .bind(r.newcomer as i64);
    }
    if !view.residents.is_empty() {
        insert.execute(&mut **tx).await.map_err(AppError::db)?;
    }
    // One row per visit, for reports (who did how much, and when).
    let mut visits: BTreeMap<sync_core::model::VisitId, (i64, String, String, i64, i64)> =
        BTreeMap::new();
    for o in records.values().flatten() {
        let v = visits.entry(o.visit).or_insert_with(|| {
            (
                o.at_ms,
                o.by.user.clone(),
                o.by.role.code().to_owned(),
                0,
                0,
            )
        });
        v.3 += 1;
        if matches!(o.outcome, sync_core::model::Outcome::Activated { .. }) {
            v.4 += 1;
        }
    }
    let received = now_ms();
    for (vid, (at, user, role, outcomes, activations)) in visits {
        sqlx::query(
            "INSERT INTO visits (id, household, commune, hamlet, user_id, role, at_ms, received_at, outcomes, activations)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
             ON CONFLICT (id) DO UPDATE SET outcomes = excluded.outcomes, activations = excluded.activations,
                 hamlet = excluded.hamlet",
        )
        .bind(vid.to_string())
        .bind(&id)
        .bind(&view.commune)
        .bind(&view.hamlet)
        .bind(user)
        .bind(role)
        .bind(at)
        .bind(received)
        .bind(outcomes)
        .bind(activations)
        .execute(&mut **tx)
        .await
        .map_err(AppError::db)?;
    }
    if fresh {
        return Ok(());
    }
    // Compact when the household has many changes after its snapshot.
    let pending: i64 = sqlx::query(
        "SELECT COUNT(*) FROM changes WHERE household = $1
           AND seq > COALESCE((SELECT MIN(snapshot_seq) FROM doc_snapshots WHERE household = $1), 0)",
    )
    .bind(&id)
    .fetch_one(&mut **tx)
    .await
    .and_then(|r| r.try_get(0))
    .map_err(AppError::db)?;
    if pending > SNAPSHOT_AFTER {
        for part in DocPart::ALL {
            let bytes = doc.save_nocompress(part);
            sqlx::query(
                "INSERT INTO doc_snapshots (household, part, bytes, snapshot_seq) VALUES ($1, $2, $3, $4)
                 ON CONFLICT (household, part) DO UPDATE SET bytes = excluded.bytes, snapshot_seq = excluded.snapshot_seq",
            )
            .bind(&id)
            .bind(part.code())
            .bind(bytes)
            .bind(seq)
            .execute(&mut **tx)
            .await
            .map_err(AppError::db)?;
        }
    }
    Ok(())
}

/// One logged change, as the sync endpoint sends it.
#[derive(Debug)]
pub struct LoggedChange {
    /// Sequence number.
    pub seq: i64,
    /// Document.
    pub doc: DocId,
    /// Raw bytes.
    pub bytes: Vec<u8>,
}

/// Which households a reader sees.
#[derive(Clone, Debug)]
pub enum Scope<'a> {
    /// The whole commune.
    Commune(&'a str),
    /// Hamlets of a user (read from `user_hamlets`).
    UserHamlets {
        /// Commune.
        commune: &'a str,
        /// User.
        user: &'a str,
    },
}

impl Scope<'_> {
    fn commune(&self) -> &str {
        match self {
            Scope::Commune(c) | Scope::UserHamlets { commune: c, .. } => c,
        }
    }
    /// The SQL condition limiting `alias` (a households row) to the scope;
    /// the user id, where needed, is bound as parameter `$param`.
    fn filter(&self, alias: &str, param: usize) -> String {
        match self {
            Scope::Commune(_) => String::new(),
            Scope::UserHamlets { .. } => format!(
                " AND {alias}.hamlet IN (SELECT hamlet FROM user_hamlets WHERE user_id = ${param})"
            ),
        }
    }
    /// Binds the user id if [`Scope::filter`] asked for it.
    fn bind<'q>(
        &self,
        q: sqlx::query::Query<'q, Any, sqlx::any::AnyArguments>,
    ) -> sqlx::query::Query<'q, Any, sqlx::any::AnyArguments> {
        match self {
            Scope::Commune(_) => q,
            Scope::UserHamlets { user, .. } => q.bind(user.to_string()),
        }
    }
}

/// Changes after `after` made by other devices, in the scope, up to `limit`.
pub async fn changes_since(
    db: &Db,
    scope: &Scope<'_>,
    after: i64,
    exclude_device: &str,
    include_protected: bool,
    limit: i64,
) -> Result<Vec<LoggedChange>, AppError> {
    let parts = if include_protected {
        ""
    } else {
        " AND c.part = 'main'"
    };
    let sql = format!(
        "SELECT c.seq, c.household, c.part, c.bytes FROM changes c JOIN households h ON h.id = c.household
         WHERE c.commune = $1 AND c.seq > $2 AND c.origin_device <> $3{parts}{}
         ORDER BY c.seq LIMIT $4",
        scope.filter("h", 5)
    );
    let q = sqlx::query(AssertSqlSafe(sql))
        .bind(scope.commune())
        .bind(after)
        .bind(exclude_device)
        .bind(limit);
    let rows = scope
        .bind(q)
        .fetch_all(&db.pool)
        .await
        .map_err(AppError::db)?;
    rows.iter()
        .map(|r| {
            let household: String = r.try_get(1).map_err(AppError::db)?;
            let part: String = r.try_get(2).map_err(AppError::db)?;
            Ok(LoggedChange {
                seq: r.try_get(0).map_err(AppError::db)?,
                doc: DocId {
                    household: HouseholdId::parse(&household)
                        .ok_or_else(|| AppError::Internal("bad household id".into()))?,
                    part: DocPart::from_code(&part)
                        .ok_or_else(|| AppError::Internal("bad part".into()))?,
                },
                bytes: r.try_get(3).map_err(AppError::db)?,
            })
        })
        .collect()
}

/// Household ids in the scope after `after`, in id order, up to `limit`.
pub async fn households_in_scope(
    db: &Db,
    scope: &Scope<'_>,
    after: Option<HouseholdId>,
    limit: i64,
) -> Result<Vec<HouseholdId>, AppError> {
    let sql = format!(
        "SELECT h.id FROM households h WHERE h.commune = $1 AND h.id > $2{} ORDER BY h.id LIMIT $3",
        scope.filter("h", 4)
    );
    let q = sqlx::query(AssertSqlSafe(sql))
        .bind(scope.commune())
        .bind(after.map(|a| a.to_string()).unwrap_or_default())
        .bind(limit);
    let rows = scope
        .bind(q)
        .fetch_all(&db.pool)
        .await
        .map_err(AppError::db)?;
    household_ids(&rows)
}

fn household_ids(rows: &[sqlx::any::AnyRow]) -> Result<Vec<HouseholdId>, AppError> {
    rows.iter()
        .map(|r| {
            let s: String = r.try_get(0).map_err(AppError::db)?;
            HouseholdId::parse(&s).ok_or_else(|| AppError::Internal("bad household id".into()))
        })
        .collect()
}

/// Households of the commune outside the scope (to purge after a reassignment).
pub async fn households_outside(db: &Db, scope: &Scope<'_>) -> Result<Vec<HouseholdId>, AppError> {
    let Scope::UserHamlets { commune, user } = scope else {
        return Ok(Vec::new());
    };
    let rows = sqlx::query(
        "SELECT id FROM households WHERE commune = $1
           AND hamlet NOT IN (SELECT hamlet FROM user_hamlets WHERE user_id = $2)",
    )
    .bind(*commune)
    .bind(*user)
    .fetch_all(&db.pool)
    .await
    .map_err(AppError::db)?;
    household_ids(&rows)
}
