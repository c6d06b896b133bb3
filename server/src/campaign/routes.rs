//! HTTP routes of campaign operations: campaigns, imports, team
//! assignments, target lists, signed lists and reports (JSON, XLSX, CSV),
//! and the review queue. Same rules as [`crate::api`]: every id is checked
//! against the caller's area (outside = 404), every read of a list and
//! every export is audited, every error is the JSON `ErrorBody`.

use super::campaigns::{self, Campaign, NewCampaign};
use super::export::{self, Sheet};
use super::import::{self, ImportSummary};
use super::reports::{self, DailyReport, ListEntry, ListKind, ProvinceReport};
use super::review::{self, ReviewItem, SettleRequest};
use super::targets::{self, TargetList};
use crate::AppState;
use crate::api::{ApiJson, ApiQuery, ErrorBody, storable};
use crate::auth::{Area, Caller};
use crate::db::{accounts, audit, now_ms};
use crate::error::AppError;
use crate::openapi::{
    PayloadTooLarge, ServerError, TooManyRequests, Unauthorized, UnprocessableBody,
    UnsupportedMediaType,
};
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use sync_core::model::Role;
use sync_core::plan;
use utoipa::{IntoParams, ToSchema};

/// The routes of this module.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/api/v1/campaigns",
            get(list_campaigns).post(create_campaign),
        )
        .route("/api/v1/imports", post(import_file))
        .route("/api/v1/users/{id}/team", put(set_team))
        .route("/api/v1/targets", get(target_list))
        .route("/api/v1/exports/{list}", get(export_list))
        .route("/api/v1/reports/daily", get(daily_report))
        .route("/api/v1/reports/province", get(province_report))
        .route("/api/v1/review", get(review_queue))
        .route("/api/v1/review/{resident}/settle", post(settle))
}

/// File format of a list or report.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum FileFormat {
    /// JSON (the default).
    #[default]
    Json,
    /// Excel workbook.
    Xlsx,
    /// CSV for Excel (UTF-8 with BOM).
    Csv,
}

pub(crate) fn commune_for(caller: &Caller, asked: Option<&String>) -> Result<String, AppError> {
    match (&caller.area, asked) {
        (Area::Province(_), Some(c)) if storable(c) && caller.area.contains(c, "") => Ok(c.clone()),
        (Area::Province(_), _) => Err(AppError::NotFound),
        (area, _) => Ok(area.commune().ok_or(AppError::NotFound)?.to_owned()),
    }
}

pub(crate) fn day_of(asked: Option<&String>) -> Result<i32, AppError> {
    match asked {
        None => Ok(plan::vn_day(now_ms())),
        Some(d) => plan::parse_date(d).ok_or_else(|| {
            AppError::bad_request(
                "request.bad_date",
                "day must be YYYY-MM-DD",
                "Ngày không hợp lệ (dạng 2026-11-22).",
            )
        }),
    }
}

/// `Content-Disposition` with an ASCII fallback and the UTF-8 name.
fn attachment(name: &str) -> HeaderValue {
    let ascii: String = sync_core::text::fold(name)
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "-_.".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    let mut encoded = String::new();
    for b in name.as_bytes() {
        if b.is_ascii_alphanumeric() || b"-_.".contains(b) {
            encoded.push(*b as char);
        } else {
            encoded.push_str(&format!("%{b:02X}"));
        }
    }
    HeaderValue::from_str(&format!(
        "attachment; filename=\"{ascii}\"; filename*=UTF-8''{encoded}"
    ))
    .unwrap_or_else(|_| HeaderValue::from_static("attachment"))
}

/// A file answer in the asked format.
fn file(format: FileFormat, base_name: &str, sheets: &[Sheet]) -> Result<Response, AppError> {
    let (bytes, mime, ext) = match format {
        FileFormat::Xlsx => (
            export::to_xlsx(sheets)?,
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            "xlsx",
        ),
        FileFormat::Csv | FileFormat::Json => (
            export::to_csv(sheets.first().ok_or(AppError::NotFound)?)?,
            "text/csv; charset=utf-8",
            "csv",
        ),
    };
    let mut resp = bytes.into_response();
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(mime));
    h.insert(
        header::CONTENT_DISPOSITION,
        attachment(&format!("{base_name}.{ext}")),
    );
    Ok(resp)
}

