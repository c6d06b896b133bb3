//! Accounts and tokens over a real socket, on both backends: forged,
//! expired, wrong-audience and alg-swapped tokens get 401; refresh tokens
//! rotate and a replayed one kills its family; limits answer 413 and 429.

mod common;

use common::*;
use gocua_server::Settings;
use gocua_server::auth::{AUDIENCE, Claims, ISSUER};
use jsonwebtoken::{Algorithm, EncodingKey, Header};

async fn secret(server: &TestServer) -> String {
    gocua_server::db::accounts::shared_secret(&server.state.db)
        .await
        .unwrap()
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

async fn status_with_token(server: &TestServer, token: &str) -> u16 {
    reqwest::Client::new()
        .get(server.url("/api/v1/me"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

async fn bad_tokens_get_401(backend: Backend) {
    let db = TestDb::new(backend).await;
    let server = TestServer::start(&db.url).await;
    seed(&server.state).await;
    let phone = Phone::login(&server, "officer-a1").await;
    assert_eq!(status_with_token(&server, &phone.access).await, 200);
    let key = secret(&server).await;
    let claims = |f: &dyn Fn(&mut Claims)| {
        let mut c = Claims {
            iss: ISSUER.into(),
            aud: AUDIENCE.into(),
            sub: phone.user_id.clone(),
            dev: phone.store.device_id().into(),
            exp: now() + 600,
            nbf: now(),
            iat: now(),
        };
        f(&mut c);
        c
    };
    let sign = |alg: Algorithm, c: &Claims, k: &[u8]| {
        jsonwebtoken::encode(&Header::new(alg), c, &EncodingKey::from_secret(k)).unwrap()
    };
    // A control: a token we sign correctly is accepted (so the 401s below
    // are about what we broke, not about how we sign).
    assert_eq!(
        status_with_token(
            &server,
            &sign(Algorithm::HS256, &claims(&|_| {}), key.as_bytes())
        )
        .await,
        200
    );
    let cases: Vec<(&str, String)> = vec![
        (
            "forged",
            sign(Algorithm::HS256, &claims(&|_| {}), b"not-the-server-secret"),
        ),
        (
            "expired",
            sign(
                Algorithm::HS256,
                &claims(&|c| c.exp = now() - 120),
                key.as_bytes(),
            ),
        ),
        (
            "not yet valid",
            sign(
                Algorithm::HS256,
                &claims(&|c| c.nbf = now() + 120),
                key.as_bytes(),
            ),
        ),
        (
            "wrong audience",
            sign(
                Algorithm::HS256,
                &claims(&|c| c.aud = "other-app".into()),
                key.as_bytes(),
            ),
        ),
        (
            "wrong issuer",
            sign(
                Algorithm::HS256,
                &claims(&|c| c.iss = "someone".into()),
                key.as_bytes(),
            ),
        ),
        (
            "alg swapped to HS512",
            sign(Algorithm::HS512, &claims(&|_| {}), key.as_bytes()),
        ),
        (
            "unknown user",
            sign(
                Algorithm::HS256,
                &claims(&|c| c.sub = "nobody".into()),
                key.as_bytes(),
            ),
        ),
        ("garbage", "abc.def.ghi".into()),
    ];
    for (what, token) in cases {
        assert_eq!(status_with_token(&server, &token).await, 401, "{what}");
    }
    // alg "none": header {"alg":"none"} with the valid claims and no signature.
    use base64::Engine;
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let none = format!(
        "{}.{}.",
        b64.encode(br#"{"alg":"none","typ":"JWT"}"#),
        b64.encode(serde_json::to_vec(&claims(&|_| {})).unwrap())
    );
    assert_eq!(status_with_token(&server, &none).await, 401, "alg none");
    // No token at all.
    let r = reqwest::get(server.url("/api/v1/me")).await.unwrap();
    assert_eq!(r.status(), 401);
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["code"], "auth.missing");
    assert!(body["message_vi"].as_str().unwrap().contains("đăng nhập"));
    server.stop().await;
}
both_backends!(bad_tokens, bad_tokens_get_401);

async fn refresh_tokens_rotate(backend: Backend) {
    let db = TestDb::new(backend).await;
    let server = TestServer::start(&db.url).await;
    seed(&server.state).await;
    let phone = Phone::login(&server, "officer-a1").await;
    let http = reqwest::Client::new();
    let refresh = |token: String| {
        let http = http.clone();
        let url = server.url("/api/v1/auth/refresh");
        async move {
            http.post(url)
                .json(&serde_json::json!({ "refresh_token": token }))
                .send()
                .await
                .unwrap()
        }
    };
    let r = refresh(phone.refresh.clone()).await;
    assert_eq!(r.status(), 200);
    let next: TokensOut = r.json().await.unwrap();
    assert_eq!(status_with_token(&server, &next.access_token).await, 200);
    // Replaying the spent token: refused, and the whole family dies.
    assert_eq!(refresh(phone.refresh.clone()).await.status(), 401);
    assert_eq!(refresh(next.refresh_token.clone()).await.status(), 401);
    // Wrong password, unknown user: the same answer.
    for (user, pw) in [("officer-a1", "wrong"), ("nobody", PASSWORD)] {
        let r = http
            .post(server.url("/api/v1/auth/login"))
            .json(&serde_json::json!({ "username": user, "password": pw, "device_id": "d-1" }))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 401);
        let body: serde_json::Value = r.json().await.unwrap();
        assert_eq!(body["code"], "auth.bad_login");
    }
    server.stop().await;
}
both_backends!(refresh_rotation, refresh_tokens_rotate);

async fn limits_answer_413_and_429(backend: Backend) {
    let db = TestDb::new(backend).await;
    let server = TestServer::start_with(Settings {
        db: db.url.clone(),
        max_body_bytes: 64 * 1024,
        rate_per_minute: 5,
        ..Settings::default()
    })
    .await;
    seed(&server.state).await;
    let phone = Phone::login(&server, "officer-a1").await;
    // 413 before the body is read: announced length over the limit.
    let r = phone
        .http
        .post(server.url("/api/v1/sync"))
        .bearer_auth(&phone.access)
        .body(vec![0u8; 200 * 1024])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 413);
    // A streamed (chunked) body without a length is cut off too: the
    // answer comes while the client is still sending.
    assert_eq!(
        chunked_upload_status(&server, &phone.access, 200 * 1024).await,
        413
    );
    // The sixth request in a minute is refused, with Retry-After.
    let mut last = None;
    for _ in 0..8 {
        let r = phone.get("/api/v1/lists/absent").await;
        if r.status() == 429 {
            last = Some(r);
            break;
        }
    }
    let r = last.expect("rate limit reached");
    let retry: u64 = r.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(retry >= 1);
    server.stop().await;
}
both_backends!(limits, limits_answer_413_and_429);

async fn health_and_metrics(backend: Backend) {
    let db = TestDb::new(backend).await;
    let server = TestServer::start(&db.url).await;
    let r = reqwest::get(server.url("/healthz")).await.unwrap();
    assert_eq!(r.status(), 200);
    let m = reqwest::get(server.url("/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(m.contains("gocua_http_requests_total"));
    assert!(m.contains("gocua_sync_requests_total 0"));
    server.stop().await;
}
both_backends!(health, health_and_metrics);

/// Sends a chunked POST to /api/v1/sync over a raw socket, ignoring write
/// errors once the server has answered, and returns the status code.
async fn chunked_upload_status(server: &TestServer, token: &str, total: usize) -> u16 {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let addr = server.base.trim_start_matches("http://").to_owned();
    let mut sock = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let head = format!(
        "POST /api/v1/sync HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: application/octet-stream\r\nTransfer-Encoding: chunked\r\n\r\n"
    );
    sock.write_all(head.as_bytes()).await.unwrap();
    let chunk = vec![7u8; 8 * 1024];
    let mut sent = 0;
    while sent < total {
        let mut frame = format!("{:x}\r\n", chunk.len()).into_bytes();
        frame.extend_from_slice(&chunk);
        frame.extend_from_slice(b"\r\n");
        if sock.write_all(&frame).await.is_err() {
            break; // the server answered and closed: read its answer below
        }
        sent += chunk.len();
    }
    let _ = sock.write_all(b"0\r\n\r\n").await;
    let mut buf = Vec::new();
    let _ = sock.read_to_end(&mut buf).await;
    let text = String::from_utf8_lossy(&buf);
    text.split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}
