//! Today's target list of a field user: the residents still to reach in
//! their hamlets, chosen by [`sync_core::plan`]'s priority up to the daily
//! quota, grouped by household in walking order. The phone computes the
//! same list offline from what it synced (`PhoneStore::targets`).

use super::campaigns::{self, Campaign};
use super::export::{Cell, Sheet};
use crate::auth::Area;
use crate::db::Db;
use crate::error::AppError;
use serde::{Deserialize, Serialize};
use sqlx::{AssertSqlSafe, Row};
use sync_core::model::RegistryStatus;
use sync_core::plan::{self, Candidate, Facts, Priority};
use sync_core::status::State;
use utoipa::ToSchema;

/// One resident on a target list.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct TargetResident {
    /// Resident id.
    pub id: String,
    /// Full name.
    pub full_name: String,
    /// Why they are on the list (`approved`, `follow_up`, `no_application`,
    /// `come_back`, `recheck`).
    pub priority: String,
    /// The same in Vietnamese.
    pub priority_vi: String,
    /// For someone out last time: when to come back (`weekday_evening`, …).
    pub come_back: Option<String>,
    /// The same in Vietnamese ("Tối ngày thường").
    pub come_back_vi: Option<String>,
    /// Registry status code.
    pub registry: String,
    /// Derived state code.
    pub state: String,
    /// Visits so far.
    pub attempts: i64,
}

/// One household on a target list.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct TargetHousehold {
    /// Household id.
    pub id: String,
    /// Hamlet id.
    pub hamlet: String,
    /// Số nhà.
    pub house_number: String,
    /// Ngõ / hẻm.
    pub alley: String,
    /// Đường / phố.
    pub street: String,
    /// Residents to reach, best priority first.
    pub residents: Vec<TargetResident>,
}

/// A day's target list.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct TargetList {
    /// Whose list.
    pub user_id: String,
    /// Day, `YYYY-MM-DD`.
    pub day: String,
    /// Campaign name, if one governs the day.
    pub campaign: Option<String>,
    /// Residents still to reach in the area.
    pub remaining: u32,
    /// Today's quota (the list holds whole households, so it may pass it by
    /// the size of the last household).
    pub quota: u32,
    /// Residents on the list.
    pub count: u32,
    /// Households in walking order.
    pub households: Vec<TargetHousehold>,
}

struct Row_ {
    id: String,
    household: String,
    hamlet: String,
    full_name: String,
    state: String,
    registry: String,
    attempts: i64,
    absent_at: Vec<i64>,
    walk_key: Vec<u8>,
    sort_key: Vec<u8>,
    address: (String, String, String),
}

