//! One error type for the whole server, mapped to HTTP in one place.
//!
//! Every answer carries a stable machine `code`, an English `message` and a
//! Vietnamese `message_vi`. None carries personal data: internal details go
//! to the log (without personal data) and the client sees a generic text.

use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// What went wrong.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// Bad settings or command-line arguments.
    #[error("configuration: {0}")]
    Config(String),
    /// Missing, malformed, expired or forged credentials.
    #[error("unauthorized")]
    Unauthorized(&'static str),
    /// Wrong username or password.
    #[error("wrong username or password")]
    BadLogin,
    /// Authenticated, but the role may not do this.
    #[error("forbidden")]
    Forbidden,
    /// Not found, or outside the caller's area (the same answer for both).
    #[error("not found")]
    NotFound,
    /// The request is malformed.
    #[error("bad request: {message}")]
    BadRequest {
        /// Stable code.
        code: &'static str,
        /// English text (no personal data).
        message: String,
        /// Vietnamese text.
        message_vi: String,
    },
    /// A sync frame was refused.
    #[error(transparent)]
    Protocol(#[from] sync_core::protocol::ProtocolError),
    /// Too many requests.
    #[error("too many requests")]
    RateLimited {
        /// Seconds to wait.
        retry_after: u64,
    },
    /// Database failure.
    #[error("database: {0}")]
    Database(String),
    /// Every database connection stayed busy past the pool's timeout: the
    /// server is overloaded; the client should retry later.
    #[error("busy")]
    Busy,
    /// Anything else.
    #[error("internal: {0}")]
    Internal(String),
}

#[derive(Serialize)]
struct Body<'a> {
    code: &'a str,
    message: String,
    message_vi: String,
}

impl AppError {
    /// Wraps a database error. sqlx errors carry SQL text and driver
    /// messages, never bound values, so they may be logged.
    pub fn db(e: sqlx::Error) -> AppError {
        match e {
            sqlx::Error::PoolTimedOut => AppError::Busy,
            e => AppError::Database(e.to_string()),
        }
    }

    /// Builds a bad-request error.
    pub fn bad_request(
        code: &'static str,
        message: impl Into<String>,
        message_vi: impl Into<String>,
    ) -> AppError {
        AppError::BadRequest {
            code,
            message: message.into(),
            message_vi: message_vi.into(),
        }
    }

    /// Stable machine code.
    pub fn code(&self) -> &str {
        match self {
            AppError::Config(_) => "config",
            AppError::Unauthorized(code) => code,
            AppError::BadLogin => "auth.bad_login",
            AppError::Forbidden => "auth.forbidden",
            AppError::NotFound => "not_found",
            AppError::BadRequest { code, .. } => code,
            AppError::Protocol(e) => e.code(),
            AppError::RateLimited { .. } => "rate_limited",
            AppError::Database(_) => "database",
            AppError::Busy => "server.busy",
            AppError::Internal(_) => "internal",
        }
    }

    /// HTTP status of this error.
    pub fn status(&self) -> StatusCode {
        match self {
            AppError::Unauthorized(_) | AppError::BadLogin => StatusCode::UNAUTHORIZED,
            AppError::Forbidden => StatusCode::FORBIDDEN,
            AppError::NotFound => StatusCode::NOT_FOUND,
            AppError::BadRequest { .. } | AppError::Protocol(_) => StatusCode::BAD_REQUEST,
            AppError::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            AppError::Busy => StatusCode::SERVICE_UNAVAILABLE,
            AppError::Config(_) | AppError::Database(_) | AppError::Internal(_) => {
                StatusCode::INTERNAL_SERVER_ERROR
            }
        }
    }

    /// (English, Vietnamese) text for people; never personal data.
    pub fn messages(&self) -> (String, String) {
        match self {
            AppError::Unauthorized(_) => (
                "Sign-in required or expired".into(),
                "Phiên đăng nhập không hợp lệ hoặc đã hết hạn, hãy đăng nhập lại".into(),
            ),
            AppError::BadLogin => (
                "Wrong username or password".into(),
                "Sai tên đăng nhập hoặc mật khẩu".into(),
            ),
            AppError::Forbidden => (
                "Your role may not do this".into(),
                "Vai trò của bạn không được thực hiện thao tác này".into(),
            ),
            AppError::NotFound => ("Not found".into(), "Không tìm thấy".into()),
            AppError::BadRequest {
                message,
                message_vi,
                ..
            } => (message.clone(), message_vi.clone()),
            AppError::Protocol(e) => (e.to_string(), e.message_vi().into()),
            AppError::RateLimited { retry_after } => (
                format!("Too many requests; retry in {retry_after} s"),
                format!("Quá nhiều yêu cầu, hãy thử lại sau {retry_after} giây"),
            ),
            AppError::Busy => (
                "The server is busy; nothing you sent was lost, retry in a few seconds".into(),
                "Máy chủ đang bận; dữ liệu đã gửi không bị mất, hãy thử lại sau ít giây".into(),
            ),
            AppError::Config(_) | AppError::Database(_) | AppError::Internal(_) => (
                "Server error; nothing you sent was lost, try again".into(),
                "Lỗi máy chủ; dữ liệu đã gửi không bị mất, hãy thử lại".into(),
            ),
        }
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let status = self.status();
        if status.is_server_error() {
            tracing::error!(code = self.code(), error = %self, "request failed");
        }
        let (message, message_vi) = self.messages();
        let mut resp = (
            status,
            axum::Json(Body {
                code: self.code(),
                message,
                message_vi,
            }),
        )
            .into_response();
        if let AppError::RateLimited { retry_after } = self
            && let Ok(v) = HeaderValue::from_str(&retry_after.to_string())
        {
            resp.headers_mut().insert("retry-after", v);
        }
        if let AppError::Busy = self {
            resp.headers_mut()
                .insert("retry-after", HeaderValue::from_static("5"));
        }
        resp
    }
}
