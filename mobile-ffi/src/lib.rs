//! # mobile-ffi
//!
//! Gõ Cửa's phone library for Android (Kotlin), iOS (Swift) and Python,
//! through UniFFI: a thin layer over `sync-core`. The logic lives and is
//! tested in sync-core; this crate converts types, guards object lifetimes
//! and talks HTTP to the server.
//!
//! * [`FieldStore`] — the encrypted phone store: open with a path and a
//!   32-byte key from the platform keystore, record visits, list, search,
//!   today's targets, sync, wipe; `close()` after which every call fails
//!   cleanly.
//! * [`ServerClient`] — login, token refresh, the sync round trip.
//! * [`SyncListener`] — progress callbacks; [`CancelToken`] — cancel a sync.
//! * [`GoCuaError`] — one small error enum: a stable `code` for programs and
//!   a Vietnamese `message_vi` for people. No panic crosses the boundary.
//!
//! Every call may block (disk, network): call from a background thread,
//! never the UI thread. Objects are thread-safe.

#![cfg_attr(not(test), warn(clippy::unwrap_used))]

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use sync_core::model as m;
use sync_core::store::{PhoneStore, StoreError};

uniffi::setup_scaffolding!();

/// What went wrong. `code` is stable for programs; `message_vi` is for people.
#[derive(Debug, thiserror::Error, uniffi::Error)]
pub enum GoCuaError {
    /// The object was closed.
    #[error("{code}: closed")]
    Closed {
        /// Stable code.
        code: String,
        /// Vietnamese message.
        message_vi: String,
    },
    /// The key does not open the store, or the file is not a store.
    #[error("{code}: wrong key")]
    WrongKey {
        /// Stable code.
        code: String,
        /// Vietnamese message.
        message_vi: String,
    },
    /// An argument is malformed, unknown or too large.
    #[error("{code}: invalid input")]
    InvalidInput {
        /// Stable code.
        code: String,
        /// Vietnamese message.
        message_vi: String,
    },
    /// The phone's storage failed; what was saved stays saved.
    #[error("{code}: storage")]
    Storage {
        /// Stable code.
        code: String,
        /// Vietnamese message.
        message_vi: String,
    },
    /// No connection to the server, or it did not answer.
    #[error("{code}: network")]
    Network {
        /// Stable code.
        code: String,
        /// Vietnamese message.
        message_vi: String,
    },
    /// Sign in again (expired or refused credentials).
    #[error("{code}: unauthorized")]
    Unauthorized {
        /// Stable code.
        code: String,
        /// Vietnamese message.
        message_vi: String,
    },
    /// The device was revoked; its local data has been wiped.
    #[error("{code}: device revoked")]
    DeviceRevoked {
        /// Stable code.
        code: String,
        /// Vietnamese message.
        message_vi: String,
    },
    /// The server refused the request.
    #[error("{code}: server")]
    Server {
        /// Stable code (the server's).
        code: String,
        /// Vietnamese message (the server's).
        message_vi: String,
    },
    /// The operation was cancelled.
    #[error("{code}: cancelled")]
    Cancelled {
        /// Stable code.
        code: String,
        /// Vietnamese message.
        message_vi: String,
    },
}

type Result<T, E = GoCuaError> = std::result::Result<T, E>;

fn invalid(code: &str, message_vi: &str) -> GoCuaError {
    GoCuaError::InvalidInput {
        code: code.into(),
        message_vi: message_vi.into(),
    }
}

fn closed() -> GoCuaError {
    GoCuaError::Closed {
        code: "ffi.closed".into(),
        message_vi: "Kho dữ liệu đã đóng".into(),
    }
}

impl From<StoreError> for GoCuaError {
    fn from(e: StoreError) -> Self {
        let code = e.code().to_owned();
        let message_vi = e.message_vi().to_owned();
        match e {
            StoreError::WrongKey => GoCuaError::WrongKey { code, message_vi },
            StoreError::Doc(_) | StoreError::NotFound => {
                GoCuaError::InvalidInput { code, message_vi }
            }
            StoreError::Protocol(_) | StoreError::NeedsFullResync => {
                GoCuaError::Server { code, message_vi }
            }
            _ => GoCuaError::Storage { code, message_vi },
        }
    }
}

/// Largest free text accepted across the boundary (explanations, queries).
pub const MAX_TEXT_BYTES: usize = 8 * 1024;

fn check_text(t: &str) -> Result<()> {
    if t.len() > MAX_TEXT_BYTES {
        return Err(invalid("ffi.text_too_long", "Nội dung quá dài"));
    }
    Ok(())
}