// ---------------------------------------------------------------------------
// Campaigns
// ---------------------------------------------------------------------------

/// The commune's campaigns, latest first.
#[utoipa::path(
    get,
    path = "/api/v1/campaigns",
    tag = "campaign",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Campaigns of the caller's commune", body = Vec<Campaign>),
        (status = 401, response = Unauthorized),
        (status = 404, description = "A provincial account has no commune (`not_found`)", body = ErrorBody),
        (status = 429, response = TooManyRequests),
        (status = 500, response = ServerError),
    )
)]
pub(crate) async fn list_campaigns(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Vec<Campaign>>, AppError> {
    let commune = caller.area.commune().ok_or(AppError::NotFound)?;
    Ok(Json(campaigns::list(&state.db, commune).await?))
}

/// Creates a campaign of the leader's commune.
#[utoipa::path(
    post,
    path = "/api/v1/campaigns",
    tag = "campaign",
    security(("bearer" = [])),
    request_body = NewCampaign,
    responses(
        (status = 201, description = "Created", body = Campaign),
        (status = 400, description = "Malformed JSON, a bad date or range, or a number out of \
            range (`campaign.*`)", body = ErrorBody),
        (status = 401, response = Unauthorized),
        (status = 403, description = "Not a leader (`auth.forbidden`)", body = ErrorBody),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 422, response = UnprocessableBody),
        (status = 429, response = TooManyRequests),
        (status = 500, response = ServerError),
    )
)]
pub(crate) async fn create_campaign(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(new): ApiJson<NewCampaign>,
) -> Result<(StatusCode, Json<Campaign>), AppError> {
    caller.require(&[Role::Leader])?;
    let commune = caller.area.commune().ok_or(AppError::Forbidden)?;
    if !storable(&new.name) {
        return Err(AppError::bad_request(
            "campaign.bad_name",
            "invalid name",
            "Tên đợt cao điểm không hợp lệ.",
        ));
    }
    let c = campaigns::create(&state.db, commune, &caller.user_id, &new).await?;
    Ok((StatusCode::CREATED, Json(c)))
}

// ---------------------------------------------------------------------------
// Import
// ---------------------------------------------------------------------------

/// Where an import goes.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ImportQuery {
    /// Hamlet for rows without a hamlet column (a per-hamlet export).
    pub hamlet: Option<String>,
    /// The file's name, for the import report.
    pub file_name: Option<String>,
}

/// Imports the police's resident list (CSV or XLSX, sniffed from the bytes).
///
/// Valid rows are imported even when others are rejected; the answer lists
/// each rejected row with its number and reason. A newer export updates
/// account statuses without touching field outcomes. Leaders only.
#[utoipa::path(
    post,
    path = "/api/v1/imports",
    tag = "campaign",
    security(("bearer" = [])),
    params(ImportQuery),
    request_body(content = Vec<u8>, description = "The file (CSV or XLSX)",
        content_type = "application/octet-stream"),
    responses(
        (status = 200, description = "Imported; rejected rows listed", body = ImportSummary),
        (status = 400, description = "Not a resident list: no header row, the name column \
            missing, not UTF-8, unknown hamlet (`import.*`)", body = ErrorBody),
        (status = 401, response = Unauthorized),
        (status = 403, description = "Not a leader (`auth.forbidden`)", body = ErrorBody),
        (status = 413, response = PayloadTooLarge),
        (status = 429, response = TooManyRequests),
        (status = 500, response = ServerError),
    )
)]
pub(crate) async fn import_file(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(q): ApiQuery<ImportQuery>,
    body: Bytes,
) -> Result<Json<ImportSummary>, AppError> {
    caller.require(&[Role::Leader])?;
    let commune = caller.area.commune().ok_or(AppError::Forbidden)?.to_owned();
    if q.hamlet.as_deref().is_some_and(|h| !storable(h)) {
        return Err(AppError::bad_request(
            "import.unknown_hamlet",
            "unknown hamlet",
            "Thôn/tổ dân phố đã chọn không thuộc xã này.",
        ));
    }
    let name = q
        .file_name
        .unwrap_or_else(|| "danh-sach.csv".into())
        .replace('\0', "");
    let summary = import::run(
        &state.db,
        &commune,
        &caller.user_id,
        &name,
        body.to_vec(),
        q.hamlet,
        Box::new(|_, _, _| {}),
    )
    .await?;
    Ok(Json(summary))
}

