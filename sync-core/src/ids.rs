//! Domain identifiers, validated once at the edge.
//!
//! Everything that arrives from a form, an import or the wire goes through a
//! `parse` function here and comes out as a newtype ([`PersonalId`],
//! [`PhoneNumber`], [`BirthDate`], [`PersonName`], [`CommuneCode`],
//! [`ProvinceCode`]); code further in can rely on the value being well formed.
//! All newtypes serialise with serde as plain strings, and deserialising
//! validates again through `parse`.
//!
//! # Personal data
//!
//! Personal ID numbers, phone numbers, names and birth dates are protected
//! personal data. Therefore:
//! * a [`ValidationError`] never contains the rejected value (only lengths,
//!   1-based character positions and fixed codes), neither in its messages nor
//!   in its `Debug` output, so errors can be logged and reported freely;
//! * the `Debug` output of [`PersonalId`] and [`PhoneNumber`] is masked, and
//!   that of [`BirthDate`] and [`PersonName`] shows no value at all, so a
//!   stray `{:?}` or `tracing` field does not leak them;
//! * `Display` and `as_str` give the full value, for storage and exports that
//!   need it. Use `masked()` for anything shown to someone who does not need
//!   the full value.
//!
//! # Reference data
//!
//! The 63 pre-2025 province codes (the first three digits of a personal ID)
//! and the 34 provinces and 3,321 communes in force since July 2025 are
//! embedded from `data/provinces-pre-2025.csv` and `data/admin-units-2025.csv`
//! and parsed once, on first use.

use std::collections::HashMap;
use std::fmt;
use std::marker::PhantomData;
use std::ops::Range;
use std::str::FromStr;
use std::sync::LazyLock;

use serde::de::{self, Unexpected, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use unicode_normalization::UnicodeNormalization;

use crate::text;

/// Smallest birth year accepted by [`BirthDate`].
pub const MIN_BIRTH_YEAR: i32 = 1900;
/// Largest birth year accepted by [`BirthDate`].
pub const MAX_BIRTH_YEAR: i32 = 2100;
/// Longest [`PersonName`] accepted, in characters (after normalisation).
pub const MAX_NAME_CHARS: usize = 100;

// ---------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------

/// Why an identifier was rejected.
///
/// Neither the messages nor `Debug` contain the rejected value: only lengths,
/// 1-based character positions (counted in the trimmed input) and fixed
/// texts. [`code`](Self::code) gives a stable machine-readable code,
/// `Display` an English message and [`message_vi`](Self::message_vi) the
/// Vietnamese message shown to field workers.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ValidationError {
    /// The personal ID number does not have exactly 12 digits.
    #[error("a personal ID number must have exactly 12 digits (got {found})")]
    PersonalIdLength {
        /// Number of digits found.
        found: usize,
    },
    /// The personal ID number contains something other than digits and spaces.
    #[error(
        "a personal ID number may contain only digits (invalid character at position {position})"
    )]
    PersonalIdCharacter {
        /// 1-based position of the first invalid character in the trimmed input.
        position: usize,
    },
    /// Digits 1–3 are not one of the 63 (pre-2025) province codes.
    #[error("the first three digits of a personal ID number are not a province code")]
    PersonalIdProvince,
    /// Digit 4 (century and sex) is not 0–5.
    #[error("the fourth digit of a personal ID number (century and sex) must be 0 to 5")]
    PersonalIdCentury,
    /// The phone number contains characters other than digits, separators and a leading `+`.
    #[error(
        "a phone number may contain only digits, spaces, dots, dashes, parentheses and a leading +"
    )]
    PhoneFormat,
    /// The phone number has the wrong number of digits.
    #[error(
        "a mobile number must have 10 digits (0xxxxxxxxx) or 9 digits after +84 (got {found} digits)"
    )]
    PhoneLength {
        /// Number of digits found, including any country code.
        found: usize,
    },
    /// The phone number is not a Vietnamese mobile number (03, 05, 07, 08, 09).
    #[error("not a Vietnamese mobile number (must start with 03, 05, 07, 08 or 09)")]
    PhonePrefix,
    /// The birth date is not in an accepted form.
    #[error("a birth date must look like 15/03/1990, 03/1990, 1990 or 1990-03-15")]
    BirthDateFormat,
    /// The birth year is outside the accepted range.
    #[error(
        "the birth year must be between {} and {}",
        MIN_BIRTH_YEAR,
        MAX_BIRTH_YEAR
    )]
    BirthDateRange,
    /// The month is not 1–12.
    #[error("the birth month must be between 1 and 12")]
    BirthDateMonth,
    /// The day does not exist in that month (31 April, 29 February of a common year…).
    #[error("the birth day does not exist in that month")]
    BirthDateDay,
    /// A province code is not two digits.
    #[error("a province code must have exactly 2 digits")]
    ProvinceFormat,
    /// A two-digit province code is not one of the 34 current provinces.
    #[error("unknown province code")]
    ProvinceUnknown,
    /// A commune code is not five digits.
    #[error("a commune code must have exactly 5 digits")]
    CommuneFormat,
    /// A five-digit commune code is not one of the communes in force since July 2025.
    #[error("unknown commune code")]
    CommuneUnknown,
    /// The name is empty (or only whitespace).
    #[error("the name is empty")]
    NameEmpty,
    /// The name is too long.
    #[error("a name may have at most {max} characters (got {found})")]
    NameTooLong {
        /// Maximum number of characters.
        max: usize,
        /// Number of characters found (after normalisation).
        found: usize,
    },
    /// The name contains a digit.
    #[error("a name may not contain digits (position {position})")]
    NameDigit {
        /// 1-based position of the digit in the normalised name.
        position: usize,
    },
    /// The name contains a control character.
    #[error("a name may not contain control characters (position {position})")]
    NameControl {
        /// 1-based position of the character in the normalised name.
        position: usize,
    },
    /// The name contains no letter at all.
    #[error("a name must contain at least one letter")]
    NameNoLetter,
}