// ---------------------------------------------------------------- records

/// One resident in a list.
#[derive(Debug, Clone, uniffi::Record)]
pub struct ResidentItem {
    /// Resident id.
    pub id: String,
    /// Household id.
    pub household_id: String,
    /// Hamlet id.
    pub hamlet: String,
    /// Full name.
    pub full_name: String,
    /// State code (`not_visited`, `activated`, `absent`, …).
    pub state: String,
    /// Sub-reason code.
    pub detail: Option<String>,
    /// Registry status code.
    pub registry: String,
    /// Visits with an outcome.
    pub attempts: u32,
    /// Phone time of the last one.
    pub last_visit_at_ms: Option<i64>,
    /// A volunteer's outcome waits for an officer.
    pub awaiting_confirmation: bool,
    /// Số nhà.
    pub house_number: String,
    /// Ngõ / hẻm.
    pub alley: String,
    /// Đường.
    pub street: String,
}

impl From<sync_core::store::ResidentRow> for ResidentItem {
    fn from(r: sync_core::store::ResidentRow) -> Self {
        ResidentItem {
            id: r.id.to_string(),
            household_id: r.household.to_string(),
            hamlet: r.hamlet,
            full_name: r.full_name,
            state: r.state,
            detail: r.detail,
            registry: r.registry,
            attempts: r.attempts,
            last_visit_at_ms: r.last_visit_at_ms,
            awaiting_confirmation: r.awaiting_confirmation,
            house_number: r.house_number,
            alley: r.alley,
            street: r.street,
        }
    }
}

/// One resident on today's list.
#[derive(Debug, Clone, uniffi::Record)]
pub struct TargetItem {
    /// The resident, as in the work list.
    pub resident: ResidentItem,
    /// Why they are a target: `approved`, `follow_up`, `no_application`,
    /// `come_back`, `recheck` (best first).
    pub priority: String,
    /// Vietnamese label of the priority, as printed on a target list.
    pub priority_label_vi: String,
    /// For someone out last time: when to come back, a time not yet tried
    /// (`weekday_evening`, `weekend_morning`, …).
    pub come_back: Option<String>,
    /// Vietnamese wording of `come_back` ("Tối ngày thường", …).
    pub come_back_label_vi: Option<String>,
}

/// The campaign whose terms plan the day.
#[derive(Debug, Clone, uniffi::Record)]
pub struct CampaignInfo {
    /// Campaign id.
    pub id: String,
    /// Name ("Cao điểm 50 ngày, đêm").
    pub name: String,
    /// First day, ISO (`2026-09-10`).
    pub start_date: String,
    /// Last day, ISO, inclusive.
    pub end_date: String,
    /// Minimum age on the first day.
    pub min_age: u32,
    /// Most residents a day per officer (0: no cap).
    pub daily_cap: u32,
    /// Days before a temporary reason or a refusal comes back.
    pub recheck_after_days: u32,
}

/// Today's targets, computed on the phone (works offline).
#[derive(Debug, Clone, uniffi::Record)]
pub struct FfiTargets {
    /// Residents to reach today (the remaining work over the days left,
    /// at most the daily cap). Without a campaign: everything remaining.
    pub quota: u32,
    /// Every resident who is a target today, picked or not.
    pub remaining: u32,
    /// The campaign in force, as the last sync brought it (`None`: none).
    pub campaign: Option<CampaignInfo>,
    /// The picked residents, whole households, in walking order.
    pub rows: Vec<TargetItem>,
}

impl From<sync_core::store::Targets> for FfiTargets {
    fn from(t: sync_core::store::Targets) -> Self {
        use sync_core::plan::iso_date;
        FfiTargets {
            quota: t.quota,
            remaining: t.remaining,
            campaign: t.terms.map(|c| CampaignInfo {
                id: c.campaign,
                name: c.name,
                start_date: iso_date(c.start_day),
                end_date: iso_date(c.end_day),
                min_age: c.min_age,
                daily_cap: c.daily_cap,
                recheck_after_days: c.recheck_after_days,
            }),
            rows: t
                .rows
                .into_iter()
                .map(|r| TargetItem {
                    resident: r.resident.into(),
                    priority: r.priority.code().into(),
                    priority_label_vi: r.priority.label_vi().into(),
                    come_back: r.come_back.map(|s| s.code()),
                    come_back_label_vi: r.come_back.map(|s| s.label_vi()),
                })
                .collect(),
        }
    }
}

