//! The review queue: what the field could not settle, with the evidence
//! side by side, and the settlement that closes each item.
//!
//! * `conflict`: contradicting outcomes (activated and deceased, two
//!   reasons…); a leader decides.
//! * `awaiting_confirmation`: a volunteer's deceased / moved away / not
//!   living here / unable outcome; an officer (or the leader) confirms or
//!   corrects it.
//! * `registry_mismatch`: an officer's "activated" that imports of the
//!   registry still do not show after the campaign's grace days; a leader
//!   confirms or corrects it.
//!
//! A settlement is a change in the household document, written like any
//! other and merged by the phones on their next sync; `review_log` records
//! who settled what and why.

use super::campaigns;
use crate::auth::Caller;
use crate::db::{Db, audit, docs, now_ms};
use crate::error::AppError;
use automerge::ActorId;
use serde::{Deserialize, Serialize};
use sqlx::Row;
use sync_core::model::{
    HouseholdId, Outcome, Recorder, ResidentId, Role, Settlement, SettlementId,
};
use sync_core::plan::DAY_MS;
use sync_core::status::{OutcomeRecord, State};
use utoipa::ToSchema;

/// One record of the evidence.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Evidence {
    /// Visit (or settlement) id.
    pub visit: String,
    /// When, Unix milliseconds (phone clock).
    pub at_ms: i64,
    /// Who (user id).
    pub user_id: String,
    /// Who (name).
    pub name: String,
    /// Their role code.
    pub role: String,
    /// The outcome, as the API takes it in a settlement
    /// (`{"outcome": "ineligible", "reason": "moved_away"}`).
    #[schema(value_type = Object)]
    pub outcome: Outcome,
    /// The outcome in Vietnamese, with its reason.
    pub outcome_vi: String,
    /// Explanation written with it (protected; leaders and officers only).
    pub explanation: Option<String>,
}

/// One item of the queue.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ReviewItem {
    /// `conflict`, `awaiting_confirmation` or `registry_mismatch`.
    pub kind: String,
    /// The same in Vietnamese.
    pub kind_vi: String,
    /// Resident id.
    pub resident: String,
    /// Household id.
    pub household: String,
    /// Hamlet id.
    pub hamlet: String,
    /// Full name.
    pub full_name: String,
    /// Registry status code.
    pub registry: String,
    /// What contradicts what, in Vietnamese.
    pub details_vi: Vec<String>,
    /// The records, oldest first.
    pub evidence: Vec<Evidence>,
}

/// A decision on an item.
#[derive(Clone, Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SettleRequest {
    /// The outcome that stands, e.g. `{"outcome": "activated", "how": "on_the_spot"}`
    /// or `{"outcome": "ineligible", "reason": "moved_away"}`.
    #[schema(value_type = Object)]
    pub decision: Outcome,
    /// Why (kept in the review log and the document).
    pub note: Option<String>,
}

/// Vietnamese wording of an outcome with its reason.
pub fn outcome_vi(o: &Outcome) -> String {
    match o {
        Outcome::Ineligible { reason } => format!("{}: {}", o.label_vi(), reason.label_vi()),
        _ => o.label_vi().to_owned(),
    }
}

fn kind_vi(kind: &str) -> &'static str {
    match kind {
        "conflict" => "Kết quả mâu thuẫn",
        "awaiting_confirmation" => "Chờ cán bộ xác nhận",
        "registry_mismatch" => "Dữ liệu dân cư chưa ghi nhận kích hoạt",
        _ => "Khác",
    }
}