impl ValidationError {
    /// A stable machine-readable code, `"<field>.<problem>"`, e.g.
    /// `"personal_id.length"`. Codes never change meaning; new ones may be added.
    pub fn code(&self) -> &'static str {
        match self {
            Self::PersonalIdLength { .. } => "personal_id.length",
            Self::PersonalIdCharacter { .. } => "personal_id.character",
            Self::PersonalIdProvince => "personal_id.province",
            Self::PersonalIdCentury => "personal_id.century",
            Self::PhoneFormat => "phone.format",
            Self::PhoneLength { .. } => "phone.length",
            Self::PhonePrefix => "phone.prefix",
            Self::BirthDateFormat => "birth_date.format",
            Self::BirthDateRange => "birth_date.range",
            Self::BirthDateMonth => "birth_date.month",
            Self::BirthDateDay => "birth_date.day",
            Self::ProvinceFormat => "province.format",
            Self::ProvinceUnknown => "province.unknown",
            Self::CommuneFormat => "commune.format",
            Self::CommuneUnknown => "commune.unknown",
            Self::NameEmpty => "name.empty",
            Self::NameTooLong { .. } => "name.too_long",
            Self::NameDigit { .. } => "name.digit",
            Self::NameControl { .. } => "name.control",
            Self::NameNoLetter => "name.no_letter",
        }
    }

    /// The message in Vietnamese, for people in the field.
    pub fn message_vi(&self) -> String {
        match self {
            Self::PersonalIdLength { found } => {
                format!("Số định danh cá nhân phải có đúng 12 chữ số (đang có {found} chữ số)")
            }
            Self::PersonalIdCharacter { position } => format!(
                "Số định danh cá nhân chỉ được gồm các chữ số (ký tự thứ {position} không hợp lệ)"
            ),
            Self::PersonalIdProvince => {
                "Ba chữ số đầu của số định danh cá nhân không phải là mã tỉnh, thành phố hợp lệ"
                    .to_owned()
            }
            Self::PersonalIdCentury => {
                "Chữ số thứ tư của số định danh cá nhân (mã thế kỷ và giới tính) phải từ 0 đến 5"
                    .to_owned()
            }
            Self::PhoneFormat => "Số điện thoại chỉ được gồm chữ số, dấu cách, dấu chấm, dấu gạch \
                                  ngang, dấu ngoặc đơn và dấu + ở đầu"
                .to_owned(),
            Self::PhoneLength { found } => format!(
                "Số điện thoại di động phải có 10 chữ số (dạng 0xxxxxxxxx) hoặc 9 chữ số sau +84 \
                 (đang có {found} chữ số)"
            ),
            Self::PhonePrefix => "Không phải số điện thoại di động Việt Nam (phải bắt đầu bằng \
                                  03, 05, 07, 08 hoặc 09)"
                .to_owned(),
            Self::BirthDateFormat => "Ngày sinh không đúng định dạng (ví dụ hợp lệ: 15/03/1990, \
                                      03/1990 hoặc 1990)"
                .to_owned(),
            Self::BirthDateRange => {
                format!("Năm sinh phải từ {MIN_BIRTH_YEAR} đến {MAX_BIRTH_YEAR}")
            }
            Self::BirthDateMonth => "Tháng sinh phải từ 1 đến 12".to_owned(),
            Self::BirthDateDay => "Ngày sinh không tồn tại (tháng đó không có ngày này)".to_owned(),
            Self::ProvinceFormat => "Mã tỉnh, thành phố phải gồm đúng 2 chữ số".to_owned(),
            Self::ProvinceUnknown => {
                "Mã tỉnh, thành phố không có trong danh mục đơn vị hành chính hiện hành".to_owned()
            }
            Self::CommuneFormat => "Mã xã, phường, đặc khu phải gồm đúng 5 chữ số".to_owned(),
            Self::CommuneUnknown => {
                "Mã xã, phường, đặc khu không có trong danh mục đơn vị hành chính hiện hành"
                    .to_owned()
            }
            Self::NameEmpty => "Họ và tên không được để trống".to_owned(),
            Self::NameTooLong { max, found } => {
                format!("Họ và tên không được dài quá {max} ký tự (đang có {found} ký tự)")
            }
            Self::NameDigit { position } => {
                format!("Họ và tên không được chứa chữ số (ký tự thứ {position})")
            }
            Self::NameControl { position } => {
                format!("Họ và tên chứa ký tự điều khiển không hợp lệ (ký tự thứ {position})")
            }
            Self::NameNoLetter => "Họ và tên phải có ít nhất một chữ cái".to_owned(),
        }
    }
}

// ---------------------------------------------------------------------------
// Serde helpers
// ---------------------------------------------------------------------------

/// Deserialises a string through a `parse` function. Non-string input is
/// rejected *without* echoing it (serde's default error would quote a number,
/// which may be a personal ID that lost its leading zero).
struct ParseVisitor<T> {
    expecting: &'static str,
    parse: fn(&str) -> Result<T, ValidationError>,
    _marker: PhantomData<fn() -> T>,
}

impl<T> ParseVisitor<T> {
    fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
        expecting: &'static str,
        parse: fn(&str) -> Result<T, ValidationError>,
    ) -> Result<T, D::Error> {
        let visitor = ParseVisitor {
            expecting,
            parse,
            _marker: PhantomData,
        };
        // Self-describing formats (JSON) quote a number they find where a
        // string was asked for in their own error message, before the
        // visitor is consulted; asking for "any" lets the visitor answer
        // without the value. Compact formats (postcard) cannot do "any" and
        // have no such message.
        if deserializer.is_human_readable() {
            deserializer.deserialize_any(visitor)
        } else {
            deserializer.deserialize_str(visitor)
        }
    }

    fn not_a_string<E: de::Error>(&self, what: &'static str) -> Result<T, E> {
        Err(E::invalid_type(Unexpected::Other(what), self))
    }
}