/// One record of a conflict, side by side with the others.
#[derive(Debug, Clone, uniffi::Record)]
pub struct ConflictRecord {
    /// Visit (or settlement) id.
    pub visit_id: String,
    /// Phone time.
    pub at_ms: i64,
    /// Who recorded it.
    pub user: String,
    /// Their role code.
    pub role: String,
    /// Outcome kind code.
    pub outcome: String,
}

/// Contradicting outcomes waiting for a leader.
#[derive(Debug, Clone, uniffi::Record)]
pub struct ConflictItem {
    /// Conflict kind codes.
    pub kinds: Vec<String>,
    /// Vietnamese description.
    pub description_vi: String,
    /// The records involved.
    pub records: Vec<ConflictRecord>,
}

/// A resident in a household's detail.
#[derive(Debug, Clone, uniffi::Record)]
pub struct ResidentDetail {
    /// Id.
    pub id: String,
    /// Full name.
    pub full_name: String,
    /// State code.
    pub state: String,
    /// Vietnamese label of the state.
    pub state_label_vi: String,
    /// Sub-reason code.
    pub detail: Option<String>,
    /// Attempts.
    pub attempts: u32,
    /// Waits for an officer.
    pub awaiting_confirmation: bool,
    /// Set when the state is a conflict.
    pub conflict: Option<ConflictItem>,
    /// Masked ID number (`001******345`), when this phone holds it.
    pub personal_id_masked: Option<String>,
    /// Masked phone, when held.
    pub phone_masked: Option<String>,
}

/// Two values written at once to one field.
#[derive(Debug, Clone, uniffi::Record)]
pub struct FieldConflictItem {
    /// Field path.
    pub path: String,
    /// The competing values.
    pub values: Vec<String>,
}

/// A household with derived statuses and open conflicts.
#[derive(Debug, Clone, uniffi::Record)]
pub struct HouseholdDetail {
    /// Id.
    pub id: String,
    /// Commune code.
    pub commune: String,
    /// Hamlet id.
    pub hamlet: String,
    /// Số nhà.
    pub house_number: String,
    /// Ngõ / hẻm.
    pub alley: String,
    /// Đường.
    pub street: String,
    /// Residents.
    pub residents: Vec<ResidentDetail>,
    /// Field conflicts.
    pub field_conflicts: Vec<FieldConflictItem>,
}

/// Sub-case of an absence.
#[derive(Debug, Clone, Copy, uniffi::Enum)]
pub enum AbsentReason {
    /// Works or studies elsewhere.
    WorkingOrStudyingElsewhere,
    /// Away for a while.
    AwayForAWhile,
    /// Not home at this hour.
    NotHomeNow,
}

/// Why a resident is ineligible.
#[derive(Debug, Clone, Copy, uniffi::Enum)]
pub enum IneligibleReason {
    /// No smartphone.
    NoSmartphone,
    /// No chip ID card.
    NoChipIdCard,
    /// Under age.
    UnderAge,
    /// Old, ill or disabled.
    OldIllOrDisabled,
    /// Phone number not in own name.
    PhoneNotInOwnName,
    /// Deceased.
    Deceased,
    /// Moved away.
    MovedAway,
    /// Not living here.
    NotLivingHere,
    /// Military service or detention.
    MilitaryServiceOrDetention,
    /// Other (explanation required).
    Other,
}

/// A problem the police must solve.
#[derive(Debug, Clone, Copy, uniffi::Enum)]
pub enum SupportKind {
    /// Changed device.
    ChangedDevice,
    /// Changed phone number.
    ChangedPhoneNumber,
    /// Locked account.
    LockedAccount,
    /// Other.
    Other,
}

/// What a visit found for one resident.
#[derive(Debug, Clone, Copy, uniffi::Enum)]
pub enum Outcome {
    /// Activated (on the spot, or shown to be already active).
    Activated {
        /// Already active before the visit.
        already_active: bool,
    },
    /// Level-2 application collected.
    ApplicationCollected,
    /// Not present.
    Absent {
        /// Sub-case.
        reason: AbsentReason,
    },
    /// Not eligible.
    Ineligible {
        /// Reason.
        reason: IneligibleReason,
    },
    /// Needs support.
    NeedsSupport {
        /// Problem.
        kind: SupportKind,
    },
    /// Refused.
    Refused,
}