// ---------------------------------------------------------------------------
// Teams
// ---------------------------------------------------------------------------

/// A volunteer's team.
#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TeamRequest {
    /// The officer the volunteer works with (none: no team).
    pub officer: Option<String>,
}

/// Puts a volunteer in an officer's team. Leaders only.
#[utoipa::path(
    put,
    path = "/api/v1/users/{id}/team",
    tag = "admin",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Volunteer's user id")),
    request_body = TeamRequest,
    responses(
        (status = 204, description = "Assigned"),
        (status = 400, description = "Malformed JSON (`request.invalid_json`)", body = ErrorBody),
        (status = 401, response = Unauthorized),
        (status = 403, description = "Not a leader (`auth.forbidden`)", body = ErrorBody),
        (status = 404, description = "No such volunteer or officer in the leader's commune \
            (`not_found`)", body = ErrorBody),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 422, response = UnprocessableBody),
        (status = 429, response = TooManyRequests),
        (status = 500, response = ServerError),
    )
)]
pub(crate) async fn set_team(
    State(state): State<AppState>,
    caller: Caller,
    Path(user): Path<String>,
    ApiJson(req): ApiJson<TeamRequest>,
) -> Result<StatusCode, AppError> {
    caller.require(&[Role::Leader])?;
    let commune = caller.area.commune().ok_or(AppError::Forbidden)?.to_owned();
    let in_commune = |u: &accounts::User, role: Role| {
        u.commune.as_deref() == Some(commune.as_str()) && u.role == role
    };
    if !storable(&user) || req.officer.as_deref().is_some_and(|o| !storable(o)) {
        return Err(AppError::NotFound);
    }
    let v = accounts::user_by_id(&state.db, &user)
        .await?
        .filter(|u| in_commune(u, Role::Volunteer))
        .ok_or(AppError::NotFound)?;
    if let Some(o) = &req.officer {
        accounts::user_by_id(&state.db, o)
            .await?
            .filter(|u| in_commune(u, Role::Officer))
            .ok_or(AppError::NotFound)?;
    }
    accounts::set_team(&state.db, &v.id, req.officer.as_deref()).await?;
    Ok(StatusCode::NO_CONTENT)
}

// ---------------------------------------------------------------------------
// Target lists
// ---------------------------------------------------------------------------

/// Whose list, which day, which format.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TargetQuery {
    /// User id (default: the caller). Leaders may ask for anyone of their
    /// commune, officers for themselves and their team's volunteers.
    pub user: Option<String>,
    /// Day, `YYYY-MM-DD` (default: today, Vietnam time).
    pub day: Option<String>,
    /// `json` (default), `xlsx` or `csv` (printable).
    pub format: Option<FileFormat>,
}

/// A field user's target list for a day: residents still to reach, chosen
/// by priority up to the daily quota, households in walking order. The read
/// is audited.
#[utoipa::path(
    get,
    path = "/api/v1/targets",
    tag = "campaign",
    security(("bearer" = [])),
    params(TargetQuery),
    responses(
        (status = 200, description = "The list (JSON, or a file)", content(
            (TargetList = "application/json"),
            (Vec<u8> = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
            (String = "text/csv")
        )),
        (status = 400, description = "Malformed query or date (`request.*`)", body = ErrorBody),
        (status = 401, response = Unauthorized),
        (status = 404, description = "No such field user within the caller's reach (`not_found`)",
            body = ErrorBody),
        (status = 429, response = TooManyRequests),
        (status = 500, response = ServerError),
    )
)]
pub(crate) async fn target_list(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(q): ApiQuery<TargetQuery>,
) -> Result<Response, AppError> {
    let (list, user, commune) = target_list_for(&state, &caller, q.user, q.day.as_ref()).await?;
    match q.format.unwrap_or_default() {
        FileFormat::Json => Ok(Json(list).into_response()),
        f => {
            let hamlets = accounts::hamlets_of(&state.db, &commune).await?;
            let sheet = targets::sheet(&list, &user.display_name, &hamlets);
            file(
                f,
                &format!("danh-sach-go-cua-{}-{}", user.username, list.day),
                &[sheet],
            )
        }
    }
}