impl<T> Visitor<'_> for ParseVisitor<T> {
    type Value = T;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.expecting)
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<T, E> {
        (self.parse)(v).map_err(E::custom)
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<T, E> {
        self.not_a_string("a number")
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<T, E> {
        self.not_a_string("a number")
    }

    fn visit_i128<E: de::Error>(self, _: i128) -> Result<T, E> {
        self.not_a_string("a number")
    }

    fn visit_u128<E: de::Error>(self, _: u128) -> Result<T, E> {
        self.not_a_string("a number")
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<T, E> {
        self.not_a_string("a number")
    }

    fn visit_bytes<E: de::Error>(self, _: &[u8]) -> Result<T, E> {
        self.not_a_string("bytes")
    }
}

/// `Serialize` as `as_str()`, `Deserialize` and `FromStr` through `parse`.
macro_rules! string_newtype_impls {
    ($ty:ident, $expecting:literal) => {
        impl Serialize for $ty {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl<'de> Deserialize<'de> for $ty {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                ParseVisitor::deserialize(deserializer, $expecting, $ty::parse)
            }
        }

        impl FromStr for $ty {
            type Err = ValidationError;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::parse(s)
            }
        }
    };
}

// ---------------------------------------------------------------------------
// Reference data
// ---------------------------------------------------------------------------

static PROVINCES_PRE_2025_CSV: &str = include_str!("../data/provinces-pre-2025.csv");
static ADMIN_UNITS_2025_CSV: &str = include_str!("../data/admin-units-2025.csv");

/// Pre-2025 province codes (3 digits) and names, sorted by code.
static PRE_2025_PROVINCES: LazyLock<Vec<(&'static str, &'static str)>> = LazyLock::new(|| {
    let mut lines = PROVINCES_PRE_2025_CSV.lines();
    assert_eq!(
        lines.next().map(str::trim),
        Some("province_code,province_name"),
        "provinces-pre-2025.csv: unexpected header"
    );
    let mut rows: Vec<(&str, &str)> = lines
        .filter(|l| !l.trim().is_empty())
        .map(|line| {
            let (code, name) = line
                .trim_end_matches('\r')
                .split_once(',')
                .expect("provinces-pre-2025.csv: a row has no comma");
            assert!(
                code.len() == 3 && is_ascii_digits(code),
                "provinces-pre-2025.csv: bad code {code:?}"
            );
            (code, name)
        })
        .collect();
    rows.sort_unstable();
    rows.dedup_by_key(|r| r.0);
    assert_eq!(
        rows.len(),
        63,
        "provinces-pre-2025.csv: expected 63 provinces"
    );
    rows
});

fn pre_2025_province_name(code: &str) -> Option<&'static str> {
    let rows = &*PRE_2025_PROVINCES;
    rows.binary_search_by(|(c, _)| (*c).cmp(code))
        .ok()
        .map(|i| rows[i].1)
}

/// One province in force since July 2025.
#[derive(Debug)]
struct ProvinceRecord {
    code: &'static str,
    name: &'static str,
    kind: ProvinceType,
    /// Its communes, as a range of `AdminUnits::communes`.
    communes: Range<usize>,
}

/// One commune in force since July 2025.
#[derive(Debug)]
struct CommuneRecord {
    code: &'static str,
    name: &'static str,
    kind: CommuneType,
    /// Index into `AdminUnits::provinces`.
    province: usize,
}

#[derive(Debug)]
struct AdminUnits {
    /// Sorted by code.
    provinces: Vec<ProvinceRecord>,
    /// Sorted by (province code, commune code).
    communes: Vec<CommuneRecord>,
    by_code: HashMap<&'static str, usize>,
}

static ADMIN_UNITS: LazyLock<AdminUnits> = LazyLock::new(|| {
    const FILE: &str = "admin-units-2025.csv";
    let mut lines = ADMIN_UNITS_2025_CSV.lines();
    assert_eq!(
        lines.next().map(str::trim),
        Some("province_code,province_name,province_type,commune_code,commune_name,commune_type"),
        "{FILE}: unexpected header"
    );
    let mut rows: Vec<[&'static str; 6]> = lines
        .filter(|l| !l.trim().is_empty())
        .map(|line| {
            let fields: Vec<&str> = line.trim_end_matches('\r').split(',').collect();
            <[&str; 6]>::try_from(fields).expect("admin-units-2025.csv: a row has not 6 fields")
        })
        .collect();
    rows.sort_unstable_by_key(|r| (r[0], r[3]));

    let mut provinces: Vec<ProvinceRecord> = Vec::new();
    let mut communes = Vec::with_capacity(rows.len());
    let mut by_code = HashMap::with_capacity(rows.len());
    for [p_code, p_name, p_type, c_code, c_name, c_type] in rows {
        assert!(
            p_code.len() == 2 && is_ascii_digits(p_code),
            "{FILE}: bad province code {p_code:?}"
        );
        assert!(
            c_code.len() == 5 && is_ascii_digits(c_code),
            "{FILE}: bad commune code {c_code:?}"
        );
        let index = communes.len();
        match provinces.last_mut() {
            Some(p) if p.code == p_code => {
                assert_eq!(p.name, p_name, "{FILE}: two names for province {p_code}");
                p.communes.end = index + 1;
            }
            _ => provinces.push(ProvinceRecord {
                code: p_code,
                name: p_name,
                kind: ProvinceType::from_vi(p_type)
                    .unwrap_or_else(|| panic!("{FILE}: unknown province type {p_type:?}")),
                communes: index..index + 1,
            }),
        }
        communes.push(CommuneRecord {
            code: c_code,
            name: c_name,
            kind: CommuneType::from_vi(c_type)
                .unwrap_or_else(|| panic!("{FILE}: unknown commune type {c_type:?}")),
            province: provinces.len() - 1,
        });
        let previous = by_code.insert(c_code, index);
        assert!(
            previous.is_none(),
            "{FILE}: duplicate commune code {c_code}"
        );
    }
    assert_eq!(provinces.len(), 34, "{FILE}: expected 34 provinces");
    AdminUnits {
        provinces,
        communes,
        by_code,
    }
});

fn is_ascii_digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

/// The kind of a province-level unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ProvinceType {
    /// Tỉnh.
    Province,
    /// Thành phố trực thuộc trung ương (Hà Nội, Hồ Chí Minh, Hải Phòng…).
    Municipality,
}

impl ProvinceType {
    /// The Vietnamese term as written in the official list ("tỉnh", "thành phố trung ương").
    pub fn as_vi(self) -> &'static str {
        match self {
            Self::Province => "tỉnh",
            Self::Municipality => "thành phố trung ương",
        }
    }

    fn from_vi(s: &str) -> Option<Self> {
        [Self::Province, Self::Municipality]
            .into_iter()
            .find(|t| t.as_vi() == s)
    }
}

/// The kind of a commune-level unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum CommuneType {
    /// Xã (rural commune).
    Commune,
    /// Phường (urban ward).
    Ward,
    /// Đặc khu (special zone, mostly islands).
    SpecialZone,
}

impl CommuneType {
    /// The Vietnamese term ("xã", "phường", "đặc khu").
    pub fn as_vi(self) -> &'static str {
        match self {
            Self::Commune => "xã",
            Self::Ward => "phường",
            Self::SpecialZone => "đặc khu",
        }
    }

    fn from_vi(s: &str) -> Option<Self> {
        [Self::Commune, Self::Ward, Self::SpecialZone]
            .into_iter()
            .find(|t| t.as_vi() == s)
    }
}

// ---------------------------------------------------------------------------
// ProvinceCode and CommuneCode
// ---------------------------------------------------------------------------