impl From<Outcome> for m::Outcome {
    fn from(o: Outcome) -> Self {
        match o {
            Outcome::Activated { already_active } => m::Outcome::Activated {
                how: if already_active {
                    m::ActivationHow::AlreadyActive
                } else {
                    m::ActivationHow::OnTheSpot
                },
            },
            Outcome::ApplicationCollected => m::Outcome::ApplicationCollected,
            Outcome::Absent { reason } => m::Outcome::Absent {
                reason: match reason {
                    AbsentReason::WorkingOrStudyingElsewhere => {
                        m::AbsentReason::WorkingOrStudyingElsewhere
                    }
                    AbsentReason::AwayForAWhile => m::AbsentReason::AwayForAWhile,
                    AbsentReason::NotHomeNow => m::AbsentReason::NotHomeNow,
                },
            },
            Outcome::Ineligible { reason } => m::Outcome::Ineligible {
                reason: match reason {
                    IneligibleReason::NoSmartphone => m::IneligibleReason::NoSmartphone,
                    IneligibleReason::NoChipIdCard => m::IneligibleReason::NoChipIdCard,
                    IneligibleReason::UnderAge => m::IneligibleReason::UnderAge,
                    IneligibleReason::OldIllOrDisabled => m::IneligibleReason::OldIllOrDisabled,
                    IneligibleReason::PhoneNotInOwnName => m::IneligibleReason::PhoneNotInOwnName,
                    IneligibleReason::Deceased => m::IneligibleReason::Deceased,
                    IneligibleReason::MovedAway => m::IneligibleReason::MovedAway,
                    IneligibleReason::NotLivingHere => m::IneligibleReason::NotLivingHere,
                    IneligibleReason::MilitaryServiceOrDetention => {
                        m::IneligibleReason::MilitaryServiceOrDetention
                    }
                    IneligibleReason::Other => m::IneligibleReason::Other,
                },
            },
            Outcome::NeedsSupport { kind } => m::Outcome::NeedsSupport {
                kind: match kind {
                    SupportKind::ChangedDevice => m::SupportKind::ChangedDevice,
                    SupportKind::ChangedPhoneNumber => m::SupportKind::ChangedPhoneNumber,
                    SupportKind::LockedAccount => m::SupportKind::LockedAccount,
                    SupportKind::Other => m::SupportKind::Other,
                },
            },
            Outcome::Refused => m::Outcome::Refused,
        }
    }
}

/// One resident's outcome at a visit.
#[derive(Debug, Clone, uniffi::Record)]
pub struct OutcomeInput {
    /// Resident id.
    pub resident_id: String,
    /// What was found.
    pub outcome: Outcome,
    /// Explanation (required for `Ineligible(Other)`).
    pub explanation: Option<String>,
}

/// A visit to record.
#[derive(Debug, Clone, uniffi::Record)]
pub struct VisitInput {
    /// Household id.
    pub household_id: String,
    /// Phone clock, ms since the epoch.
    pub at_ms: i64,
    /// The logged-in user's id.
    pub user_id: String,
    /// The logged-in user's role code (`officer`, `volunteer`, `leader`).
    pub role: String,
    /// At a guidance point rather than at home.
    pub at_guidance_point: bool,
    /// Outcomes, one per resident seen or asked about.
    pub outcomes: Vec<OutcomeInput>,
}

/// What a sync did.
#[derive(Debug, Clone, uniffi::Record)]
pub struct SyncReport {
    /// Round trips.
    pub round_trips: u32,
    /// Whole documents received.
    pub docs: u32,
    /// Changes received.
    pub changes: u32,
    /// Own changes acknowledged.
    pub acked: u32,
    /// Households purged (left the area).
    pub purged: u32,
}

/// The logged-in user.
#[derive(Debug, Clone, uniffi::Record, serde::Deserialize)]
pub struct UserInfo {
    /// User id.
    pub id: String,
    /// Name shown.
    pub display_name: String,
    /// Role code.
    pub role: String,
    /// Commune code.
    pub commune: Option<String>,
    /// Hamlet ids.
    pub hamlets: Vec<String>,
}

/// Tokens for the app to keep in the platform keystore between runs.
#[derive(Debug, Clone, uniffi::Record)]
pub struct TokenPair {
    /// Access token.
    pub access_token: String,
    /// Refresh token.
    pub refresh_token: String,
}

// ---------------------------------------------------------------- store

/// The phone's encrypted store. Thread-safe; every call blocks on disk.
#[derive(Debug, uniffi::Object)]
pub struct FieldStore {
    inner: Mutex<Option<PhoneStore>>,
}

