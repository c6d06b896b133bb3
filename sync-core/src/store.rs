//! The phone store: household documents, the outbox, the sync cursor and
//! the indexed tables the phone lists and searches, in one SQLite file.
//!
//! * WAL journal with `synchronous = FULL`: when [`PhoneStore::record_visit`]
//!   returns, the visit is on disk and survives the process being killed or
//!   the battery dying.
//! * Each operation is one transaction: the document chunk, the outbox
//!   entry and the index rows land together or not at all.
//! * Documents are stored as a compacted snapshot plus appended change
//!   chunks; a household is compacted once it has [`COMPACT_AFTER`] chunks.
//! * Lists and searches read the index tables (`residents`, `households`),
//!   never the documents; the tables are derived from the documents, so a
//!   new [`STORE_VERSION`] simply rebuilds them when the store is opened. `residents` is clustered in walking order
//!   (household walk key, household, then Vietnamese name key: two
//!   households at one address stay apart), so the work list is
//!   read in order with no sort and no join; each row carries its
//!   household's address.
//! * Today's targets ([`PhoneStore::targets`]) are computed offline with the
//!   server's rules ([`crate::plan`]) and the campaign's planning terms the
//!   last sync brought ([`PhoneStore::terms`]).
//!
//! ```
//! use sync_core::store::PhoneStore;
//! let store = PhoneStore::open_in_memory().unwrap();
//! assert_eq!(store.pending_changes().unwrap(), 0);
//! ```

use crate::doc::{DocError, DocId, DocPart, HouseholdDoc, LocalChanges, NewHousehold};
use crate::ids::BirthDate;
use crate::model::{HouseholdId, RegistryStatus, ResidentId, Settlement, Visit};
use crate::plan::{self, Candidate, Facts, Priority, Slot, Terms};
use crate::protocol::{self, DocChanges, Limits, ProtocolError, SyncRequest};
use crate::status::State;
use crate::text;
use automerge::ActorId;
use rusqlite::{Connection, OptionalExtension, Transaction, TransactionBehavior, params};
use std::collections::BTreeMap;
use std::path::Path;

/// A household's change chunks are folded into its snapshot past this many.
pub const COMPACT_AFTER: i64 = 32;

/// Version of the store's tables (`PRAGMA user_version`). Version 2 added
/// the absent attempts' times and the birth date to `residents` (for
/// [`PhoneStore::targets`]). The index tables are derived from the
/// documents: opening an older store rebuilds them in one transaction.
pub const STORE_VERSION: i64 = 2;

/// Without an active campaign, a temporary reason or a refusal comes back
/// on the list after this many days.
pub const RECHECK_WITHOUT_CAMPAIGN_DAYS: u32 = 14;

const SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value BLOB NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS docs (
    household TEXT NOT NULL, part TEXT NOT NULL, snapshot BLOB NOT NULL,
    PRIMARY KEY (household, part)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS doc_chunks (
    id INTEGER PRIMARY KEY, household TEXT NOT NULL, part TEXT NOT NULL, bytes BLOB NOT NULL);
CREATE INDEX IF NOT EXISTS doc_chunks_doc ON doc_chunks (household, part);
CREATE TABLE IF NOT EXISTS outbox (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, household TEXT NOT NULL, part TEXT NOT NULL,
    change BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS households (
    id TEXT PRIMARY KEY, commune TEXT NOT NULL, hamlet TEXT NOT NULL,
    house_number TEXT NOT NULL, alley TEXT NOT NULL, street TEXT NOT NULL,
    walk_key BLOB NOT NULL, conflicts INTEGER NOT NULL) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS households_walk ON households (walk_key);
CREATE TABLE IF NOT EXISTS residents (
    walk_key BLOB NOT NULL, sort_key BLOB NOT NULL, id TEXT NOT NULL,
    household TEXT NOT NULL, hamlet TEXT NOT NULL,
    full_name TEXT NOT NULL, name_folded TEXT NOT NULL,
    state TEXT NOT NULL, detail TEXT, registry TEXT NOT NULL, attempts INTEGER NOT NULL,
    last_visit_at INTEGER, awaiting_confirmation INTEGER NOT NULL,
    house_number TEXT NOT NULL, alley TEXT NOT NULL, street TEXT NOT NULL,
    absent_at TEXT NOT NULL, birth_date TEXT,
    PRIMARY KEY (walk_key, household, sort_key, id)) WITHOUT ROWID;
CREATE UNIQUE INDEX IF NOT EXISTS residents_id ON residents (id);
CREATE INDEX IF NOT EXISTS residents_household ON residents (household);
CREATE INDEX IF NOT EXISTS residents_state ON residents (state, sort_key);
CREATE INDEX IF NOT EXISTS residents_hamlet ON residents (hamlet, walk_key, household, sort_key);
"#;

/// What went wrong in the store. Messages carry no personal data.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// SQLite failed (disk full, file corrupt, locked…).
    #[error("storage error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// A document could not be read or changed.
    #[error(transparent)]
    Doc(#[from] DocError),
    /// A sync message was refused; nothing was changed.
    #[error(transparent)]
    Protocol(#[from] ProtocolError),
    /// No such household on this phone.
    #[error("household not found on this phone")]
    NotFound,
    /// The key does not open this store (or the file is not a store).
    #[error("wrong key or not a store file")]
    WrongKey,
    /// The server answered with changes this phone cannot place (missing
    /// history); the cursor was reset so the next sync fetches whole documents.
    #[error("sync needs a full resend; the next sync fetches whole documents")]
    NeedsFullResync,
}

impl StoreError {
    /// Stable machine code.
    pub fn code(&self) -> &'static str {
        match self {
            StoreError::Sqlite(_) => "store.sqlite",
            StoreError::Doc(e) => e.code(),
            StoreError::Protocol(e) => e.code(),
            StoreError::NotFound => "store.not_found",
            StoreError::WrongKey => "store.wrong_key",
            StoreError::NeedsFullResync => "sync.full_resync",
        }
    }
    /// Vietnamese message.
    pub fn message_vi(&self) -> &'static str {
        match self {
            StoreError::Sqlite(_) => "Lỗi lưu trữ trên máy, dữ liệu đã ghi vẫn được giữ",
            StoreError::Doc(e) => e.message_vi(),
            StoreError::Protocol(e) => e.message_vi(),
            StoreError::NotFound => "Không tìm thấy hộ gia đình trên máy",
            StoreError::WrongKey => "Khóa mở dữ liệu trên máy không đúng hoặc tệp không hợp lệ",
            StoreError::NeedsFullResync => "Cần đồng bộ lại toàn bộ, hãy đồng bộ thêm một lần",
        }
    }
}

/// Result alias.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// A row of a list: one resident with the household's address.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResidentRow {
    /// Resident id.
    pub id: ResidentId,
    /// Household id.
    pub household: HouseholdId,
    /// Hamlet id.
    pub hamlet: String,
    /// Full name.
    pub full_name: String,
    /// Derived state code ([`State::code`]).
    pub state: String,
    /// Sub-reason code, if any.
    pub detail: Option<String>,
    /// Registry status code.
    pub registry: String,
    /// Visits that recorded an outcome.
    pub attempts: u32,
    /// Phone time of the latest.
    pub last_visit_at_ms: Option<i64>,
    /// A volunteer's outcome waiting for an officer.
    pub awaiting_confirmation: bool,
    /// Số nhà.
    pub house_number: String,
    /// Ngõ / hẻm.
    pub alley: String,
    /// Đường.
    pub street: String,
}

/// One resident on today's list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TargetRow {
    /// The resident, with the household's address.
    pub resident: ResidentRow,
    /// Why they are a target.
    pub priority: Priority,
    /// For someone out last time ([`Priority::ComeBack`]): a time of day and
    /// of week not yet tried ([`plan::come_back_slot`]).
    pub come_back: Option<Slot>,
}

/// Today's targets on this phone ([`PhoneStore::targets`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Targets {
    /// Residents to reach today: the remaining work spread over the
    /// campaign's days left, at most its daily cap ([`Terms::quota`]).
    pub quota: u32,
    /// Every resident who is a target today, picked or not.
    pub remaining: u32,
    /// The campaign's terms in force (`None`: no campaign active).
    pub terms: Option<Terms>,
    /// The picked residents: whole households, chosen by best priority, in
    /// walking order ([`plan::pick`]). At least `quota` rows unless fewer
    /// remain (a household is never split).
    pub rows: Vec<TargetRow>,
}

/// What applying a sync response did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SyncApplied {
    /// Documents created or merged.
    pub docs: usize,
    /// Changes applied.
    pub changes: usize,
    /// Households purged (left this phone's area).
    pub purged: usize,
    /// Outbox entries acknowledged and removed.
    pub acked: usize,
    /// The server asks for another round at once.
    pub more: bool,
    /// The device was revoked and every local record wiped.
    pub wiped: bool,
}

/// The phone's local store.
#[derive(Debug)]
pub struct PhoneStore {
    conn: Connection,
    actor: ActorId,
    device: String,
    limits: Limits,
}

fn part_of(code: &str) -> Result<DocPart> {
    DocPart::from_code(code).ok_or(StoreError::Doc(DocError::Corrupt("unknown part".into())))
}

fn hid(s: &str) -> Result<HouseholdId> {
    HouseholdId::parse(s).ok_or(StoreError::Doc(DocError::Corrupt(
        "bad household id".into(),
    )))
}

impl PhoneStore {
    /// Opens (creating if needed) the store at `path`.
    pub fn open(path: &Path) -> Result<Self> {
        Self::init(Connection::open(path)?)
    }

    /// Opens (creating if needed) a store encrypted with `key` (SQLCipher:
    /// every page of the file and its WAL is encrypted). The app keeps the
    /// key in the platform keystore. A wrong key is [`StoreError::WrongKey`].
    pub fn open_encrypted(path: &Path, key: &[u8; 32]) -> Result<Self> {
        let conn = Connection::open(path)?;
        // SQLCipher would print decryption failures (a wrong key) to stderr.
        conn.execute_batch("PRAGMA cipher_log_level = NONE;")?;
        conn.execute_batch(&format!("PRAGMA key = \"x'{}'\";", hex::encode(key)))?;
        match conn.query_row("SELECT count(*) FROM sqlite_master", [], |r| {
            r.get::<_, i64>(0)
        }) {
            Err(rusqlite::Error::SqliteFailure(e, _))
                if e.code == rusqlite::ErrorCode::NotADatabase =>
            {
                return Err(StoreError::WrongKey);
            }
            other => {
                other?;
            }
        }
        Self::init(conn)
    }

