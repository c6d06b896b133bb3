//! The household / resident / visit model: identifiers, outcomes and the
//! records a visit writes.
//!
//! Every code here has a stable wire spelling (`snake_case`), used in the
//! CRDT documents, the sync protocol, the server's database and its JSON.
//! The Vietnamese labels (`label_vi`) are what people see.

use serde::{Deserialize, Serialize};
use std::fmt;
use uuid::Uuid;

macro_rules! uuid_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub Uuid);

        impl $name {
            /// A fresh identifier (UUIDv7: time-ordered, so new rows append to indexes).
            pub fn new() -> Self {
                Self(Uuid::now_v7())
            }
            /// Parses the canonical hyphenated form.
            pub fn parse(s: &str) -> Option<Self> {
                Uuid::parse_str(s).ok().map(Self)
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.as_hyphenated().fmt(f)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({})", stringify!($name), self.0.as_hyphenated())
            }
        }
    };
}

uuid_id!(
    /// A household (hộ gia đình): one CRDT document pair.
    HouseholdId
);
uuid_id!(
    /// A resident (nhân khẩu) inside a household.
    ResidentId
);
uuid_id!(
    /// One visit: one person at one door at one time.
    VisitId
);
uuid_id!(
    /// A leader's settlement of a conflict.
    SettlementId
);

/// Who did something. Roles decide what a person may record and receive.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Cảnh sát khu vực: owns an area, confirms volunteers' final outcomes.
    Officer,
    /// Đoàn viên, hội viên, tổ công nghệ số: records outcomes, never receives protected data of others.
    Volunteer,
    /// Chủ tịch UBND xã / Trưởng Công an xã: settles conflicts, signs lists.
    Leader,
    /// Provincial standing office (PC06): statistics only.
    ProvincialAdmin,
}

impl Role {
    /// Stable code.
    pub fn code(self) -> &'static str {
        match self {
            Role::Officer => "officer",
            Role::Volunteer => "volunteer",
            Role::Leader => "leader",
            Role::ProvincialAdmin => "provincial_admin",
        }
    }
    /// Parses a stable code.
    pub fn from_code(s: &str) -> Option<Self> {
        Some(match s {
            "officer" => Role::Officer,
            "volunteer" => Role::Volunteer,
            "leader" => Role::Leader,
            "provincial_admin" => Role::ProvincialAdmin,
            _ => return None,
        })
    }
    /// Whether this role may hold residents' protected data (ID numbers,
    /// birth dates, phones, sensitive reasons recorded by others).
    pub fn sees_protected(self) -> bool {
        !matches!(self, Role::Volunteer)
    }
}

/// Sub-case of "absent" (không có mặt): decides when to come back.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AbsentReason {
    /// Đi làm ăn, học tập xa: works or studies elsewhere.
    WorkingOrStudyingElsewhere,
    /// Vắng nhà một thời gian: away for a while.
    AwayForAWhile,
    /// Không có nhà lúc đến: not home at this hour.
    NotHomeNow,
}

/// Why a resident cannot be registered or activated (không đủ điều kiện).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IneligibleReason {
    /// Không có điện thoại thông minh.
    NoSmartphone,
    /// Chưa có thẻ căn cước / CCCD gắn chíp.
    NoChipIdCard,
    /// Chưa đủ tuổi.
    UnderAge,
    /// Già yếu, ốm đau, khuyết tật không sử dụng được điện thoại (health: protected).
    OldIllOrDisabled,
    /// Thuê bao chưa chính chủ / chưa chuẩn hóa.
    PhoneNotInOwnName,
    /// Đã chết.
    Deceased,
    /// Đã chuyển đi nơi khác.
    MovedAway,
    /// Không thực tế sinh sống tại địa phương.
    NotLivingHere,
    /// Đang đi nghĩa vụ quân sự, đang chấp hành án, bị tạm giam (protected).
    MilitaryServiceOrDetention,
    /// Lý do khác (explanation required).
    Other,
    /// What a reader without access to protected data sees for a sensitive
    /// final reason (old, ill or disabled).
    RestrictedFinal,
    /// What a reader without access to protected data sees for a sensitive
    /// temporary reason (military service or detention).
    RestrictedTemporary,
}