/// Receives sync progress (called on the syncing thread).
#[uniffi::export(callback_interface)]
pub trait SyncListener: Send + Sync {
    /// After each round trip.
    fn on_progress(&self, round_trip: u32, docs_received: u32, changes_received: u32, pending: u64);
}

/// Cancels a running sync between round trips.
#[derive(Debug, Default, uniffi::Object)]
pub struct CancelToken(AtomicBool);

#[uniffi::export]
impl CancelToken {
    /// A token not yet cancelled.
    #[uniffi::constructor]
    pub fn new() -> Arc<Self> {
        Arc::new(CancelToken::default())
    }
    /// Asks the sync to stop after the current round trip.
    pub fn cancel(&self) {
        self.0.store(true, Ordering::SeqCst);
    }
    /// Whether cancel() was called.
    pub fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

fn parse_id<T>(s: &str, parse: impl Fn(&str) -> Option<T>, what: &str) -> Result<T> {
    parse(s).ok_or_else(|| invalid(&format!("ffi.bad_{what}_id"), "Mã định danh không hợp lệ"))
}

impl FieldStore {
    fn guard(&self) -> Result<MutexGuard<'_, Option<PhoneStore>>> {
        self.inner.lock().map_err(|_| GoCuaError::Storage {
            code: "ffi.poisoned".into(),
            message_vi: "Lỗi nội bộ, hãy mở lại ứng dụng".into(),
        })
    }

    fn with<T>(&self, f: impl FnOnce(&mut PhoneStore) -> Result<T>) -> Result<T> {
        let mut g = self.guard()?;
        let store = g.as_mut().ok_or_else(closed)?;
        f(store)
    }
}

#[uniffi::export]
impl FieldStore {
    /// Opens (creating if needed) the store at `path`, encrypted with the
    /// 32-byte `key` the app keeps in the platform keystore.
    #[uniffi::constructor]
    pub fn open(path: String, key: Vec<u8>) -> Result<Arc<Self>> {
        let key: [u8; 32] = key
            .try_into()
            .map_err(|_| invalid("ffi.key_length", "Khóa phải dài đúng 32 byte"))?;
        let store = PhoneStore::open_encrypted(std::path::Path::new(&path), &key)?;
        Ok(Arc::new(FieldStore {
            inner: Mutex::new(Some(store)),
        }))
    }

    /// Closes the store; later calls fail with `Closed`. Idempotent.
    /// Exported as `close_store` (`closeStore` in Kotlin): Kotlin objects
    /// already have a `close()` of their own that frees the handle.
    #[uniffi::method(name = "close_store")]
    pub fn close(&self) {
        if let Ok(mut g) = self.inner.lock() {
            g.take();
        }
    }

    /// This install's device id (send it when logging in).
    pub fn device_id(&self) -> Result<String> {
        self.with(|s| Ok(s.device_id().to_owned()))
    }

    /// Changes waiting to be sent.
    pub fn pending_changes(&self) -> Result<u64> {
        self.with(|s| Ok(s.pending_changes()?))
    }

    /// Today's work: residents still to reach, grouped by household in
    /// walking order, optionally for one hamlet.
    pub fn work_list(&self, hamlet: Option<String>) -> Result<Vec<ResidentItem>> {
        self.with(|s| {
            Ok(s.work_list(hamlet.as_deref())?
                .into_iter()
                .map(Into::into)
                .collect())
        })
    }

    /// Today's targets, planned offline with the server's rules and the
    /// campaign terms of the last sync: a quota of residents, whole
    /// households chosen by priority, in walking order. `now_ms` is the
    /// phone's clock (ms since the epoch); the day is Vietnam time.
    pub fn targets(&self, now_ms: i64) -> Result<FfiTargets> {
        self.with(|s| Ok(s.targets(now_ms)?.into()))
    }

    /// Residents in a state (`activated`, `absent`, `conflict`, …), Vietnamese order.
    pub fn residents_by_state(
        &self,
        state: String,
        hamlet: Option<String>,
    ) -> Result<Vec<ResidentItem>> {
        check_text(&state)?;
        self.with(|s| {
            Ok(s.residents_by_state(&state, hamlet.as_deref())?
                .into_iter()
                .map(Into::into)
                .collect())
        })
    }

    /// Searches names without diacritics ("nguyen thi ha").
    pub fn search(&self, query: String, limit: u32) -> Result<Vec<ResidentItem>> {
        check_text(&query)?;
        self.with(|s| {
            Ok(s.search(&query, limit.min(1000) as usize)?
                .into_iter()
                .map(Into::into)
                .collect())
        })
    }