/// One of the 34 provinces in force since July 2025, by its 2-digit code.
///
/// Cheap to copy; equality and order are those of the code.
#[derive(Clone, Copy)]
pub struct ProvinceCode(&'static ProvinceRecord);

impl ProvinceCode {
    /// Parses a 2-digit code ("01" Hà Nội, "79" Hồ Chí Minh), surrounding
    /// whitespace ignored.
    pub fn parse(input: &str) -> Result<Self, ValidationError> {
        let code = input.trim();
        if code.len() != 2 || !is_ascii_digits(code) {
            return Err(ValidationError::ProvinceFormat);
        }
        let units = &*ADMIN_UNITS;
        units
            .provinces
            .binary_search_by(|p| p.code.cmp(code))
            .map(|i| Self(&units.provinces[i]))
            .map_err(|_| ValidationError::ProvinceUnknown)
    }

    /// All 34 provinces, by code.
    pub fn all() -> impl ExactSizeIterator<Item = ProvinceCode> + Clone + 'static {
        ADMIN_UNITS.provinces.iter().map(ProvinceCode)
    }

    /// The 2-digit code.
    pub fn as_str(&self) -> &'static str {
        self.0.code
    }

    /// The official name ("Thành phố Hà Nội", "Cao Bằng").
    pub fn name(&self) -> &'static str {
        self.0.name
    }

    /// Province or centrally governed city.
    pub fn province_type(&self) -> ProvinceType {
        self.0.kind
    }

    /// The province's communes, by code.
    pub fn communes(&self) -> impl ExactSizeIterator<Item = CommuneCode> + Clone + 'static + use<> {
        ADMIN_UNITS.communes[self.0.communes.clone()]
            .iter()
            .map(CommuneCode)
    }
}

/// A commune, ward or special zone (xã, phường, đặc khu) in force since July
/// 2025, by its 5-digit official code.
///
/// Cheap to copy; equality and order are those of the code.
#[derive(Clone, Copy)]
pub struct CommuneCode(&'static CommuneRecord);

impl CommuneCode {
    /// Parses a 5-digit code ("00004" is Phường Ba Đình), surrounding
    /// whitespace ignored. The code must exist in the official 2025 list;
    /// codes with lost leading zeros ("4") are rejected as malformed.
    pub fn parse(input: &str) -> Result<Self, ValidationError> {
        let code = input.trim();
        if code.len() != 5 || !is_ascii_digits(code) {
            return Err(ValidationError::CommuneFormat);
        }
        let units = &*ADMIN_UNITS;
        units
            .by_code
            .get(code)
            .map(|&i| Self(&units.communes[i]))
            .ok_or(ValidationError::CommuneUnknown)
    }

    /// The 5-digit code.
    pub fn as_str(&self) -> &'static str {
        self.0.code
    }

    /// The official name, including its kind ("Phường Ba Đình", "Xã Ba Vì").
    pub fn commune_name(&self) -> &'static str {
        self.0.name
    }

    /// Xã, phường or đặc khu.
    pub fn commune_type(&self) -> CommuneType {
        self.0.kind
    }

    /// The province the commune belongs to.
    pub fn province(&self) -> ProvinceCode {
        ProvinceCode(&ADMIN_UNITS.provinces[self.0.province])
    }

    /// The 2-digit code of the province the commune belongs to.
    pub fn province_code(&self) -> &'static str {
        self.province().as_str()
    }

    /// The name of the province the commune belongs to.
    pub fn province_name(&self) -> &'static str {
        self.province().name()
    }
}

/// The communes of one province, by code.
pub fn communes_of(
    province: &ProvinceCode,
) -> impl ExactSizeIterator<Item = CommuneCode> + Clone + 'static + use<> {
    province.communes()
}

/// All 3,321 communes in force since July 2025, by province then commune code.
pub fn all_communes() -> impl ExactSizeIterator<Item = CommuneCode> + Clone + 'static {
    ADMIN_UNITS.communes.iter().map(CommuneCode)
}

/// All 34 provinces in force since July 2025, by code.
pub fn all_provinces() -> impl ExactSizeIterator<Item = ProvinceCode> + Clone + 'static {
    ProvinceCode::all()
}

macro_rules! code_newtype_impls {
    ($ty:ident) => {
        impl PartialEq for $ty {
            fn eq(&self, other: &Self) -> bool {
                self.as_str() == other.as_str()
            }
        }

        impl Eq for $ty {}

        impl PartialOrd for $ty {
            fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
                Some(self.cmp(other))
            }
        }

        impl Ord for $ty {
            fn cmp(&self, other: &Self) -> std::cmp::Ordering {
                self.as_str().cmp(other.as_str())
            }
        }

        impl std::hash::Hash for $ty {
            fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
                self.as_str().hash(state);
            }
        }

        impl fmt::Debug for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_tuple(stringify!($ty))
                    .field(&self.as_str())
                    .finish()
            }
        }

        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

code_newtype_impls!(ProvinceCode);
code_newtype_impls!(CommuneCode);
string_newtype_impls!(ProvinceCode, "a 2-digit province code");
string_newtype_impls!(CommuneCode, "a 5-digit commune code");

// ---------------------------------------------------------------------------
// PersonalId
// ---------------------------------------------------------------------------

/// Sex, as encoded in the personal ID number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Sex {
    /// Nam.
    Male,
    /// Nữ.
    Female,
}

impl Sex {
    /// "Nam" or "Nữ".
    pub fn as_vi(self) -> &'static str {
        match self {
            Self::Male => "Nam",
            Self::Female => "Nữ",
        }
    }
}

/// A disagreement between a personal ID number and other recorded data.
///
/// These are data errors to report to the commune police for correction in
/// the population database, never a reason to reject the person.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum IdDataFlag {
    /// The birth year encoded in the ID differs from the recorded birth date.
    BirthYearMismatch,
    /// The sex encoded in the ID differs from the recorded sex.
    SexMismatch,
}

impl IdDataFlag {
    /// A stable machine-readable code.
    pub fn code(self) -> &'static str {
        match self {
            Self::BirthYearMismatch => "personal_id.birth_year_mismatch",
            Self::SexMismatch => "personal_id.sex_mismatch",
        }
    }

    /// The message in Vietnamese.
    pub fn message_vi(self) -> &'static str {
        match self {
            Self::BirthYearMismatch => {
                "Năm sinh trong số định danh cá nhân không khớp với năm sinh đã ghi"
            }
            Self::SexMismatch => {
                "Giới tính trong số định danh cá nhân không khớp với giới tính đã ghi"
            }
        }
    }
}

