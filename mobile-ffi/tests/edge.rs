//! Every exported function given bad input gets a typed error, never a
//! crash: closed store, wrong key, corrupt file, expired login, oversized
//! input, unreachable server.

use gocua_mobile::*;
use std::sync::Arc;

const SOME_ID: &str = "01a2048b-692b-71c5-a340-5da863facc1a";

fn key() -> Vec<u8> {
    vec![42u8; 32]
}

fn open_temp() -> (tempfile::TempDir, Arc<FieldStore>) {
    let dir = tempfile::tempdir().expect("tempdir");
    let store =
        FieldStore::open(dir.path().join("s.db").display().to_string(), key()).expect("open");
    (dir, store)
}

fn visit(household: &str, explanation: Option<String>) -> VisitInput {
    VisitInput {
        household_id: household.into(),
        at_ms: 1,
        user_id: "u".into(),
        role: "officer".into(),
        at_guidance_point: false,
        outcomes: vec![OutcomeInput {
            resident_id: SOME_ID.into(),
            outcome: Outcome::Refused,
            explanation,
        }],
    }
}

#[test]
fn keys_and_files() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.db").display().to_string();
    assert!(matches!(
        FieldStore::open(path.clone(), vec![1; 31]),
        Err(GoCuaError::InvalidInput { .. })
    ));
    assert!(matches!(
        FieldStore::open(path.clone(), vec![1; 33]),
        Err(GoCuaError::InvalidInput { .. })
    ));
    let s = FieldStore::open(path.clone(), key()).unwrap();
    s.close();
    match FieldStore::open(path.clone(), vec![7; 32]) {
        Err(GoCuaError::WrongKey { code, message_vi }) => {
            assert_eq!(code, "store.wrong_key");
            assert!(message_vi.contains("Khóa"));
        }
        other => panic!("wrong key: {other:?}"),
    }
    let corrupt = dir.path().join("corrupt.db");
    std::fs::write(&corrupt, b"this is not a database, just bytes".repeat(200)).unwrap();
    assert!(matches!(
        FieldStore::open(corrupt.display().to_string(), key()),
        Err(GoCuaError::WrongKey { .. })
    ));
    let unwritable = "/proc/definitely/not/here.db".to_owned();
    assert!(matches!(
        FieldStore::open(unwritable, key()),
        Err(GoCuaError::Storage { .. })
    ));
}

#[test]
fn closed_store_refuses_every_call() {
    let (_dir, s) = open_temp();
    s.close();
    s.close(); // idempotent
    let closed =
        |r: Result<(), GoCuaError>| assert!(matches!(r, Err(GoCuaError::Closed { .. })), "{r:?}");
    closed(s.device_id().map(|_| ()));
    closed(s.pending_changes().map(|_| ()));
    closed(s.work_list(None).map(|_| ()));
    closed(s.targets(0).map(|_| ()));
    closed(s.residents_by_state("absent".into(), None).map(|_| ()));
    closed(s.search("nguyen".into(), 10).map(|_| ()));
    closed(s.household(SOME_ID.into()).map(|_| ()));
    closed(s.record_visit(visit(SOME_ID, None)).map(|_| ()));
    closed(s.wipe());
    let client = ServerClient::new("http://127.0.0.1:9".into()).unwrap();
    closed(s.sync(client, None, None).map(|_| ()));
}

#[test]
fn bad_ids_and_oversized_input() {
    let (_dir, s) = open_temp();
    let invalid = |r: Result<(), GoCuaError>| {
        assert!(matches!(r, Err(GoCuaError::InvalidInput { .. })), "{r:?}")
    };
    invalid(s.household("not-a-uuid".into()).map(|_| ()));
    invalid(s.household(SOME_ID.into()).map(|_| ())); // unknown household
    invalid(s.record_visit(visit("nope", None)).map(|_| ()));
    invalid(
        s.record_visit(visit(SOME_ID, Some("x".repeat(100_000))))
            .map(|_| ()),
    );
    let mut v = visit(SOME_ID, None);
    v.role = "mayor".into();
    invalid(s.record_visit(v).map(|_| ()));
    let mut v = visit(SOME_ID, None);
    v.outcomes = vec![v.outcomes[0].clone(); 1000];
    invalid(s.record_visit(v).map(|_| ()));
    invalid(s.search("a".repeat(1 << 20), 10).map(|_| ()));
    invalid(s.residents_by_state("z".repeat(1 << 20), None).map(|_| ()));
    // Odd but harmless input is fine.
    assert!(s.search(String::new(), 10).unwrap().is_empty());
    assert!(
        s.search("%_'\"; DROP TABLE residents; --".into(), 10)
            .unwrap()
            .is_empty()
    );
    assert_eq!(s.pending_changes().unwrap(), 0);
}

