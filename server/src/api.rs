//! HTTP routes. Handlers are thin: they take a [`Caller`] (role and area
//! read fresh), check what they touch against the area, and call the
//! database layer. Anything outside the caller's area is the same 404 as a
//! missing id.
//!
//! Each handler carries its OpenAPI description (`#[utoipa::path]`),
//! gathered in [`crate::openapi`] and served at `/api/openapi.json`. Every
//! error answer, including a malformed body or query and a body over the
//! limit, is the JSON [`ErrorBody`].

use crate::auth::{self, Area, Caller, SyncCaller};
use crate::db::{accounts, audit, docs};
use crate::error::AppError;
use crate::openapi::{
    ApiDoc, PayloadTooLarge, ServerError, SyncFrame, TooManyRequests, Unauthorized,
    UnprocessableBody, UnsupportedMediaType,
};
use crate::{AppState, sync};
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, JsonRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use sqlx::Row;
use std::collections::BTreeSet;
use std::sync::atomic::Ordering;
use sync_core::model::{HouseholdId, Role};
use utoipa::{IntoParams, OpenApi, ToSchema};

/// All routes, with the body limit (413 before the body is read).
pub fn routes(state: AppState) -> Router {
    let limit = state.settings.max_body_bytes;
    Router::new()
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .route("/api/openapi.json", get(openapi_json))
        .route("/api/v1/auth/login", post(login))
        .route("/api/v1/auth/refresh", post(refresh))
        .route("/api/v1/me", get(me))
        .route("/api/v1/sync", post(sync_handler))
        .route("/api/v1/households/{id}", get(household))
        .route("/api/v1/lists/{state}", get(list))
        .route("/api/v1/devices/{id}/revoke", post(revoke_device))
        .route("/api/v1/users/{id}/hamlets", put(set_hamlets))
        .merge(crate::campaign::routes::routes())
        .merge(crate::web::routes())
        .fallback(unknown_route)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            count_requests,
        ))
        .layer(tower_http::limit::RequestBodyLimitLayer::new(limit))
        .layer(axum::middleware::map_response(json_payload_too_large))
        .with_state(state)
}

/// The body of every error answer: [`AppError`]'s and the extractors'
/// ([`Rejection`]).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ErrorBody {
    /// Stable machine code, e.g. `auth.missing`, `not_found`,
    /// `request.invalid_body`.
    #[schema(example = "not_found")]
    pub code: String,
    /// English text, without personal data.
    #[schema(example = "Not found")]
    pub message: String,
    /// Vietnamese text, without personal data.
    #[schema(example = "Không tìm thấy")]
    pub message_vi: String,
}

/// A malformed request refused by an extractor before the handler runs:
/// axum's status (400, 413, 415 or 422) with the usual [`ErrorBody`]
/// rather than axum's plain-text explanation (which may quote the input).
#[derive(Debug)]
pub struct Rejection {
    status: StatusCode,
    body: ErrorBody,
}

impl Rejection {
    fn new(status: StatusCode, code: &str, message: &str, message_vi: &str) -> Rejection {
        Rejection {
            status,
            body: ErrorBody {
                code: code.into(),
                message: message.into(),
                message_vi: message_vi.into(),
            },
        }
    }

    /// The body is over `max_body_bytes`.
    fn too_large() -> Rejection {
        Rejection::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "request.too_large",
            "The request body is too large",
            "Dữ liệu gửi lên quá lớn",
        )
    }
}

impl IntoResponse for Rejection {
    fn into_response(self) -> Response {
        (self.status, Json(self.body)).into_response()
    }
}

impl From<BytesRejection> for Rejection {
    fn from(r: BytesRejection) -> Rejection {
        if r.status() == StatusCode::PAYLOAD_TOO_LARGE {
            Rejection::too_large()
        } else {
            Rejection::new(
                r.status(),
                "request.unreadable_body",
                "The request body could not be read",
                "Không đọc được dữ liệu gửi lên",
            )
        }
    }
}