    /// A store in memory (tests, simulator).
    pub fn open_in_memory() -> Result<Self> {
        Self::init(Connection::open_in_memory()?)
    }

    fn init(conn: Connection) -> Result<Self> {
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        // WAL + FULL: a commit is durable when it returns. secure_delete:
        // a wipe overwrites what it deletes.
        let _mode: String = conn.query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))?;
        conn.execute_batch(
            "PRAGMA synchronous=FULL; PRAGMA secure_delete=ON; PRAGMA foreign_keys=ON;",
        )?;
        conn.execute_batch(SCHEMA)?;
        let mut store = PhoneStore {
            conn,
            actor: ActorId::random(),
            device: String::new(),
            limits: Limits::default(),
        };
        store.load_identity()?;
        store.migrate()?;
        Ok(store)
    }

    /// Brings an older store to [`STORE_VERSION`]: rebuilds the index
    /// tables from the documents (a new store has none: nothing to do but
    /// set the version).
    fn migrate(&mut self) -> Result<()> {
        let version = |c: &Connection| -> Result<i64> {
            Ok(c.query_row("PRAGMA user_version", [], |r| r.get(0))?)
        };
        if version(&self.conn)? >= STORE_VERSION {
            return Ok(());
        }
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        if version(&tx)? >= STORE_VERSION {
            return Ok(()); // another connection did it meanwhile
        }
        tx.execute_batch("DROP TABLE IF EXISTS residents; DROP TABLE IF EXISTS households;")?;
        tx.execute_batch(SCHEMA)?;
        let ids: Vec<String> = {
            let mut st = tx.prepare("SELECT DISTINCT household FROM docs")?;
            st.query_map([], |r| r.get(0))?
                .collect::<rusqlite::Result<_>>()?
        };
        for id in ids {
            if let Some(doc) = load_doc(&tx, &self.actor, hid(&id)?)? {
                reindex(&tx, &doc)?;
            }
        }
        tx.execute_batch(&format!("PRAGMA user_version = {STORE_VERSION}"))?;
        tx.commit()?;
        Ok(())
    }

    fn load_identity(&mut self) -> Result<()> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let actor: Option<Vec<u8>> = get_meta(&tx, "actor")?;
        let device: Option<Vec<u8>> = get_meta(&tx, "device")?;
        match (actor, device) {
            (Some(a), Some(d)) => {
                self.actor = ActorId::from(a.as_slice());
                self.device = String::from_utf8_lossy(&d).into_owned();
            }
            _ => {
                self.actor = ActorId::random();
                self.device = uuid::Uuid::new_v4().to_string();
                set_meta(&tx, "actor", self.actor.to_bytes())?;
                set_meta(&tx, "device", self.device.as_bytes())?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// This phone install's device id (sent with every sync).
    pub fn device_id(&self) -> &str {
        &self.device
    }

    /// Replaces the decoding limits.
    pub fn set_limits(&mut self, limits: Limits) {
        self.limits = limits;
    }

    /// Loads a household's documents.
    pub fn household(&self, id: HouseholdId) -> Result<HouseholdDoc> {
        load_doc(&self.conn, &self.actor, id)?.ok_or(StoreError::NotFound)
    }

    /// Ids of every household on the phone.
    pub fn household_ids(&self) -> Result<Vec<HouseholdId>> {
        let mut st = self
            .conn
            .prepare("SELECT DISTINCT household FROM docs ORDER BY household")?;
        let ids = st.query_map([], |r| r.get::<_, String>(0))?;
        ids.map(|s| hid(&s?)).collect()
    }

    /// Creates a household on the phone (a household found in the field).
    pub fn create_household(&mut self, new: &NewHousehold) -> Result<()> {
        let (mut doc, changes) = HouseholdDoc::create(&self.actor, new)?;
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        if load_doc(&tx, &self.actor, new.id)?.is_some() {
            return Err(DocError::Duplicate.into());
        }
        persist_local(&tx, &mut doc, changes)?;
        tx.commit()?;
        Ok(())
    }

    /// Records a visit. When this returns `Ok`, the visit is durable.
    pub fn record_visit(&mut self, household: HouseholdId, visit: &Visit) -> Result<()> {
        self.change(household, |doc| doc.record_visit(visit))
    }

    /// Records a settlement of a conflict.
    pub fn settle(&mut self, household: HouseholdId, settlement: &Settlement) -> Result<()> {
        self.change(household, |doc| doc.settle(settlement))
    }

    /// Applies a local edit to a household in one durable transaction.
    pub fn change(
        &mut self,
        household: HouseholdId,
        edit: impl FnOnce(&mut HouseholdDoc) -> Result<LocalChanges, DocError>,
    ) -> Result<()> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut doc = load_doc(&tx, &self.actor, household)?.ok_or(StoreError::NotFound)?;
        let changes = edit(&mut doc)?;
        persist_local(&tx, &mut doc, changes)?;
        tx.commit()?;
        Ok(())
    }

    /// Number of local changes not yet acknowledged by the server.
    pub fn pending_changes(&self) -> Result<u64> {
        Ok(self
            .conn
            .query_row("SELECT COUNT(*) FROM outbox", [], |r| r.get::<_, i64>(0))?
            as u64)
    }

    /// Builds the next sync request: the cursor and the outbox (up to the
    /// change limit), stamped with a fresh request id.
    pub fn sync_request(&mut self) -> Result<Vec<u8>> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let cursor: Option<Vec<u8>> = get_meta(&tx, "cursor")?;
        let mut changes: Vec<DocChanges> = Vec::new();
        let mut through = 0u64;
        let mut budget = self.limits.max_frame_bytes / 2;
        {
            let mut st = tx
                .prepare("SELECT seq, household, part, change FROM outbox ORDER BY seq LIMIT ?1")?;
            let mut rows = st.query([self.limits.max_changes as i64])?;
            while let Some(r) = rows.next()? {
                let seq: i64 = r.get(0)?;
                let doc = DocId {
                    household: hid(&r.get::<_, String>(1)?)?,
                    part: part_of(&r.get::<_, String>(2)?)?,
                };
                let bytes: Vec<u8> = r.get(3)?;
                if bytes.len() > budget && through > 0 {
                    break;
                }
                budget = budget.saturating_sub(bytes.len());
                through = seq as u64;
                match changes.last_mut() {
                    Some(last) if last.doc == doc => last.changes.push(bytes),
                    _ => changes.push(DocChanges {
                        doc,
                        changes: vec![bytes],
                    }),
                }
            }
        }
        let request_id: u64 = rand_u64();
        set_meta(&tx, "pending_request", &request_id.to_le_bytes())?;
        tx.commit()?;
        Ok(protocol::encode_request(&SyncRequest {
            request_id,
            device: self.device.clone(),
            cursor,
            outbox_through: through,
            changes,
        })?)
    }

    /// Applies the server's response in one transaction. A refused
    /// response (stale, truncated, hostile) changes nothing.
    pub fn apply_sync_response(&mut self, bytes: &[u8]) -> Result<SyncApplied> {
        let resp = protocol::decode_response(bytes, &self.limits)?;
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let pending: Option<Vec<u8>> = get_meta(&tx, "pending_request")?;
        if pending.as_deref() != Some(&resp.request_id.to_le_bytes()[..]) {
            return Err(ProtocolError::Stale.into());
        }
        let mut applied = SyncApplied {
            more: resp.more,
            ..Default::default()
        };
        if resp.wipe {
            wipe_all(&tx)?;
            tx.commit()?;
            applied.wiped = true;
            return Ok(applied);
        }
        // Group everything by household so each document loads once.
        let mut by_household: BTreeMap<HouseholdId, Vec<(DocPart, Incoming)>> = BTreeMap::new();
        for d in resp.docs {
            by_household
                .entry(d.doc.household)
                .or_default()
                .push((d.doc.part, Incoming::Snapshot(d.bytes)));
        }
        for d in resp.changes {
            applied.changes += d.changes.len();
            let parsed = protocol::parse_changes(&d.changes)?;
            by_household
                .entry(d.doc.household)
                .or_default()
                .push((d.doc.part, Incoming::Changes(parsed)));
        }
        let mut missing = false;
        for (household, items) in by_household {
            let mut doc = load_doc(&tx, &self.actor, household)?
                .unwrap_or_else(|| HouseholdDoc::empty(&self.actor, household));
            let before: Vec<_> = DocPart::ALL.iter().map(|p| doc.heads(*p)).collect();
            let mut whole = false;
            for (part, item) in items {
                match item {
                    Incoming::Snapshot(b) => {
                        applied.docs += 1;
                        whole = true;
                        doc.merge_saved(part, &b)
                            .map_err(|_| ProtocolError::InvalidChange)?;
                    }
                    Incoming::Changes(c) => doc.apply_changes(part, c)?,
                }
            }
            for (i, part) in DocPart::ALL.into_iter().enumerate() {
                if !doc.missing_deps(part).is_empty() {
                    missing = true;
                }
                let chunk = doc.part_mut(part).save_after(&before[i]);
                if !chunk.is_empty() {
                    tx.execute(
                        "INSERT INTO doc_chunks (household, part, bytes) VALUES (?1, ?2, ?3)",
                        params![household.to_string(), part.code(), chunk],
                    )?;
                    ensure_doc_row(&tx, household, part)?;
                }
            }
            if whole {
                // A whole document arrived: store it compacted at once.
                compact(&tx, &mut doc)?;
            } else {
                compact_if_needed(&tx, &mut doc)?;
            }
            reindex(&tx, &doc)?;
        }
        if missing {
            // Keep nothing of this response but reset the cursor, so the
            // next round brings whole documents (self-healing).
            drop(tx);
            let tx = self
                .conn
                .transaction_with_behavior(TransactionBehavior::Immediate)?;
            tx.execute(
                "DELETE FROM meta WHERE key IN ('cursor', 'pending_request')",
                [],
            )?;
            tx.commit()?;
            return Err(StoreError::NeedsFullResync);
        }
        applied.acked = tx.execute(
            "DELETE FROM outbox WHERE seq <= ?1",
            [resp.acked_through as i64],
        )?;
        for h in &resp.purge {
            let waiting: i64 = tx.query_row(
                "SELECT COUNT(*) FROM outbox WHERE household = ?1",
                [h.to_string()],
                |r| r.get(0),
            )?;
            if waiting == 0 {
                purge_household(&tx, *h)?;
                applied.purged += 1;
            }
        }
        set_meta(&tx, "cursor", &resp.cursor)?;
        // Every answer carries the terms in force; `None` is "no campaign".
        match &resp.terms {
            Some(t) => {
                let json =
                    serde_json::to_vec(t).map_err(|e| DocError::Corrupt(format!("terms: {e}")))?;
                set_meta(&tx, "terms", &json)?;
            }
            None => {
                tx.execute("DELETE FROM meta WHERE key = 'terms'", [])?;
            }
        }
        tx.execute("DELETE FROM meta WHERE key = 'pending_request'", [])?;
        tx.commit()?;
        Ok(applied)
    }

    /// Deletes every household, change and cursor (a revoked device).
    pub fn wipe(&mut self) -> Result<()> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        wipe_all(&tx)?;
        tx.commit()?;
        Ok(())
    }

    /// Residents of one household, in Vietnamese name order.
    pub fn residents_of(&self, household: HouseholdId) -> Result<Vec<ResidentRow>> {
        self.rows(
            "WHERE r.household = ?1 ORDER BY r.sort_key",
            params![household.to_string()],
        )
    }

    /// Residents in a given state (`State::code`), optionally in one hamlet,
    /// in Vietnamese name order.
    pub fn residents_by_state(
        &self,
        state: &str,
        hamlet: Option<&str>,
    ) -> Result<Vec<ResidentRow>> {
        match hamlet {
            Some(h) => self.rows(
                "WHERE r.state = ?1 AND r.hamlet = ?2 ORDER BY r.sort_key",
                params![state, h],
            ),
            None => self.rows("WHERE r.state = ?1 ORDER BY r.sort_key", params![state]),
        }
    }

    /// The work list: residents still to reach (not activated in the field
    /// or in the registry, not ineligible, no application pending), grouped by household in walking order (hamlet, street,
    /// alley, natural house-number order), names in Vietnamese order.
    pub fn work_list(&self, hamlet: Option<&str>) -> Result<Vec<ResidentRow>> {
        let open = "r.state NOT IN ('activated', 'ineligible', 'application_collected')
                    AND r.registry <> 'activated'";
        match hamlet {
            Some(h) => self.rows(
                &format!(
                    "WHERE {open} AND r.hamlet = ?1 ORDER BY r.walk_key, r.household, r.sort_key"
                ),
                params![h],
            ),
            None => self.rows(
                &format!("WHERE {open} ORDER BY r.walk_key, r.household, r.sort_key"),
                [],
            ),
        }
    }

    /// The planning terms of the campaign active in this phone's commune,
    /// as the last sync brought them; `None` when no campaign is active (or
    /// before the first sync).
    pub fn terms(&self) -> Result<Option<Terms>> {
        get_meta(&self.conn, "terms")?
            .map(|b| {
                serde_json::from_slice(&b)
                    .map_err(|_| StoreError::Doc(DocError::Corrupt("unreadable terms".into())))
            })
            .transpose()
    }

    /// Today's targets, computed offline with the server's rules
    /// ([`crate::plan`]): every resident with a [`plan::priority`] on
    /// `now_ms` is a candidate (`remaining`); the quota is
    /// [`Terms::quota`] for today (Vietnam time); [`plan::pick`] chooses
    /// whole households by best priority and returns them in walking order.
    ///
    /// The decision time of a temporary reason or a refusal is the
    /// resident's last visit. Age counts only where the phone holds the
    /// birth date (officers' phones; on volunteers' phones it is unknown and
    /// nobody is left out for it). Without an active campaign the quota is
    /// everything remaining, no age limit applies, and temporary reasons and
    /// refusals come back after [`RECHECK_WITHOUT_CAMPAIGN_DAYS`].
    pub fn targets(&self, now_ms: i64) -> Result<Targets> {
        let terms = self.terms()?;
        let today = plan::vn_day(now_ms);
        let rules = terms.clone().unwrap_or_else(|| Terms {
            campaign: String::new(),
            name: String::new(),
            start_day: today,
            end_day: today,
            min_age: 0,
            daily_cap: 0,
            recheck_after_days: RECHECK_WITHOUT_CAMPAIGN_DAYS,
        });
        // One consistent snapshot for both reads below.
        let tx = self.conn.unchecked_transaction()?;
        let corrupt = || StoreError::Doc(DocError::Corrupt("bad resident index row".into()));
        // Pass 1: rank. Only what the rules need, in walking order; rows
        // that are never targets are left out by the index scan itself.
        let mut st = tx.prepare_cached(&format!(
            "SELECT r.id, r.household, r.walk_key, r.state, r.detail, r.registry,
                    r.last_visit_at, r.absent_at, r.birth_date
             FROM residents r WHERE {MAYBE_TARGET}
             ORDER BY r.walk_key, r.household, r.sort_key, r.id"
        ))?;
        let mut q = st.query([])?;
        let mut candidates: Vec<Candidate<()>> = Vec::new();
        let mut found: Vec<(String, Option<Slot>)> = Vec::new();
        while let Some(r) = q.next()? {
            let text = |i: usize| -> Result<Option<&str>> {
                match r.get_ref(i)? {
                    rusqlite::types::ValueRef::Null => Ok(None),
                    v => Ok(Some(v.as_str().map_err(|_| corrupt())?)),
                }
            };
            let registry = text(5)?
                .and_then(RegistryStatus::from_code)
                .ok_or_else(corrupt)?;
            let state =
                State::from_codes(text(3)?.ok_or_else(corrupt)?, text(4)?).ok_or_else(corrupt)?;
            let of_age = match &terms {
                Some(t) => t.of_age(text(8)?.and_then(|b| BirthDate::parse(b).ok()).as_ref()),
                None => None,
            };
            let facts = Facts {
                registry,
                state: &state,
                decided_at_ms: r.get(6)?,
                of_age,
            };
            let Some(priority) = plan::priority(&facts, &rules, now_ms) else {
                continue;
            };
            let come_back = (priority == Priority::ComeBack)
                .then(|| text(7).map(|a| plan::come_back_slot(&parse_times(a.unwrap_or("")))))
                .transpose()?;
            candidates.push(Candidate {
                key: (),
                household: r.get(1)?,
                walk_key: r.get(2)?,
                priority,
                away: plan::away_for_long(&state),
            });
            found.push((r.get(0)?, come_back));
        }
        drop(q);
        drop(st);
        let remaining = u32::try_from(candidates.len()).unwrap_or(u32::MAX);
        let quota = rules.quota(remaining, today);
        let picked = plan::pick(&candidates, quota);
        // Pass 2: the picked residents' rows. A day's quota is a few dozen:
        // look them up one by one; a whole list (no campaign) in one scan.
        let mut rows = Vec::with_capacity(picked.len());
        if picked.len() <= 256 {
            let mut st = tx.prepare_cached(&format!(
                "SELECT {ROW_COLUMNS} FROM residents r WHERE r.id = ?1"
            ))?;
            for i in picked {
                let (id, come_back) = &found[i];
                let (_, household, mut resident) =
                    st.query_row([id], row_of).optional()?.ok_or_else(corrupt)?;
                resident.id = ResidentId::parse(id).ok_or_else(corrupt)?;
                resident.household = hid(&household)?;
                rows.push(TargetRow {
                    resident,
                    priority: candidates[i].priority,
                    come_back: *come_back,
                });
            }
        } else {
            // The same scan as pass 1, in the same order: candidates come
            // in `found` order, so rows are matched without a lookup.
            let mut st = tx.prepare_cached(&format!(
                "SELECT {ROW_COLUMNS} FROM residents r WHERE {MAYBE_TARGET}
                 ORDER BY r.walk_key, r.household, r.sort_key, r.id"
            ))?;
            let mut q = st.query([])?;
            let mut slots: Vec<Option<(String, ResidentRow)>> = vec![None; found.len()];
            let mut next = 0;
            while next < found.len()
                && let Some(r) = q.next()?
            {
                if r.get_ref(0)?.as_str().map_err(|_| corrupt())? != found[next].0 {
                    continue;
                }
                let (_, household, resident) = row_of(r)?;
                slots[next] = Some((household, resident));
                next += 1;
            }
            for i in picked {
                let (household, mut resident) = slots[i].take().ok_or_else(corrupt)?;
                resident.id = ResidentId::parse(&found[i].0).ok_or_else(corrupt)?;
                resident.household = hid(&household)?;
                rows.push(TargetRow {
                    resident,
                    priority: candidates[i].priority,
                    come_back: found[i].1,
                });
            }
        }
        Ok(Targets {
            quota,
            remaining,
            terms,
            rows,
        })
    }

    /// Searches names without diacritics ("nguyen thi ha" finds "Nguyễn
    /// Thị Hà"; every word of the query must start a word of the name).
    pub fn search(&self, query: &str, limit: usize) -> Result<Vec<ResidentRow>> {
        let folded = text::fold(query);
        let Some(first) = folded.split_whitespace().max_by_key(|w| w.len()) else {
            return Ok(Vec::new());
        };
        let pattern = format!("%{}%", first.replace(['%', '_'], ""));
        let rows = self.rows(
            "WHERE r.name_folded LIKE ?1 ORDER BY r.sort_key",
            params![pattern],
        )?;
        Ok(rows
            .into_iter()
            .filter(|r| text::matches(&folded, &text::fold(&r.full_name)))
            .take(limit)
            .collect())
    }

    fn rows(&self, clause: &str, p: impl rusqlite::Params) -> Result<Vec<ResidentRow>> {
        let sql = format!("SELECT {ROW_COLUMNS} FROM residents r {clause}");
        let mut st = self.conn.prepare_cached(&sql)?;
        let rows = st.query_map(p, row_of)?;
        rows.map(|row| {
            let (id, household, mut row) = row?;
            row.id = ResidentId::parse(&id).ok_or(DocError::Corrupt("bad resident id".into()))?;
            row.household = hid(&household)?;
            Ok(row)
        })
        .collect()
    }

    /// `PRAGMA integrity_check` says "ok".
    pub fn integrity_ok(&self) -> Result<bool> {
        let s: String = self
            .conn
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))?;
        Ok(s == "ok")
    }
}

