//! HTTP routes. Handlers are thin: they take a [`Caller`] (role and area
//! read fresh), check what they touch against the area, and call the
//! database layer. Anything outside the caller's area is the same 404 as a
//! missing id.

use crate::auth::{self, Area, Caller};
use crate::db::{accounts, audit, docs};
use crate::error::AppError;
use crate::{AppState, sync};
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::{get, post, put};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use sqlx::Row;
use std::sync::atomic::Ordering;
use sync_core::model::{HouseholdId, Role};

/// All routes, with the body limit (413 before the body is read).
pub fn routes(state: AppState) -> Router {
    let limit = state.settings.max_body_bytes;
    Router::new()
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .route("/api/v1/auth/login", post(login))
        .route("/api/v1/auth/refresh", post(refresh))
        .route("/api/v1/me", get(me))
        .route("/api/v1/sync", post(sync_handler))
        .route("/api/v1/households/{id}", get(household))
        .route("/api/v1/lists/{state}", get(list))
        .route("/api/v1/devices/{id}/revoke", post(revoke_device))
        .route("/api/v1/users/{id}/hamlets", put(set_hamlets))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            count_requests,
        ))
        .layer(tower_http::limit::RequestBodyLimitLayer::new(limit))
        .with_state(state)
}

async fn count_requests(
    State(state): State<AppState>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    state.metrics.requests.fetch_add(1, Ordering::Relaxed);
    next.run(req).await
}

async fn healthz(State(state): State<AppState>) -> Result<Json<serde_json::Value>, AppError> {
    state.db.ping().await?;
    Ok(Json(serde_json::json!({ "status": "ok" })))
}

async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        state.metrics.render(),
    )
}

/// Login request.
#[derive(Debug, Deserialize)]
pub struct LoginRequest {
    /// Login name.
    pub username: String,
    /// Password (never logged).
    pub password: String,
    /// The phone store's device id; `web` for a browser.
    pub device_id: String,
}

/// Tokens for a device.
#[derive(Debug, Serialize, Deserialize)]
pub struct Tokens {
    /// Short-lived access token (Bearer).
    pub access_token: String,
    /// Seconds until it expires.
    pub expires_in: u64,
    /// Rotating refresh token, bound to the device; usable once.
    pub refresh_token: String,
    /// Who logged in.
    pub user: UserInfo,
}

/// The caller's identity, role and area.
#[derive(Debug, Serialize, Deserialize, Clone)]
pub struct UserInfo {
    /// User id.
    pub id: String,
    /// Name shown.
    pub display_name: String,
    /// Role code.
    pub role: String,
    /// Commune code.
    pub commune: Option<String>,
    /// Province code.
    pub province: Option<String>,
    /// Hamlet ids (officers, volunteers).
    pub hamlets: Vec<String>,
}

fn user_info(user: &accounts::User, area: &Area) -> UserInfo {
    UserInfo {
        id: user.id.clone(),
        display_name: user.display_name.clone(),
        role: user.role.code().into(),
        commune: user.commune.clone(),
        province: user.province.clone(),
        hamlets: match area {
            Area::Hamlets { hamlets, .. } => hamlets.iter().cloned().collect(),
            _ => Vec::new(),
        },
    }
}

async fn issue_tokens(
    state: &AppState,
    user: &accounts::User,
    device: &str,
    family: Option<String>,
) -> Result<Tokens, AppError> {
    let access = state.keys.issue(&user.id, device)?;
    let (refresh, hash) = auth::new_refresh_token();
    let family = family.unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    accounts::store_refresh(
        &state.db,
        &hash,
        &family,
        device,
        &user.id,
        state.keys.refresh_ttl_secs,
    )
    .await?;
    let area = user.area(&state.db).await?;
    Ok(Tokens {
        access_token: access,
        expires_in: state.keys.access_ttl_secs,
        refresh_token: refresh,
        user: user_info(user, &area),
    })
}

async fn login(
    State(state): State<AppState>,
    Json(req): Json<LoginRequest>,
) -> Result<Json<Tokens>, AppError> {
    state.rate_check(&format!("login:{}", req.username))?;
    if req.device_id.is_empty() || req.device_id.len() > 100 {
        return Err(AppError::bad_request(
            "auth.device_id",
            "device_id must be 1 to 100 characters",
            "Mã thiết bị không hợp lệ",
        ));
    }
    let user = accounts::user_by_username(&state.db, &req.username).await?;
    // Verify against a dummy hash when the user is unknown, so timing does
    // not tell which login names exist.
    let ok = match &user {
        Some(u) => auth::verify_password(&req.password, &u.password_hash) && !u.disabled,
        None => {
            auth::verify_password(&req.password, DUMMY_HASH);
            false
        }
    };
    let user = user.filter(|_| ok).ok_or(AppError::BadLogin)?;
    accounts::register_device(&state.db, &req.device_id, &user.id).await?;
    Ok(Json(
        issue_tokens(&state, &user, &req.device_id, None).await?,
    ))
}

