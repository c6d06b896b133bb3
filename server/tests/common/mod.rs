//! Test harness: a real server on a real socket (port 0) over a fresh
//! SQLite file or a fresh PostgreSQL database, and phones that are real
//! sync-core stores talking HTTP to it.
#![allow(dead_code)]

use gocua_server::db::accounts::{self, NewUser};
use gocua_server::db::docs;
use gocua_server::{AppState, Settings};
use sync_core::doc::NewHousehold;
use sync_core::ids::{PersonalId, PhoneNumber};
use sync_core::model::*;
use sync_core::store::{PhoneStore, StoreError, SyncApplied};

/// Which database a test runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Admin URL of the PostgreSQL server used by the tests.
pub fn pg_admin_url() -> String {
    std::env::var("GOCUA_TEST_PG")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

/// A fresh database, removed when dropped.
pub struct TestDb {
    pub url: String,
    _dir: Option<tempfile::TempDir>,
    pg_name: Option<String>,
}

impl TestDb {
    pub async fn new(backend: Backend) -> TestDb {
        match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().expect("tempdir");
                let url = format!("sqlite://{}", dir.path().join("gocua.db").display());
                TestDb {
                    url,
                    _dir: Some(dir),
                    pg_name: None,
                }
            }
            Backend::Postgres => {
                use sqlx::Connection;
                let name = format!("gocua_test_{}", uuid::Uuid::new_v4().simple());
                let mut admin = sqlx::PgConnection::connect(&pg_admin_url())
                    .await
                    .expect("PostgreSQL at 127.0.0.1:5432");
                sqlx::Executor::execute(
                    &mut admin,
                    sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")),
                )
                .await
                .expect("create database");
                let base = pg_admin_url();
                let url = format!("{}/{name}", &base[..base.rfind('/').expect("url")]);
                TestDb {
                    url,
                    _dir: None,
                    pg_name: Some(name),
                }
            }
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some(name) = self.pg_name.take() {
            // Drop runs outside any runtime: use a small one of its own.
            let _ = std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("rt");
                rt.block_on(async {
                    use sqlx::Connection;
                    if let Ok(mut admin) = sqlx::PgConnection::connect(&pg_admin_url()).await {
                        let _ = sqlx::Executor::execute(
                            &mut admin,
                            sqlx::AssertSqlSafe(format!(
                                "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
                            )),
                        )
                        .await;
                    }
                });
            })
            .join();
        }
    }
}

/// A running server.
pub struct TestServer {
    pub base: String,
    pub state: AppState,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    handle: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
}

impl TestServer {
    pub async fn start(url: &str) -> TestServer {
        Self::start_with(Settings {
            db: url.into(),
            ..Settings::default()
        })
        .await
    }

    pub async fn start_with(settings: Settings) -> TestServer {
        let state = AppState::new(settings).await.expect("server state");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let handle = tokio::spawn(gocua_server::serve(listener, state.clone(), async move {
            let _ = rx.await;
        }));
        TestServer {
            base,
            state,
            shutdown: Some(tx),
            handle: Some(handle),
        }
    }

    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(h) = self.handle.take() {
            let _ = h.await;
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }
}

pub const PASSWORD: &str = "mật-khẩu-thử-nghiệm";
pub const COMMUNE_A: &str = "00004"; // Phường Ba Đình, Hà Nội
pub const COMMUNE_B: &str = "00008"; // Phường Ngọc Hà, Hà Nội

/// Two communes: A with hamlets a1 and a2, B with b1; households in each,
/// among them a canary per commune; users of every role.
pub struct Fixture {
    pub households_a1: Vec<(HouseholdId, Vec<ResidentId>)>,
    pub households_a2: Vec<(HouseholdId, Vec<ResidentId>)>,
    pub canary_a: HouseholdId,
    pub canary_b: HouseholdId,
}

/// (username, role, commune, province, hamlets)
type UserSpec<'a> = (
    &'a str,
    Role,
    Option<&'a str>,
    Option<&'a str>,
    &'a [&'a str],
);

