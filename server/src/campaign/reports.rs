//! The lists a commune signs and the reports it sends up, all read from the
//! projection (never from documents):
//!
//! * the activated confirmation list, the absent list, the ineligible list
//!   with reasons and explanations, and the corrections list for the
//!   population database (deceased, moved away, not living here, newcomer,
//!   ID number that contradicts the birth date);
//! * the daily commune report: eligible, activated, percentage, change
//!   since yesterday, remaining by category, ineligible by reason, and per
//!   field user: visits, outcomes, activations, attempts, quota kept;
//! * signals of possible fabrication;
//! * the weekly province roll-up, communes ranked.
//!
//! Counting rules (docs/ARCHITECTURE.md, "Reports"): a resident is
//! *activated* when the field or the registry says so; *ineligible* when
//! the derived state is; *under age* when the birth date is after the
//! campaign's cutoff (and not already activated or ineligible); *eligible*
//! is everyone else plus the activated. "Activated before today" counts
//! field activations recorded before today's 00:00 (Vietnam time) and
//! registry activations first seen by an import before then.

use super::campaigns::{self, Campaign};
use super::export::{Cell, Sheet};
use super::targets::vi_date;
use crate::db::Db;
use crate::error::AppError;
use serde::{Deserialize, Serialize};
use sqlx::{AssertSqlSafe, Row};
use std::collections::{BTreeMap, HashMap};
use sync_core::doc::parse_code;
use sync_core::model::IneligibleReason;
use sync_core::plan::{self, DAY_MS, VN_OFFSET_MS};
use utoipa::ToSchema;

/// Which signed list.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ListKind {
    /// Danh sách công dân đã kích hoạt.
    Activated,
    /// Danh sách công dân vắng mặt.
    Absent,
    /// Danh sách công dân không đủ điều kiện, with reasons.
    Ineligible,
    /// Danh sách đề nghị điều chỉnh dữ liệu dân cư.
    Corrections,
}

impl ListKind {
    /// Parses a code.
    pub fn from_code(s: &str) -> Option<ListKind> {
        parse_code(s)
    }

    /// Stable code.
    pub fn code(self) -> &'static str {
        match self {
            ListKind::Activated => "activated",
            ListKind::Absent => "absent",
            ListKind::Ineligible => "ineligible",
            ListKind::Corrections => "corrections",
        }
    }

    /// Title of the signed list.
    pub fn title_vi(self) -> &'static str {
        match self {
            ListKind::Activated => {
                "DANH SÁCH CÔNG DÂN ĐÃ KÍCH HOẠT TÀI KHOẢN ĐỊNH DANH ĐIỆN TỬ MỨC 2"
            }
            ListKind::Absent => "DANH SÁCH CÔNG DÂN VẮNG MẶT TẠI ĐỊA PHƯƠNG",
            ListKind::Ineligible => {
                "DANH SÁCH CÔNG DÂN KHÔNG ĐỦ ĐIỀU KIỆN CẤP, KÍCH HOẠT TÀI KHOẢN ĐỊNH DANH ĐIỆN TỬ"
            }
            ListKind::Corrections => {
                "DANH SÁCH ĐỀ NGHỊ ĐIỀU CHỈNH THÔNG TIN TRONG CƠ SỞ DỮ LIỆU QUỐC GIA VỀ DÂN CƯ"
            }
        }
    }

    /// Short name (worksheet, file name).
    pub fn short_vi(self) -> &'static str {
        match self {
            ListKind::Activated => "Đã kích hoạt",
            ListKind::Absent => "Vắng mặt",
            ListKind::Ineligible => "Không đủ điều kiện",
            ListKind::Corrections => "Điều chỉnh dữ liệu",
        }
    }
}

/// One person on a signed list.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ListEntry {
    /// Resident id.
    pub id: String,
    /// Household id.
    pub household: String,
    /// Hamlet id.
    pub hamlet: String,
    /// Hamlet name.
    pub hamlet_name: String,
    /// Full name.
    pub full_name: String,
    /// Birth date as recorded (`1990-03-15`, `1990-03` or `1990`).
    pub birth_date: Option<String>,
    /// Personal ID number.
    pub personal_id: Option<String>,
    /// Address in the hamlet.
    pub address: String,
    /// Why on this list, in Vietnamese (reason, absence, correction kind).
    pub reason_vi: Option<String>,
    /// Stable code of that reason.
    pub reason: Option<String>,
    /// Explanation written by the recorder (ineligible list).
    pub explanation: Option<String>,
    /// When the deciding outcome was recorded (`YYYY-MM-DD`).
    pub recorded_on: Option<String>,
    /// Who recorded it.
    pub recorded_by: Option<String>,
    /// Visits so far.
    pub attempts: i64,
    /// A volunteer's outcome still waiting for an officer.
    pub awaiting_confirmation: bool,
}

fn iso_of_ms(ms: i64) -> String {
    plan::iso_date(plan::vn_day(ms))
}

fn address_of(house: &str, alley: &str, street: &str) -> String {
    [house, alley, street]
        .iter()
        .filter(|s| !s.trim().is_empty())
        .copied()
        .collect::<Vec<_>>()
        .join(", ")
}

fn absent_label(code: &str) -> &'static str {
    match code {
        "working_or_studying_elsewhere" => "Đi làm ăn, học tập xa",
        "away_for_a_while" => "Vắng nhà một thời gian",
        "not_home_now" => "Không có nhà khi đến",
        _ => "Vắng mặt",
    }
}

