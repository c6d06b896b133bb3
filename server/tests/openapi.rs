//! The OpenAPI document over a real socket: it parses, is OpenAPI 3.x and
//! describes every route. Then what the document promises about errors:
//! malformed requests get the JSON error body with the documented status,
//! and the inputs that once made handlers answer 500 (found by
//! schemathesis, `tests/schemathesis/run.sh`) get 4xx/204 on both backends.

mod common;

use common::*;
use gocua_server::Settings;
use gocua_server::api::ErrorBody;

/// Every route of `api::routes` (and `campaign::routes`), with its method.
const OPERATIONS: [(&str, &str); 21] = [
    ("/healthz", "get"),
    ("/metrics", "get"),
    ("/api/openapi.json", "get"),
    ("/api/v1/auth/login", "post"),
    ("/api/v1/auth/refresh", "post"),
    ("/api/v1/me", "get"),
    ("/api/v1/sync", "post"),
    ("/api/v1/households/{id}", "get"),
    ("/api/v1/lists/{state}", "get"),
    ("/api/v1/devices/{id}/revoke", "post"),
    ("/api/v1/users/{id}/hamlets", "put"),
    ("/api/v1/campaigns", "get"),
    ("/api/v1/campaigns", "post"),
    ("/api/v1/imports", "post"),
    ("/api/v1/users/{id}/team", "put"),
    ("/api/v1/targets", "get"),
    ("/api/v1/exports/{list}", "get"),
    ("/api/v1/reports/daily", "get"),
    ("/api/v1/reports/province", "get"),
    ("/api/v1/review", "get"),
    ("/api/v1/review/{resident}/settle", "post"),
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn document_is_served_and_complete() {
    let db = TestDb::new(Backend::Sqlite).await;
    let server = TestServer::start(&db.url).await;
    let r = reqwest::get(server.url("/api/openapi.json")).await.unwrap();
    assert_eq!(r.status(), 200);
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json")
    );
    let doc: serde_json::Value = r.json().await.unwrap();
    let version = doc["openapi"].as_str().expect("openapi field");
    assert!(version.starts_with("3."), "OpenAPI 3.x, got {version}");
    let paths = doc["paths"].as_object().expect("paths");
    for (path, method) in OPERATIONS {
        let op = &paths.get(path).unwrap_or_else(|| panic!("{path} missing"))[method];
        assert!(op.is_object(), "{method} {path} missing");
        let responses = op["responses"].as_object().expect("responses");
        assert!(
            responses.keys().any(|s| s.starts_with('2')),
            "{method} {path}: no success answer"
        );
        // Protected operations name the bearer scheme; public ones do not.
        let public = path.starts_with("/api/v1/auth/") || !path.starts_with("/api/v1/");
        assert_eq!(
            op["security"].is_array(),
            !public,
            "{method} {path} security"
        );
    }
    assert_eq!(
        paths
            .values()
            .map(|p| p.as_object().unwrap().len())
            .sum::<usize>(),
        OPERATIONS.len(),
        "an operation the router does not have"
    );
    let scheme = &doc["components"]["securitySchemes"]["bearer"];
    assert_eq!(scheme["type"], "http");
    assert_eq!(scheme["scheme"], "bearer");
    assert_eq!(scheme["bearerFormat"], "JWT");
    let error = &doc["components"]["schemas"]["ErrorBody"]["required"];
    assert_eq!(
        error,
        &serde_json::json!(["code", "message", "message_vi"]),
        "error body schema"
    );
    let states = &doc["components"]["schemas"]["ListState"]["enum"];
    assert_eq!(states.as_array().map(Vec::len), Some(8), "list states");
    server.stop().await;
}