/// Residents who may be targets: never the registry's or the field's
/// activated, nor a conflict (the rules decide the rest).
const MAYBE_TARGET: &str = "r.registry <> 'activated' AND r.state NOT IN ('activated', 'conflict')";

/// The columns of a [`ResidentRow`], in the order [`row_of`] reads them.
const ROW_COLUMNS: &str = "r.id, r.household, r.hamlet, r.full_name, r.state, r.detail,
    r.registry, r.attempts, r.last_visit_at, r.awaiting_confirmation,
    r.house_number, r.alley, r.street";

/// Reads [`ROW_COLUMNS`]: the resident and household ids as text (parsed
/// by the caller) and the row with nil ids.
fn row_of(r: &rusqlite::Row<'_>) -> rusqlite::Result<(String, String, ResidentRow)> {
    Ok((
        r.get::<_, String>(0)?,
        r.get::<_, String>(1)?,
        ResidentRow {
            id: ResidentId(uuid::Uuid::nil()),
            household: HouseholdId(uuid::Uuid::nil()),
            hamlet: r.get(2)?,
            full_name: r.get(3)?,
            state: r.get(4)?,
            detail: r.get(5)?,
            registry: r.get(6)?,
            attempts: r.get(7)?,
            last_visit_at_ms: r.get(8)?,
            awaiting_confirmation: r.get(9)?,
            house_number: r.get(10)?,
            alley: r.get(11)?,
            street: r.get(12)?,
        },
    ))
}