const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$0p1dzVgIv1/6LEb1J5zyP8D2+tWQm5s6Yx/5VhrTnkA";

/// Refresh request.
#[derive(Debug, Deserialize)]
pub struct RefreshRequest {
    /// The refresh token from the last login or refresh.
    pub refresh_token: String,
}

async fn refresh(
    State(state): State<AppState>,
    Json(req): Json<RefreshRequest>,
) -> Result<Json<Tokens>, AppError> {
    let hash = auth::hash_refresh_token(&req.refresh_token);
    let (user_id, device, family) = accounts::spend_refresh(&state.db, &hash).await?;
    if accounts::device(&state.db, &device)
        .await?
        .is_none_or(|d| d.revoked)
    {
        return Err(AppError::Unauthorized("auth.device_revoked"));
    }
    let user = accounts::user_by_id(&state.db, &user_id)
        .await?
        .filter(|u| !u.disabled)
        .ok_or(AppError::Unauthorized("auth.invalid_refresh"))?;
    Ok(Json(
        issue_tokens(&state, &user, &device, Some(family)).await?,
    ))
}

async fn me(State(state): State<AppState>, caller: Caller) -> Result<Json<UserInfo>, AppError> {
    let user = accounts::user_by_id(&state.db, &caller.user_id)
        .await?
        .ok_or(AppError::NotFound)?;
    Ok(Json(user_info(&user, &caller.area)))
}

#[axum::debug_handler]
async fn sync_handler(
    State(state): State<AppState>,
    caller: Caller,
    body: Bytes,
) -> Result<impl IntoResponse, AppError> {
    state.rate_check(&caller.user_id)?;
    let out = sync::handle(&state, &caller, &body).await?;
    state.metrics.syncs.fetch_add(1, Ordering::Relaxed);
    Ok(([(header::CONTENT_TYPE, "application/octet-stream")], out))
}

/// A household as the caller may see it.
#[derive(Debug, Serialize, Deserialize)]
pub struct HouseholdOut {
    /// Id.
    pub id: String,
    /// Commune code.
    pub commune: String,
    /// Hamlet id.
    pub hamlet: String,
    /// Address line.
    pub address: String,
    /// Residents.
    pub residents: Vec<ResidentOut>,
}

/// A resident as the caller may see it.
#[derive(Debug, Serialize, Deserialize)]
pub struct ResidentOut {
    /// Id.
    pub id: String,
    /// Full name.
    pub full_name: String,
    /// Derived state code.
    pub state: String,
    /// Personal ID number (omitted for volunteers).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub personal_id: Option<String>,
    /// Phone (omitted for volunteers).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
}