/// A field user's list for a day, after checking the caller may see it
/// (themselves; a leader: anyone of the commune; an officer: their team's
/// volunteers). Audited. Returns the list, the user and their commune.
pub(crate) async fn target_list_for(
    state: &AppState,
    caller: &Caller,
    user: Option<String>,
    day: Option<&String>,
) -> Result<(TargetList, accounts::User, String), AppError> {
    let day_n = day_of(day)?;
    let user_id = user.unwrap_or_else(|| caller.user_id.clone());
    if !storable(&user_id) {
        return Err(AppError::NotFound);
    }
    let user = accounts::user_by_id(&state.db, &user_id)
        .await?
        .filter(|u| matches!(u.role, Role::Officer | Role::Volunteer))
        .ok_or(AppError::NotFound)?;
    let same_commune = user.commune.as_deref() == caller.area.commune();
    let allowed = user.id == caller.user_id
        || (caller.role == Role::Leader && same_commune)
        || (caller.role == Role::Officer
            && same_commune
            && user.team_officer.as_deref() == Some(caller.user_id.as_str()));
    if !allowed {
        return Err(AppError::NotFound);
    }
    let commune = user.commune.clone().ok_or(AppError::NotFound)?;
    let area = user.area(&state.db).await?;
    // Noon of the asked day: the day's list whatever the hour of asking.
    let at = if day.is_some() {
        reports::day_start_ms(day_n) + 12 * 3_600_000
    } else {
        now_ms()
    };
    let list = targets::for_area(&state.db, &user.id, &commune, &area, at).await?;
    audit::record(
        &state.db,
        &caller.user_id,
        "targets.read",
        Some(&commune),
        &area.describe(),
        i64::from(list.count),
    )
    .await?;
    Ok((list, user, commune))
}

// ---------------------------------------------------------------------------
// Lists and reports
// ---------------------------------------------------------------------------

/// Scope and format of a list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ExportQuery {
    /// Only this hamlet.
    pub hamlet: Option<String>,
    /// Commune (provincial users; required for them).
    pub commune: Option<String>,
    /// `json` (default), `xlsx` (the whole commune and one sheet per
    /// hamlet) or `csv`.
    pub format: Option<FileFormat>,
}

/// A signed list: activated, absent, ineligible (with reasons and
/// explanations) or corrections, in Vietnamese order, per hamlet and per
/// commune. Leaders, officers (their hamlets) and provincial users;
/// volunteers do not export. Every export is audited.
#[utoipa::path(
    get,
    path = "/api/v1/exports/{list}",
    tag = "campaign",
    security(("bearer" = [])),
    params(("list" = ListKind, Path, description = "Which list"), ExportQuery),
    responses(
        (status = 200, description = "The list (JSON, or an XLSX/CSV file)", content(
            (Vec<ListEntry> = "application/json"),
            (Vec<u8> = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
            (String = "text/csv")
        )),
        (status = 400, description = "Malformed query (`request.invalid_query`)", body = ErrorBody),
        (status = 401, response = Unauthorized),
        (status = 403, description = "A volunteer (`auth.forbidden`)", body = ErrorBody),
        (status = 404, description = "Unknown list, or a commune or hamlet outside the caller's \
            area (`not_found`)", body = ErrorBody),
        (status = 429, response = TooManyRequests),
        (status = 500, response = ServerError),
    )
)]
pub(crate) async fn export_list(
    State(state): State<AppState>,
    caller: Caller,
    Path(list): Path<String>,
    ApiQuery(q): ApiQuery<ExportQuery>,
) -> Result<Response, AppError> {
    caller.require(&[Role::Leader, Role::Officer, Role::ProvincialAdmin])?;
    let kind = ListKind::from_code(&list).ok_or(AppError::NotFound)?;
    let commune = commune_for(&caller, q.commune.as_ref())?;
    let hamlets: Option<Vec<String>> = match (&caller.area, &q.hamlet) {
        (_, Some(h)) if !storable(h) || !caller.area.contains(&commune, h) => {
            return Err(AppError::NotFound);
        }
        (_, Some(h)) => Some(vec![h.clone()]),
        (Area::Hamlets { hamlets, .. }, None) => Some(hamlets.iter().cloned().collect()),
        _ => None,
    };
    let entries =
        reports::list_entries(&state.db, &commune, hamlets.as_deref(), kind, false).await?;
    let format = q.format.unwrap_or_default();
    audit::record(
        &state.db,
        &caller.user_id,
        &format!(
            "export:{}:{}",
            kind.code(),
            sync_core::doc::code_of(&format)
        ),
        Some(&commune),
        &match &q.hamlet {
            Some(h) => format!("commune:{commune}/hamlet:{h}"),
            None => caller.area.describe(),
        },
        entries.len() as i64,
    )
    .await?;
    if format == FileFormat::Json {
        return Ok(Json(entries).into_response());
    }
    let commune_name = sync_core::ids::CommuneCode::parse(&commune)
        .map(|c| c.commune_name().to_owned())
        .unwrap_or_else(|_| commune.clone());
    let day = plan::iso_date(plan::vn_day(now_ms()));
    let sheets = reports::list_sheets(kind, &commune_name, &day, &entries, q.hamlet.is_none());
    file(
        format,
        &format!("{}-{commune}-{day}", kind.short_vi()),
        &sheets,
    )
}