/// `"1700000000000,1700086400000"` → the times; malformed entries skipped.
fn parse_times(s: &str) -> Vec<i64> {
    s.split(',').filter_map(|t| t.trim().parse().ok()).collect()
}

enum Incoming {
    Snapshot(Vec<u8>),
    Changes(Vec<automerge::Change>),
}

fn rand_u64() -> u64 {
    let b = uuid::Uuid::new_v4();
    let (hi, _) = b.as_u64_pair();
    hi
}

fn get_meta(conn: &Connection, key: &str) -> Result<Option<Vec<u8>>> {
    Ok(conn
        .query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
        .optional()?)
}

fn set_meta(conn: &Connection, key: &str, value: &[u8]) -> Result<()> {
    conn.execute(
        "INSERT INTO meta (key, value) VALUES (?1, ?2)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        params![key, value],
    )?;
    Ok(())
}

fn load_doc(conn: &Connection, actor: &ActorId, id: HouseholdId) -> Result<Option<HouseholdDoc>> {
    let key = id.to_string();
    let mut parts: [Vec<u8>; 2] = [Vec::new(), Vec::new()];
    let mut found = false;
    {
        let mut st = conn.prepare_cached("SELECT part, snapshot FROM docs WHERE household = ?1")?;
        let mut rows = st.query([&key])?;
        while let Some(r) = rows.next()? {
            found = true;
            let part = part_of(&r.get::<_, String>(0)?)?;
            parts[part as usize] = r.get(1)?;
        }
    }
    if !found {
        return Ok(None);
    }
    {
        let mut st = conn.prepare_cached(
            "SELECT part, bytes FROM doc_chunks WHERE household = ?1 ORDER BY id",
        )?;
        let mut rows = st.query([&key])?;
        while let Some(r) = rows.next()? {
            let part = part_of(&r.get::<_, String>(0)?)?;
            let bytes: Vec<u8> = r.get(1)?;
            parts[part as usize].extend_from_slice(&bytes);
        }
    }
    Ok(Some(HouseholdDoc::load(actor, id, &parts[0], &parts[1])?))
}