    /// A household with derived statuses and open conflicts.
    pub fn household(&self, household_id: String) -> Result<HouseholdDetail> {
        let id = parse_id(&household_id, m::HouseholdId::parse, "household")?;
        self.with(|s| {
            let doc = s.household(id)?;
            let view = doc.view().map_err(StoreError::from)?;
            let statuses = doc.statuses().map_err(StoreError::from)?;
            let residents = view
                .residents
                .iter()
                .zip(statuses)
                .map(|(r, (_, st))| ResidentDetail {
                    id: r.id.to_string(),
                    full_name: r.full_name.clone(),
                    state: st.state.code().into(),
                    state_label_vi: st.state.label_vi().into(),
                    detail: st.state.detail_code(),
                    attempts: st.attempts,
                    awaiting_confirmation: st.awaiting_confirmation,
                    conflict: st.conflict.map(|c| ConflictItem {
                        description_vi: c
                            .kinds
                            .iter()
                            .map(|k| k.label_vi())
                            .collect::<Vec<_>>()
                            .join("; "),
                        kinds: c.kinds.iter().map(sync_core::doc::code_of).collect(),
                        records: c
                            .records
                            .iter()
                            .map(|rec| ConflictRecord {
                                visit_id: rec.visit.to_string(),
                                at_ms: rec.at_ms,
                                user: rec.by.user.clone(),
                                role: rec.by.role.code().into(),
                                outcome: rec.outcome.kind_code().into(),
                            })
                            .collect(),
                    }),
                    personal_id_masked: r.protected.personal_id.as_ref().map(|p| p.masked()),
                    phone_masked: r.protected.phone.as_ref().map(|p| p.masked()),
                })
                .collect();
            Ok(HouseholdDetail {
                id: view.id.to_string(),
                commune: view.commune,
                hamlet: view.hamlet,
                house_number: view.address.house_number,
                alley: view.address.alley,
                street: view.address.street,
                residents,
                field_conflicts: doc
                    .field_conflicts()
                    .into_iter()
                    .map(|f| FieldConflictItem {
                        path: f.path,
                        values: f.values,
                    })
                    .collect(),
            })
        })
    }

    /// Records a visit; when it returns, the visit is on disk. Returns the visit id.
    pub fn record_visit(&self, visit: VisitInput) -> Result<String> {
        let household = parse_id(&visit.household_id, m::HouseholdId::parse, "household")?;
        let role = m::Role::from_code(&visit.role)
            .ok_or_else(|| invalid("ffi.bad_role", "Vai trò không hợp lệ"))?;
        check_text(&visit.user_id)?;
        if visit.outcomes.len() > 100 {
            return Err(invalid(
                "ffi.too_many_outcomes",
                "Quá nhiều kết quả trong một lượt",
            ));
        }
        let mut outcomes = Vec::with_capacity(visit.outcomes.len());
        for o in &visit.outcomes {
            if let Some(e) = &o.explanation {
                check_text(e)?;
            }
            outcomes.push(m::ResidentOutcome {
                resident: parse_id(&o.resident_id, m::ResidentId::parse, "resident")?,
                outcome: o.outcome.into(),
                explanation: o.explanation.clone(),
            });
        }
        self.with(|s| {
            let v = m::Visit {
                id: m::VisitId::new(),
                at_ms: visit.at_ms,
                by: m::Recorder {
                    user: visit.user_id.clone(),
                    role,
                    device: s.device_id().to_owned(),
                },
                place: if visit.at_guidance_point {
                    m::Place::GuidancePoint
                } else {
                    m::Place::Home
                },
                outcomes,
                newcomers: vec![],
            };
            s.record_visit(household, &v)?;
            Ok(v.id.to_string())
        })
    }

    /// Deletes every household, change and cursor on this phone.
    pub fn wipe(&self) -> Result<()> {
        self.with(|s| Ok(s.wipe()?))
    }