async fn household(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<HouseholdOut>, AppError> {
    state.rate_check(&caller.user_id)?;
    let hid = HouseholdId::parse(&id).ok_or(AppError::NotFound)?;
    let place = docs::place_of(&state.db.pool, hid)
        .await?
        .ok_or(AppError::NotFound)?;
    if !caller.area.contains(&place.commune, &place.hamlet) {
        return Err(AppError::NotFound);
    }
    let doc = docs::load(&state.db, &state.actor, hid)
        .await?
        .ok_or(AppError::NotFound)?;
    let view = doc.view().map_err(|e| AppError::Internal(e.to_string()))?;
    let statuses = doc
        .statuses()
        .map_err(|e| AppError::Internal(e.to_string()))?;
    let protected = caller.role.sees_protected();
    let out = HouseholdOut {
        id: view.id.to_string(),
        commune: view.commune.clone(),
        hamlet: view.hamlet.clone(),
        address: [
            &view.address.house_number,
            &view.address.alley,
            &view.address.street,
        ]
        .iter()
        .filter(|s| !s.is_empty())
        .map(|s| s.as_str())
        .collect::<Vec<_>>()
        .join(", "),
        residents: view
            .residents
            .iter()
            .zip(statuses.iter())
            .map(|(r, (_, s))| ResidentOut {
                id: r.id.to_string(),
                full_name: r.full_name.clone(),
                state: s.state.code().into(),
                personal_id: r
                    .protected
                    .personal_id
                    .as_ref()
                    .filter(|_| protected)
                    .map(|p| p.as_str().to_owned()),
                phone: r
                    .protected
                    .phone
                    .as_ref()
                    .filter(|_| protected)
                    .map(|p| p.as_str().to_owned()),
            })
            .collect(),
    };
    audit::record(
        &state.db,
        &caller.user_id,
        "household.read",
        Some(&place.commune),
        &caller.area.describe(),
        out.residents.len() as i64,
    )
    .await?;
    Ok(Json(out))
}

/// Filter of a list.
#[derive(Debug, Deserialize)]
pub struct ListQuery {
    /// Only this hamlet.
    pub hamlet: Option<String>,
    /// Only this commune (provincial users).
    pub commune: Option<String>,
}

/// One row of a list.
#[derive(Debug, Serialize, Deserialize)]
pub struct ListRow {
    /// Resident id.
    pub id: String,
    /// Household id.
    pub household: String,
    /// Full name.
    pub full_name: String,
    /// Hamlet id.
    pub hamlet: String,
    /// Sub-reason code.
    pub detail: Option<String>,
}

async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Path(list_state): Path<String>,
    Query(q): Query<ListQuery>,
) -> Result<Json<Vec<ListRow>>, AppError> {
    state.rate_check(&caller.user_id)?;
    const STATES: [&str; 8] = [
        "not_visited",
        "activated",
        "application_collected",
        "absent",
        "ineligible",
        "needs_support",
        "refused",
        "conflict",
    ];
    if !STATES.contains(&list_state.as_str()) {
        return Err(AppError::NotFound);
    }
    let commune = match (&caller.area, &q.commune) {
        (Area::Province(_), Some(c)) if caller.area.contains(c, "") => c.clone(),
        (Area::Province(_), _) => return Err(AppError::NotFound),
        (area, _) => area.commune().ok_or(AppError::NotFound)?.to_owned(),
    };
    let rows = sqlx::query(
        "SELECT id, household, full_name, hamlet, detail FROM residents
         WHERE commune = $1 AND state = $2 ORDER BY sort_key",
    )
    .bind(&commune)
    .bind(&list_state)
    .fetch_all(&state.db.pool)
    .await
    .map_err(AppError::db)?;
    let mut out = Vec::new();
    for r in rows {
        let hamlet: String = r.try_get(3).map_err(AppError::db)?;
        if !caller.area.contains(&commune, &hamlet)
            || q.hamlet.as_ref().is_some_and(|h| *h != hamlet)
        {
            continue;
        }
        let detail: Option<String> = r.try_get(4).map_err(AppError::db)?;
        out.push(ListRow {
            id: r.try_get(0).map_err(AppError::db)?,
            household: r.try_get(1).map_err(AppError::db)?,
            full_name: r.try_get(2).map_err(AppError::db)?,
            hamlet,
            // The projection holds real reasons; volunteers get stand-ins.
            detail: detail.map(|d| restrict_detail(&d, caller.role)),
        });
    }
    audit::record(
        &state.db,
        &caller.user_id,
        &format!("list.read:{list_state}"),
        Some(&commune),
        &caller.area.describe(),
        out.len() as i64,
    )
    .await?;
    Ok(Json(out))
}

/// Volunteers see the stand-in of a sensitive reason, never the reason.
fn restrict_detail(detail: &str, role: Role) -> String {
    use sync_core::model::IneligibleReason;
    if role.sees_protected() {
        return detail.to_owned();
    }
    match sync_core::doc::parse_code::<IneligibleReason>(detail) {
        Some(r) => sync_core::doc::code_of(&r.public_form()),
        None => detail.to_owned(),
    }
}

async fn revoke_device(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, AppError> {
    caller.require(&[Role::Leader])?;
    let device = accounts::device(&state.db, &id)
        .await?
        .ok_or(AppError::NotFound)?;
    let owner = accounts::user_by_id(&state.db, &device.user_id)
        .await?
        .ok_or(AppError::NotFound)?;
    if owner.commune.as_deref() != caller.area.commune() {
        return Err(AppError::NotFound);
    }
    accounts::revoke_device(&state.db, &id, &caller.user_id).await?;
    tracing::info!(device = %id, "device revoked");
    Ok(StatusCode::NO_CONTENT)
}

/// New hamlets of a user.
#[derive(Debug, Deserialize)]
pub struct HamletsRequest {
    /// Hamlet ids of the caller's commune.
    pub hamlets: Vec<String>,
}

async fn set_hamlets(
    State(state): State<AppState>,
    caller: Caller,
    Path(user): Path<String>,
    Json(req): Json<HamletsRequest>,
) -> Result<StatusCode, AppError> {
    caller.require(&[Role::Leader])?;
    let commune = caller.area.commune().ok_or(AppError::Forbidden)?.to_owned();
    let target = accounts::user_by_id(&state.db, &user)
        .await?
        .ok_or(AppError::NotFound)?;
    if target.commune.as_deref() != Some(commune.as_str())
        || !matches!(target.role, Role::Officer | Role::Volunteer)
    {
        return Err(AppError::NotFound);
    }
    let known: Vec<String> = accounts::hamlets_of(&state.db, &commune)
        .await?
        .into_iter()
        .map(|(id, _)| id)
        .collect();
    if let Some(bad) = req.hamlets.iter().find(|h| !known.contains(h)) {
        return Err(AppError::bad_request(
            "assign.unknown_hamlet",
            format!("unknown hamlet {bad}"),
            format!("Không có thôn/tổ dân phố {bad} trong xã"),
        ));
    }
    accounts::set_hamlets(&state.db, &user, &req.hamlets).await?;
    Ok(StatusCode::NO_CONTENT)
}