/// The people on one list in `commune`, restricted to `hamlets` if given,
/// sorted by hamlet then Vietnamese name order. `restricted`: sensitive
/// reasons are replaced by their stand-in (callers without access).
pub async fn list_entries(
    db: &Db,
    commune: &str,
    hamlets: Option<&[String]>,
    kind: ListKind,
    restricted: bool,
) -> Result<Vec<ListEntry>, AppError> {
    let filter = match kind {
        ListKind::Activated => "(r.state = 'activated' OR r.registry = 'activated')",
        ListKind::Absent => "r.state = 'absent' AND r.registry <> 'activated'",
        ListKind::Ineligible => "r.state = 'ineligible'",
        ListKind::Corrections => {
            "((r.state = 'ineligible' AND r.detail IN ('deceased', 'moved_away', 'not_living_here'))
               OR r.newcomer = 1 OR (r.personal_id IS NOT NULL AND r.birth_date IS NOT NULL))"
        }
    };
    let rows = sqlx::query(AssertSqlSafe(format!(
        "SELECT r.id, r.household, r.hamlet, COALESCE(hm.name, r.hamlet), r.full_name, r.birth_date,
                r.personal_id, h.house_number, h.alley, h.street, r.state, r.detail, r.explanation,
                r.decided_at, COALESCE(u.display_name, r.decided_by), r.attempts,
                r.awaiting_confirmation, r.newcomer, r.registry
         FROM residents r
         JOIN households h ON h.id = r.household
         LEFT JOIN hamlets hm ON hm.id = r.hamlet
         LEFT JOIN users u ON u.id = r.decided_by
         WHERE r.commune = $1 AND {filter}
         ORDER BY hm.sort_key, r.hamlet, r.sort_key, r.id"
    )))
    .bind(commune)
    .fetch_all(&db.pool)
    .await
    .map_err(AppError::db)?;
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        let g = |e| AppError::db(e);
        let hamlet: String = r.try_get(2).map_err(g)?;
        if hamlets.is_some_and(|hs| !hs.contains(&hamlet)) {
            continue;
        }
        let state: String = r.try_get(10).map_err(g)?;
        let detail: Option<String> = r.try_get(11).map_err(g)?;
        let newcomer = r.try_get::<i64, _>(17).map_err(g)? != 0;
        let birth_date: Option<String> = r.try_get(5).map_err(g)?;
        let personal_id: Option<String> = r.try_get(6).map_err(g)?;
        let decided_at: Option<i64> = r.try_get(13).map_err(g)?;
        let registry: String = r.try_get(18).map_err(g)?;
        let (reason, reason_vi) = match kind {
            ListKind::Activated => {
                if state == "activated" {
                    (
                        Some("field".to_owned()),
                        Some("Xác nhận tại nhà".to_owned()),
                    )
                } else {
                    let _ = registry;
                    (
                        Some("registry".to_owned()),
                        Some("Theo dữ liệu dân cư".to_owned()),
                    )
                }
            }
            ListKind::Absent => (
                detail.clone(),
                detail.as_deref().map(|d| absent_label(d).to_owned()),
            ),
            ListKind::Ineligible => {
                let reason = detail.as_deref().and_then(parse_code::<IneligibleReason>);
                let reason = reason.map(|r| if restricted { r.public_form() } else { r });
                (
                    reason.map(|r| sync_core::doc::code_of(&r)),
                    reason.map(|r| r.label_vi().to_owned()),
                )
            }
            ListKind::Corrections => {
                let reason = detail.as_deref().and_then(parse_code::<IneligibleReason>);
                if state == "ineligible" && reason.is_some_and(|r| r.is_population_correction()) {
                    (
                        reason.map(|r| sync_core::doc::code_of(&r)),
                        reason.map(|r| r.label_vi().to_owned()),
                    )
                } else if newcomer {
                    (
                        Some("newcomer".into()),
                        Some("Nhân khẩu mới phát hiện".into()),
                    )
                } else if id_contradicts_birth(personal_id.as_deref(), birth_date.as_deref()) {
                    (
                        Some("wrong_data".into()),
                        Some("Số định danh không khớp ngày sinh".into()),
                    )
                } else {
                    continue;
                }
            }
        };
        out.push(ListEntry {
            id: r.try_get(0).map_err(g)?,
            household: r.try_get(1).map_err(g)?,
            hamlet,
            hamlet_name: r.try_get(3).map_err(g)?,
            full_name: r.try_get(4).map_err(g)?,
            birth_date: if restricted { None } else { birth_date },
            personal_id: if restricted { None } else { personal_id },
            address: address_of(
                &r.try_get::<String, _>(7).map_err(g)?,
                &r.try_get::<String, _>(8).map_err(g)?,
                &r.try_get::<String, _>(9).map_err(g)?,
            ),
            reason_vi,
            reason,
            explanation: if restricted {
                None
            } else {
                r.try_get(12).map_err(g)?
            },
            recorded_on: decided_at.map(iso_of_ms),
            recorded_by: r.try_get(14).map_err(g)?,
            attempts: r.try_get(15).map_err(g)?,
            awaiting_confirmation: r.try_get::<i64, _>(16).map_err(g)? != 0,
        });
    }
    Ok(out)
}

fn id_contradicts_birth(pid: Option<&str>, birth: Option<&str>) -> bool {
    use sync_core::ids::{BirthDate, PersonalId};
    match (pid.map(PersonalId::parse), birth.map(BirthDate::parse)) {
        (Some(Ok(p)), Some(Ok(b))) => !p.check_against(Some(&b), None).is_empty(),
        _ => false,
    }
}