impl IneligibleReason {
    /// All reasons, in report order.
    pub const ALL: [IneligibleReason; 10] = [
        IneligibleReason::NoSmartphone,
        IneligibleReason::NoChipIdCard,
        IneligibleReason::UnderAge,
        IneligibleReason::OldIllOrDisabled,
        IneligibleReason::PhoneNotInOwnName,
        IneligibleReason::Deceased,
        IneligibleReason::MovedAway,
        IneligibleReason::NotLivingHere,
        IneligibleReason::MilitaryServiceOrDetention,
        IneligibleReason::Other,
    ];

    /// A final reason takes the person off target lists for good; a
    /// temporary one brings them back for a re-check later.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            IneligibleReason::Deceased
                | IneligibleReason::MovedAway
                | IneligibleReason::NotLivingHere
                | IneligibleReason::OldIllOrDisabled
                | IneligibleReason::RestrictedFinal
        )
    }

    /// The stand-in written to the shared document for a sensitive reason
    /// (itself for any other reason).
    pub fn public_form(self) -> IneligibleReason {
        match self {
            IneligibleReason::OldIllOrDisabled => IneligibleReason::RestrictedFinal,
            IneligibleReason::MilitaryServiceOrDetention => IneligibleReason::RestrictedTemporary,
            r => r,
        }
    }

    /// Sensitive reasons (health, detention) are written only to the
    /// protected document; the shared document says `restricted`.
    pub fn is_sensitive(self) -> bool {
        matches!(
            self,
            IneligibleReason::OldIllOrDisabled
                | IneligibleReason::MilitaryServiceOrDetention
                | IneligibleReason::RestrictedFinal
                | IneligibleReason::RestrictedTemporary
        )
    }

    /// The reason is also a correction for the population database.
    pub fn is_population_correction(self) -> bool {
        matches!(
            self,
            IneligibleReason::Deceased
                | IneligibleReason::MovedAway
                | IneligibleReason::NotLivingHere
        )
    }

    /// Vietnamese label, as on the signed ineligible list.
    pub fn label_vi(self) -> &'static str {
        match self {
            IneligibleReason::NoSmartphone => "Không có điện thoại thông minh",
            IneligibleReason::NoChipIdCard => "Chưa có thẻ căn cước/CCCD gắn chíp",
            IneligibleReason::UnderAge => "Chưa đủ tuổi",
            IneligibleReason::OldIllOrDisabled => "Già yếu, ốm đau, khuyết tật",
            IneligibleReason::PhoneNotInOwnName => "Thuê bao chưa chính chủ",
            IneligibleReason::Deceased => "Đã chết",
            IneligibleReason::MovedAway => "Đã chuyển đi nơi khác",
            IneligibleReason::NotLivingHere => "Không thực tế sinh sống tại địa phương",
            IneligibleReason::MilitaryServiceOrDetention => {
                "Đang thực hiện nghĩa vụ quân sự hoặc bị tạm giữ, tạm giam, chấp hành án"
            }
            IneligibleReason::Other => "Lý do khác",
            IneligibleReason::RestrictedFinal | IneligibleReason::RestrictedTemporary => {
                "Lý do được bảo mật"
            }
        }
    }
}

/// A problem the police must solve before the person can activate.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SupportKind {
    /// Đổi điện thoại / thiết bị.
    ChangedDevice,
    /// Đổi số thuê bao đã đăng ký.
    ChangedPhoneNumber,
    /// Tài khoản bị khóa.
    LockedAccount,
    /// Vấn đề khác.
    Other,
}