/// The queue of `commune`, restricted to what `caller` may see and settle.
pub async fn queue(db: &Db, caller: &Caller, commune: &str) -> Result<Vec<ReviewItem>, AppError> {
    let now = now_ms();
    let grace = campaigns::current(db, commune, sync_core::plan::vn_day(now))
        .await?
        .map(|c| c.registry_grace_days)
        .unwrap_or(7);
    let rows = sqlx::query(
        "SELECT r.id, r.household, r.hamlet, r.full_name, r.registry, r.state, r.awaiting_confirmation,
                CASE WHEN r.field_activated_at IS NOT NULL AND r.registry <> 'activated'
                      AND r.field_activated_at < $2 AND m.checked_at > r.field_activated_at
                      AND NOT EXISTS (SELECT 1 FROM review_log l WHERE l.resident = r.id
                                      AND l.kind = 'registry_mismatch' AND l.at > r.field_activated_at)
                     THEN 1 ELSE 0 END
         FROM residents r
         LEFT JOIN registry_marks m ON m.resident = r.id
         LEFT JOIN hamlets hm ON hm.id = r.hamlet
         WHERE r.commune = $1 AND (r.state = 'conflict' OR r.awaiting_confirmation = 1
               OR (r.field_activated_at IS NOT NULL AND r.registry <> 'activated'))
         ORDER BY hm.sort_key, r.hamlet, r.sort_key",
    )
    .bind(commune)
    .bind(now - i64::from(grace) * DAY_MS)
    .fetch_all(&db.pool)
    .await
    .map_err(AppError::db)?;
    let names: std::collections::HashMap<String, String> =
        sqlx::query("SELECT id, display_name FROM users WHERE commune = $1")
            .bind(commune)
            .fetch_all(&db.pool)
            .await
            .map_err(AppError::db)?
            .iter()
            .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
            .collect::<Result<_, sqlx::Error>>()
            .map_err(AppError::db)?;
    let actor = ActorId::random();
    let mut out = Vec::new();
    for r in rows {
        let g = |e| AppError::db(e);
        let hamlet: String = r.try_get(2).map_err(g)?;
        if !caller.area.contains(commune, &hamlet) {
            continue;
        }
        let state: String = r.try_get(5).map_err(g)?;
        let awaiting = r.try_get::<i64, _>(6).map_err(g)? != 0;
        let mismatch = r.try_get::<i64, _>(7).map_err(g)? != 0;
        let kind = if state == "conflict" {
            "conflict"
        } else if awaiting {
            "awaiting_confirmation"
        } else if mismatch {
            "registry_mismatch"
        } else {
            continue;
        };
        // Volunteers settle nothing; officers confirm volunteers' outcomes.
        let may_settle = match caller.role {
            Role::Leader => true,
            Role::Officer => kind == "awaiting_confirmation",
            _ => false,
        };
        if !may_settle {
            continue;
        }
        let rid: String = r.try_get(0).map_err(g)?;
        let hid: String = r.try_get(1).map_err(g)?;
        let (Some(resident), Some(household)) = (ResidentId::parse(&rid), HouseholdId::parse(&hid))
        else {
            continue;
        };
        let Some(doc) = docs::load(db, &actor, household).await? else {
            continue;
        };
        let statuses = doc
            .statuses()
            .map_err(|e| AppError::Internal(format!("status: {e}")))?;
        let status = statuses
            .iter()
            .find(|(id, _)| *id == resident)
            .map(|(_, s)| s);
        let (details_vi, records): (Vec<String>, Vec<OutcomeRecord>) = match status {
            Some(s) if s.state == State::Conflict => {
                let c = s.conflict.clone();
                (
                    c.as_ref()
                        .map(|c| c.kinds.iter().map(|k| k.label_vi().to_owned()).collect())
                        .unwrap_or_default(),
                    c.map(|c| c.records).unwrap_or_default(),
                )
            }
            _ => {
                let mut recs = doc.outcome_records().remove(&resident).unwrap_or_default();
                recs.sort_by_key(|o| (o.at_ms, o.visit));
                let detail = match kind {
                    "awaiting_confirmation" => {
                        "Kết quả do tình nguyện viên ghi, cần cán bộ xác nhận".to_owned()
                    }
                    _ => format!(
                        "Đã ghi kích hoạt hơn {grace} ngày nhưng dữ liệu dân cư vẫn chưa ghi nhận"
                    ),
                };
                (vec![detail], recs)
            }
        };
        let evidence = records
            .iter()
            .map(|o| Evidence {
                visit: o.visit.to_string(),
                at_ms: o.at_ms,
                user_id: o.by.user.clone(),
                name: names
                    .get(&o.by.user)
                    .cloned()
                    .unwrap_or_else(|| o.by.user.clone()),
                role: o.by.role.code().to_owned(),
                outcome: o.outcome,
                outcome_vi: outcome_vi(&o.outcome),
                explanation: doc.explanation(o.visit, resident),
            })
            .collect();
        out.push(ReviewItem {
            kind: kind.to_owned(),
            kind_vi: kind_vi(kind).to_owned(),
            resident: rid,
            household: hid,
            hamlet,
            full_name: r.try_get(3).map_err(g)?,
            registry: r.try_get(4).map_err(g)?,
            details_vi,
            evidence,
        });
    }
    audit::record(
        db,
        &caller.user_id,
        "review.read",
        Some(commune),
        &caller.area.describe(),
        out.len() as i64,
    )
    .await?;
    Ok(out)
}