impl fmt::Display for IdDataFlag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::BirthYearMismatch => {
                "the birth year in the personal ID number differs from the recorded birth date"
            }
            Self::SexMismatch => "the sex in the personal ID number differs from the recorded sex",
        })
    }
}

/// A 12-digit personal ID number (số định danh cá nhân, the number on the
/// chip-based ID card).
///
/// Layout: digits 1–3 the province where the birth was registered (one of
/// the 63 pre-2025 provinces), digit 4 century and sex (0/1 male/female born
/// 1900–1999, 2/3 for 2000–2099, 4/5 for 2100–2199), digits 5–6 the last two
/// digits of the birth year, digits 7–12 a serial number.
///
/// `Debug` shows only the [masked](Self::masked) form. `Display`, `as_str`
/// and serde give the **full number**, which storage, sync and the lists sent
/// to the police need; do not use them for logs or for display to people who
/// have no need for it.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PersonalId(String);

impl PersonalId {
    /// Parses a personal ID number. Surrounding and internal whitespace is
    /// ignored ("001 090 012 345"); anything else must be ASCII digits.
    pub fn parse(input: &str) -> Result<Self, ValidationError> {
        let mut digits = String::with_capacity(12);
        for (i, c) in input.trim().chars().enumerate() {
            if c.is_whitespace() {
                continue;
            }
            if !c.is_ascii_digit() {
                return Err(ValidationError::PersonalIdCharacter { position: i + 1 });
            }
            digits.push(c);
        }
        if digits.len() != 12 {
            return Err(ValidationError::PersonalIdLength {
                found: digits.len(),
            });
        }
        if pre_2025_province_name(&digits[..3]).is_none() {
            return Err(ValidationError::PersonalIdProvince);
        }
        if !matches!(digits.as_bytes()[3], b'0'..=b'5') {
            return Err(ValidationError::PersonalIdCentury);
        }
        Ok(Self(digits))
    }

    /// The full 12-digit number.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The 3-digit code of the (pre-2025) province where the birth was registered.
    pub fn province_code(&self) -> &str {
        &self.0[..3]
    }

    /// The name of the (pre-2025) province where the birth was registered.
    pub fn province_name(&self) -> &'static str {
        // Checked by `parse`.
        pre_2025_province_name(self.province_code()).unwrap_or_default()
    }

    fn century_digit(&self) -> u8 {
        self.0.as_bytes()[3] - b'0'
    }

    /// The sex encoded in digit 4.
    pub fn sex(&self) -> Sex {
        if self.century_digit().is_multiple_of(2) {
            Sex::Male
        } else {
            Sex::Female
        }
    }

    /// The birth year encoded in digits 4–6.
    pub fn birth_year(&self) -> i32 {
        let century = 1900 + 100 * i32::from(self.century_digit() / 2);
        let bytes = self.0.as_bytes();
        century + i32::from(bytes[4] - b'0') * 10 + i32::from(bytes[5] - b'0')
    }

    /// The number with all but the first three and last three digits hidden:
    /// `001******345`.
    pub fn masked(&self) -> String {
        mask(&self.0, 3, 3)
    }

    /// Compares the number with the recorded birth date and sex, when known.
    ///
    /// Returns the disagreements found (empty when everything agrees or
    /// nothing is recorded). They are data errors to flag for correction,
    /// not a reason to reject the person.
    pub fn check_against(&self, birth: Option<&BirthDate>, sex: Option<Sex>) -> Vec<IdDataFlag> {
        let mut flags = Vec::new();
        if birth.is_some_and(|b| b.year() != self.birth_year()) {
            flags.push(IdDataFlag::BirthYearMismatch);
        }
        if sex.is_some_and(|s| s != self.sex()) {
            flags.push(IdDataFlag::SexMismatch);
        }
        flags
    }
}

impl fmt::Debug for PersonalId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("PersonalId").field(&self.masked()).finish()
    }
}

/// Prints the **full** number (for exports); use [`PersonalId::masked`] otherwise.
impl fmt::Display for PersonalId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

string_newtype_impls!(PersonalId, "a 12-digit personal ID number");

/// Keeps the first `head` and last `tail` characters of an ASCII string and
/// replaces the rest with `*`.
fn mask(s: &str, head: usize, tail: usize) -> String {
    let hidden = s.len().saturating_sub(head + tail);
    let mut out = String::with_capacity(s.len());
    out.push_str(s.get(..head).unwrap_or_default());
    out.extend(std::iter::repeat_n('*', hidden));
    out.push_str(s.get(head + hidden..).unwrap_or_default());
    out
}

// ---------------------------------------------------------------------------
// PhoneNumber
// ---------------------------------------------------------------------------

/// A Vietnamese mobile number, stored as 10 digits `0xxxxxxxxx` starting
/// 03, 05, 07, 08 or 09.
///
/// `Debug` is masked; `Display`, `as_str` and serde give the full number.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PhoneNumber(String);

impl PhoneNumber {
    /// Parses a mobile number and normalises it to `0xxxxxxxxx`.
    ///
    /// Accepted: `0912345678`, `+84912345678`, `84912345678`,
    /// `0084912345678`, `+84 (0) 912 345 678`, and the 9-digit form
    /// `912345678` that spreadsheets produce when they drop the leading zero.
    /// Spaces, dots, dashes and parentheses may separate digit groups; a `+`
    /// may only come first. Landlines (02x) and other prefixes are rejected.
    pub fn parse(input: &str) -> Result<Self, ValidationError> {
        let mut digits = String::with_capacity(14);
        let mut plus = false;
        for c in input.trim().chars() {
            match c {
                '0'..='9' => digits.push(c),
                '+' if digits.is_empty() && !plus => plus = true,
                '.' | '-' | '(' | ')' => {}
                c if c.is_whitespace() => {}
                _ => return Err(ValidationError::PhoneFormat),
            }
        }
        let found = digits.len();
        let international = if plus {
            Some(
                digits
                    .strip_prefix("84")
                    .ok_or(ValidationError::PhonePrefix)?,
            )
        } else if let Some(rest) = digits.strip_prefix("0084") {
            Some(rest)
        } else if found >= 11 {
            digits.strip_prefix("84")
        } else {
            None
        };
        let national = match international {
            // "+84 (0) 912…": drop the trunk zero written after the country code.
            Some(rest) if rest.len() == 10 => rest.strip_prefix('0').unwrap_or(rest),
            Some(rest) => rest,
            None => match digits.strip_prefix('0') {
                Some(rest) => rest,
                None if found == 9 => digits.as_str(),
                None if found == 10 => return Err(ValidationError::PhonePrefix),
                None => return Err(ValidationError::PhoneLength { found }),
            },
        };
        if national.len() != 9 {
            return Err(ValidationError::PhoneLength { found });
        }
        if !matches!(national.as_bytes()[0], b'3' | b'5' | b'7' | b'8' | b'9') {
            return Err(ValidationError::PhonePrefix);
        }
        Ok(Self(format!("0{national}")))
    }