/// How an activation was found.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActivationHow {
    /// Kích hoạt tại chỗ.
    OnTheSpot,
    /// Đã kích hoạt từ trước (shown on the person's phone).
    AlreadyActive,
}

/// What a visit found for one resident.
///
/// A volunteer's phone sees `Ineligible { reason: RestrictedFinal }` (or
/// `RestrictedTemporary`) for a sensitive reason recorded by someone else:
/// the reason lives in the protected document it does not receive.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Outcome {
    /// Đã kích hoạt.
    Activated {
        /// On the spot or already active.
        how: ActivationHow,
    },
    /// Đã thu nhận hồ sơ mức 2 (now pending approval).
    ApplicationCollected,
    /// Không có mặt.
    Absent {
        /// Sub-case.
        reason: AbsentReason,
    },
    /// Không đủ điều kiện.
    Ineligible {
        /// The reason, or its restricted stand-in for readers without access.
        reason: IneligibleReason,
    },
    /// Cần hỗ trợ.
    NeedsSupport {
        /// What kind of problem.
        kind: SupportKind,
    },
    /// Từ chối.
    Refused,
}

impl Outcome {
    /// Stable code of the outcome kind.
    pub fn kind_code(&self) -> &'static str {
        match self {
            Outcome::Activated { .. } => "activated",
            Outcome::ApplicationCollected => "application_collected",
            Outcome::Absent { .. } => "absent",
            Outcome::Ineligible { .. } => "ineligible",
            Outcome::NeedsSupport { .. } => "needs_support",
            Outcome::Refused => "refused",
        }
    }

    /// Vietnamese label of the outcome kind.
    pub fn label_vi(&self) -> &'static str {
        match self {
            Outcome::Activated { .. } => "Đã kích hoạt",
            Outcome::ApplicationCollected => "Đã thu nhận hồ sơ",
            Outcome::Absent { .. } => "Không có mặt",
            Outcome::Ineligible { .. } => "Không đủ điều kiện",
            Outcome::NeedsSupport { .. } => "Cần hỗ trợ",
            Outcome::Refused => "Từ chối",
        }
    }

    /// An ineligible outcome with a final reason.
    pub fn is_final_ineligible(&self) -> bool {
        matches!(self, Outcome::Ineligible { reason } if reason.is_final())
    }

    /// Outcomes a volunteer may record but an officer must confirm.
    pub fn needs_officer_confirmation(&self) -> bool {
        matches!(
            self,
            Outcome::Ineligible {
                reason: IneligibleReason::Deceased
                    | IneligibleReason::MovedAway
                    | IneligibleReason::NotLivingHere
                    | IneligibleReason::OldIllOrDisabled
                    | IneligibleReason::RestrictedFinal
            }
        )
    }
}

/// The account status the population database reports (from the commune
/// police's export), independent of what the field found.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum RegistryStatus {
    /// Chưa có tài khoản.
    #[default]
    NoAccount,
    /// Tài khoản mức 1.
    Level1,
    /// Đã thu nhận hồ sơ mức 2.
    Collected,
    /// Chờ phê duyệt.
    PendingApproval,
    /// Đã phê duyệt, chưa kích hoạt.
    ApprovedNotActivated,
    /// Đã kích hoạt.
    Activated,
}

impl RegistryStatus {
    /// Stable code.
    pub fn code(self) -> &'static str {
        match self {
            RegistryStatus::NoAccount => "no_account",
            RegistryStatus::Level1 => "level1",
            RegistryStatus::Collected => "collected",
            RegistryStatus::PendingApproval => "pending_approval",
            RegistryStatus::ApprovedNotActivated => "approved_not_activated",
            RegistryStatus::Activated => "activated",
        }
    }
    /// Parses a stable code.
    pub fn from_code(s: &str) -> Option<Self> {
        Some(match s {
            "no_account" => RegistryStatus::NoAccount,
            "level1" => RegistryStatus::Level1,
            "collected" => RegistryStatus::Collected,
            "pending_approval" => RegistryStatus::PendingApproval,
            "approved_not_activated" => RegistryStatus::ApprovedNotActivated,
            "activated" => RegistryStatus::Activated,
            _ => return None,
        })
    }
}