impl From<JsonRejection> for Rejection {
    fn from(r: JsonRejection) -> Rejection {
        let status = r.status();
        match r {
            JsonRejection::MissingJsonContentType(_) => Rejection::new(
                status,
                "request.content_type",
                "Send the body as Content-Type: application/json",
                "Dữ liệu phải gửi dạng JSON (Content-Type: application/json)",
            ),
            JsonRejection::JsonSyntaxError(_) => Rejection::new(
                status,
                "request.invalid_json",
                "The request body is not valid JSON",
                "Dữ liệu gửi lên không phải JSON hợp lệ",
            ),
            JsonRejection::BytesRejection(b) => Rejection::from(b),
            // JsonDataError, and whatever later axum versions add.
            _ => Rejection::new(
                status,
                "request.invalid_body",
                "The request body lacks a field or has a value of the wrong type",
                "Dữ liệu gửi lên thiếu trường hoặc có giá trị sai kiểu",
            ),
        }
    }
}

impl From<QueryRejection> for Rejection {
    fn from(r: QueryRejection) -> Rejection {
        Rejection::new(
            r.status(),
            "request.invalid_query",
            "The query string is malformed (e.g. a repeated parameter)",
            "Tham số truy vấn không hợp lệ",
        )
    }
}

/// [`Json`] whose refusals are [`Rejection`]s.
#[derive(Debug, FromRequest)]
#[from_request(via(Json), rejection(Rejection))]
pub struct ApiJson<T>(pub T);

/// [`Query`] whose refusals are [`Rejection`]s.
#[derive(Debug, FromRequestParts)]
#[from_request(via(Query), rejection(Rejection))]
pub struct ApiQuery<T>(pub T);

/// The body limit layer answers 413 in plain text before any handler (or
/// extractor) runs, and so does a [`Bytes`] body cut off at the limit; this
/// gives those answers the usual JSON body.
async fn json_payload_too_large(resp: Response) -> Response {
    let is_json = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    if resp.status() == StatusCode::PAYLOAD_TOO_LARGE && !is_json {
        Rejection::too_large().into_response()
    } else {
        resp
    }
}

/// No route has this path: the same JSON 404 as a missing id.
async fn unknown_route() -> AppError {
    AppError::NotFound
}

/// PostgreSQL `text` cannot hold NUL, and no stored id or name contains
/// one: input with a NUL matches nothing, and must not reach the database
/// (where it is an error, not a miss).
pub(crate) fn storable(s: &str) -> bool {
    !s.contains('\0')
}

async fn count_requests(
    State(state): State<AppState>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    state.metrics.requests.fetch_add(1, Ordering::Relaxed);
    next.run(req).await
}

/// Answer of `/healthz`.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Health {
    /// Always `ok`.
    #[schema(example = "ok")]
    pub status: String,
}

/// Liveness: the server answers and so does its database.
#[utoipa::path(
    get,
    path = "/healthz",
    tag = "ops",
    responses(
        (status = 200, description = "Up, database reachable", body = Health),
        (status = 500, response = ServerError),
    )
)]
async fn healthz(State(state): State<AppState>) -> Result<Json<Health>, AppError> {
    state.db.ping().await?;
    Ok(Json(Health {
        status: "ok".into(),
    }))
}

/// Counters in the Prometheus text format.
#[utoipa::path(
    get,
    path = "/metrics",
    tag = "ops",
    responses(
        (status = 200, description = "Prometheus text exposition format 0.0.4",
         body = String, content_type = "text/plain"),
    )
)]
async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        state.metrics.render(),
    )
}

/// This OpenAPI document.
#[utoipa::path(
    get,
    path = "/api/openapi.json",
    tag = "ops",
    responses(
        (status = 200, description = "OpenAPI 3.1 document of this API", body = Object),
    )
)]
async fn openapi_json() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}

/// Login request.
#[derive(Debug, Deserialize, ToSchema)]
pub struct LoginRequest {
    /// Login name.
    pub username: String,
    /// Password (never logged).
    #[schema(format = Password)]
    pub password: String,
    /// The phone store's device id; `web` for a browser. 1 to 100
    /// characters.
    #[schema(min_length = 1, max_length = 100)]
    pub device_id: String,
}

