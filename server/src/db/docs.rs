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

async fn load_with(
    conn: &mut AnyConnection,
    actor: &ActorId,
    household: HouseholdId,
) -> Result<HouseholdDoc, AppError> {
    let main = doc_bytes(conn, household, DocPart::Main).await?;
    let protected = doc_bytes(conn, household, DocPart::Protected).await?;
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
    load_with(&mut conn, actor, household).await.map(Some)
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

/// Households whose documents stay in memory between writes.
pub const DOC_CACHE_HOUSEHOLDS: usize = 4_096;

/// Household documents kept in memory after a write, each with the
/// `households.updated_seq` it matches. A writer takes a document out and
/// uses it only while the row still carries that number (another server
/// instance, an import or a settlement may have written since; they all
/// move `updated_seq`), and puts it back after its commit; a failed
/// transaction drops it. Loading a household from its snapshot and log is
/// the largest part of applying a phone's change, so a busy hamlet's
/// households are kept. With each document the cache keeps the projection
/// rows written at that number, so the next write rewrites only the rows
/// that changed.
pub struct DocCache(std::sync::Mutex<hashlink::LruCache<HouseholdId, Cached>>);

/// A cached household: the `updated_seq` it was written at, its document and
/// the projection rows in the database at that number (when known).
struct Cached {
    seq: i64,
    doc: HouseholdDoc,
    rows: Option<Rows>,
    /// Changes logged since the household's snapshot, when known.
    pending: Option<i64>,
}

impl std::fmt::Debug for DocCache {
    // Documents hold personal data: never printed.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "DocCache({} households)", self.lock().len())
    }
}

