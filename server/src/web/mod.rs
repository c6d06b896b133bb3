//! The review pages: what commune leaders, officers and the provincial
//! office open in a browser — progress with charts, the merged lists with
//! search, the review queue with one-click settlements, assignments and
//! lost phones, downloads to sign.
//!
//! Server-side templates (askama, checked at compile time, in
//! `server/templates/`), SVG charts drawn here ([`charts`]), one small
//! stylesheet and no script: every page works without JavaScript. The
//! pages call the same functions as the JSON API (`crate::campaign`,
//! `crate::api`), so a page and the API never disagree; every page that
//! shows residents checks the viewer's area and writes the audit log.
//!
//! Sessions are cookies ([`session`]); the phones keep their tokens.

pub mod charts;
pub mod i18n;
mod pages;
pub mod session;

use crate::AppState;
use crate::error::AppError;
use askama::Template;
use axum::Router;
use axum::extract::{Form, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum_extra::extract::cookie::CookieJar;
use i18n::{Lang, Tr};
use serde::Deserialize;
use session::{LANG_COOKIE, LOGIN_COOKIE, SESSION_COOKIE, WebSession};

/// The pages' stylesheet (a few kilobytes, cached by the browser).
const CSS: &str = include_str!("../../static/app.css");

/// The routes of the pages.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(|| async { Redirect::to("/dashboard") }))
        .route("/static/app.css", get(stylesheet))
        .route("/login", get(login_page).post(login_submit))
        .route("/logout", post(logout))
        .route("/lang", get(switch_lang))
        .route("/dashboard", get(pages::dashboard))
        .route("/lists/{kind}", get(pages::list))
        .route("/lists/{kind}/download", get(pages::list_download))
        .route("/reports/daily/download", get(pages::report_download))
        .route("/reports/province/download", get(pages::province_download))
        .route("/targets", get(pages::targets))
        .route("/targets/download", get(pages::targets_download))
        .route("/review", get(pages::review))
        .route("/review/{resident}/settle", post(pages::settle))
        .route("/households/{id}", get(pages::household))
        .route("/team", get(pages::team))
        .route("/team/{user}/hamlets", post(pages::set_hamlets))
        .route("/team/devices/{id}/revoke", post(pages::revoke))
}

/// What a page answers when it cannot show itself.
#[derive(Debug)]
pub enum WebError {
    /// No session, or an expired one: to the login page.
    SignIn,
    /// A form without this session's token, or from another site.
    Csrf(Lang),
    /// Anything else, shown as a page with the error's status.
    App(AppError, Lang),
}

impl WebError {
    /// Wraps an [`AppError`] for a page in `lang`.
    pub fn of(lang: Lang) -> impl Fn(AppError) -> WebError {
        move |e| WebError::App(e, lang)
    }
}

/// An error page.
#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage {
    t: Tr,
    message: String,
}

impl IntoResponse for WebError {
    fn into_response(self) -> Response {
        let (status, lang, message, retry) = match self {
            WebError::SignIn => return Redirect::to("/login").into_response(),
            WebError::Csrf(lang) => (
                StatusCode::FORBIDDEN,
                lang,
                Tr(lang).s("err.csrf").to_owned(),
                None,
            ),
            WebError::App(e, lang) => {
                let status = e.status();
                if status.is_server_error() {
                    tracing::error!(code = e.code(), error = %e, "page failed");
                }
                let (en, vi) = e.messages();
                let retry = match e {
                    AppError::RateLimited { retry_after } => Some(retry_after),
                    AppError::Busy => Some(5),
                    _ => None,
                };
                (status, lang, if lang == Lang::En { en } else { vi }, retry)
            }
        };
        let page = ErrorPage {
            t: Tr(lang),
            message,
        };
        let mut resp = (status, html(&page)).into_response();
        if let Some(secs) = retry
            && let Ok(v) = HeaderValue::from_str(&secs.to_string())
        {
            resp.headers_mut().insert(header::RETRY_AFTER, v);
        }
        resp
    }
}

/// Renders a page with the headers every page carries: no caching (pages
/// hold personal data), a strict content security policy (no script at
/// all), no framing, no sniffing, no referrer to other sites.
pub fn html(page: &impl Template) -> Response {
    match page.render() {
        Ok(body) => {
            let mut resp = Html(body).into_response();
            let h = resp.headers_mut();
            h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            h.insert(
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static(
                    "default-src 'none'; style-src 'self'; img-src 'self' data:; \
                     form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
                ),
            );
            h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
            h.insert(
                header::X_CONTENT_TYPE_OPTIONS,
                HeaderValue::from_static("nosniff"),
            );
            h.insert(
                header::REFERRER_POLICY,
                HeaderValue::from_static("same-origin"),
            );
            resp
        }
        Err(e) => {
            tracing::error!(error = %e, "template failed");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "Lỗi máy chủ / Server error",
            )
                .into_response()
        }
    }
}