/// The target list of `area` for the day of `now_ms` (Vietnam time).
pub async fn for_area(
    db: &Db,
    user_id: &str,
    commune: &str,
    area: &Area,
    now_ms: i64,
) -> Result<TargetList, AppError> {
    let today = plan::vn_day(now_ms);
    let campaign = campaigns::current(db, commune, today).await?;
    // An officer's hamlets are filtered in the database (the commune's other
    // rows are never read); a leader's area is the whole commune.
    let hamlets: Vec<&String> = match area {
        Area::Hamlets { hamlets, .. } => hamlets.iter().collect(),
        _ => Vec::new(),
    };
    let hamlet_filter = if matches!(area, Area::Hamlets { .. }) {
        if hamlets.is_empty() {
            " AND 1 = 0".to_owned()
        } else {
            let ps: Vec<String> = (0..hamlets.len()).map(|i| format!("${}", i + 2)).collect();
            format!(" AND r.hamlet IN ({})", ps.join(", "))
        }
    } else {
        String::new()
    };
    let sql = format!(
        "SELECT r.id, r.household, r.hamlet, r.full_name, r.state, r.detail, r.registry, r.attempts,
                r.decided_at, r.absent_at, r.birth_date, h.walk_key, r.sort_key, h.house_number,
                h.alley, h.street
         FROM residents r JOIN households h ON h.id = r.household
         WHERE r.commune = $1 AND r.registry <> 'activated' AND r.state NOT IN ('activated', 'conflict'){hamlet_filter}"
    );
    let mut query = sqlx::query(AssertSqlSafe(sql)).bind(commune);
    for h in &hamlets {
        query = query.bind(h.as_str());
    }
    let rows = query.fetch_all(&db.pool).await.map_err(AppError::db)?;
    let terms = campaign
        .as_ref()
        .map(Campaign::terms)
        .unwrap_or(plan::Terms {
            campaign: String::new(),
            name: String::new(),
            start_day: today,
            end_day: today,
            min_age: 0,
            daily_cap: 0,
            recheck_after_days: 14,
        });
    let cutoff = campaign.as_ref().map(Campaign::birth_cutoff);
    let mut found: Vec<(Row_, Priority, bool)> = Vec::new();
    for r in &rows {
        let hamlet: String = r.try_get(2).map_err(AppError::db)?;
        if !area.contains(commune, &hamlet) {
            continue;
        }
        let code: String = r.try_get(4).map_err(AppError::db)?;
        let detail: Option<String> = r.try_get(5).map_err(AppError::db)?;
        let Some(state) = State::from_codes(&code, detail.as_deref()) else {
            continue;
        };
        let registry: String = r.try_get(6).map_err(AppError::db)?;
        let birth: Option<String> = r.try_get(10).map_err(AppError::db)?;
        let of_age = match (&cutoff, &birth) {
            (Some(c), Some(b)) => Some(b.as_str() <= c.as_str()),
            _ => None,
        };
        let facts = Facts {
            registry: RegistryStatus::from_code(&registry).unwrap_or_default(),
            state: &state,
            decided_at_ms: r.try_get(8).map_err(AppError::db)?,
            of_age,
        };
        let Some(priority) = plan::priority(&facts, &terms, now_ms) else {
            continue;
        };
        let absent_at: String = r.try_get(9).map_err(AppError::db)?;
        found.push((
            Row_ {
                id: r.try_get(0).map_err(AppError::db)?,
                household: r.try_get(1).map_err(AppError::db)?,
                hamlet,
                full_name: r.try_get(3).map_err(AppError::db)?,
                state: code,
                registry,
                attempts: r.try_get(7).map_err(AppError::db)?,
                absent_at: absent_at
                    .split(',')
                    .filter_map(|t| t.parse().ok())
                    .collect(),
                walk_key: r.try_get(11).map_err(AppError::db)?,
                sort_key: r.try_get(12).map_err(AppError::db)?,
                address: (
                    r.try_get(13).map_err(AppError::db)?,
                    r.try_get(14).map_err(AppError::db)?,
                    r.try_get(15).map_err(AppError::db)?,
                ),
            },
            priority,
            plan::away_for_long(&state),
        ));
    }
    // Residents of a household in name order before ranking.
    found.sort_by(|a, b| (&a.0.household, &a.0.sort_key).cmp(&(&b.0.household, &b.0.sort_key)));
    let remaining = found.len() as u32;
    let quota = match &campaign {
        Some(_) => terms.quota(remaining, today),
        None => remaining,
    };
    let candidates: Vec<Candidate<usize>> = found
        .iter()
        .enumerate()
        .map(|(i, (r, p, away))| Candidate {
            key: i,
            household: r.household.clone(),
            walk_key: r.walk_key.clone(),
            priority: *p,
            away: *away,
        })
        .collect();
    let picked = plan::pick(&candidates, quota);
    let mut households: Vec<TargetHousehold> = Vec::new();
    for i in &picked {
        let (r, p, _) = &found[*i];
        if households.last().is_none_or(|h| h.id != r.household) {
            households.push(TargetHousehold {
                id: r.household.clone(),
                hamlet: r.hamlet.clone(),
                house_number: r.address.0.clone(),
                alley: r.address.1.clone(),
                street: r.address.2.clone(),
                residents: Vec::new(),
            });
        }
        let slot = (*p == Priority::ComeBack).then(|| plan::come_back_slot(&r.absent_at));
        if let Some(h) = households.last_mut() {
            h.residents.push(TargetResident {
                id: r.id.clone(),
                full_name: r.full_name.clone(),
                priority: p.code().to_owned(),
                priority_vi: p.label_vi().to_owned(),
                come_back: slot.map(|s| s.code()),
                come_back_vi: slot.map(|s| s.label_vi()),
                registry: r.registry.clone(),
                state: r.state.clone(),
                attempts: r.attempts,
            });
        }
    }
    Ok(TargetList {
        user_id: user_id.to_owned(),
        day: plan::iso_date(today),
        campaign: campaign.map(|c| c.name),
        remaining,
        quota,
        count: picked.len() as u32,
        households,
    })
}

/// The list as a printable sheet, for an officer who prefers paper.
pub fn sheet(list: &TargetList, who: &str, hamlet_names: &[(String, String)]) -> Sheet {
    let hamlet_name = |id: &str| {
        hamlet_names
            .iter()
            .find(|(h, _)| h == id)
            .map(|(_, n)| n.clone())
            .unwrap_or_else(|| id.to_owned())
    };
    let mut rows = Vec::new();
    let mut n = 0i64;
    for h in &list.households {
        let address = [h.house_number.as_str(), h.alley.as_str(), h.street.as_str()]
            .iter()
            .filter(|s| !s.is_empty())
            .copied()
            .collect::<Vec<_>>()
            .join(", ");
        for r in &h.residents {
            n += 1;
            rows.push(vec![
                Cell::Int(n),
                hamlet_name(&h.hamlet).into(),
                address.clone().into(),
                r.full_name.clone().into(),
                r.priority_vi.clone().into(),
                r.come_back_vi.clone().into(),
                Cell::Int(r.attempts),
                "".into(),
            ]);
        }
    }
    Sheet {
        name: "Danh sách đi gõ cửa".into(),
        title: "DANH SÁCH CÔNG DÂN CẦN ĐẾN TRONG NGÀY".into(),
        subtitle: vec![
            format!("Cán bộ: {who} — Ngày {}", vi_date(&list.day)),
            format!(
                "Định mức ngày: {} người — Còn lại: {} người{}",
                list.quota,
                list.remaining,
                list.campaign
                    .as_ref()
                    .map(|c| format!(" — {c}"))
                    .unwrap_or_default()
            ),
        ],
        headers: [
            "STT",
            "Thôn/Tổ dân phố",
            "Địa chỉ",
            "Họ và tên",
            "Ưu tiên",
            "Nên quay lại",
            "Số lần đã đến",
            "Kết quả",
        ]
        .map(String::from)
        .to_vec(),
        widths: vec![5.0, 18.0, 24.0, 26.0, 24.0, 18.0, 8.0, 20.0],
        rows,
        signatures: vec![],
    }
}

/// `2026-11-22` → `22/11/2026`.
pub fn vi_date(iso: &str) -> String {
    match plan::parse_date(iso) {
        Some(d) => {
            let (y, m, dd) = plan::civil_date(d);
            format!("{dd:02}/{m:02}/{y:04}")
        }
        None => iso.to_owned(),
    }
}
