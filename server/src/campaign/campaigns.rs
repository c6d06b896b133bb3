//! Campaigns: a commune's named push with dates, a minimum age and targets
//! ("Cao điểm 50 ngày, đêm", 10/9–31/10, 14 tuổi trở lên).

use crate::db::{Db, now_ms};
use crate::error::AppError;
use serde::{Deserialize, Serialize};
use sqlx::Row;
use sqlx::any::AnyRow;
use sync_core::plan::{self, Terms};
use utoipa::ToSchema;

/// A campaign as stored.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Campaign {
    /// Campaign id.
    pub id: String,
    /// Commune code.
    pub commune: String,
    /// Name.
    pub name: String,
    /// First day, `YYYY-MM-DD`.
    pub start: String,
    /// Last day, `YYYY-MM-DD`, inclusive.
    pub end: String,
    /// Minimum age on the first day.
    pub min_age: u32,
    /// Share of eligible residents to activate, in percent.
    pub target_percent: u32,
    /// Residents each officer should complete over the campaign (0: none set).
    pub officer_target: u32,
    /// Most residents on an officer's list in one day (0: no cap).
    pub daily_cap: u32,
    /// Days before a temporary ineligibility or a refusal comes back.
    pub recheck_after_days: u32,
    /// Days after which an officer's "activated" that the registry does not
    /// show goes to the review queue.
    pub registry_grace_days: u32,
}

impl Campaign {
    /// First day as a day number.
    pub fn start_day(&self) -> i32 {
        plan::parse_date(&self.start).unwrap_or(0)
    }

    /// Last day as a day number.
    pub fn end_day(&self) -> i32 {
        plan::parse_date(&self.end).unwrap_or(0)
    }

    /// The planning terms the phones receive.
    pub fn terms(&self) -> Terms {
        Terms {
            campaign: self.id.clone(),
            name: self.name.clone(),
            start_day: self.start_day(),
            end_day: self.end_day(),
            min_age: self.min_age,
            daily_cap: self.daily_cap,
            recheck_after_days: self.recheck_after_days,
        }
    }

    /// The latest birth date (ISO) that is old enough: born on or before
    /// it means at least `min_age` on the first day.
    pub fn birth_cutoff(&self) -> String {
        let (y, m, d) = plan::civil_date(self.start_day());
        let y = y - self.min_age as i32;
        // 29 February of a non-leap year: the 28th is the last day of age.
        let d = if m == 2 && d == 29 && plan::parse_date(&format!("{y:04}-02-29")).is_none() {
            28
        } else {
            d
        };
        format!("{y:04}-{m:02}-{d:02}")
    }
}

/// A new campaign, as a leader enters it.
#[derive(Clone, Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewCampaign {
    /// Name, e.g. "Cao điểm 50 ngày, đêm".
    pub name: String,
    /// First day, `YYYY-MM-DD` (or `DD/MM/YYYY`).
    pub start: String,
    /// Last day, inclusive.
    pub end: String,
    /// Minimum age on the first day (14 in 2023–2025, 6 from 2026).
    #[serde(default = "default_min_age")]
    pub min_age: u32,
    /// Share of eligible residents to activate, in percent (default 100).
    #[serde(default = "default_target")]
    pub target_percent: u32,
    /// Residents each officer should complete over the campaign (0: none).
    #[serde(default)]
    pub officer_target: u32,
    /// Most residents a day on one officer's list (default 40; 0: no cap).
    #[serde(default = "default_cap")]
    pub daily_cap: u32,
    /// Days before a temporary reason or a refusal comes back (default 14).
    #[serde(default = "default_recheck")]
    pub recheck_after_days: u32,
    /// Days an officer's "activated" may wait for the registry (default 7).
    #[serde(default = "default_grace")]
    pub registry_grace_days: u32,
}

fn default_min_age() -> u32 {
    14
}
fn default_target() -> u32 {
    100
}
fn default_cap() -> u32 {
    40
}
fn default_recheck() -> u32 {
    14
}
fn default_grace() -> u32 {
    7
}

impl NewCampaign {
    /// A campaign with the defaults.
    pub fn new(name: &str, start: &str, end: &str) -> NewCampaign {
        NewCampaign {
            name: name.into(),
            start: start.into(),
            end: end.into(),
            min_age: default_min_age(),
            target_percent: default_target(),
            officer_target: 0,
            daily_cap: default_cap(),
            recheck_after_days: default_recheck(),
            registry_grace_days: default_grace(),
        }
    }
}

fn invalid(code: &'static str, message_vi: &str) -> AppError {
    AppError::bad_request(code, "invalid campaign", message_vi)
}