pub async fn seed(state: &AppState) -> Fixture {
    let db = &state.db;
    for (commune, id, name) in [
        (COMMUNE_A, "a1", "Tổ dân phố 1"),
        (COMMUNE_A, "a2", "Tổ dân phố 2"),
        (COMMUNE_B, "b1", "Tổ dân phố Ngọc Hà 1"),
    ] {
        accounts::create_hamlet(db, commune, id, name)
            .await
            .expect("hamlet");
    }
    let users: [UserSpec; 7] = [
        ("leader-a", Role::Leader, Some(COMMUNE_A), None, &[]),
        ("officer-a1", Role::Officer, Some(COMMUNE_A), None, &["a1"]),
        ("officer-a2", Role::Officer, Some(COMMUNE_A), None, &["a2"]),
        (
            "volunteer-a1",
            Role::Volunteer,
            Some(COMMUNE_A),
            None,
            &["a1"],
        ),
        ("officer-b1", Role::Officer, Some(COMMUNE_B), None, &["b1"]),
        ("leader-b", Role::Leader, Some(COMMUNE_B), None, &[]),
        ("province-01", Role::ProvincialAdmin, None, Some("01"), &[]),
    ];
    for (username, role, commune, province, hamlets) in users {
        let hamlets: Vec<String> = hamlets.iter().map(|h| h.to_string()).collect();
        accounts::create_user(
            db,
            &NewUser {
                username,
                display_name: username,
                password: PASSWORD,
                role,
                province,
                commune,
                hamlets: &hamlets,
                team_officer: None,
            },
        )
        .await
        .expect("user");
    }
    let make = |commune: &str, hamlet: &str, n: usize, names: &[&str]| {
        (0..n)
            .map(|i| {
                let id = HouseholdId::new();
                let residents: Vec<(ResidentId, ResidentInfo)> = names
                    .iter()
                    .enumerate()
                    .map(|(k, name)| {
                        (
                            ResidentId::new(),
                            ResidentInfo {
                                full_name: (*name).to_owned(),
                                registry: RegistryStatus::NoAccount,
                                protected: ProtectedResidentInfo {
                                    personal_id: Some(
                                        PersonalId::parse(&format!("00119{}{:06}", 0, 100 * i + k))
                                            .expect("id"),
                                    ),
                                    phone: Some(
                                        PhoneNumber::parse(&format!("09123{:05}", 100 * i + k))
                                            .expect("phone"),
                                    ),
                                    birth_date: None,
                                },
                                ..Default::default()
                            },
                        )
                    })
                    .collect();
                (
                    NewHousehold {
                        id,
                        commune: commune.into(),
                        hamlet: hamlet.into(),
                        address: Address {
                            house_number: format!("{}", i + 1),
                            alley: "ngõ 4".into(),
                            street: "Đội Cấn".into(),
                        },
                        residents: residents.clone(),
                    },
                    residents.into_iter().map(|(r, _)| r).collect::<Vec<_>>(),
                )
            })
            .collect::<Vec<_>>()
    };
    let a1 = make(COMMUNE_A, "a1", 3, &["Nguyễn Thị Thu Hà", "Trần Văn An"]);
    let a2 = make(COMMUNE_A, "a2", 2, &["Lê Thị Ánh"]);
    let b1 = make(COMMUNE_B, "b1", 2, &["Phạm Canary Bê"]);
    for (h, _) in a1.iter().chain(a2.iter()).chain(b1.iter()) {
        docs::create_household(db, &state.actor, h)
            .await
            .expect("household");
    }
    Fixture {
        canary_a: a1[0].0.id,
        canary_b: b1[0].0.id,
        households_a1: a1.iter().map(|(h, r)| (h.id, r.clone())).collect(),
        households_a2: a2.iter().map(|(h, r)| (h.id, r.clone())).collect(),
    }
}

/// A phone: a real sync-core store that talks HTTP to the server.
pub struct Phone {
    pub store: PhoneStore,
    pub access: String,
    pub refresh: String,
    pub user_id: String,
    pub http: reqwest::Client,
    pub base: String,
}

#[derive(serde::Deserialize)]
pub struct TokensOut {
    pub access_token: String,
    pub refresh_token: String,
    pub user: serde_json::Value,
}

impl Phone {
    pub async fn login(server: &TestServer, username: &str) -> Phone {
        Self::login_with(
            server,
            username,
            PhoneStore::open_in_memory().expect("store"),
        )
        .await
    }

    pub async fn login_with(server: &TestServer, username: &str, store: PhoneStore) -> Phone {
        let http = reqwest::Client::new();
        let resp = http
            .post(server.url("/api/v1/auth/login"))
            .json(&serde_json::json!({ "username": username, "password": PASSWORD, "device_id": store.device_id() }))
            .send()
            .await
            .expect("login request");
        assert_eq!(resp.status(), 200, "login {username}");
        let t: TokensOut = resp.json().await.expect("tokens");
        Phone {
            store,
            access: t.access_token,
            refresh: t.refresh_token,
            user_id: t.user["id"].as_str().expect("id").to_owned(),
            http,
            base: server.base.clone(),
        }
    }

    /// One round trip: returns the HTTP status and, on 200, what applying did.
    pub async fn sync_once(&mut self) -> (u16, Result<SyncApplied, StoreError>) {
        let req = self.store.sync_request().expect("request");
        let resp = self
            .http
            .post(format!("{}/api/v1/sync", self.base))
            .bearer_auth(&self.access)
            .header("content-type", "application/octet-stream")
            .body(req)
            .send()
            .await
            .expect("sync request");
        let status = resp.status().as_u16();
        let body = resp.bytes().await.expect("body");
        if status != 200 {
            return (status, Err(StoreError::NotFound));
        }
        (status, self.store.apply_sync_response(&body))
    }

    /// Syncs until nothing more is waiting; panics on failure.
    pub async fn sync(&mut self) -> usize {
        for trip in 1..=20 {
            let (status, applied) = self.sync_once().await;
            assert_eq!(status, 200, "sync status");
            match applied {
                Ok(a) if a.more => continue,
                Ok(_) => return trip,
                Err(StoreError::NeedsFullResync) => continue,
                Err(e) => panic!("sync failed: {e}"),
            }
        }
        panic!("sync did not finish in 20 round trips");
    }

    pub fn visit(&self, role: Role, outcomes: Vec<(ResidentId, Outcome)>) -> Visit {
        Visit {
            id: VisitId::new(),
            at_ms: 1_763_800_000_000,
            by: Recorder {
                user: self.user_id.clone(),
                role,
                device: self.store.device_id().into(),
            },
            place: Place::Home,
            outcomes: outcomes
                .into_iter()
                .map(|(resident, outcome)| ResidentOutcome {
                    resident,
                    outcome,
                    explanation: None,
                })
                .collect(),
            newcomers: vec![],
        }
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.http
            .get(format!("{}{path}", self.base))
            .bearer_auth(&self.access)
            .send()
            .await
            .expect("get")
    }
}

/// Instantiates an async test for both backends.
#[macro_export]
macro_rules! both_backends {
    ($name:ident, $body:ident) => {
        mod $name {
            use super::*;
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                $body($crate::common::Backend::Sqlite).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                $body($crate::common::Backend::Postgres).await;
            }
        }
    };
}