/// Tokens for a device.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
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
#[derive(Debug, Serialize, Deserialize, Clone, ToSchema)]
pub struct UserInfo {
    /// User id.
    pub id: String,
    /// Name shown.
    pub display_name: String,
    /// Role code: `officer`, `volunteer`, `leader` or `provincial_admin`.
    #[schema(example = "officer")]
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

/// Logs a device in.
///
/// Answers an access token, a refresh token bound to the device, and who
/// logged in. Rate-limited per login name.
#[utoipa::path(
    post,
    path = "/api/v1/auth/login",
    tag = "auth",
    request_body = LoginRequest,
    responses(
        (status = 200, description = "Logged in", body = Tokens),
        (status = 400, description = "Malformed JSON (`request.invalid_json`), a device id that \
            is empty, longer than 100 characters or contains NUL (`auth.device_id`), or a device \
            registered to another user (`auth.device_taken`)", body = ErrorBody),
        (status = 401, description = "Wrong username or password, or a disabled account \
            (`auth.bad_login`, the same for all three); a revoked device \
            (`auth.device_revoked`)", body = ErrorBody),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 422, response = UnprocessableBody),
        (status = 429, response = TooManyRequests),
        (status = 500, response = ServerError),
    )
)]
async fn login(
    State(state): State<AppState>,
    ApiJson(req): ApiJson<LoginRequest>,
) -> Result<Json<Tokens>, AppError> {
    // Keys are bounded in length, and `serve` prunes idle ones each minute,
    // so random login names cannot grow the limiter without bound.
    let name_key: String = req.username.chars().take(64).collect();
    state.rate_check(&format!("login:{name_key}"))?;
    let chars = req.device_id.chars().count();
    if chars == 0 || chars > 100 || !storable(&req.device_id) {
        return Err(AppError::bad_request(
            "auth.device_id",
            "device_id must be 1 to 100 characters",
            "Mã thiết bị không hợp lệ",
        ));
    }
    let user = if storable(&req.username) {
        accounts::user_by_username(&state.db, &req.username).await?
    } else {
        None
    };
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

pub(crate) const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$0p1dzVgIv1/6LEb1J5zyP8D2+tWQm5s6Yx/5VhrTnkA";

/// Refresh request.
#[derive(Debug, Deserialize, ToSchema)]
pub struct RefreshRequest {
    /// The refresh token from the last login or refresh.
    pub refresh_token: String,
}

/// Trades a refresh token for new tokens.
///
/// A refresh token is usable once; replaying a spent one revokes its whole
/// family.
#[utoipa::path(
    post,
    path = "/api/v1/auth/refresh",
    tag = "auth",
    request_body = RefreshRequest,
    responses(
        (status = 200, description = "New tokens; the one sent is spent", body = Tokens),
        (status = 400, description = "Malformed JSON (`request.invalid_json`)", body = ErrorBody),
        (status = 401, description = "Unknown (`auth.invalid_refresh`), expired \
            (`auth.expired`) or replayed (`auth.refresh_reused`) refresh token, revoked device \
            (`auth.device_revoked`) or disabled account", body = ErrorBody),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 422, response = UnprocessableBody),
        (status = 500, response = ServerError),
    )
)]
async fn refresh(
    State(state): State<AppState>,
    ApiJson(req): ApiJson<RefreshRequest>,
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

/// The caller's identity, role and area, read now.
#[utoipa::path(
    get,
    path = "/api/v1/me",
    tag = "auth",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The caller", body = UserInfo),
        (status = 401, response = Unauthorized),
        (status = 404, description = "The account vanished after its token was checked \
            (`not_found`)", body = ErrorBody),
        (status = 429, response = TooManyRequests),
        (status = 500, response = ServerError),
    )
)]
async fn me(State(state): State<AppState>, caller: Caller) -> Result<Json<UserInfo>, AppError> {
    let user = accounts::user_by_id(&state.db, &caller.user_id)
        .await?
        .ok_or(AppError::NotFound)?;
    Ok(Json(user_info(&user, &caller.area)))
}