/// A signed list as sheets: the whole commune first, then one per hamlet.
pub fn list_sheets(
    kind: ListKind,
    commune_name: &str,
    day: &str,
    entries: &[ListEntry],
    per_hamlet: bool,
) -> Vec<Sheet> {
    let headers: Vec<&str> = match kind {
        ListKind::Activated => vec![
            "STT",
            "Họ và tên",
            "Ngày sinh",
            "Số định danh cá nhân",
            "Thôn/Tổ dân phố",
            "Địa chỉ",
            "Nguồn xác nhận",
            "Ngày ghi nhận",
            "Người ghi nhận",
        ],
        ListKind::Absent => vec![
            "STT",
            "Họ và tên",
            "Ngày sinh",
            "Số định danh cá nhân",
            "Thôn/Tổ dân phố",
            "Địa chỉ",
            "Lý do vắng",
            "Số lần đến",
            "Lần đến gần nhất",
            "Người ghi nhận",
        ],
        ListKind::Ineligible => vec![
            "STT",
            "Họ và tên",
            "Ngày sinh",
            "Số định danh cá nhân",
            "Thôn/Tổ dân phố",
            "Địa chỉ",
            "Lý do",
            "Giải trình",
            "Ngày ghi nhận",
            "Người ghi nhận",
            "Chờ xác nhận",
        ],
        ListKind::Corrections => vec![
            "STT",
            "Họ và tên",
            "Ngày sinh",
            "Số định danh cá nhân",
            "Thôn/Tổ dân phố",
            "Địa chỉ",
            "Nội dung điều chỉnh",
            "Ngày ghi nhận",
            "Người ghi nhận",
        ],
    };
    let widths: Vec<f64> = headers
        .iter()
        .map(|h| match *h {
            "STT" => 5.0,
            "Họ và tên" => 26.0,
            "Địa chỉ" | "Giải trình" => 28.0,
            "Lý do" | "Nội dung điều chỉnh" => 30.0,
            "Số định danh cá nhân" => 15.0,
            _ => 14.0,
        })
        .collect();
    let row_of = |n: usize, e: &ListEntry| -> Vec<Cell> {
        let mut row = vec![
            Cell::Int(n as i64),
            e.full_name.clone().into(),
            e.birth_date.as_deref().map(vi_date).into(),
            e.personal_id.clone().into(),
            e.hamlet_name.clone().into(),
            e.address.clone().into(),
        ];
        let on = e.recorded_on.as_deref().map(vi_date);
        match kind {
            ListKind::Activated => row.extend([
                e.reason_vi.clone().into(),
                on.into(),
                e.recorded_by.clone().into(),
            ]),
            ListKind::Absent => row.extend([
                e.reason_vi.clone().into(),
                Cell::Int(e.attempts),
                on.into(),
                e.recorded_by.clone().into(),
            ]),
            ListKind::Ineligible => row.extend([
                e.reason_vi.clone().into(),
                e.explanation.clone().into(),
                on.into(),
                e.recorded_by.clone().into(),
                (if e.awaiting_confirmation {
                    "Chờ cán bộ xác nhận"
                } else {
                    ""
                })
                .into(),
            ]),
            ListKind::Corrections => row.extend([
                e.reason_vi.clone().into(),
                on.into(),
                e.recorded_by.clone().into(),
            ]),
        }
        row
    };
    let make = |name: String, scope: String, list: Vec<&ListEntry>| Sheet {
        name,
        title: kind.title_vi().to_owned(),
        subtitle: vec![
            scope,
            format!(
                "Tính đến ngày {} — Tổng số: {} người",
                vi_date(day),
                list.len()
            ),
        ],
        headers: headers.iter().map(|h| (*h).to_owned()).collect(),
        widths: widths.clone(),
        rows: list
            .iter()
            .enumerate()
            .map(|(i, e)| row_of(i + 1, e))
            .collect(),
        signatures: vec![
            "NGƯỜI LẬP BIỂU".into(),
            "TRƯỞNG CÔNG AN XÃ".into(),
            "CHỦ TỊCH UBND XÃ".into(),
        ],
    };
    let mut sheets = vec![make(
        "Toàn xã".into(),
        commune_name.to_owned(),
        entries.iter().collect(),
    )];
    if per_hamlet {
        let mut by_hamlet: Vec<(String, Vec<&ListEntry>)> = Vec::new();
        for e in entries {
            match by_hamlet.last_mut() {
                Some((h, list)) if *h == e.hamlet_name => list.push(e),
                _ => by_hamlet.push((e.hamlet_name.clone(), vec![e])),
            }
        }
        let mut used = std::collections::HashSet::new();
        for (name, list) in by_hamlet {
            let mut sheet_name: String = name
                .chars()
                .filter(|c| !"[]:*?/\\".contains(*c))
                .take(28)
                .collect();
            while !used.insert(sheet_name.clone()) {
                sheet_name.push('_');
            }
            sheets.push(make(sheet_name, format!("{name} — {commune_name}"), list));
        }
    }
    if kind == ListKind::Ineligible {
        sheets.push(explanation_sheet(commune_name, day, entries));
    }
    sheets
}

/// The explanation the commune signs and sends up with the ineligible
/// list (bản giải trình): for each reason, how many people and, one line
/// each, who and why, as the recorders wrote it.
pub fn explanation_sheet(commune_name: &str, day: &str, entries: &[ListEntry]) -> Sheet {
    let mut by_reason: Vec<(String, Vec<&ListEntry>)> = Vec::new();
    for e in entries {
        let reason = e.reason_vi.clone().unwrap_or_else(|| "Lý do khác".into());
        match by_reason.iter_mut().find(|(r, _)| *r == reason) {
            Some((_, list)) => list.push(e),
            None => by_reason.push((reason, vec![e])),
        }
    }
    let rows = by_reason
        .iter()
        .enumerate()
        .map(|(i, (reason, list))| {
            let details = list
                .iter()
                .map(|e| {
                    let why = e
                        .explanation
                        .as_deref()
                        .filter(|x| !x.trim().is_empty())
                        .unwrap_or("(không ghi giải trình)");
                    format!("{} ({}): {why}", e.full_name, e.hamlet_name)
                })
                .collect::<Vec<_>>()
                .join("\n");
            vec![
                Cell::Int(i as i64 + 1),
                reason.clone().into(),
                Cell::Int(list.len() as i64),
                details.into(),
            ]
        })
        .collect();
    Sheet {
        name: "Giải trình".into(),
        title:
            "BẢN GIẢI TRÌNH CÔNG DÂN KHÔNG ĐỦ ĐIỀU KIỆN CẤP, KÍCH HOẠT TÀI KHOẢN ĐỊNH DANH ĐIỆN TỬ"
                .into(),
        subtitle: vec![
            commune_name.to_owned(),
            format!(
                "Tính đến ngày {} — Tổng số: {} người",
                vi_date(day),
                entries.len()
            ),
        ],
        headers: [
            "STT",
            "Lý do",
            "Số người",
            "Họ tên, thôn/tổ dân phố và giải trình",
        ]
        .map(String::from)
        .to_vec(),
        widths: vec![5.0, 34.0, 10.0, 80.0],
        rows,
        signatures: vec![
            "NGƯỜI LẬP BIỂU".into(),
            "TRƯỞNG CÔNG AN XÃ".into(),
            "CHỦ TỊCH UBND XÃ".into(),
        ],
    }
}

/// Counts of one area.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Counts {
    /// Residents on the lists.
    pub residents: i64,
    /// Eligible residents (see the module documentation).
    pub eligible: i64,
    /// Activated (field or registry).
    pub activated: i64,
    /// Activated as of yesterday evening.
    pub activated_before_today: i64,
    /// Activated today.
    pub change_since_yesterday: i64,
    /// Activated / eligible, in percent (one decimal).
    pub percent: f64,
    /// Under the campaign's minimum age.
    pub under_age: i64,
    /// Ineligible.
    pub ineligible: i64,
    /// Still open, by category: `approved`, `follow_up`, `no_application`,
    /// `absent`, `refused`, `needs_support`, `conflict`.
    pub remaining: BTreeMap<String, i64>,
    /// Ineligible by reason code.
    pub ineligible_by_reason: BTreeMap<String, i64>,
}

