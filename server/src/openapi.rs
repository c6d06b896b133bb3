//! The OpenAPI 3.1 description of the HTTP API, served at
//! `GET /api/openapi.json`.
//!
//! Operations are described next to their handlers in [`crate::api`]
//! (`#[utoipa::path]`); this module gathers them, adds the bearer scheme and
//! holds the reusable error answers. Every documented status is one the
//! handler can return, and every status a handler can return is documented:
//! `tests/schemathesis/run.sh` fuzzes the running server against this
//! document.

use crate::api;
use crate::campaign::{campaigns, import, reports, review, routes, targets};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi, ToResponse, ToSchema};

/// Name of the bearer security scheme (the handlers' `security(("bearer" = []))`
/// must spell it as a literal).
pub const BEARER: &str = "bearer";

/// The whole document.
#[derive(Debug, OpenApi)]
#[openapi(
    info(
        title = "Gõ Cửa API",
        description = "Offline-first door-to-door campaign server: accounts, \
                       areas, lists and the phones' sync endpoint. Every error \
                       answer is JSON with a stable `code`, an English `message` \
                       and a Vietnamese `message_vi`; none carries personal data."
    ),
    paths(
        api::healthz,
        api::metrics,
        api::openapi_json,
        api::login,
        api::refresh,
        api::me,
        api::sync_handler,
        api::household,
        api::list,
        api::revoke_device,
        api::set_hamlets,
        routes::list_campaigns,
        routes::create_campaign,
        routes::import_file,
        routes::set_team,
        routes::target_list,
        routes::export_list,
        routes::daily_report,
        routes::province_report,
        routes::review_queue,
        routes::settle,
    ),
    components(
        schemas(
            api::ErrorBody,
            api::Health,
            api::LoginRequest,
            api::RefreshRequest,
            api::Tokens,
            api::UserInfo,
            api::HouseholdOut,
            api::ResidentOut,
            api::ListState,
            api::ListRow,
            api::HamletsRequest,
            SyncFrame,
            campaigns::Campaign,
            campaigns::NewCampaign,
            import::ImportSummary,
            import::RejectedOut,
            routes::FileFormat,
            routes::TeamRequest,
            routes::Settled,
            targets::TargetList,
            targets::TargetHousehold,
            targets::TargetResident,
            reports::ListKind,
            reports::ListEntry,
            reports::Counts,
            reports::UserDay,
            reports::Signal,
            reports::HamletLine,
            reports::DailyReport,
            reports::CommuneLine,
            reports::ProvinceReport,
            review::ReviewItem,
            review::Evidence,
            review::SettleRequest,
        ),
        responses(
            Unauthorized,
            PayloadTooLarge,
            UnsupportedMediaType,
            UnprocessableBody,
            TooManyRequests,
            ServerError,
        )
    ),
    modifiers(&BearerScheme),
    tags(
        (name = "ops", description = "Health, metrics and this document"),
        (name = "auth", description = "Logging in and refreshing tokens"),
        (name = "sync", description = "The phones' sync endpoint (binary frames, docs/PROTOCOL.md)"),
        (name = "data", description = "Households and lists inside the caller's area"),
        (name = "admin", description = "A leader's management of devices and assignments"),
        (name = "campaign", description = "Campaigns, imports, target lists, signed lists, \
            reports and the review queue"),
    )
)]
pub struct ApiDoc;

/// Adds the `bearer` scheme: `Authorization: Bearer <access token>`.
#[derive(Debug)]
struct BearerScheme;

impl Modify for BearerScheme {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            BEARER,
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some(
                        "Access token from /api/v1/auth/login or /api/v1/auth/refresh \
                         (HS256, short-lived)",
                    ))
                    .build(),
            ),
        );
    }
}

/// A sync frame: sync-core's binary protocol (docs/PROTOCOL.md), opaque
/// here.
#[derive(Debug, ToSchema)]
#[schema(value_type = String, format = Binary)]
pub struct SyncFrame(pub Vec<u8>);

/// Missing, malformed, expired or forged access token, a disabled account
/// (`auth.missing`, `auth.invalid_token`, `auth.expired`), or the token of a
/// revoked device (`auth.device_revoked`).
#[derive(Debug, ToResponse)]
pub struct Unauthorized(pub api::ErrorBody);

/// The body is larger than the server's limit (`request.too_large`);
/// refused before it is read when its length is announced.
#[derive(Debug, ToResponse)]
pub struct PayloadTooLarge(pub api::ErrorBody);

/// The body is not declared as `Content-Type: application/json`
/// (`request.content_type`).
#[derive(Debug, ToResponse)]
pub struct UnsupportedMediaType(pub api::ErrorBody);

/// The body is JSON but lacks a field or has a value of the wrong type
/// (`request.invalid_body`).
#[derive(Debug, ToResponse)]
pub struct UnprocessableBody(pub api::ErrorBody);

/// The caller's request budget is spent (`rate_limited`).
#[derive(Debug, ToResponse)]
#[response(headers(("retry-after" = u64, description = "Seconds to wait before retrying")))]
pub struct TooManyRequests(pub api::ErrorBody);

/// Server or database failure (`database`, `internal`); nothing the caller
/// sent was lost, the request may be retried.
#[derive(Debug, ToResponse)]
pub struct ServerError(pub api::ErrorBody);