/// One sync round trip.
///
/// The phone's new changes in, the changes and documents of its area out
/// (docs/PROTOCOL.md). Officers, volunteers and leaders only; a revoked
/// device is answered with a wipe.
#[utoipa::path(
    post,
    path = "/api/v1/sync",
    tag = "sync",
    security(("bearer" = [])),
    request_body(content = SyncFrame, content_type = "application/octet-stream",
        description = "A sync request frame"),
    responses(
        (status = 200, description = "A sync response frame (a `wipe` answer for a revoked \
            device)", body = SyncFrame, content_type = "application/octet-stream"),
        (status = 400, description = "A frame that does not decode, is over a limit or carries \
            changes that do not parse (protocol error codes)", body = ErrorBody),
        (status = 401, description = "Missing, malformed, expired or forged access token, a \
            disabled account, or a frame from another device than the token's \
            (`auth.device_mismatch`)", body = ErrorBody),
        (status = 403, description = "A provincial account, which does not sync \
            (`auth.forbidden`)", body = ErrorBody),
        (status = 413, response = PayloadTooLarge),
        (status = 429, response = TooManyRequests),
        (status = 500, response = ServerError),
        (status = 503, description = "Overloaded: every database connection stayed busy; retry \
            after `Retry-After` seconds, nothing sent was lost (`server.busy`)", body = ErrorBody),
    )
)]
#[axum::debug_handler]
async fn sync_handler(
    State(state): State<AppState>,
    SyncCaller(caller): SyncCaller,
    body: Bytes,
) -> Result<impl IntoResponse, AppError> {
    // The planning terms of the commune's campaign go with every answer.
    let terms = crate::campaign::campaigns::terms_for(&state.db, caller.area.commune()).await?;
    let out = sync::handle(&state, &caller, &body, terms).await?;
    state.metrics.syncs.fetch_add(1, Ordering::Relaxed);
    Ok(([(header::CONTENT_TYPE, "application/octet-stream")], out))
}

/// A household as the caller may see it.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct HouseholdOut {
    /// Id.
    #[schema(format = "uuid")]
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
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ResidentOut {
    /// Id.
    #[schema(format = "uuid")]
    pub id: String,
    /// Full name.
    pub full_name: String,
    /// Derived state code.
    #[schema(value_type = ListState)]
    pub state: String,
    /// Personal ID number (omitted for volunteers).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub personal_id: Option<String>,
    /// Phone (omitted for volunteers).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
}

/// One household with its residents.
///
/// Protected fields only for roles that see them. The read is audited.
#[utoipa::path(
    get,
    path = "/api/v1/households/{id}",
    tag = "data",
    security(("bearer" = [])),
    params(("id" = String, Path, format = "uuid", description = "Household id")),
    responses(
        (status = 200, description = "The household", body = HouseholdOut),
        (status = 401, response = Unauthorized),
        (status = 404, description = "No such household, not a household id, or outside the \
            caller's area: the same answer (`not_found`)", body = ErrorBody),
        (status = 429, response = TooManyRequests),
        (status = 500, response = ServerError),
    )
)]
pub(crate) async fn household(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<HouseholdOut>, AppError> {
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

/// Which list: a resident's derived state (`sync_core::status::State`'s
/// code).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ListState {
    /// No outcome recorded yet.
    NotVisited,
    /// Activated: on the confirmation list.
    Activated,
    /// Level-2 application collected, pending approval.
    ApplicationCollected,
    /// Not present at the last attempt.
    Absent,
    /// Ineligible.
    Ineligible,
    /// Needs the police's help.
    NeedsSupport,
    /// Refused.
    Refused,
    /// Contradicting outcomes, waiting for a leader.
    Conflict,
}

impl ListState {
    /// Every list.
    pub const ALL: [ListState; 8] = [
        ListState::NotVisited,
        ListState::Activated,
        ListState::ApplicationCollected,
        ListState::Absent,
        ListState::Ineligible,
        ListState::NeedsSupport,
        ListState::Refused,
        ListState::Conflict,
    ];

    /// The state code stored in the `residents` projection.
    pub fn code(self) -> &'static str {
        match self {
            ListState::NotVisited => "not_visited",
            ListState::Activated => "activated",
            ListState::ApplicationCollected => "application_collected",
            ListState::Absent => "absent",
            ListState::Ineligible => "ineligible",
            ListState::NeedsSupport => "needs_support",
            ListState::Refused => "refused",
            ListState::Conflict => "conflict",
        }
    }

    /// Parses a code.
    pub fn from_code(code: &str) -> Option<ListState> {
        ListState::ALL.into_iter().find(|s| s.code() == code)
    }
}

/// Filter of a list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Only this hamlet.
    pub hamlet: Option<String>,
    /// Only this commune (provincial users; required for them).
    pub commune: Option<String>,
}

/// One row of a list.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
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