impl Counts {
    fn add(&mut self, o: &Counts) {
        self.residents += o.residents;
        self.eligible += o.eligible;
        self.activated += o.activated;
        self.activated_before_today += o.activated_before_today;
        self.under_age += o.under_age;
        self.ineligible += o.ineligible;
        for (k, v) in &o.remaining {
            *self.remaining.entry(k.clone()).or_default() += v;
        }
        for (k, v) in &o.ineligible_by_reason {
            *self.ineligible_by_reason.entry(k.clone()).or_default() += v;
        }
    }

    fn finish(&mut self) {
        self.change_since_yesterday = self.activated - self.activated_before_today;
        self.percent = if self.eligible > 0 {
            (self.activated as f64 * 1000.0 / self.eligible as f64).round() / 10.0
        } else {
            0.0
        };
    }

    /// Open residents in all categories.
    pub fn open(&self) -> i64 {
        self.remaining.values().sum()
    }
}

/// Start of a Vietnam day in Unix milliseconds.
pub fn day_start_ms(day: i32) -> i64 {
    i64::from(day) * DAY_MS - VN_OFFSET_MS
}

/// Residents of `commune` activated by the end of each day from `first` to
/// `last` (Vietnam days, inclusive): the progress curve. Counts the same
/// people as [`Counts::activated`] — the field's "activated" or the
/// registry's, whichever came first.
pub async fn activated_by_day(
    db: &Db,
    commune: &str,
    first: i32,
    last: i32,
) -> Result<Vec<i64>, AppError> {
    let rows = sqlx::query(
        "SELECT CAST((t + $2) / $3 AS BIGINT) AS d, COUNT(*) FROM (
            SELECT CASE
                WHEN r.state = 'activated' AND r.registry = 'activated' THEN
                    CASE WHEN COALESCE(r.decided_at, 0) < COALESCE(m.activated_at, 0)
                         THEN COALESCE(r.decided_at, 0) ELSE COALESCE(m.activated_at, 0) END
                WHEN r.state = 'activated' THEN COALESCE(r.decided_at, 0)
                ELSE COALESCE(m.activated_at, 0) END AS t
            FROM residents r LEFT JOIN registry_marks m ON m.resident = r.id
            WHERE r.commune = $1 AND (r.state = 'activated' OR r.registry = 'activated')
         ) a GROUP BY d",
    )
    .bind(commune)
    .bind(VN_OFFSET_MS)
    .bind(DAY_MS)
    .fetch_all(&db.pool)
    .await
    .map_err(AppError::db)?;
    let days = usize::try_from(last - first + 1).unwrap_or(0);
    let mut per_day = vec![0i64; days];
    let mut before = 0i64;
    for r in rows {
        let d: i64 = r.try_get(0).map_err(AppError::db)?;
        let n: i64 = r.try_get(1).map_err(AppError::db)?;
        let i = d - i64::from(first);
        if i < 0 {
            before += n;
        } else if let Some(slot) = usize::try_from(i).ok().and_then(|i| per_day.get_mut(i)) {
            *slot += n;
        }
    }
    let mut total = before;
    Ok(per_day
        .into_iter()
        .map(|n| {
            total += n;
            total
        })
        .collect())
}

/// Aggregates `communes` (all with the same birth cutoff) by (commune,
/// hamlet). One pass over the projection, grouped in the database.
async fn aggregate(
    db: &Db,
    communes: &[String],
    cutoff: &str,
    before_ms: i64,
) -> Result<HashMap<(String, String), Counts>, AppError> {
    let mut out: HashMap<(String, String), Counts> = HashMap::new();
    if communes.is_empty() {
        return Ok(out);
    }
    let list = (0..communes.len())
        .map(|i| format!("${}", i + 3))
        .collect::<Vec<_>>()
        .join(", ");
    let sql = format!(
        "SELECT r.commune, r.hamlet, r.state, r.detail, r.registry,
            CAST(CASE WHEN r.state NOT IN ('activated', 'ineligible') AND r.registry <> 'activated'
                      AND r.birth_date IS NOT NULL AND r.birth_date > $1 THEN 1 ELSE 0 END AS BIGINT) AS young,
            COUNT(*) AS n,
            CAST(SUM(CASE WHEN (r.state = 'activated' AND r.decided_at < $2)
                       OR (r.registry = 'activated' AND COALESCE(m.activated_at, 0) < $2)
                     THEN 1 ELSE 0 END) AS BIGINT) AS act_before
         FROM residents r LEFT JOIN registry_marks m ON m.resident = r.id
         WHERE r.commune IN ({list})
         GROUP BY r.commune, r.hamlet, r.state, r.detail, r.registry, young"
    );
    let mut q = sqlx::query(AssertSqlSafe(sql)).bind(cutoff).bind(before_ms);
    for c in communes {
        q = q.bind(c);
    }
    let rows = q.fetch_all(&db.pool).await.map_err(AppError::db)?;
    for r in rows {
        let g = |e| AppError::db(e);
        let commune: String = r.try_get(0).map_err(g)?;
        let hamlet: String = r.try_get(1).map_err(g)?;
        let state: String = r.try_get(2).map_err(g)?;
        let detail: Option<String> = r.try_get(3).map_err(g)?;
        let registry: String = r.try_get(4).map_err(g)?;
        let young = r.try_get::<i64, _>(5).map_err(g)? != 0;
        let n: i64 = r.try_get(6).map_err(g)?;
        let before: i64 = r.try_get(7).map_err(g)?;
        let c = out.entry((commune, hamlet)).or_default();
        c.residents += n;
        c.activated_before_today += before;
        if state == "activated" || registry == "activated" {
            c.activated += n;
            c.eligible += n;
        } else if state == "ineligible" {
            c.ineligible += n;
            *c.ineligible_by_reason
                .entry(detail.unwrap_or_else(|| "other".into()))
                .or_default() += n;
        } else if young {
            c.under_age += n;
        } else {
            c.eligible += n;
            let category = match state.as_str() {
                "absent" => "absent",
                "refused" => "refused",
                "needs_support" => "needs_support",
                "conflict" => "conflict",
                _ => match registry.as_str() {
                    "approved_not_activated" => "approved",
                    "collected" | "pending_approval" => "follow_up",
                    _ if state == "application_collected" => "follow_up",
                    _ => "no_application",
                },
            };
            *c.remaining.entry(category.to_owned()).or_default() += n;
        }
    }
    Ok(out)
}