/// Checks and stores a campaign of `commune`.
pub async fn create(
    db: &Db,
    commune: &str,
    by: &str,
    new: &NewCampaign,
) -> Result<Campaign, AppError> {
    let name = new.name.trim();
    if name.is_empty() || name.chars().count() > 200 {
        return Err(invalid(
            "campaign.bad_name",
            "Tên đợt cao điểm không được để trống và không quá 200 ký tự.",
        ));
    }
    let (Some(start), Some(end)) = (plan::parse_date(&new.start), plan::parse_date(&new.end))
    else {
        return Err(invalid(
            "campaign.bad_date",
            "Ngày bắt đầu hoặc kết thúc không hợp lệ (dạng 2026-09-10 hoặc 10/09/2026).",
        ));
    };
    if end < start || end - start > 366 {
        return Err(invalid(
            "campaign.bad_range",
            "Ngày kết thúc phải sau ngày bắt đầu và đợt không dài quá một năm.",
        ));
    }
    if new.min_age > 120
        || new.target_percent > 100
        || new.daily_cap > 1000
        || new.recheck_after_days > 365
        || new.registry_grace_days > 365
        || new.officer_target > 1_000_000
    {
        return Err(invalid(
            "campaign.bad_number",
            "Một chỉ tiêu nằm ngoài khoảng cho phép (tuổi ≤ 120, tỷ lệ ≤ 100%, định mức ngày ≤ 1000).",
        ));
    }
    let c = Campaign {
        id: uuid::Uuid::now_v7().to_string(),
        commune: commune.to_owned(),
        name: name.to_owned(),
        start: plan::iso_date(start),
        end: plan::iso_date(end),
        min_age: new.min_age,
        target_percent: new.target_percent,
        officer_target: new.officer_target,
        daily_cap: new.daily_cap,
        recheck_after_days: new.recheck_after_days,
        registry_grace_days: new.registry_grace_days,
    };
    sqlx::query(
        "INSERT INTO campaigns (id, commune, name, start_day, end_day, min_age, target_percent,
             officer_target, daily_cap, recheck_after_days, registry_grace_days, created_by, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
    )
    .bind(&c.id)
    .bind(&c.commune)
    .bind(&c.name)
    .bind(i64::from(start))
    .bind(i64::from(end))
    .bind(i64::from(c.min_age))
    .bind(i64::from(c.target_percent))
    .bind(i64::from(c.officer_target))
    .bind(i64::from(c.daily_cap))
    .bind(i64::from(c.recheck_after_days))
    .bind(i64::from(c.registry_grace_days))
    .bind(by)
    .bind(now_ms())
    .execute(&db.pool)
    .await
    .map_err(AppError::db)?;
    Ok(c)
}

const COLUMNS: &str = "id, commune, name, start_day, end_day, min_age, target_percent, officer_target, \
     daily_cap, recheck_after_days, registry_grace_days";

fn from_row(r: &AnyRow) -> Result<Campaign, AppError> {
    let n = |i: usize| -> Result<u32, AppError> {
        let v: i64 = r.try_get(i).map_err(AppError::db)?;
        Ok(u32::try_from(v).unwrap_or(0))
    };
    let day = |i: usize| -> Result<String, AppError> {
        let v: i64 = r.try_get(i).map_err(AppError::db)?;
        Ok(plan::iso_date(i32::try_from(v).unwrap_or(0)))
    };
    Ok(Campaign {
        id: r.try_get(0).map_err(AppError::db)?,
        commune: r.try_get(1).map_err(AppError::db)?,
        name: r.try_get(2).map_err(AppError::db)?,
        start: day(3)?,
        end: day(4)?,
        min_age: n(5)?,
        target_percent: n(6)?,
        officer_target: n(7)?,
        daily_cap: n(8)?,
        recheck_after_days: n(9)?,
        registry_grace_days: n(10)?,
    })
}

/// The campaigns of a commune, latest first.
pub async fn list(db: &Db, commune: &str) -> Result<Vec<Campaign>, AppError> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM campaigns WHERE commune = $1 ORDER BY start_day DESC, created_at DESC"
    )))
    .bind(commune)
    .fetch_all(&db.pool)
    .await
    .map_err(AppError::db)?;
    rows.iter().map(from_row).collect()
}

/// The campaign that governs `today` in a commune: the one running today
/// (the latest started if several), else the last one that ended, else
/// the next to start.
pub async fn current(db: &Db, commune: &str, today: i32) -> Result<Option<Campaign>, AppError> {
    let all = list(db, commune).await?;
    let running = all
        .iter()
        .find(|c| c.start_day() <= today && today <= c.end_day());
    let ended = all
        .iter()
        .filter(|c| c.end_day() < today)
        .max_by_key(|c| c.end_day());
    let next = all
        .iter()
        .filter(|c| c.start_day() > today)
        .min_by_key(|c| c.start_day());
    Ok(running.or(ended).or(next).cloned())
}

/// The current campaign of the commune of an area, for sync.
pub async fn terms_for(db: &Db, commune: Option<&str>) -> Result<Option<Terms>, AppError> {
    let Some(commune) = commune else {
        return Ok(None);
    };
    Ok(current(db, commune, plan::vn_day(now_ms()))
        .await?
        .map(|c| c.terms()))
}