/// The residents on one list.
///
/// From the caller's commune (for provincial users, the commune asked
/// for), restricted to the caller's area, in Vietnamese name order.
/// Volunteers get stand-ins for sensitive reasons. The read is audited.
#[utoipa::path(
    get,
    path = "/api/v1/lists/{state}",
    tag = "data",
    security(("bearer" = [])),
    params(("state" = ListState, Path, description = "Which list"), ListQuery),
    responses(
        (status = 200, description = "The list (possibly empty)", body = Vec<ListRow>),
        (status = 400, description = "Malformed query string, e.g. a repeated parameter \
            (`request.invalid_query`)", body = ErrorBody),
        (status = 401, response = Unauthorized),
        (status = 404, description = "Unknown list, or a provincial user without a commune \
            of their province (`not_found`)", body = ErrorBody),
        (status = 429, response = TooManyRequests),
        (status = 500, response = ServerError),
    )
)]
async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Path(list_state): Path<String>,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> Result<Json<Vec<ListRow>>, AppError> {
    let list_state = ListState::from_code(&list_state)
        .ok_or(AppError::NotFound)?
        .code();
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
    .bind(list_state)
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

/// Revokes a device.
///
/// The device must belong to someone of the leader's commune; every refresh
/// token issued to it dies, and its next sync is answered with a wipe.
/// Leaders only.
#[utoipa::path(
    post,
    path = "/api/v1/devices/{id}/revoke",
    tag = "admin",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Device id")),
    responses(
        (status = 204, description = "Revoked (or already revoked)"),
        (status = 401, response = Unauthorized),
        (status = 403, description = "Not a leader (`auth.forbidden`)", body = ErrorBody),
        (status = 404, description = "No such device, or its owner is outside the leader's \
            commune (`not_found`)", body = ErrorBody),
        (status = 429, response = TooManyRequests),
        (status = 500, response = ServerError),
    )
)]
pub(crate) async fn revoke_device(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, AppError> {
    caller.require(&[Role::Leader])?;
    if !storable(&id) {
        return Err(AppError::NotFound);
    }
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
#[derive(Debug, Deserialize, ToSchema)]
pub struct HamletsRequest {
    /// Hamlet ids of the caller's commune (repeats are ignored).
    pub hamlets: Vec<String>,
}

/// Reassigns an officer or volunteer to hamlets.
///
/// The user must be of the leader's commune; their phone receives the new
/// hamlets and purges the old ones. Leaders only.
#[utoipa::path(
    put,
    path = "/api/v1/users/{id}/hamlets",
    tag = "admin",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "User id")),
    request_body = HamletsRequest,
    responses(
        (status = 204, description = "Reassigned"),
        (status = 400, description = "Malformed JSON (`request.invalid_json`), or a hamlet \
            that is not the commune's (`assign.unknown_hamlet`)", body = ErrorBody),
        (status = 401, response = Unauthorized),
        (status = 403, description = "Not a leader (`auth.forbidden`)", body = ErrorBody),
        (status = 404, description = "No such user, or not an officer or volunteer of the \
            leader's commune (`not_found`)", body = ErrorBody),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 422, response = UnprocessableBody),
        (status = 429, response = TooManyRequests),
        (status = 500, response = ServerError),
    )
)]
pub(crate) async fn set_hamlets(
    State(state): State<AppState>,
    caller: Caller,
    Path(user): Path<String>,
    ApiJson(req): ApiJson<HamletsRequest>,
) -> Result<StatusCode, AppError> {
    caller.require(&[Role::Leader])?;
    let commune = caller.area.commune().ok_or(AppError::Forbidden)?.to_owned();
    if !storable(&user) {
        return Err(AppError::NotFound);
    }
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
    // A repeated hamlet would break the (user, hamlet) key: keep one of each.
    let hamlets: Vec<String> = req
        .hamlets
        .into_iter()
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    accounts::set_hamlets(&state.db, &user, &hamlets).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_state_codes_are_its_serde_names() {
        for s in ListState::ALL {
            assert_eq!(serde_json::to_value(s).unwrap(), s.code());
            assert_eq!(ListState::from_code(s.code()), Some(s));
        }
        assert_eq!(ListState::from_code("nope"), None);
    }

    /// [`ErrorBody`] documents [`AppError`]'s body: they must not drift.
    #[tokio::test]
    async fn app_error_body_is_error_body() {
        let resp = AppError::NotFound.into_response();
        let bytes = axum::body::to_bytes(resp.into_body(), 1 << 16)
            .await
            .unwrap();
        let body: ErrorBody = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(body.code, "not_found");
    }
}