/// One field user's day.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct UserDay {
    /// User id.
    pub user_id: String,
    /// Name.
    pub name: String,
    /// Role code.
    pub role: String,
    /// Visits recorded today.
    pub visits: i64,
    /// Outcomes recorded today.
    pub outcomes: i64,
    /// Activations recorded today.
    pub activations: i64,
    /// Outcomes recorded since the campaign began (all attempts).
    pub attempts_total: i64,
    /// Today's quota from the open workload of the user's hamlets.
    pub quota: i64,
    /// Outcomes today reached the quota.
    pub quota_kept: bool,
    /// Activations recorded since the campaign began.
    pub activations_total: i64,
    /// The campaign's per-officer target (residents to complete over the
    /// campaign; officers only, 0 when none is set).
    pub target: i64,
    /// `activations_total` ÷ `target`, in percent (one decimal; 0 without a
    /// target).
    pub target_percent_done: f64,
}

/// A sign that records may not reflect real visits.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Signal {
    /// `burst` (many activations in a short time), `no_time_at_door`
    /// (outcomes at one house after another too fast for a real visit),
    /// `future_time` (a visit stamped later than it reached the server),
    /// `registry_silent`
    /// (activations the registry still does not show after the grace days).
    pub kind: String,
    /// Whose records.
    pub user_id: String,
    /// User's name.
    pub name: String,
    /// How many records.
    pub count: i64,
    /// Vietnamese description.
    pub message_vi: String,
}

/// A hamlet's line of the daily report.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct HamletLine {
    /// Hamlet id.
    pub hamlet: String,
    /// Hamlet name.
    pub name: String,
    /// Counts.
    pub counts: Counts,
}

/// The daily commune report.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct DailyReport {
    /// Commune code.
    pub commune: String,
    /// Commune name.
    pub commune_name: String,
    /// Day, `YYYY-MM-DD`.
    pub day: String,
    /// Campaign, if any.
    pub campaign: Option<Campaign>,
    /// Target share of eligible to activate (percent).
    pub target_percent: u32,
    /// Whole commune.
    pub totals: Counts,
    /// By hamlet, in hamlet order.
    pub hamlets: Vec<HamletLine>,
    /// By field user, in name order.
    pub users: Vec<UserDay>,
    /// Signals of possible fabrication.
    pub signals: Vec<Signal>,
}

/// Windows and thresholds of the fabrication signals.
pub const BURST_WINDOW_MS: i64 = 10 * 60_000;
/// Activations in [`BURST_WINDOW_MS`] that raise a signal.
pub const BURST_ACTIVATIONS: i64 = 8;
/// A visit at another house less than this after the last one leaves no
/// time to walk there and talk: its outcomes were not recorded at the door.
pub const DOOR_GAP_MS: i64 = 60_000;
/// Visits in a day that came too fast ([`DOOR_GAP_MS`]) to raise a signal.
pub const NO_VISIT_MIN: i64 = 5;
/// A visit stamped this far after it reached the server is suspicious.
pub const FUTURE_SLACK_MS: i64 = 15 * 60_000;