impl DocCache {
    /// A cache of at most `capacity` households.
    pub fn new(capacity: usize) -> DocCache {
        DocCache(std::sync::Mutex::new(hashlink::LruCache::new(capacity)))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, hashlink::LruCache<HouseholdId, Cached>> {
        // A panic elsewhere cannot leave an entry half-written: each is
        // inserted or removed whole, so a poisoned lock is still sound.
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The household's document (and rows) if the cache holds the version
    /// written at `seq`; taken out either way.
    fn take(&self, household: HouseholdId, seq: i64) -> Option<Cached> {
        match self.lock().remove(&household) {
            Some(c) if c.seq == seq => Some(c),
            _ => None,
        }
    }

    /// Keeps a document written at `c.seq`, unless a later one is held.
    fn put(&self, household: HouseholdId, c: Cached) {
        let mut cache = self.lock();
        if cache.peek(&household).is_none_or(|old| old.seq < c.seq) {
            cache.insert(household, c);
        }
    }
}

/// Where each household is and the sequence number of its last write
/// (`households.updated_seq`), for the ids the server has.
async fn places(
    conn: &mut AnyConnection,
    ids: &[HouseholdId],
) -> Result<BTreeMap<HouseholdId, (Place, i64)>, AppError> {
    let mut out = BTreeMap::new();
    for chunk in ids.chunks(500) {
        let params: Vec<String> = (1..=chunk.len()).map(|i| format!("${i}")).collect();
        let sql = format!(
            "SELECT id, commune, hamlet, updated_seq FROM households WHERE id IN ({})",
            params.join(", ")
        );
        let mut q = sqlx::query(AssertSqlSafe(sql));
        for id in chunk {
            q = q.bind(id.to_string());
        }
        for r in q.fetch_all(&mut *conn).await.map_err(AppError::db)? {
            let id: String = r.try_get(0).map_err(AppError::db)?;
            let id = HouseholdId::parse(&id)
                .ok_or_else(|| AppError::Internal("bad household id".into()))?;
            let place = Place {
                commune: r.try_get(1).map_err(AppError::db)?,
                hamlet: r.try_get(2).map_err(AppError::db)?,
            };
            out.insert(id, (place, r.try_get(3).map_err(AppError::db)?));
        }
    }
    Ok(out)
}

/// One household's incoming changes, applied to its document and derived,
/// ready to be written.
struct Prepared {
    household: HouseholdId,
    /// `updated_seq` of the row the document was read at (`None`: no row).
    base: Option<i64>,
    doc: HouseholdDoc,
    /// Changes the server did not have.
    fresh: Vec<(DocPart, Change)>,
    out_of_area: bool,
    rows: Option<Rows>,
    /// The rows in the database at `base`, when the cache knew them.
    written: Option<Rows>,
    /// Changes logged since the snapshot at `base`, when the cache knew.
    pending: Option<i64>,
}

/// Applies one household's incoming changes to its document (from the cache
/// or loaded through `conn`) and derives its projection rows. Nothing is
/// written.
#[allow(clippy::too_many_arguments)]
async fn prepare(
    db: &Db,
    conn: &mut AnyConnection,
    actor: &ActorId,
    check: &(dyn WriteCheck + Sync),
    commune: &str,
    household: HouseholdId,
    parts: Vec<(DocPart, Vec<Change>)>,
    known: Option<&(Place, i64)>,
) -> Result<Prepared, AppError> {
    let base = known.map(|(_, seq)| *seq);
    let cached = base.and_then(|seq| db.doc_cache.take(household, seq));
    let (mut doc, written, pending) = match cached {
        Some(c) => (c.doc, c.rows, c.pending),
        None => (load_with(conn, actor, household).await?, None, None),
    };
    let mut fresh_all = Vec::new();
    for (part, changes) in parts {
        let fresh: Vec<Change> = changes
            .into_iter()
            .filter(|c| doc.part(part).get_change_by_hash(&c.hash()).is_none())
            .collect();
        doc.apply_changes(part, fresh.clone())
            .map_err(|_| AppError::Protocol(sync_core::protocol::ProtocolError::InvalidChange))?;
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
        return Ok(Prepared {
            household,
            base,
            doc,
            fresh: fresh_all,
            out_of_area: false,
            rows: None,
            written,
            pending,
        });
    }
    let mut p = Prepared {
        household,
        base,
        doc,
        fresh: fresh_all,
        out_of_area: false,
        rows: None,
        written,
        pending,
    };
    p.derive(check, commune, known.map(|(place, _)| place))?;
    Ok(p)
}

impl Prepared {
    /// Checks where the household is and derives its rows. `known` is its
    /// place as the database has it (`None`: a household created in the
    /// field, placed by its new skeleton).
    fn derive(
        &mut self,
        check: &(dyn WriteCheck + Sync),
        commune: &str,
        known: Option<&Place>,
    ) -> Result<(), AppError> {
        let place = match known {
            Some(p) => p.clone(),
            None => {
                let v = self.doc.view().map_err(|_| AppError::NotFound)?;
                Place {
                    commune: v.commune,
                    hamlet: v.hamlet,
                }
            }
        };
        if place.commune != commune {
            return Err(AppError::NotFound);
        }
        self.out_of_area = check.check(&place)?;
        self.rows = Some(Rows::derive(&self.doc)?);
        Ok(())
    }

    /// Brings a document prepared outside the lock up to the household's
    /// current row (`current`, read under the lock): applies the changes
    /// logged since by others, drops from ours those they already logged,
    /// and derives again.
    async fn catch_up(
        &mut self,
        tx: &mut Transaction<'_, Any>,
        check: &(dyn WriteCheck + Sync),
        commune: &str,
        current: Option<&(Place, i64)>,
    ) -> Result<(), AppError> {
        let logged = sqlx::query(
            "SELECT part, bytes FROM changes WHERE household = $1 AND seq > $2 ORDER BY seq",
        )
        .bind(self.household.to_string())
        .bind(self.base.unwrap_or(0))
        .fetch_all(&mut **tx)
        .await
        .map_err(AppError::db)?;
        let mut by_part: BTreeMap<DocPart, Vec<Change>> = BTreeMap::new();
        let mut seen = std::collections::HashSet::new();
        for r in logged {
            let part: String = r.try_get(0).map_err(AppError::db)?;
            let part =
                DocPart::from_code(&part).ok_or_else(|| AppError::Internal("bad part".into()))?;
            let change = Change::from_bytes(r.try_get(1).map_err(AppError::db)?)
                .map_err(|e| AppError::Internal(format!("logged change: {e}")))?;
            seen.insert(change.hash());
            by_part.entry(part).or_default().push(change);
        }
        for (part, changes) in by_part {
            self.doc
                .apply_changes(part, changes)
                .map_err(|e| AppError::Internal(format!("logged change: {e}")))?;
        }
        self.fresh.retain(|(_, c)| !seen.contains(&c.hash()));
        self.base = current.map(|(_, seq)| *seq);
        self.rows = None;
        // What is in the database now was written by someone else.
        self.written = None;
        self.pending = None;
        if self.fresh.is_empty() {
            return Ok(());
        }
        self.derive(check, commune, current.map(|(place, _)| place))
    }
}

/// Applies changes from a device in one transaction per commune: new
/// changes are logged with sequence numbers, documents re-projected.
/// Changes already present are ignored. Returns the number of new changes.
///
/// The automerge work (load, apply, derive) happens before the commune's
/// write lock is taken, so several phones' requests use every core; under
/// the lock each household's `updated_seq` is read again, and a household
/// written meanwhile catches up with the changes logged since (a few, and
/// cheap to apply) before it is derived again. Only the SQL writes and
/// those catch-ups are serialised.
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
    let ids: Vec<HouseholdId> = by_household.keys().copied().collect();

    // A few requests prepare and write at a time: their documents are in
    // memory until the commit, and the more wait for the lock the more
    // of them find their households written meanwhile.
    let _writer = db.writers.acquire().await.map_err(|_| AppError::Busy)?;
    let mut prepared = Vec::with_capacity(ids.len());
    // Outside the lock: one pooled connection, released before the lock is
    // taken (a request never holds two).
    {
        let mut conn = db.pool.acquire().await.map_err(AppError::db)?;
        let known = places(&mut conn, &ids).await?;
        for (household, parts) in by_household {
            let p = prepare(
                db,
                &mut conn,
                actor,
                check,
                commune,
                household,
                parts,
                known.get(&household),
            )
            .await?;
            prepared.push(p);
        }
    }

    let _gate = db.write_gate().await;
    let mut tx = db.pool.begin().await.map_err(AppError::db)?;
    let mut seq = lock_seq(&mut tx, commune).await?;
    let start = seq;
    let received = now_ms();
    let now = places(&mut tx, &ids).await?;
    let mut written = Vec::with_capacity(prepared.len());
    let mut log = Vec::new();
    for mut p in prepared {
        let current = now.get(&p.household);
        if p.fresh.is_empty() {
            // Nothing new: the document is as the row it was read at.
            if let Some(base) = p.base {
                written.push((
                    p.household,
                    Cached {
                        seq: base,
                        doc: p.doc,
                        rows: p.written,
                        pending: p.pending,
                    },
                ));
            }
            continue;
        }
        if current.map(|(_, s)| *s) != p.base {
            // Written by someone else since it was read.
            p.catch_up(&mut tx, check, commune, current).await?;
        }
        let Some(rows) = p.rows.take() else {
            continue;
        };
        let logging = p.fresh.len() as i64;
        for (part, change) in std::mem::take(&mut p.fresh) {
            seq += 1;
            log.push(LogRow {
                seq,
                household: p.household,
                part,
                change,
                out_of_area: p.out_of_area,
            });
        }
        let pending = p.pending.map(|n| n + logging);
        let pending = write_rows(
            &mut tx,
            &mut p.doc,
            &rows,
            Written {
                rows: p.written.as_ref(),
                pending,
                logging,
            },
            seq,
            false,
            None,
        )
        .await?;
        written.push((
            p.household,
            Cached {
                seq,
                doc: p.doc,
                rows: Some(rows),
                pending,
            },
        ));
    }
    insert_changes(&mut tx, commune, &log, device, received).await?;
    if seq != start {
        store_seq(&mut tx, commune, seq).await?;
    }
    tx.commit().await.map_err(AppError::db)?;
    for (household, cached) in written {
        db.doc_cache.put(household, cached);
    }
    Ok((seq - start) as usize)
}

/// One change to log.
struct LogRow {
    seq: i64,
    household: HouseholdId,
    part: DocPart,
    change: Change,
    out_of_area: bool,
}

/// `rows` tuples of `cols` numbered placeholders for a multi-row
/// `VALUES` list: `($1, $2), ($3, $4)`.
fn values_list(rows: usize, cols: usize) -> String {
    (0..rows)
        .map(|i| {
            let ps: Vec<String> = (1..=cols).map(|k| format!("${}", i * cols + k)).collect();
            format!("({})", ps.join(", "))
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// Logs changes, a few hundred rows a statement.
async fn insert_changes(
    tx: &mut Transaction<'_, Any>,
    commune: &str,
    log: &[LogRow],
    device: &str,
    received: i64,
) -> Result<(), AppError> {
    const COLS: usize = 9;
    for chunk in log.chunks(300) {
        let sql = format!(
            "INSERT INTO changes (commune, seq, household, part, hash, bytes, origin_device, received_at, out_of_area)
             VALUES {}",
            values_list(chunk.len(), COLS)
        );
        let mut q = sqlx::query(AssertSqlSafe(sql));
        for r in chunk {
            q = q
                .bind(commune)
                .bind(r.seq)
                .bind(r.household.to_string())
                .bind(r.part.code())
                .bind(r.change.hash().to_string())
                .bind(r.change.raw_bytes().to_vec())
                .bind(device)
                .bind(received)
                .bind(r.out_of_area as i64);
        }
        q.execute(&mut **tx).await.map_err(AppError::db)?;
    }
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
    let mut log = Vec::new();
    for LocalWrite {
        doc,
        changes,
        import_key,
        fresh,
    } in items
    {
        for (part, change) in changes.0 {
            seq += 1;
            log.push(LogRow {
                seq,
                household: doc.id(),
                part,
                change,
                out_of_area: false,
            });
        }
        let rows = Rows::derive(doc)?;
        write_rows(
            &mut tx,
            doc,
            &rows,
            Written::default(),
            seq,
            fresh,
            import_key.as_deref(),
        )
        .await?;
    }
    insert_changes(&mut tx, commune, &log, "server", received).await?;
    store_seq(&mut tx, commune, seq).await?;
    tx.commit().await.map_err(AppError::db)?;
    Ok(())
}

/// A household's projection rows, derived from its documents (CPU only;
/// [`write_rows`] writes them).
#[derive(Clone, PartialEq)]
struct Rows {
    id: String,
    commune: String,
    hamlet: String,
    address: sync_core::model::Address,
    walk_key: Vec<u8>,
    conflicts: i64,
    residents: Vec<ResidentRow>,
    visits: Vec<VisitRow>,
}

/// One `residents` row.
#[derive(Clone, PartialEq)]
struct ResidentRow {
    id: String,
    full_name: String,
    name_folded: String,
    sort_key: Vec<u8>,
    state: &'static str,
    detail: Option<String>,
    registry: &'static str,
    attempts: i64,
    last_visit_at: Option<i64>,
    awaiting_confirmation: i64,
    birth_date: Option<String>,
    personal_id: Option<String>,
    decided_at: Option<i64>,
    decided_by: Option<String>,
    explanation: Option<String>,
    absent_at: String,
    field_activated_at: Option<i64>,
    newcomer: i64,
}

/// One `visits` row (who did how much, and when; for reports).
#[derive(Clone, PartialEq)]
struct VisitRow {
    id: String,
    at: i64,
    user: String,
    role: &'static str,
    outcomes: i64,
    activations: i64,
}

impl Rows {
    fn derive(doc: &HouseholdDoc) -> Result<Rows, AppError> {
        use sync_core::model::Outcome;
        let p = doc
            .projection()
            .map_err(|e| AppError::Internal(format!("projection: {e}")))?;
        let conflicts = p.field_conflicts.len()
            + p.statuses
                .iter()
                .filter(|(_, s)| s.state == State::Conflict)
                .count();
        let mut residents = Vec::with_capacity(p.view.residents.len());
        for (r, (_, st)) in p.view.residents.iter().zip(p.statuses.iter()) {
            let mine = p.records.get(&r.id).map(Vec::as_slice).unwrap_or_default();
            let latest = mine.iter().max_by_key(|o| (o.at_ms, o.visit));
            let explanation = match st.state {
                State::Ineligible { .. } => mine
                    .iter()
                    .filter(|o| matches!(o.outcome, Outcome::Ineligible { .. }))
                    .max_by_key(|o| (o.at_ms, o.visit))
                    .and_then(|o| p.explanation(o.visit, r.id)),
                _ => None,
            };
            residents.push(ResidentRow {
                id: r.id.to_string(),
                full_name: r.full_name.clone(),
                name_folded: sync_core::text::fold(&r.full_name),
                sort_key: sync_core::text::name_sort_key(&r.full_name),
                state: st.state.code(),
                detail: st.state.detail_code(),
                registry: r.registry.code(),
                attempts: st.attempts as i64,
                last_visit_at: st.last_visit_at_ms,
                awaiting_confirmation: st.awaiting_confirmation as i64,
                birth_date: r.protected.birth_date.as_ref().map(|b| b.to_iso_string()),
                personal_id: r
                    .protected
                    .personal_id
                    .as_ref()
                    .map(|id| id.as_str().to_owned()),
                decided_at: latest.map(|o| o.at_ms),
                decided_by: latest.map(|o| o.by.user.clone()),
                explanation,
                absent_at: st
                    .absent_at_ms
                    .iter()
                    .map(|ms| ms.to_string())
                    .collect::<Vec<_>>()
                    .join(","),
                field_activated_at: mine
                    .iter()
                    .filter(|o| matches!(o.outcome, Outcome::Activated { .. }))
                    .map(|o| o.at_ms)
                    .min(),
                newcomer: r.newcomer as i64,
            });
        }
        let mut visits: BTreeMap<sync_core::model::VisitId, VisitRow> = BTreeMap::new();
        for o in p.records.values().flatten() {
            let v = visits.entry(o.visit).or_insert_with(|| VisitRow {
                id: o.visit.to_string(),
                at: o.at_ms,
                user: o.by.user.clone(),
                role: o.by.role.code(),
                outcomes: 0,
                activations: 0,
            });
            v.outcomes += 1;
            if matches!(o.outcome, Outcome::Activated { .. }) {
                v.activations += 1;
            }
        }
        let view = p.view;
        Ok(Rows {
            id: view.id.to_string(),
            walk_key: sync_core::store::walk_key(&view.hamlet, &view.address),
            commune: view.commune,
            hamlet: view.hamlet,
            address: view.address,
            conflicts: conflicts as i64,
            residents,
            visits: visits.into_values().collect(),
        })
    }
}

/// Rewrites the projection rows of a household (one statement each for
/// the household, its residents and its visits) and, past
/// [`SNAPSHOT_AFTER`] changes, compacts its documents. `written` are the
/// rows the database holds for it, when known: then only residents and
/// visits whose rows differ are written. `fresh` says the household was
/// created in this transaction (no old rows to delete, nothing to
/// compact); `import_key` is stored with it.
async fn write_rows(
    tx: &mut Transaction<'_, Any>,
    doc: &mut HouseholdDoc,
    rows: &Rows,
    known: Written<'_>,
    seq: i64,
    fresh: bool,
    import_key: Option<&str>,
) -> Result<Option<i64>, AppError> {
    let written = known.rows;
    let id = &rows.id;
    sqlx::query(
        "INSERT INTO households (id, commune, hamlet, house_number, alley, street, walk_key, conflicts, updated_seq,
             import_key)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
         ON CONFLICT (id) DO UPDATE SET hamlet = excluded.hamlet, house_number = excluded.house_number,
             alley = excluded.alley, street = excluded.street, walk_key = excluded.walk_key,
             conflicts = excluded.conflicts, updated_seq = excluded.updated_seq,
             import_key = COALESCE(excluded.import_key, households.import_key)",
    )
    .bind(id)
    .bind(&rows.commune)
    .bind(&rows.hamlet)
    .bind(&rows.address.house_number)
    .bind(&rows.address.alley)
    .bind(&rows.address.street)
    .bind(&rows.walk_key)
    .bind(rows.conflicts)
    .bind(seq)
    .bind(import_key)
    .execute(&mut **tx)
    .await
    .map_err(AppError::db)?;
    // The residents to (re)insert: all, or those whose row changed.
    let residents: Vec<&ResidentRow> = match written {
        None => {
            if !fresh {
                sqlx::query("DELETE FROM residents WHERE household = $1")
                    .bind(id)
                    .execute(&mut **tx)
                    .await
                    .map_err(AppError::db)?;
            }
            rows.residents.iter().collect()
        }
        Some(old) => {
            let changed: Vec<&ResidentRow> = rows
                .residents
                .iter()
                .filter(|r| !old.residents.contains(r))
                .collect();
            let gone: Vec<&str> = old
                .residents
                .iter()
                .filter(|o| !rows.residents.iter().any(|r| r.id == o.id))
                .chain(changed.iter().copied())
                .map(|r| r.id.as_str())
                .collect();
            if !gone.is_empty() {
                let ps: Vec<String> = (2..gone.len() + 2).map(|i| format!("${i}")).collect();
                let sql = format!(
                    "DELETE FROM residents WHERE household = $1 AND id IN ({})",
                    ps.join(", ")
                );
                let mut q = sqlx::query(AssertSqlSafe(sql)).bind(id);
                for g in &gone {
                    q = q.bind(*g);
                }
                q.execute(&mut **tx).await.map_err(AppError::db)?;
            }
            changed
        }
    };
    if !residents.is_empty() {
        const COLS: usize = 22;
        let sql = format!(
            "INSERT INTO residents (id, household, commune, hamlet, full_name, name_folded, sort_key, state,
                 detail, registry, attempts, last_visit_at, awaiting_confirmation, assignee,
                 birth_date, personal_id, decided_at, decided_by, explanation, absent_at,
                 field_activated_at, newcomer)
             VALUES {}",
            values_list(residents.len(), COLS)
        );
        let mut insert = sqlx::query(AssertSqlSafe(sql));
        for r in residents {
            insert = insert
                .bind(&r.id)
                .bind(id)
                .bind(&rows.commune)
                .bind(&rows.hamlet)
                .bind(&r.full_name)
                .bind(&r.name_folded)
                .bind(&r.sort_key)
                .bind(r.state)
                .bind(&r.detail)
                .bind(r.registry)
                .bind(r.attempts)
                .bind(r.last_visit_at)
                .bind(r.awaiting_confirmation)
                .bind(None::<String>) // assignee
                .bind(&r.birth_date)
                .bind(&r.personal_id)
                .bind(r.decided_at)
                .bind(&r.decided_by)
                .bind(&r.explanation)
                .bind(&r.absent_at)
                .bind(r.field_activated_at)
                .bind(r.newcomer);
        }
        insert.execute(&mut **tx).await.map_err(AppError::db)?;
    }
    let received = now_ms();
    const VCOLS: usize = 10;
    let visits: Vec<&VisitRow> = match written {
        None => rows.visits.iter().collect(),
        Some(old) => rows
            .visits
            .iter()
            .filter(|v| !old.visits.contains(v))
            .collect(),
    };
    for chunk in visits.chunks(200) {
        let sql = format!(
            "INSERT INTO visits (id, household, commune, hamlet, user_id, role, at_ms, received_at, outcomes, activations)
             VALUES {}
             ON CONFLICT (id) DO UPDATE SET outcomes = excluded.outcomes, activations = excluded.activations,
                 hamlet = excluded.hamlet",
            values_list(chunk.len(), VCOLS)
        );
        let mut q = sqlx::query(AssertSqlSafe(sql));
        for v in chunk {
            q = q
                .bind(&v.id)
                .bind(id)
                .bind(&rows.commune)
                .bind(&rows.hamlet)
                .bind(&v.user)
                .bind(v.role)
                .bind(v.at)
                .bind(received)
                .bind(v.outcomes)
                .bind(v.activations);
        }
        q.execute(&mut **tx).await.map_err(AppError::db)?;
    }
    if fresh {
        return Ok(None);
    }
    // Compact when the household has many changes after its snapshot.
    let pending: i64 = match known.pending {
        Some(n) => n,
        None => sqlx::query(
            "SELECT COUNT(*) FROM changes WHERE household = $1
               AND seq > COALESCE((SELECT MIN(snapshot_seq) FROM doc_snapshots WHERE household = $1), 0)",
        )
        .bind(id)
        .fetch_one(&mut **tx)
        .await
        .and_then(|r| r.try_get::<i64, _>(0))
        .map_err(AppError::db)?
            + known.logging,
    };
    if pending > SNAPSHOT_AFTER {
        for part in DocPart::ALL {
            let bytes = doc.save_nocompress(part);
            sqlx::query(
                "INSERT INTO doc_snapshots (household, part, bytes, snapshot_seq) VALUES ($1, $2, $3, $4)
                 ON CONFLICT (household, part) DO UPDATE SET bytes = excluded.bytes, snapshot_seq = excluded.snapshot_seq",
            )
            .bind(id)
            .bind(part.code())
            .bind(bytes)
            .bind(seq)
            .execute(&mut **tx)
            .await
            .map_err(AppError::db)?;
        }
        return Ok(Some(0));
    }
    Ok(Some(pending))
}

/// What the database holds for a household before [`write_rows`], when the
/// document cache knows it.
#[derive(Default)]
struct Written<'a> {
    /// Its projection rows.
    rows: Option<&'a Rows>,
    /// Changes logged since its snapshot, this write's included.
    pending: Option<i64>,
    /// This write's changes (logged after the rows, in the same
    /// transaction): added when `pending` is counted in the database.
    logging: i64,
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