/// Day and format of a report.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ReportQuery {
    /// Day, `YYYY-MM-DD` (default: today, Vietnam time).
    pub day: Option<String>,
    /// Commune (provincial users; required for them).
    pub commune: Option<String>,
    /// `json` (default), `xlsx` or `csv` (the summary sheet).
    pub format: Option<FileFormat>,
}

/// The daily commune report: eligible, activated, percentage, change since
/// yesterday, remaining by category, ineligible by reason, each field
/// user's day and signals of possible fabrication. Leaders, officers and
/// provincial users. Audited.
#[utoipa::path(
    get,
    path = "/api/v1/reports/daily",
    tag = "campaign",
    security(("bearer" = [])),
    params(ReportQuery),
    responses(
        (status = 200, description = "The report (JSON, or a file)", content(
            (DailyReport = "application/json"),
            (Vec<u8> = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
            (String = "text/csv")
        )),
        (status = 400, description = "Malformed query or date (`request.*`)", body = ErrorBody),
        (status = 401, response = Unauthorized),
        (status = 403, description = "A volunteer (`auth.forbidden`)", body = ErrorBody),
        (status = 404, description = "A commune outside the caller's area (`not_found`)",
            body = ErrorBody),
        (status = 429, response = TooManyRequests),
        (status = 500, response = ServerError),
    )
)]
pub(crate) async fn daily_report(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(q): ApiQuery<ReportQuery>,
) -> Result<Response, AppError> {
    caller.require(&[Role::Leader, Role::Officer, Role::ProvincialAdmin])?;
    let commune = commune_for(&caller, q.commune.as_ref())?;
    let day = day_of(q.day.as_ref())?;
    let report = reports::daily(&state.db, &commune, day, now_ms()).await?;
    let format = q.format.unwrap_or_default();
    audit::record(
        &state.db,
        &caller.user_id,
        &format!("report.daily:{}", sync_core::doc::code_of(&format)),
        Some(&commune),
        &caller.area.describe(),
        report.totals.residents,
    )
    .await?;
    match format {
        FileFormat::Json => Ok(Json(report).into_response()),
        f => file(
            f,
            &format!("bao-cao-ngay-{commune}-{}", report.day),
            &reports::daily_sheets(&report, false),
        ),
    }
}

/// Which week, which format.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ProvinceQuery {
    /// A day of the week (default: today, Vietnam time).
    pub day: Option<String>,
    /// `json` (default), `xlsx` or `csv`.
    pub format: Option<FileFormat>,
}