/// The daily report of `commune` for `day` (Vietnam calendar day).
pub async fn daily(db: &Db, commune: &str, day: i32, now_ms: i64) -> Result<DailyReport, AppError> {
    let campaign = campaigns::current(db, commune, day).await?;
    let cutoff = campaign
        .as_ref()
        .map(Campaign::birth_cutoff)
        .unwrap_or_else(|| "9999".into());
    let start = day_start_ms(day);
    let end = start + DAY_MS;
    let agg = aggregate(db, &[commune.to_owned()], &cutoff, start).await?;
    let hamlet_names = crate::db::accounts::hamlets_of(db, commune).await?;
    let mut totals = Counts::default();
    let mut hamlets = Vec::new();
    let mut open_by_hamlet: HashMap<String, i64> = HashMap::new();
    for (id, name) in &hamlet_names {
        let mut c = agg
            .get(&(commune.to_owned(), id.clone()))
            .cloned()
            .unwrap_or_default();
        c.finish();
        open_by_hamlet.insert(id.clone(), c.open());
        totals.add(&c);
        hamlets.push(HamletLine {
            hamlet: id.clone(),
            name: name.clone(),
            counts: c,
        });
    }
    // Households in hamlets not (or no longer) defined still count.
    for ((_, h), c) in &agg {
        if !hamlet_names.iter().any(|(id, _)| id == h) {
            totals.add(c);
        }
    }
    totals.finish();

    // Field users and their day.
    let users = sqlx::query(
        "SELECT id, display_name, role FROM users
         WHERE commune = $1 AND role IN ('officer', 'volunteer') AND disabled = 0",
    )
    .bind(commune)
    .fetch_all(&db.pool)
    .await
    .map_err(AppError::db)?;
    let visits = sqlx::query(
        "SELECT user_id, at_ms, received_at, outcomes, activations, household FROM visits
         WHERE commune = $1 AND at_ms < $2 ORDER BY user_id, at_ms",
    )
    .bind(commune)
    .bind(end)
    .fetch_all(&db.pool)
    .await
    .map_err(AppError::db)?;
    let user_hamlets = sqlx::query(
        "SELECT uh.user_id, uh.hamlet FROM user_hamlets uh JOIN users u ON u.id = uh.user_id
         WHERE u.commune = $1",
    )
    .bind(commune)
    .fetch_all(&db.pool)
    .await
    .map_err(AppError::db)?;
    let mut names: HashMap<String, String> = HashMap::new();
    let mut days: BTreeMap<String, UserDay> = BTreeMap::new();
    for u in &users {
        let g = |e| AppError::db(e);
        let id: String = u.try_get(0).map_err(g)?;
        let name: String = u.try_get(1).map_err(g)?;
        names.insert(id.clone(), name.clone());
        days.insert(
            id.clone(),
            UserDay {
                user_id: id,
                name,
                role: u.try_get(2).map_err(g)?,
                ..UserDay::default()
            },
        );
    }
    let terms = campaign.as_ref().map(Campaign::terms);
    for r in &user_hamlets {
        let user: String = r.try_get(0).map_err(AppError::db)?;
        let hamlet: String = r.try_get(1).map_err(AppError::db)?;
        if let Some(d) = days.get_mut(&user) {
            d.quota += open_by_hamlet.get(&hamlet).copied().unwrap_or(0);
        }
    }
    for d in days.values_mut() {
        let open = u32::try_from(d.quota).unwrap_or(0);
        d.quota = i64::from(match &terms {
            Some(t) => t.quota(open, day),
            None => open,
        });
    }
    let mut signals = Vec::new();
    let mut per_user: BTreeMap<String, Vec<(i64, i64)>> = BTreeMap::new();
    let mut future: BTreeMap<String, i64> = BTreeMap::new();
    // Per user: the last visit of the day (time, household) and how many
    // visits came at another house too soon after it.
    let mut last_door: HashMap<String, (i64, String)> = HashMap::new();
    let mut too_fast: BTreeMap<String, i64> = BTreeMap::new();
    let since = campaign
        .as_ref()
        .map(|c| day_start_ms(c.start_day()))
        .unwrap_or(i64::MIN);
    for v in &visits {
        let g = |e| AppError::db(e);
        let user: String = v.try_get(0).map_err(g)?;
        let at: i64 = v.try_get(1).map_err(g)?;
        let received: i64 = v.try_get(2).map_err(g)?;
        let outcomes: i64 = v.try_get(3).map_err(g)?;
        let activations: i64 = v.try_get(4).map_err(g)?;
        let household: String = v.try_get(5).map_err(g)?;
        let d = days.entry(user.clone()).or_insert_with(|| UserDay {
            user_id: user.clone(),
            name: user.clone(),
            role: String::new(),
            ..UserDay::default()
        });
        if at >= since {
            d.attempts_total += outcomes;
            d.activations_total += activations;
        }
        if at >= start {
            if outcomes > 0 {
                if let Some((t, h)) = last_door.get(&user)
                    && *h != household
                    && at - t < DOOR_GAP_MS
                {
                    *too_fast.entry(user.clone()).or_default() += 1;
                }
                last_door.insert(user.clone(), (at, household));
            }
            d.visits += 1;
            d.outcomes += outcomes;
            d.activations += activations;
            per_user
                .entry(user.clone())
                .or_default()
                .push((at, activations));
            if at > received + FUTURE_SLACK_MS {
                *future.entry(user).or_default() += 1;
            }
        }
    }
    let officer_target = campaign.as_ref().map(|c| c.officer_target).unwrap_or(0);
    for d in days.values_mut() {
        d.quota_kept = d.quota == 0 || d.outcomes >= d.quota;
        if d.role == "officer" && officer_target > 0 {
            d.target = i64::from(officer_target);
            d.target_percent_done =
                (d.activations_total as f64 * 1000.0 / d.target as f64).round() / 10.0;
        }
    }
    let name_of = |u: &str| names.get(u).cloned().unwrap_or_else(|| u.to_owned());
    for (user, list) in &per_user {
        // Most activations in any window of BURST_WINDOW_MS.
        let (mut best, mut sum, mut lo) = (0i64, 0i64, 0usize);
        for hi in 0..list.len() {
            sum += list[hi].1;
            while list[hi].0 - list[lo].0 > BURST_WINDOW_MS {
                sum -= list[lo].1;
                lo += 1;
            }
            best = best.max(sum);
        }
        if best >= BURST_ACTIVATIONS {
            signals.push(Signal {
                kind: "burst".into(),
                user_id: user.clone(),
                name: name_of(user),
                count: best,
                message_vi: format!(
                    "{best} kết quả kích hoạt trong vòng {} phút",
                    BURST_WINDOW_MS / 60_000
                ),
            });
        }
    }
    for (user, n) in too_fast {
        if n >= NO_VISIT_MIN {
            signals.push(Signal {
                kind: "no_time_at_door".into(),
                user_id: user.clone(),
                name: name_of(&user),
                count: n,
                message_vi: format!(
                    "{n} lượt ghi kết quả ở nhà khác chưa đầy {} giây sau lượt trước: \
                     không đủ thời gian đến tận nhà",
                    DOOR_GAP_MS / 1000
                ),
            });
        }
    }
    for (user, n) in future {
        signals.push(Signal {
            kind: "future_time".into(),
            user_id: user.clone(),
            name: name_of(&user),
            count: n,
            message_vi: format!("{n} lượt đến có giờ ghi muộn hơn lúc gửi về máy chủ"),
        });
    }
    let grace = campaign
        .as_ref()
        .map(|c| c.registry_grace_days)
        .unwrap_or(7);
    let silent = sqlx::query(
        "SELECT r.decided_by, COUNT(*) FROM residents r JOIN registry_marks m ON m.resident = r.id
         WHERE r.commune = $1 AND r.field_activated_at IS NOT NULL AND r.registry <> 'activated'
           AND r.field_activated_at < $2 AND m.checked_at > r.field_activated_at
         GROUP BY r.decided_by",
    )
    .bind(commune)
    .bind(now_ms - i64::from(grace) * DAY_MS)
    .fetch_all(&db.pool)
    .await
    .map_err(AppError::db)?;
    for r in silent {
        let user: Option<String> = r.try_get(0).map_err(AppError::db)?;
        let n: i64 = r.try_get(1).map_err(AppError::db)?;
        let user = user.unwrap_or_default();
        signals.push(Signal {
            kind: "registry_silent".into(),
            user_id: user.clone(),
            name: name_of(&user),
            count: n,
            message_vi: format!(
                "{n} người ghi đã kích hoạt nhưng dữ liệu dân cư sau {grace} ngày vẫn chưa ghi nhận"
            ),
        });
    }
    let mut users: Vec<UserDay> = days.into_values().collect();
    let coll = sync_core::text::collator();
    users.sort_by(|a, b| coll.compare(&a.name, &b.name));
    let commune_name = sync_core::ids::CommuneCode::parse(commune)
        .map(|c| c.commune_name().to_owned())
        .unwrap_or_else(|_| commune.to_owned());
    Ok(DailyReport {
        commune: commune.to_owned(),
        commune_name,
        day: plan::iso_date(day),
        target_percent: campaign.as_ref().map(|c| c.target_percent).unwrap_or(100),
        campaign,
        totals,
        hamlets,
        users,
        signals,
    })
}