async fn error_of(r: reqwest::Response) -> (u16, ErrorBody) {
    let status = r.status().as_u16();
    let body = r.bytes().await.unwrap();
    let error = serde_json::from_slice(&body).unwrap_or_else(|e| {
        panic!(
            "{status}: not the JSON error body ({e}): {}",
            String::from_utf8_lossy(&body)
        )
    });
    (status, error)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_requests_get_the_json_error_body() {
    let db = TestDb::new(Backend::Sqlite).await;
    let server = TestServer::start_with(Settings {
        db: db.url.clone(),
        max_body_bytes: 64 * 1024,
        ..Settings::default()
    })
    .await;
    seed(&server.state).await;
    let phone = Phone::login(&server, "officer-a1").await;
    let http = reqwest::Client::new();
    let login = server.url("/api/v1/auth/login");
    let post = |body: &'static str, json: bool| {
        let mut req = http.post(&login).body(body);
        if json {
            req = req.header("content-type", "application/json");
        }
        req.send()
    };
    let cases = [
        (
            post(r#"{"username":"#, true).await.unwrap(),
            400,
            "request.invalid_json",
        ),
        (
            post(r#"{"username":"x"}"#, true).await.unwrap(),
            422,
            "request.invalid_body",
        ),
        (
            post(r#"{"username":"x"}"#, false).await.unwrap(),
            415,
            "request.content_type",
        ),
        (
            phone.get("/api/v1/lists/absent?hamlet=a1&hamlet=a2").await,
            400,
            "request.invalid_query",
        ),
        (phone.get("/api/v1/lists/nope").await, 404, "not_found"),
        (phone.get("/api/v1/no-such-route").await, 404, "not_found"),
        // Over the limit, announced: refused before the body is read.
        (
            http.post(&login)
                .header("content-type", "application/json")
                .body(vec![b' '; 100 * 1024])
                .send()
                .await
                .unwrap(),
            413,
            "request.too_large",
        ),
        // Over the limit, streamed without a length: cut off while read,
        // by the JSON extractor and by the sync endpoint's.
        (
            http.post(&login)
                .header("content-type", "application/json")
                .body(streamed(100 * 1024))
                .send()
                .await
                .unwrap(),
            413,
            "request.too_large",
        ),
        (
            http.post(server.url("/api/v1/sync"))
                .bearer_auth(&phone.access)
                .body(streamed(100 * 1024))
                .send()
                .await
                .unwrap(),
            413,
            "request.too_large",
        ),
    ];
    for (i, (r, status, code)) in cases.into_iter().enumerate() {
        let (got, body) = error_of(r).await;
        assert_eq!((got, body.code.as_str()), (status, code), "case {i}");
        assert!(!body.message.is_empty() && !body.message_vi.is_empty());
    }
    server.stop().await;
}

fn streamed(len: usize) -> reqwest::Body {
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> =
        (0..len / 1024).map(|_| Ok(vec![b' '; 1024])).collect();
    reqwest::Body::wrap_stream(futures::stream::iter(chunks))
}

/// Inputs that made handlers answer 500: a repeated hamlet broke the
/// (user, hamlet) key; a NUL byte is an error in PostgreSQL `text`.
async fn former_server_errors(backend: Backend) {
    let db = TestDb::new(backend).await;
    let server = TestServer::start(&db.url).await;
    seed(&server.state).await;
    let leader = Phone::login(&server, "leader-a").await;
    let officer = gocua_server::db::accounts::user_by_username(&server.state.db, "officer-a1")
        .await
        .unwrap()
        .unwrap();
    let r = leader
        .http
        .put(server.url(&format!("/api/v1/users/{}/hamlets", officer.id)))
        .bearer_auth(&leader.access)
        .json(&serde_json::json!({ "hamlets": ["a2", "a1", "a2"] }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204, "repeated hamlet");
    let area = officer.area(&server.state.db).await.unwrap();
    assert_eq!(
        area.describe(),
        format!("commune:{COMMUNE_A}/hamlets:a1,a2")
    );

    for path in [
        "/api/v1/devices/a%00b/revoke",
        "/api/v1/users/a%00b/hamlets",
    ] {
        let req = if path.ends_with("revoke") {
            leader.http.post(server.url(path))
        } else {
            leader.http.put(server.url(path))
        };
        let r = req
            .bearer_auth(&leader.access)
            .json(&serde_json::json!({ "hamlets": [] }))
            .send()
            .await
            .unwrap();
        assert_eq!(error_of(r).await.0, 404, "{path}");
    }
    let login = |username: &str, device: &str| {
        leader
            .http
            .post(server.url("/api/v1/auth/login"))
            .json(&serde_json::json!({
                "username": username, "password": PASSWORD, "device_id": device
            }))
            .send()
    };
    let (status, body) = error_of(login("officer\0a1", "d-nul-1").await.unwrap()).await;
    assert_eq!((status, body.code.as_str()), (401, "auth.bad_login"));
    let (status, body) = error_of(login("officer-a1", "d\0nul").await.unwrap()).await;
    assert_eq!((status, body.code.as_str()), (400, "auth.device_id"));
    server.stop().await;
}
both_backends!(former_500s, former_server_errors);