    /// The normalised 10-digit number.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The number in international form, `+84xxxxxxxxx`.
    pub fn to_international(&self) -> String {
        format!("+84{}", &self.0[1..])
    }

    /// The number with all but the first two and last two digits hidden:
    /// `09******78`.
    pub fn masked(&self) -> String {
        mask(&self.0, 2, 2)
    }
}

impl fmt::Debug for PhoneNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("PhoneNumber").field(&self.masked()).finish()
    }
}

/// Prints the **full** number; use [`PhoneNumber::masked`] for display.
impl fmt::Display for PhoneNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

string_newtype_impls!(PhoneNumber, "a Vietnamese mobile number");

// ---------------------------------------------------------------------------
// BirthDate
// ---------------------------------------------------------------------------

/// How much of a [`BirthDate`] is known.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum BirthDatePrecision {
    /// Only the year (common for older people).
    Year,
    /// Year and month.
    Month,
    /// Full date.
    Day,
}

/// A birth date, possibly known only to the year or the month.
///
/// Years run from 1900 to 2100 and full dates are real calendar dates
/// (29 February only in leap years). Ordering is by `(year, month, day)`,
/// an unknown part sorting before any known one.
///
/// Birth dates are protected personal data: `Debug` prints only the
/// precision (`BirthDate(year-only)`); `Display` gives the Vietnamese form
/// (`15/03/1990`, `03/1990`, `1990`) and serde the ISO-like form
/// (`1990-03-15`, `1990-03`, `1990`).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct BirthDate {
    year: i32,
    month: Option<u8>,
    day: Option<u8>,
}

impl BirthDate {
    /// Parses a birth date.
    ///
    /// Accepted forms (surrounding whitespace ignored; the separator may be
    /// `/`, `-` or `.`, the same throughout): `1990`; `03/1990` or `3/1990`;
    /// `15/03/1990`, `15-03-1990`, `15.03.1990`, `5/3/1990`; and year-first
    /// `1990-03-15`, `1990-03`. Years have four digits, days and months one
    /// or two.
    pub fn parse(input: &str) -> Result<Self, ValidationError> {
        use ValidationError::BirthDateFormat as Format;
        let s = input.trim();
        let mut separator = None;
        for c in s.chars().filter(|c| matches!(c, '/' | '-' | '.')) {
            if separator.is_some_and(|sep| sep != c) {
                return Err(Format);
            }
            separator = Some(c);
        }
        let parts: Vec<&str> = match separator {
            Some(sep) => s.split(sep).map(str::trim).collect(),
            None => vec![s],
        };
        if parts.iter().any(|p| !is_ascii_digits(p) || p.len() > 4) {
            return Err(Format);
        }
        let year = |p: &str| (p.len() == 4).then(|| p.parse::<i32>().ok()).flatten();
        let small = |p: &str| (p.len() <= 2).then(|| p.parse::<u32>().ok()).flatten();
        let (y, m, d) = match parts.as_slice() {
            [y] => (year(y), None, None),
            [a, b] if a.len() == 4 => (year(a), Some(small(b)), None),
            [a, b] => (year(b), Some(small(a)), None),
            [a, b, c] if a.len() == 4 => (year(a), Some(small(b)), Some(small(c))),
            [a, b, c] => (year(c), Some(small(b)), Some(small(a))),
            _ => return Err(Format),
        };
        let y = y.ok_or(Format)?;
        let m = m.map(|m| m.ok_or(Format)).transpose()?;
        let d = d.map(|d| d.ok_or(Format)).transpose()?;
        Self::from_parts(y, m, d)
    }

    /// Builds a birth date from its parts, validating them. A day requires a month.
    pub fn from_parts(
        year: i32,
        month: Option<u32>,
        day: Option<u32>,
    ) -> Result<Self, ValidationError> {
        if day.is_some() && month.is_none() {
            return Err(ValidationError::BirthDateFormat);
        }
        if !(MIN_BIRTH_YEAR..=MAX_BIRTH_YEAR).contains(&year) {
            return Err(ValidationError::BirthDateRange);
        }
        let month = month
            .map(|m| match u8::try_from(m) {
                Ok(m @ 1..=12) => Ok(m),
                _ => Err(ValidationError::BirthDateMonth),
            })
            .transpose()?;
        let day = match (day, month) {
            (Some(d), Some(m)) => match u8::try_from(d) {
                Ok(d) if (1..=days_in_month(year, m)).contains(&d) => Some(d),
                _ => return Err(ValidationError::BirthDateDay),
            },
            _ => None,
        };
        Ok(Self { year, month, day })
    }

    /// The year.
    pub fn year(&self) -> i32 {
        self.year
    }

    /// The month (1–12), when known.
    pub fn month(&self) -> Option<u32> {
        self.month.map(u32::from)
    }

    /// The day of the month, when known.
    pub fn day(&self) -> Option<u32> {
        self.day.map(u32::from)
    }

    /// How much of the date is known.
    pub fn precision(&self) -> BirthDatePrecision {
        match (self.month, self.day) {
            (Some(_), Some(_)) => BirthDatePrecision::Day,
            (Some(_), None) => BirthDatePrecision::Month,
            _ => BirthDatePrecision::Year,
        }
    }

    /// Age in completed years on the given day (`month` 1–12, `day` 1–31).
    ///
    /// An unknown month or day is taken as the earliest possible one
    /// (1 January, or the 1st of the month): the person is assumed to have
    /// had their birthday already, so the age is never underestimated and no
    /// one is wrongly excluded by an age limit ("14 or more"). Someone born
    /// "1990" is thus 34 on every day of 2024. Dates before the birth give 0.
    pub fn age_on(&self, year: i32, month: u32, day: u32) -> u32 {
        let birthday = (
            u32::from(self.month.unwrap_or(1)),
            u32::from(self.day.unwrap_or(1)),
        );
        let mut age = year - self.year;
        if (month, day) < birthday {
            age -= 1;
        }
        u32::try_from(age).unwrap_or(0)
    }