/// Label of a remaining-work category.
pub fn category_vi(code: &str) -> &'static str {
    match code {
        "approved" => "Đã duyệt, chưa kích hoạt",
        "follow_up" => "Đã thu nhận / chờ duyệt",
        "no_application" => "Chưa có hồ sơ",
        "absent" => "Vắng mặt",
        "refused" => "Từ chối",
        "needs_support" => "Cần hỗ trợ",
        "conflict" => "Kết quả mâu thuẫn",
        _ => "Khác",
    }
}

const CATEGORIES: [&str; 7] = [
    "approved",
    "follow_up",
    "no_application",
    "absent",
    "refused",
    "needs_support",
    "conflict",
];

/// The daily report as sheets: summary by hamlet, remaining and ineligible
/// by reason, field users.
pub fn daily_sheets(r: &DailyReport, restricted: bool) -> Vec<Sheet> {
    let scope = format!("{} — Ngày {}", r.commune_name, vi_date(&r.day));
    let camp = r
        .campaign
        .as_ref()
        .map(|c| {
            format!(
                "{} ({} – {}), chỉ tiêu {}%",
                c.name,
                vi_date(&c.start),
                vi_date(&c.end),
                c.target_percent
            )
        })
        .unwrap_or_else(|| "Chưa có đợt cao điểm".into());
    let line = |name: &str, c: &Counts| {
        let mut row = vec![
            Cell::Text(name.to_owned()),
            Cell::Int(c.residents),
            Cell::Int(c.eligible),
            Cell::Int(c.activated),
            Cell::Percent(c.percent),
            Cell::Int(c.change_since_yesterday),
            Cell::Int(c.ineligible),
            Cell::Int(c.under_age),
        ];
        for k in CATEGORIES {
            row.push(Cell::Int(c.remaining.get(k).copied().unwrap_or(0)));
        }
        row
    };
    let mut rows: Vec<Vec<Cell>> = r.hamlets.iter().map(|h| line(&h.name, &h.counts)).collect();
    rows.push(line("TỔNG CỘNG", &r.totals));
    let mut headers: Vec<String> = [
        "Thôn/Tổ dân phố",
        "Số nhân khẩu",
        "Đủ điều kiện",
        "Đã kích hoạt",
        "Tỷ lệ (%)",
        "Tăng so với hôm qua",
        "Không đủ điều kiện",
        "Chưa đủ tuổi",
    ]
    .map(String::from)
    .to_vec();
    headers.extend(
        CATEGORIES
            .iter()
            .map(|k| format!("Còn lại: {}", category_vi(k))),
    );
    let summary = Sheet {
        name: "Tổng hợp".into(),
        title: "BÁO CÁO KẾT QUẢ THU NHẬN, KÍCH HOẠT TÀI KHOẢN ĐỊNH DANH ĐIỆN TỬ TRONG NGÀY".into(),
        subtitle: vec![scope.clone(), camp],
        widths: std::iter::once(20.0)
            .chain(std::iter::repeat_n(11.0, headers.len() - 1))
            .collect(),
        headers,
        rows,
        signatures: vec![
            "NGƯỜI LẬP BIỂU".into(),
            "TRƯỞNG CÔNG AN XÃ".into(),
            "CHỦ TỊCH UBND XÃ".into(),
        ],
    };
    let mut reasons: Vec<(IneligibleReason, i64)> = Vec::new();
    for (code, n) in &r.totals.ineligible_by_reason {
        if let Some(reason) = parse_code::<IneligibleReason>(code) {
            let reason = if restricted {
                reason.public_form()
            } else {
                reason
            };
            match reasons.iter_mut().find(|(x, _)| *x == reason) {
                Some((_, m)) => *m += n,
                None => reasons.push((reason, *n)),
            }
        }
    }
    reasons.sort_by_key(|(x, _)| *x);
    let ineligible = Sheet {
        name: "Không đủ điều kiện".into(),
        title: "SỐ CÔNG DÂN KHÔNG ĐỦ ĐIỀU KIỆN THEO LÝ DO".into(),
        subtitle: vec![scope.clone()],
        headers: vec!["STT".into(), "Lý do".into(), "Số người".into()],
        widths: vec![5.0, 50.0, 12.0],
        rows: reasons
            .iter()
            .enumerate()
            .map(|(i, (x, n))| vec![Cell::Int(i as i64 + 1), x.label_vi().into(), Cell::Int(*n)])
            .collect(),
        signatures: vec![],
    };
    let users = Sheet {
        name: "Theo cán bộ".into(),
        title: "KẾT QUẢ THEO CÁN BỘ, TÌNH NGUYỆN VIÊN".into(),
        subtitle: vec![scope.clone()],
        headers: [
            "STT",
            "Họ và tên",
            "Vai trò",
            "Lượt đến trong ngày",
            "Kết quả ghi nhận",
            "Kích hoạt",
            "Tổng lượt từ đầu đợt",
            "Định mức ngày",
            "Đạt định mức",
            "Kích hoạt từ đầu đợt",
            "Chỉ tiêu đợt",
            "% chỉ tiêu",
        ]
        .map(String::from)
        .to_vec(),
        widths: vec![
            5.0, 26.0, 14.0, 11.0, 11.0, 11.0, 11.0, 11.0, 11.0, 11.0, 11.0, 11.0,
        ],
        rows: r
            .users
            .iter()
            .enumerate()
            .map(|(i, u)| {
                vec![
                    Cell::Int(i as i64 + 1),
                    u.name.clone().into(),
                    (match u.role.as_str() {
                        "officer" => "Cán bộ",
                        "volunteer" => "Tình nguyện viên",
                        _ => "",
                    })
                    .into(),
                    Cell::Int(u.visits),
                    Cell::Int(u.outcomes),
                    Cell::Int(u.activations),
                    Cell::Int(u.attempts_total),
                    Cell::Int(u.quota),
                    (if u.quota_kept {
                        "Đạt"
                    } else {
                        "Chưa đạt"
                    })
                    .into(),
                    Cell::Int(u.activations_total),
                    if u.target > 0 {
                        Cell::Int(u.target)
                    } else {
                        "".into()
                    },
                    if u.target > 0 {
                        format!("{:.1}", u.target_percent_done).into()
                    } else {
                        "".into()
                    },
                ]
            })
            .collect(),
        signatures: vec![],
    };
    let signals = Sheet {
        name: "Dấu hiệu cần kiểm tra".into(),
        title: "DẤU HIỆU CẦN KIỂM TRA".into(),
        subtitle: vec![scope],
        headers: vec!["STT".into(), "Người ghi".into(), "Nội dung".into()],
        widths: vec![5.0, 26.0, 60.0],
        rows: r
            .signals
            .iter()
            .enumerate()
            .map(|(i, s)| {
                vec![
                    Cell::Int(i as i64 + 1),
                    s.name.clone().into(),
                    s.message_vi.clone().into(),
                ]
            })
            .collect(),
        signatures: vec![],
    };
    vec![summary, ineligible, users, signals]
}