/// Where the visit took place.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Place {
    /// At the household's door.
    #[default]
    Home,
    /// At a guidance point (điểm hướng dẫn): hamlet hall, market, school…
    GuidancePoint,
}

/// A Vietnamese address inside a hamlet. All parts free text as people
/// write them; walking order is computed from them.
#[derive(Clone, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Address {
    /// Số nhà: "12", "12A", "12/3".
    pub house_number: String,
    /// Ngõ / ngách / hẻm / kiệt: "ngõ 4", "hẻm 12/5".
    pub alley: String,
    /// Đường / phố.
    pub street: String,
}

/// Fields a resident carries. `protected` parts are written to the
/// household's protected document only.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct ResidentInfo {
    /// Họ và tên, with diacritics.
    pub full_name: String,
    /// "male" / "female", when known.
    pub sex: Option<crate::ids::Sex>,
    /// From the registry export.
    pub registry: RegistryStatus,
    /// ID number, birth date and phone: kept in the protected document.
    pub protected: ProtectedResidentInfo,
    /// Found in the field, not on the police's list (a newcomer).
    pub newcomer: bool,
}

/// Personal data only officers, leaders and the server hold.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct ProtectedResidentInfo {
    /// Số định danh cá nhân.
    pub personal_id: Option<crate::ids::PersonalId>,
    /// Ngày sinh (may be year-only).
    pub birth_date: Option<crate::ids::BirthDate>,
    /// Số điện thoại.
    pub phone: Option<crate::ids::PhoneNumber>,
}

impl fmt::Debug for ProtectedResidentInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProtectedResidentInfo")
            .field("personal_id", &self.personal_id.as_ref().map(|_| ".."))
            .field("birth_date", &self.birth_date.as_ref().map(|_| ".."))
            .field("phone", &self.phone.as_ref().map(|_| ".."))
            .finish()
    }
}

/// The per-resident part of a visit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResidentOutcome {
    /// Whose outcome.
    pub resident: ResidentId,
    /// What was found.
    pub outcome: Outcome,
    /// Free-text explanation (required for `Ineligible(Other)`); protected.
    pub explanation: Option<String>,
}

/// Who recorded something, and when by their phone's clock.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Recorder {
    /// User id on the server.
    pub user: String,
    /// Role at the time of recording.
    pub role: Role,
    /// Device (phone install) id.
    pub device: String,
}

/// One visit to a household.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Visit {
    /// Unique id, created on the phone.
    pub id: VisitId,
    /// Phone clock, milliseconds since the Unix epoch (UTC). Often wrong;
    /// the server keeps its own receipt time beside it.
    pub at_ms: i64,
    /// Who recorded it.
    pub by: Recorder,
    /// Where.
    pub place: Place,
    /// One entry per resident seen or asked about.
    pub outcomes: Vec<ResidentOutcome>,
    /// Newcomers found at this visit, created with it.
    pub newcomers: Vec<(ResidentId, ResidentInfo)>,
}

/// A leader's (or officer's) decision that settles a conflict about one
/// resident: it replaces the outcomes of the covered visits with `decision`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Settlement {
    /// Unique id.
    pub id: SettlementId,
    /// Whose status is settled.
    pub resident: ResidentId,
    /// The outcome that stands.
    pub decision: Outcome,
    /// The visits whose outcomes for this resident it replaces.
    pub covers: Vec<VisitId>,
    /// Who decided, by their clock.
    pub by: Recorder,
    /// Milliseconds since the epoch.
    pub at_ms: i64,
    /// Why (protected: may mention health).
    pub note: Option<String>,
}