    /// The ISO-like form used by serde: `1990-03-15`, `1990-03` or `1990`.
    pub fn to_iso_string(&self) -> String {
        match (self.month, self.day) {
            (Some(m), Some(d)) => format!("{:04}-{m:02}-{d:02}", self.year),
            (Some(m), None) => format!("{:04}-{m:02}", self.year),
            _ => format!("{:04}", self.year),
        }
    }
}

fn days_in_month(year: i32, month: u8) -> u8 {
    match month {
        4 | 6 | 9 | 11 => 30,
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        2 => 28,
        _ => 31,
    }
}

impl fmt::Debug for BirthDate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self.precision() {
            BirthDatePrecision::Year => "BirthDate(year-only)",
            BirthDatePrecision::Month => "BirthDate(year-month)",
            BirthDatePrecision::Day => "BirthDate(full)",
        })
    }
}

/// The Vietnamese form: `15/03/1990`, `03/1990` or `1990`.
impl fmt::Display for BirthDate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.month, self.day) {
            (Some(m), Some(d)) => write!(f, "{d:02}/{m:02}/{:04}", self.year),
            (Some(m), None) => write!(f, "{m:02}/{:04}", self.year),
            _ => write!(f, "{:04}", self.year),
        }
    }
}

impl FromStr for BirthDate {
    type Err = ValidationError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl Serialize for BirthDate {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_iso_string())
    }
}

impl<'de> Deserialize<'de> for BirthDate {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        ParseVisitor::deserialize(deserializer, "a birth date", BirthDate::parse)
    }
}

// ---------------------------------------------------------------------------
// PersonName
// ---------------------------------------------------------------------------

/// A person's full name, written family–middle–given ("Nguyễn Thị Thu Hà").
///
/// Stored NFC-normalised, trimmed, with single spaces between words. The
/// family name is the first word, the given name the last, the middle name
/// the words between; a one-word name is a given name only.
///
/// Names are protected personal data: `Debug` prints `PersonName(..)`.
/// `Display`, `as_str` and serde give the full name.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PersonName(String);

impl PersonName {
    /// Parses a name: NFC-normalises it, trims it, collapses whitespace and
    /// drops invisible zero-width characters (U+200B, U+2060, U+FEFF) that
    /// copy-paste brings along. Rejects empty names, names with digits or
    /// control characters, names without a letter and names longer than
    /// [`MAX_NAME_CHARS`] characters. Case is kept as written.
    pub fn parse(input: &str) -> Result<Self, ValidationError> {
        let nfc: String = input
            .nfc()
            .filter(|c| !matches!(c, '\u{200b}' | '\u{2060}' | '\u{feff}'))
            .collect();
        let name = nfc.split_whitespace().collect::<Vec<_>>().join(" ");
        if name.is_empty() {
            return Err(ValidationError::NameEmpty);
        }
        for (i, c) in name.chars().enumerate() {
            if c.is_control() {
                return Err(ValidationError::NameControl { position: i + 1 });
            }
            if c.is_numeric() {
                return Err(ValidationError::NameDigit { position: i + 1 });
            }
        }
        let found = name.chars().count();
        if found > MAX_NAME_CHARS {
            return Err(ValidationError::NameTooLong {
                max: MAX_NAME_CHARS,
                found,
            });
        }
        if !name.chars().any(char::is_alphabetic) {
            return Err(ValidationError::NameNoLetter);
        }
        Ok(Self(name))
    }

    /// The normalised full name.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The family name (họ), the first word; `None` for a one-word name.
    pub fn family(&self) -> Option<&str> {
        text::split_name(&self.0).0
    }

    /// The middle name (tên đệm), the words between the first and the last;
    /// `None` for names of one or two words.
    pub fn middle(&self) -> Option<&str> {
        text::split_name(&self.0).1
    }

    /// The given name (tên), the last word.
    pub fn given(&self) -> &str {
        text::split_name(&self.0).2
    }

    /// The name folded for search (see [`text::fold`]): "nguyen thi thu ha".
    pub fn folded(&self) -> String {
        text::fold(&self.0)
    }

    /// The key that sorts names in Vietnamese list order (see [`text::name_sort_key`]).
    pub fn sort_key(&self) -> Vec<u8> {
        text::name_sort_key(&self.0)
    }
}

impl fmt::Debug for PersonName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PersonName(..)")
    }
}

/// Prints the full name.
impl fmt::Display for PersonName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