/// A commune's line of the province roll-up.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct CommuneLine {
    /// Rank by percentage (1 = best).
    pub rank: usize,
    /// Commune code.
    pub commune: String,
    /// Commune name.
    pub name: String,
    /// Counts (change = activated during the week).
    pub counts: Counts,
    /// Visits during the week.
    pub visits: i64,
}

/// The weekly province roll-up.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ProvinceReport {
    /// Province code.
    pub province: String,
    /// Province name.
    pub province_name: String,
    /// First day of the week, `YYYY-MM-DD` (Monday).
    pub week_start: String,
    /// Last day, `YYYY-MM-DD` (Sunday).
    pub week_end: String,
    /// Whole province.
    pub totals: Counts,
    /// Communes with residents, best percentage first.
    pub communes: Vec<CommuneLine>,
}

/// The roll-up of `province` for the week holding `day`.
pub async fn province_week(db: &Db, province: &str, day: i32) -> Result<ProvinceReport, AppError> {
    let code = sync_core::ids::ProvinceCode::parse(province).map_err(|_| AppError::NotFound)?;
    // Monday of the week: day 0 (1970-01-01) was a Thursday.
    let monday = day - (day + 3).rem_euclid(7);
    let start = day_start_ms(monday);
    let end = start + 7 * DAY_MS;
    let rows = sqlx::query("SELECT DISTINCT commune FROM households")
        .fetch_all(&db.pool)
        .await
        .map_err(AppError::db)?;
    let mut communes: Vec<String> = Vec::new();
    for r in rows {
        let c: String = r.try_get(0).map_err(AppError::db)?;
        if sync_core::ids::CommuneCode::parse(&c).is_ok_and(|x| x.province_code() == code.as_str())
        {
            communes.push(c);
        }
    }
    // Group communes by birth cutoff (their campaigns' minimum ages).
    let mut by_cutoff: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for c in &communes {
        let cutoff = campaigns::current(db, c, day)
            .await?
            .map(|x| x.birth_cutoff())
            .unwrap_or_else(|| "9999".into());
        by_cutoff.entry(cutoff).or_default().push(c.clone());
    }
    let mut per_commune: BTreeMap<String, Counts> = BTreeMap::new();
    for (cutoff, list) in &by_cutoff {
        for chunk in list.chunks(500) {
            for ((commune, _), c) in aggregate(db, chunk, cutoff, start).await? {
                per_commune.entry(commune).or_default().add(&c);
            }
        }
    }
    let visits = sqlx::query(
        "SELECT commune, COUNT(*) FROM visits WHERE at_ms >= $1 AND at_ms < $2 GROUP BY commune",
    )
    .bind(start)
    .bind(end)
    .fetch_all(&db.pool)
    .await
    .map_err(AppError::db)?;
    let mut visit_counts: HashMap<String, i64> = HashMap::new();
    for r in visits {
        visit_counts.insert(
            r.try_get(0).map_err(AppError::db)?,
            r.try_get(1).map_err(AppError::db)?,
        );
    }
    let mut totals = Counts::default();
    let mut lines: Vec<CommuneLine> = per_commune
        .into_iter()
        .map(|(commune, mut c)| {
            c.finish();
            totals.add(&c);
            CommuneLine {
                rank: 0,
                name: sync_core::ids::CommuneCode::parse(&commune)
                    .map(|x| x.commune_name().to_owned())
                    .unwrap_or_else(|_| commune.clone()),
                visits: visit_counts.get(&commune).copied().unwrap_or(0),
                commune,
                counts: c,
            }
        })
        .collect();
    totals.finish();
    lines.sort_by(|a, b| {
        b.counts
            .percent
            .total_cmp(&a.counts.percent)
            .then_with(|| a.commune.cmp(&b.commune))
    });
    for (i, l) in lines.iter_mut().enumerate() {
        l.rank = i + 1;
    }
    Ok(ProvinceReport {
        province: code.as_str().to_owned(),
        province_name: code.name().to_owned(),
        week_start: plan::iso_date(monday),
        week_end: plan::iso_date(monday + 6),
        totals,
        communes: lines,
    })
}

/// The roll-up as a sheet.
pub fn province_sheet(r: &ProvinceReport) -> Sheet {
    Sheet {
        name: "Xếp hạng xã".into(),
        title: "TỔNG HỢP KẾT QUẢ KÍCH HOẠT TÀI KHOẢN ĐỊNH DANH ĐIỆN TỬ THEO TUẦN".into(),
        subtitle: vec![format!(
            "{} — Tuần từ {} đến {}",
            r.province_name,
            vi_date(&r.week_start),
            vi_date(&r.week_end)
        )],
        headers: [
            "Hạng",
            "Xã/Phường",
            "Số nhân khẩu",
            "Đủ điều kiện",
            "Đã kích hoạt",
            "Tỷ lệ (%)",
            "Kích hoạt trong tuần",
            "Lượt đến trong tuần",
        ]
        .map(String::from)
        .to_vec(),
        widths: vec![6.0, 26.0, 12.0, 12.0, 12.0, 10.0, 12.0, 12.0],
        rows: r
            .communes
            .iter()
            .map(|l| {
                vec![
                    Cell::Int(l.rank as i64),
                    l.name.clone().into(),
                    Cell::Int(l.counts.residents),
                    Cell::Int(l.counts.eligible),
                    Cell::Int(l.counts.activated),
                    Cell::Percent(l.counts.percent),
                    Cell::Int(l.counts.change_since_yesterday),
                    Cell::Int(l.visits),
                ]
            })
            .collect(),
        signatures: vec!["NGƯỜI LẬP BIỂU".into(), "THỦ TRƯỞNG ĐƠN VỊ".into()],
    }
}