fn ensure_doc_row(tx: &Transaction<'_>, household: HouseholdId, part: DocPart) -> Result<()> {
    tx.execute(
        "INSERT OR IGNORE INTO docs (household, part, snapshot) VALUES (?1, ?2, x'')",
        params![household.to_string(), part.code()],
    )?;
    Ok(())
}

/// Writes local changes: chunk, outbox entry, index rows.
fn persist_local(
    tx: &Transaction<'_>,
    doc: &mut HouseholdDoc,
    changes: LocalChanges,
) -> Result<()> {
    let household = doc.id().to_string();
    for (part, change) in changes.0 {
        let raw = change.raw_bytes();
        ensure_doc_row(tx, doc.id(), part)?;
        tx.execute(
            "INSERT INTO doc_chunks (household, part, bytes) VALUES (?1, ?2, ?3)",
            params![household, part.code(), raw],
        )?;
        tx.execute(
            "INSERT INTO outbox (household, part, change) VALUES (?1, ?2, ?3)",
            params![household, part.code(), raw],
        )?;
    }
    compact_if_needed(tx, doc)?;
    reindex(tx, doc)
}

fn compact_if_needed(tx: &Transaction<'_>, doc: &mut HouseholdDoc) -> Result<()> {
    let household = doc.id().to_string();
    let chunks: i64 = tx.query_row(
        "SELECT COUNT(*) FROM doc_chunks WHERE household = ?1",
        [&household],
        |r| r.get(0),
    )?;
    if chunks <= COMPACT_AFTER {
        return Ok(());
    }
    compact(tx, doc)
}