    /// Syncs with the server until nothing more is waiting. The store is
    /// locked only while building a request and applying an answer, never
    /// during the network round trip, so the UI may read meanwhile.
    pub fn sync(
        &self,
        client: Arc<ServerClient>,
        listener: Option<Box<dyn SyncListener>>,
        cancel: Option<Arc<CancelToken>>,
    ) -> Result<SyncReport> {
        let mut report = SyncReport {
            round_trips: 0,
            docs: 0,
            changes: 0,
            acked: 0,
            purged: 0,
        };
        for _ in 0..1000 {
            if cancel.as_ref().is_some_and(|c| c.is_cancelled()) {
                return Err(GoCuaError::Cancelled {
                    code: "ffi.cancelled".into(),
                    message_vi: "Đã hủy đồng bộ".into(),
                });
            }
            let request = self.with(|s| Ok(s.sync_request()?))?;
            let answer = match client.post_sync(request) {
                Ok(a) => a,
                Err(GoCuaError::DeviceRevoked { code, message_vi }) => {
                    self.with(|s| Ok(s.wipe()?))?;
                    return Err(GoCuaError::DeviceRevoked { code, message_vi });
                }
                Err(e) => return Err(e),
            };
            report.round_trips += 1;
            let applied = self.with(|s| match s.apply_sync_response(&answer) {
                Ok(a) => Ok(Some(a)),
                Err(StoreError::NeedsFullResync) => Ok(None),
                Err(e) => Err(e.into()),
            })?;
            let Some(a) = applied else { continue };
            if a.wiped {
                return Err(GoCuaError::DeviceRevoked {
                    code: "auth.device_revoked".into(),
                    message_vi: "Thiết bị đã bị thu hồi; dữ liệu trên máy đã được xóa".into(),
                });
            }
            report.docs += a.docs as u32;
            report.changes += a.changes as u32;
            report.acked += a.acked as u32;
            report.purged += a.purged as u32;
            if let Some(l) = &listener {
                let pending = self.pending_changes()?;
                l.on_progress(report.round_trips, a.docs as u32, a.changes as u32, pending);
            }
            if !a.more {
                return Ok(report);
            }
        }
        Err(GoCuaError::Server {
            code: "sync.no_end".into(),
            message_vi: "Đồng bộ không kết thúc, hãy thử lại".into(),
        })
    }
}

// ---------------------------------------------------------------- client

/// Talks to the Gõ Cửa server. Thread-safe; every call blocks on the network.
#[derive(uniffi::Object)]
pub struct ServerClient {
    base: String,
    agent: ureq::Agent,
    tokens: Mutex<Option<TokenPair>>,
}

impl std::fmt::Debug for ServerClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerClient")
            .field("base", &self.base)
            .finish_non_exhaustive()
    }
}

#[derive(serde::Deserialize)]
struct TokensJson {
    access_token: String,
    refresh_token: String,
    user: UserInfo,
}

#[derive(serde::Deserialize)]
struct ErrorJson {
    code: String,
    message_vi: String,
}

fn network(e: impl std::fmt::Display) -> GoCuaError {
    // The error text names hosts and I/O causes, never personal data.
    GoCuaError::Network {
        code: "net.failed".into(),
        message_vi: format!("Không kết nối được máy chủ ({e})"),
    }
}

fn bad_body() -> GoCuaError {
    GoCuaError::Server {
        code: "http.bad_body".into(),
        message_vi: "Máy chủ trả dữ liệu không hợp lệ".into(),
    }
}

fn server_error(status: u16, body: &[u8]) -> GoCuaError {
    let parsed: Option<ErrorJson> = serde_json::from_slice(body).ok();
    let (code, message_vi) = match parsed {
        Some(e) => (e.code, e.message_vi),
        None => (
            format!("http.{status}"),
            format!("Máy chủ trả lỗi {status}"),
        ),
    };
    match (status, code.as_str()) {
        (401, "auth.device_revoked") => GoCuaError::DeviceRevoked { code, message_vi },
        (401, _) => GoCuaError::Unauthorized { code, message_vi },
        _ => GoCuaError::Server { code, message_vi },
    }
}