#[test]
fn client_errors_are_typed() {
    assert!(matches!(
        ServerClient::new("ftp://example".into()),
        Err(GoCuaError::InvalidInput { .. })
    ));
    assert!(matches!(
        ServerClient::new("x".repeat(5000)),
        Err(GoCuaError::InvalidInput { .. })
    ));
    // Nothing listens on port 9 here: a network error, not a crash.
    let c = ServerClient::new("http://127.0.0.1:9".into()).unwrap();
    assert!(matches!(
        c.login("a".into(), "b".into(), "c".into()),
        Err(GoCuaError::Network { .. })
    ));
    // Not logged in: sync and refresh say so.
    let (_dir, s) = open_temp();
    assert!(matches!(
        s.sync(c.clone(), None, None),
        Err(GoCuaError::Unauthorized { .. })
    ));
    assert!(matches!(c.refresh(), Err(GoCuaError::Unauthorized { .. })));
    // A cancelled sync stops before the first round trip.
    let cancel = CancelToken::new();
    cancel.cancel();
    assert!(matches!(
        s.sync(c, None, Some(cancel)),
        Err(GoCuaError::Cancelled { .. })
    ));
}

#[test]
fn expired_login_is_unauthorized_against_a_real_server() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("server.db").display());
    let (base, _shutdown) = rt.block_on(async {
        let state = gocua_server::AppState::new(gocua_server::Settings {
            db,
            ..Default::default()
        })
        .await
        .unwrap();
        gocua_server::db::accounts::create_hamlet(&state.db, "00004", "h1", "Tổ dân phố 1")
            .await
            .unwrap();
        gocua_server::db::accounts::create_user(
            &state.db,
            &gocua_server::db::accounts::NewUser {
                username: "canbo",
                display_name: "Cán bộ",
                password: "mật-khẩu-dài",
                role: sync_core::model::Role::Officer,
                province: None,
                commune: Some("00004"),
                hamlets: &["h1".to_owned()],
                team_officer: None,
            },
        )
        .await
        .unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(gocua_server::serve(listener, state, async move {
            let _ = rx.await;
        }));
        (base, tx)
    });
    let (_d, s) = open_temp();
    let c = ServerClient::new(base).unwrap();
    // Wrong password: Unauthorized with the server's code and Vietnamese text.
    match c.login("canbo".into(), "sai".into(), s.device_id().unwrap()) {
        Err(GoCuaError::Unauthorized { code, message_vi }) => {
            assert_eq!(code, "auth.bad_login");
            assert!(message_vi.contains("mật khẩu"));
        }
        other => panic!("{other:?}"),
    }
    c.login(
        "canbo".into(),
        "mật-khẩu-dài".into(),
        s.device_id().unwrap(),
    )
    .unwrap();
    assert_eq!(s.sync(c.clone(), None, None).unwrap().round_trips, 1);
    // No campaign yet: no terms, and today's targets are everything open.
    let t = s.targets(1_790_000_000_000).unwrap();
    assert!(t.campaign.is_none());
    assert_eq!((t.quota, t.remaining, t.rows.len()), (0, 0, 0));
    // Any clock, even a nonsense one, gives an answer, not a crash.
    assert!(s.targets(i64::MIN).is_ok() && s.targets(i64::MAX).is_ok());
    // Expired (here: unreadable) access token and a dead refresh token: the
    // sync refreshes once, then reports Unauthorized.
    c.set_tokens(TokenPair {
        access_token: "expired.token.value".into(),
        refresh_token: "gone".into(),
    })
    .unwrap();
    assert!(matches!(
        s.sync(c.clone(), None, None),
        Err(GoCuaError::Unauthorized { .. })
    ));
    drop(rt);
}