/// Folds a household's change chunks into compacted snapshots.
fn compact(tx: &Transaction<'_>, doc: &mut HouseholdDoc) -> Result<()> {
    let household = doc.id().to_string();
    for part in DocPart::ALL {
        if doc.heads(part).is_empty() {
            continue;
        }
        let bytes = doc.save(part);
        tx.execute(
            "INSERT INTO docs (household, part, snapshot) VALUES (?1, ?2, ?3)
             ON CONFLICT (household, part) DO UPDATE SET snapshot = excluded.snapshot",
            params![household, part.code(), bytes],
        )?;
    }
    tx.execute("DELETE FROM doc_chunks WHERE household = ?1", [&household])?;
    Ok(())
}

/// Rewrites a household's index rows from its documents.
fn reindex(tx: &Transaction<'_>, doc: &HouseholdDoc) -> Result<()> {
    let id = doc.id().to_string();
    tx.execute("DELETE FROM residents WHERE household = ?1", [&id])?;
    tx.execute("DELETE FROM households WHERE id = ?1", [&id])?;
    if !doc.has_skeleton() {
        return Ok(());
    }
    let view = doc.view()?;
    let statuses = doc.statuses()?;
    let conflicts = doc.field_conflicts().len()
        + statuses
            .iter()
            .filter(|(_, s)| s.state == State::Conflict)
            .count();
    let walk_key = walk_key(&view.hamlet, &view.address);
    tx.execute(
        "INSERT INTO households (id, commune, hamlet, house_number, alley, street, walk_key, conflicts)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        params![
            id,
            view.commune,
            view.hamlet,
            view.address.house_number,
            view.address.alley,
            view.address.street,
            walk_key,
            conflicts as i64
        ],
    )?;
    let mut ins = tx.prepare_cached(
        "INSERT INTO residents (id, household, hamlet, full_name, name_folded, sort_key, state,
             detail, registry, attempts, last_visit_at, awaiting_confirmation,
             walk_key, house_number, alley, street, absent_at, birth_date)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16,
             ?17, ?18)",
    )?;
    for (r, (rid, st)) in view.residents.iter().zip(statuses.iter()) {
        debug_assert_eq!(r.id, *rid);
        let detail = st.state.detail_code();
        let absent_at = st
            .absent_at_ms
            .iter()
            .map(i64::to_string)
            .collect::<Vec<_>>()
            .join(",");
        // Held only where the phone has the protected part (officers).
        let birth_date = r
            .protected
            .birth_date
            .as_ref()
            .map(BirthDate::to_iso_string);
        ins.execute(params![
            r.id.to_string(),
            id,
            view.hamlet,
            r.full_name,
            text::fold(&r.full_name),
            text::name_sort_key(&r.full_name),
            st.state.code(),
            detail,
            r.registry.code(),
            st.attempts,
            st.last_visit_at_ms,
            st.awaiting_confirmation,
            walk_key,
            view.address.house_number,
            view.address.alley,
            view.address.street,
            absent_at,
            birth_date,
        ])?;
    }
    Ok(())
}

/// Byte-comparable walking order: hamlet, street, alley, house number.
pub fn walk_key(hamlet: &str, a: &crate::model::Address) -> Vec<u8> {
    let mut k = Vec::new();
    for part in [hamlet, a.street.as_str(), a.alley.as_str()] {
        k.extend(text::collator().sort_key(part));
        k.push(0);
    }
    k.extend(text::house_number_key(&a.house_number));
    k
}

fn purge_household(tx: &Transaction<'_>, h: HouseholdId) -> Result<()> {
    let id = h.to_string();
    for sql in [
        "DELETE FROM docs WHERE household = ?1",
        "DELETE FROM doc_chunks WHERE household = ?1",
        "DELETE FROM residents WHERE household = ?1",
        "DELETE FROM households WHERE id = ?1",
    ] {
        tx.execute(sql, [&id])?;
    }
    Ok(())
}

fn wipe_all(tx: &Transaction<'_>) -> Result<()> {
    tx.execute_batch(
        "DELETE FROM docs; DELETE FROM doc_chunks; DELETE FROM outbox; DELETE FROM residents;
         DELETE FROM households;
         DELETE FROM meta WHERE key IN ('cursor', 'pending_request', 'terms');",
    )?;
    Ok(())
}