impl ServerClient {
    fn lock_tokens(&self) -> Result<MutexGuard<'_, Option<TokenPair>>> {
        self.tokens.lock().map_err(|_| GoCuaError::Storage {
            code: "ffi.poisoned".into(),
            message_vi: "Lỗi nội bộ, hãy mở lại ứng dụng".into(),
        })
    }

    fn post_json(
        &self,
        path: &str,
        body: serde_json::Value,
        bearer: Option<&str>,
    ) -> Result<(u16, Vec<u8>)> {
        let mut req = self
            .agent
            .post(format!("{}{path}", self.base))
            .header("content-type", "application/json");
        if let Some(t) = bearer {
            req = req.header("authorization", format!("Bearer {t}"));
        }
        let mut resp = req.send(body.to_string().as_bytes()).map_err(network)?;
        let status = resp.status().as_u16();
        let bytes = resp
            .body_mut()
            .with_config()
            .limit(1 << 20)
            .read_to_vec()
            .map_err(network)?;
        Ok((status, bytes))
    }

    fn store_tokens(&self, t: TokensJson) -> Result<UserInfo> {
        *self.lock_tokens()? = Some(TokenPair {
            access_token: t.access_token,
            refresh_token: t.refresh_token,
        });
        Ok(t.user)
    }

    fn post_sync_once(&self, request: &[u8]) -> Result<(u16, Vec<u8>)> {
        let access = self
            .lock_tokens()?
            .as_ref()
            .map(|t| t.access_token.clone())
            .ok_or_else(|| GoCuaError::Unauthorized {
                code: "auth.missing".into(),
                message_vi: "Hãy đăng nhập".into(),
            })?;
        let mut resp = self
            .agent
            .post(format!("{}/api/v1/sync", self.base))
            .header("content-type", "application/octet-stream")
            .header("authorization", format!("Bearer {access}"))
            .send(request)
            .map_err(network)?;
        let status = resp.status().as_u16();
        let bytes = resp
            .body_mut()
            .with_config()
            .limit(64 << 20)
            .read_to_vec()
            .map_err(network)?;
        Ok((status, bytes))
    }

    /// One sync round trip; refreshes an expired access token once.
    fn post_sync(&self, request: Vec<u8>) -> Result<Vec<u8>> {
        let (mut status, mut body) = self.post_sync_once(&request)?;
        if status == 401 {
            let err = server_error(status, &body);
            if matches!(err, GoCuaError::DeviceRevoked { .. }) {
                return Err(err);
            }
            self.refresh()?;
            (status, body) = self.post_sync_once(&request)?;
        }
        if status == 200 {
            Ok(body)
        } else {
            Err(server_error(status, &body))
        }
    }
}

#[uniffi::export]
impl ServerClient {
    /// A client for the server at `base_url` (e.g. `https://gocua.example.vn`).
    #[uniffi::constructor]
    pub fn new(base_url: String) -> Result<Arc<Self>> {
        if !(base_url.starts_with("http://") || base_url.starts_with("https://"))
            || base_url.len() > 2048
        {
            return Err(invalid("ffi.bad_url", "Địa chỉ máy chủ không hợp lệ"));
        }
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(120)))
            .build()
            .into();
        Ok(Arc::new(ServerClient {
            base: base_url.trim_end_matches('/').to_owned(),
            agent,
            tokens: Mutex::new(None),
        }))
    }

    /// Logs in for this device; keeps the tokens (see [`ServerClient::tokens`]).
    pub fn login(&self, username: String, password: String, device_id: String) -> Result<UserInfo> {
        for t in [&username, &password, &device_id] {
            check_text(t)?;
        }
        let (status, body) = self.post_json(
            "/api/v1/auth/login",
            serde_json::json!({ "username": username, "password": password, "device_id": device_id }),
            None,
        )?;
        if status != 200 {
            return Err(server_error(status, &body));
        }
        let t: TokensJson = serde_json::from_slice(&body).map_err(|_| bad_body())?;
        self.store_tokens(t)
    }

    /// Exchanges the refresh token for new tokens (rotation).
    pub fn refresh(&self) -> Result<()> {
        let refresh = self
            .lock_tokens()?
            .as_ref()
            .map(|t| t.refresh_token.clone())
            .ok_or_else(|| GoCuaError::Unauthorized {
                code: "auth.missing".into(),
                message_vi: "Hãy đăng nhập".into(),
            })?;
        let (status, body) = self.post_json(
            "/api/v1/auth/refresh",
            serde_json::json!({ "refresh_token": refresh }),
            None,
        )?;
        if status != 200 {
            return Err(server_error(status, &body));
        }
        let t: TokensJson = serde_json::from_slice(&body).map_err(|_| bad_body())?;
        self.store_tokens(t).map(|_| ())
    }

    /// The current tokens, for the app to keep in the keystore.
    pub fn tokens(&self) -> Result<Option<TokenPair>> {
        Ok(self.lock_tokens()?.clone())
    }

    /// Restores tokens kept by the app.
    pub fn set_tokens(&self, tokens: TokenPair) -> Result<()> {
        check_text(&tokens.access_token)?;
        check_text(&tokens.refresh_token)?;
        *self.lock_tokens()? = Some(tokens);
        Ok(())
    }

    /// Forgets the tokens.
    pub fn logout(&self) -> Result<()> {
        *self.lock_tokens()? = None;
        Ok(())
    }
}