/// Settles the queue item of `resident`: writes a settlement into the
/// household document (phones merge it on their next sync) and logs it.
pub async fn settle(
    db: &Db,
    caller: &Caller,
    resident: &str,
    req: &SettleRequest,
) -> Result<String, AppError> {
    if req.note.as_ref().is_some_and(|n| n.chars().count() > 2000) {
        return Err(AppError::bad_request(
            "review.note_too_long",
            "note longer than 2000 characters",
            "Ghi chú không quá 2000 ký tự.",
        ));
    }
    let commune = caller.area.commune().ok_or(AppError::NotFound)?.to_owned();
    let items = queue(db, caller, &commune).await?;
    // Only an item the caller sees (area) and may settle (role) is found.
    let item = items
        .into_iter()
        .find(|i| i.resident == resident)
        .ok_or(AppError::NotFound)?;
    if let Outcome::Ineligible { reason } = req.decision
        && matches!(
            reason,
            sync_core::model::IneligibleReason::RestrictedFinal
                | sync_core::model::IneligibleReason::RestrictedTemporary
        )
    {
        return Err(AppError::bad_request(
            "review.restricted_reason",
            "a settlement names the real reason, not its stand-in",
            "Khi giải quyết, hãy chọn lý do cụ thể.",
        ));
    }
    let rid = ResidentId::parse(&item.resident).ok_or(AppError::NotFound)?;
    let hid = HouseholdId::parse(&item.household).ok_or(AppError::NotFound)?;
    let actor = ActorId::random();
    let mut doc = docs::load(db, &actor, hid)
        .await?
        .ok_or(AppError::NotFound)?;
    let covers = doc
        .outcome_records()
        .remove(&rid)
        .unwrap_or_default()
        .into_iter()
        .map(|o| o.visit)
        .collect();
    let settlement = Settlement {
        id: SettlementId::new(),
        resident: rid,
        decision: req.decision,
        covers,
        by: Recorder {
            user: caller.user_id.clone(),
            role: caller.role,
            device: caller.device.clone(),
        },
        at_ms: now_ms(),
        note: req.note.clone(),
    };
    let changes = doc
        .settle(&settlement)
        .map_err(|e| AppError::Internal(format!("settle: {e}")))?;
    docs::write_local(db, &commune, &mut doc, changes).await?;
    {
        let _gate = db.write_gate().await;
        sqlx::query(
            "INSERT INTO review_log (id, commune, household, resident, kind, decision, by_user, at, note)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(settlement.id.to_string())
        .bind(&commune)
        .bind(&item.household)
        .bind(&item.resident)
        .bind(&item.kind)
        .bind(sync_core::doc::code_of(&req.decision))
        .bind(&caller.user_id)
        .bind(settlement.at_ms)
        .bind(&req.note)
        .execute(&db.pool)
        .await
        .map_err(AppError::db)?;
    }
    tracing::info!(kind = %item.kind, "review item settled");
    Ok(settlement.id.to_string())
}