async fn stylesheet() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        CSS,
    )
}

/// The login page.
#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    t: Tr,
    csrf: String,
    error: Option<String>,
    username: String,
}

fn login_form(
    state: &AppState,
    jar: CookieJar,
    lang: Lang,
    status: StatusCode,
    error: Option<String>,
    username: String,
) -> Response {
    let csrf = session::random_token();
    let jar = jar.add(session::cookie(state, LOGIN_COOKIE, csrf.clone(), 3600));
    let page = LoginPage {
        t: Tr(lang),
        csrf,
        error,
        username,
    };
    (status, jar, html(&page)).into_response()
}

async fn login_page(State(state): State<AppState>, headers: HeaderMap, jar: CookieJar) -> Response {
    let lang = session::lang_of(&headers);
    login_form(&state, jar, lang, StatusCode::OK, None, String::new())
}

#[derive(Deserialize)]
struct LoginForm {
    username: String,
    password: String,
    csrf: String,
}

async fn login_submit(
    State(state): State<AppState>,
    headers: HeaderMap,
    jar: CookieJar,
    Form(form): Form<LoginForm>,
) -> Response {
    let lang = session::lang_of(&headers);
    let t = Tr(lang);
    let expected = jar.get(LOGIN_COOKIE).map(|c| c.value().to_owned());
    if expected.as_deref() != Some(form.csrf.as_str()) || !session::same_origin(&headers) {
        return login_form(
            &state,
            jar,
            lang,
            StatusCode::FORBIDDEN,
            Some(t.s("login.expired").into()),
            form.username,
        );
    }
    if state.settings.secure_cookies && !session::secure_transport(&headers) {
        return login_form(
            &state,
            jar,
            lang,
            StatusCode::BAD_REQUEST,
            Some(t.s("login.needs_https").into()),
            form.username,
        );
    }
    match session::sign_in(&state, &form.username, &form.password).await {
        Ok(Some(token)) => {
            let jar = jar
                .remove(session::cookie(&state, LOGIN_COOKIE, String::new(), 0))
                .add(session::cookie(
                    &state,
                    SESSION_COOKIE,
                    token,
                    session::SESSION_TTL_MS / 1000,
                ));
            (jar, Redirect::to("/dashboard")).into_response()
        }
        Ok(None) => login_form(
            &state,
            jar,
            lang,
            StatusCode::FORBIDDEN,
            Some(t.s("login.volunteer").into()),
            form.username,
        ),
        Err(AppError::BadLogin) => login_form(
            &state,
            jar,
            lang,
            StatusCode::UNAUTHORIZED,
            Some(t.s("login.bad").into()),
            form.username,
        ),
        Err(e) => WebError::App(e, lang).into_response(),
    }
}

/// A form that carries only its token.
#[derive(Debug, Deserialize)]
pub struct CsrfForm {
    /// The session's form token.
    pub csrf: String,
}

async fn logout(
    State(state): State<AppState>,
    session: WebSession,
    headers: HeaderMap,
    jar: CookieJar,
    Form(form): Form<CsrfForm>,
) -> Result<Response, WebError> {
    session.check_form(&headers, &form.csrf)?;
    session::sign_out(&state, &jar)
        .await
        .map_err(WebError::of(session.lang))?;
    let jar = jar.remove(session::cookie(&state, SESSION_COOKIE, String::new(), 0));
    Ok((jar, Redirect::to("/login")).into_response())
}

#[derive(Deserialize)]
struct LangQuery {
    to: String,
    back: Option<String>,
}

/// Switches the page language and goes back where the user was (a path of
/// this site only).
async fn switch_lang(
    State(state): State<AppState>,
    jar: CookieJar,
    Query(q): Query<LangQuery>,
) -> Response {
    let lang = Lang::from_code(&q.to);
    let back = q
        .back
        .filter(|b| b.starts_with('/') && !b.starts_with("//") && !b.contains('\\'))
        .unwrap_or_else(|| "/dashboard".into());
    let mut c = session::cookie(&state, LANG_COOKIE, lang.code().into(), 365 * 24 * 3600);
    c.set_http_only(false);
    (jar.add(c), Redirect::to(&back)).into_response()
}