string_newtype_impls!(PersonName, "a person's name");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reference_data_loads() {
        assert_eq!(PRE_2025_PROVINCES.len(), 63);
        assert_eq!(ADMIN_UNITS.provinces.len(), 34);
        assert_eq!(all_communes().len(), 3321);
        assert_eq!(pre_2025_province_name("079"), Some("Thành phố Hồ Chí Minh"));
        assert_eq!(pre_2025_province_name("003"), None);
        let total: usize = all_provinces().map(|p| p.communes().len()).sum();
        assert_eq!(total, 3321);
        for p in all_provinces() {
            assert!(p.communes().all(|c| c.province() == p));
        }
    }

    #[test]
    fn personal_id_fields() {
        let id = PersonalId::parse(" 001 090 012 345 ").expect("valid");
        assert_eq!(id.as_str(), "001090012345");
        assert_eq!(id.province_code(), "001");
        assert_eq!(id.province_name(), "Thành phố Hà Nội");
        assert_eq!(id.sex(), Sex::Male);
        assert_eq!(id.birth_year(), 1990);
        assert_eq!(id.masked(), "001******345");
        assert_eq!(format!("{id:?}"), "PersonalId(\"001******345\")");
        let id = PersonalId::parse("079303004567").expect("valid");
        assert_eq!((id.sex(), id.birth_year()), (Sex::Female, 2003));
        let id = PersonalId::parse("096500000001").expect("valid");
        assert_eq!((id.sex(), id.birth_year()), (Sex::Female, 2100));
        let id = PersonalId::parse("096199000001").expect("valid");
        assert_eq!((id.sex(), id.birth_year()), (Sex::Female, 1999));
    }

    #[test]
    fn personal_id_errors() {
        use ValidationError as E;
        assert_eq!(PersonalId::parse(""), Err(E::PersonalIdLength { found: 0 }));
        assert_eq!(
            PersonalId::parse("00109001234"),
            Err(E::PersonalIdLength { found: 11 })
        );
        assert_eq!(
            PersonalId::parse("00109001234A"),
            Err(E::PersonalIdCharacter { position: 12 })
        );
        assert_eq!(
            PersonalId::parse("001.090.012.345"),
            Err(E::PersonalIdCharacter { position: 4 })
        );
        assert_eq!(
            PersonalId::parse("000090012345"),
            Err(E::PersonalIdProvince)
        );
        assert_eq!(PersonalId::parse("001690012345"), Err(E::PersonalIdCentury));
    }

    #[test]
    fn phone_forms() {
        for input in [
            "0912345678",
            "+84912345678",
            "84912345678",
            "0084912345678",
            "+84 (0) 912 345 678",
            "(+84) 912-345-678",
            "912345678",
        ] {
            let p = PhoneNumber::parse(input).expect(input);
            assert_eq!(p.as_str(), "0912345678", "{input}");
        }
        let p = PhoneNumber::parse("0912345678").expect("valid");
        assert_eq!(p.masked(), "09******78");
        assert_eq!(p.to_international(), "+84912345678");
        assert_eq!(format!("{p:?}"), "PhoneNumber(\"09******78\")");
        use ValidationError as E;
        assert_eq!(PhoneNumber::parse("0212345678"), Err(E::PhonePrefix));
        assert_eq!(PhoneNumber::parse("+1 212 555 0100"), Err(E::PhonePrefix));
        assert_eq!(PhoneNumber::parse("1912345678"), Err(E::PhonePrefix));
        assert_eq!(
            PhoneNumber::parse("091234567"),
            Err(E::PhoneLength { found: 9 })
        );
        assert_eq!(PhoneNumber::parse(""), Err(E::PhoneLength { found: 0 }));
        assert_eq!(
            PhoneNumber::parse("09123456789"),
            Err(E::PhoneLength { found: 11 })
        );
        assert_eq!(PhoneNumber::parse("09x2345678"), Err(E::PhoneFormat));
        assert_eq!(PhoneNumber::parse("09+12345678"), Err(E::PhoneFormat));
    }

    #[test]
    fn birth_date_parts_and_forms() {
        let d = BirthDate::parse("15/03/1990").expect("valid");
        assert_eq!((d.year(), d.month(), d.day()), (1990, Some(3), Some(15)));
        assert_eq!(d.to_string(), "15/03/1990");
        assert_eq!(d.to_iso_string(), "1990-03-15");
        let m = BirthDate::parse("3/1990").expect("valid");
        assert_eq!(m.to_string(), "03/1990");
        assert_eq!(m.to_iso_string(), "1990-03");
        assert_eq!(BirthDate::parse("1990-03").expect("valid"), m);
        let y = BirthDate::parse("1990").expect("valid");
        assert_eq!(y.precision(), BirthDatePrecision::Year);
        assert!(y < m && m < d);
        assert_eq!(
            format!("{y:?} {m:?} {d:?}"),
            "BirthDate(year-only) BirthDate(year-month) BirthDate(full)"
        );
        use ValidationError as E;
        assert_eq!(BirthDate::parse("15/03-1990"), Err(E::BirthDateFormat));
        assert_eq!(BirthDate::parse("90"), Err(E::BirthDateFormat));
        assert_eq!(BirthDate::parse("15031990"), Err(E::BirthDateFormat));
        assert_eq!(BirthDate::parse("1899"), Err(E::BirthDateRange));
        assert_eq!(BirthDate::parse("13/1990"), Err(E::BirthDateMonth));
        assert_eq!(BirthDate::parse("0/1990"), Err(E::BirthDateMonth));
        assert_eq!(BirthDate::parse("00/01/1990"), Err(E::BirthDateDay));
        assert_eq!(
            BirthDate::from_parts(1990, None, Some(3)),
            Err(E::BirthDateFormat)
        );
    }

    #[test]
    fn age_assumes_earliest_birthday() {
        let y = BirthDate::parse("2010").expect("valid");
        assert_eq!(y.age_on(2024, 1, 1), 14);
        let d = BirthDate::parse("31/12/2010").expect("valid");
        assert_eq!(d.age_on(2024, 12, 30), 13);
        assert_eq!(d.age_on(2024, 12, 31), 14);
        assert_eq!(d.age_on(2000, 1, 1), 0);
    }

    #[test]
    fn name_parts() {
        let n = PersonName::parse("  Nguyễn   Thị Thu\tHà ").expect("valid");
        assert_eq!(n.as_str(), "Nguyễn Thị Thu Hà");
        assert_eq!(
            (n.family(), n.middle(), n.given()),
            (Some("Nguyễn"), Some("Thị Thu"), "Hà")
        );
        assert_eq!(format!("{n:?}"), "PersonName(..)");
        let one = PersonName::parse("Hà").expect("valid");
        assert_eq!(
            (one.family(), one.middle(), one.given()),
            (None, None, "Hà")
        );
        assert!(PersonName::parse("H'Hen Niê").is_ok());
        use ValidationError as E;
        assert_eq!(PersonName::parse(" \u{200b} "), Err(E::NameEmpty));
        assert_eq!(
            PersonName::parse("Lê Văn 2"),
            Err(E::NameDigit { position: 8 })
        );
        assert_eq!(
            PersonName::parse("Lê\u{7}Văn"),
            Err(E::NameControl { position: 3 })
        );
        assert_eq!(PersonName::parse("- -"), Err(E::NameNoLetter));
        assert_eq!(
            PersonName::parse(&"a".repeat(101)),
            Err(E::NameTooLong {
                max: 100,
                found: 101
            })
        );
    }

    #[test]
    fn every_error_has_code_and_vietnamese_message() {
        let errors = [
            ValidationError::PersonalIdLength { found: 3 },
            ValidationError::PersonalIdCharacter { position: 2 },
            ValidationError::PersonalIdProvince,
            ValidationError::PersonalIdCentury,
            ValidationError::PhoneFormat,
            ValidationError::PhoneLength { found: 2 },
            ValidationError::PhonePrefix,
            ValidationError::BirthDateFormat,
            ValidationError::BirthDateRange,
            ValidationError::BirthDateMonth,
            ValidationError::BirthDateDay,
            ValidationError::ProvinceFormat,
            ValidationError::ProvinceUnknown,
            ValidationError::CommuneFormat,
            ValidationError::CommuneUnknown,
            ValidationError::NameEmpty,
            ValidationError::NameTooLong {
                max: 100,
                found: 120,
            },
            ValidationError::NameDigit { position: 1 },
            ValidationError::NameControl { position: 1 },
            ValidationError::NameNoLetter,
        ];
        let mut codes: Vec<_> = errors.iter().map(ValidationError::code).collect();
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes.len(), errors.len());
        for e in errors {
            assert!(!e.message_vi().is_empty());
            assert!(!e.to_string().is_empty());
        }
    }
}