/// The weekly province roll-up, communes ranked by activation rate.
/// Provincial users only. Audited.
#[utoipa::path(
    get,
    path = "/api/v1/reports/province",
    tag = "campaign",
    security(("bearer" = [])),
    params(ProvinceQuery),
    responses(
        (status = 200, description = "The roll-up (JSON, or a file)", content(
            (ProvinceReport = "application/json"),
            (Vec<u8> = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
            (String = "text/csv")
        )),
        (status = 400, description = "Malformed query or date (`request.*`)", body = ErrorBody),
        (status = 401, response = Unauthorized),
        (status = 403, description = "Not a provincial user (`auth.forbidden`)", body = ErrorBody),
        (status = 429, response = TooManyRequests),
        (status = 500, response = ServerError),
    )
)]
pub(crate) async fn province_report(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(q): ApiQuery<ProvinceQuery>,
) -> Result<Response, AppError> {
    caller.require(&[Role::ProvincialAdmin])?;
    let Area::Province(province) = &caller.area else {
        return Err(AppError::Forbidden);
    };
    let day = day_of(q.day.as_ref())?;
    let report = reports::province_week(&state.db, province, day).await?;
    let format = q.format.unwrap_or_default();
    audit::record(
        &state.db,
        &caller.user_id,
        &format!("report.province:{}", sync_core::doc::code_of(&format)),
        None,
        &caller.area.describe(),
        report.totals.residents,
    )
    .await?;
    match format {
        FileFormat::Json => Ok(Json(report).into_response()),
        f => file(
            f,
            &format!("xep-hang-{province}-{}", report.week_start),
            &[reports::province_sheet(&report)],
        ),
    }
}

// ---------------------------------------------------------------------------
// Review queue
// ---------------------------------------------------------------------------

/// The review queue: conflicting outcomes, volunteers' outcomes awaiting an
/// officer, and activations the registry does not show — with the evidence
/// side by side. Leaders see everything in their commune; officers the
/// confirmations in their hamlets. Audited.
#[utoipa::path(
    get,
    path = "/api/v1/review",
    tag = "campaign",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The queue", body = Vec<ReviewItem>),
        (status = 401, response = Unauthorized),
        (status = 403, description = "A volunteer or provincial user (`auth.forbidden`)",
            body = ErrorBody),
        (status = 429, response = TooManyRequests),
        (status = 500, response = ServerError),
    )
)]
pub(crate) async fn review_queue(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Vec<ReviewItem>>, AppError> {
    caller.require(&[Role::Leader, Role::Officer])?;
    let commune = caller.area.commune().ok_or(AppError::Forbidden)?.to_owned();
    Ok(Json(review::queue(&state.db, &caller, &commune).await?))
}

/// The id of the settlement written.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Settled {
    /// Settlement id.
    pub settlement: String,
}

/// Settles one item of the queue: the decision becomes a change in the
/// household document that reaches the phones on their next sync.
#[utoipa::path(
    post,
    path = "/api/v1/review/{resident}/settle",
    tag = "campaign",
    security(("bearer" = [])),
    params(("resident" = String, Path, description = "Resident id")),
    request_body = SettleRequest,
    responses(
        (status = 200, description = "Settled", body = Settled),
        (status = 400, description = "Malformed JSON, a restricted stand-in as a reason, a note \
            too long (`request.*`, `review.*`)", body = ErrorBody),
        (status = 401, response = Unauthorized),
        (status = 403, description = "A volunteer or provincial user (`auth.forbidden`)",
            body = ErrorBody),
        (status = 404, description = "No queue item for this resident that the caller may \
            settle (`not_found`)", body = ErrorBody),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 422, response = UnprocessableBody),
        (status = 429, response = TooManyRequests),
        (status = 500, response = ServerError),
    )
)]
pub(crate) async fn settle(
    State(state): State<AppState>,
    caller: Caller,
    Path(resident): Path<String>,
    ApiJson(req): ApiJson<SettleRequest>,
) -> Result<Json<Settled>, AppError> {
    caller.require(&[Role::Leader, Role::Officer])?;
    if !storable(&resident) || req.note.as_deref().is_some_and(|n| !storable(n)) {
        return Err(AppError::NotFound);
    }
    let id = review::settle(&state.db, &caller, &resident, &req).await?;
    Ok(Json(Settled { settlement: id }))
}
