//! Server benchmarks of gocua-server, on SQLite and PostgreSQL side by side:
//! ingest of visits, 200 phones syncing a day's work at once, and the
//! initial sync of an officer's 2,000 households, all over real HTTP.
//!
//! ```text
//! cargo bench -p gocua-server --bench server_bench
//! GOCUA_BENCH_PHONES=50 GOCUA_BENCH_BACKENDS=sqlite cargo bench -p gocua-server --bench server_bench
//! ```
//!
//! Environment variables (defaults in brackets):
//!
//! * `GOCUA_BENCH_BACKENDS` [`sqlite,postgres`]: which databases to run on.
//! * `GOCUA_BENCH_HOUSEHOLDS` [2000]: households of the commune (5 residents each).
//! * `GOCUA_BENCH_HAMLET_SIZE` [200]: households per hamlet (the commune has
//!   households / hamlet size hamlets).
//! * `GOCUA_BENCH_PHONES` [200]: field phones syncing at once.
//! * `GOCUA_BENCH_VISITS` [50]: visits each phone records before that sync.
//! * `GOCUA_BENCH_ROUNDS` [1]: how many times the phones record and sync
//!   (2: the morning's and the afternoon's work); round 1 gives the targets.
//! * `GOCUA_BENCH_FIRST_SYNCS` [24]: fresh phones making their first sync
//!   at the same moment (a team installing the app together); 0 skips it.
//! * `GOCUA_BENCH_SPREAD_MS` [0]: the phones of a round start their syncs
//!   spread evenly over this many milliseconds instead of at one instant
//!   (the ingest rate is then bounded by the spread).
//! * `GOCUA_BENCH_SETUP_CONCURRENCY` [4]: logins and initial syncs of the
//!   phones in flight at once during setup.
//! * `GOCUA_BENCH_PERF_CTL` [unset]: a `perf record --control=fifo:…` pipe;
//!   profiling is enabled only while the phones sync at once.
//! * `GOCUA_BENCH_PG` (or `GOCUA_TEST_PG`) [`postgres://postgres@127.0.0.1:5432/test`]:
//!   the PostgreSQL admin URL; a fresh database is created under it for the
//!   run and dropped at the end.
//!
//! The server runs in this process (`gocua_server::serve` on 127.0.0.1:0, on
//! a multi-threaded tokio runtime of its own, like the `gocua` binary's
//! `#[tokio::main]`, and with the binary's allocator, mimalloc). The phones
//! are sync-core `PhoneStore`s in memory with their own HTTP clients, on a
//! second (single-threaded) runtime. The per-user rate limiter is raised to
//! a million requests a minute so that it does not shape the figures.
//!
//! The bench measures and prints PASS or MISS against each target; it never
//! fails on a miss. Figures and targets are described in
//! `docs/BENCHMARKS.md`.

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use futures::StreamExt;
use gocua_server::db::accounts::{self, NewUser};
use gocua_server::db::docs;
use gocua_server::{AppState, Settings};
use sqlx::Row;
use std::collections::BTreeMap;
use std::future::Future;
use std::path::PathBuf;
use std::time::{Duration, Instant};
use sync_core::prelude::*;
use sync_core::protocol;
use sync_core::sample::{FAMILY, Rng, STREETS, person};
use sync_core::store::{StoreError, SyncApplied};

type R<T> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

const KB: f64 = 1024.0;
const MB: f64 = 1024.0 * 1024.0;
const COMMUNE: &str = "00004";
const PASSWORD: &str = "mật-khẩu-đo-hiệu-năng";
/// 07:30 Vietnam time on 22 Nov 2026.
const MORNING_MS: i64 = 1_795_307_400_000;

// ---------------------------------------------------------------------------
// Settings of the run
// ---------------------------------------------------------------------------

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    fn name(self) -> &'static str {
        match self {
            Backend::Sqlite => "SQLite",
            Backend::Postgres => "PostgreSQL",
        }
    }
}

#[derive(Clone, Debug)]
struct Config {
    households: usize,
    hamlet_size: usize,
    phones: usize,
    visits: usize,
    rounds: usize,
    first_syncs: usize,
    spread_ms: u64,
    setup_concurrency: usize,
    backends: Vec<Backend>,
    pg_admin: String,
}

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .filter(|v| *v > 0)
        .unwrap_or(default)
}

impl Config {
    fn from_env() -> Config {
        let backends = std::env::var("GOCUA_BENCH_BACKENDS")
            .unwrap_or_else(|_| "sqlite,postgres".into())
            .split(',')
            .filter_map(|b| match b.trim().to_ascii_lowercase().as_str() {
                "sqlite" => Some(Backend::Sqlite),
                "postgres" | "postgresql" | "pg" => Some(Backend::Postgres),
                _ => None,
            })
            .collect();
        Config {
            households: env_usize("GOCUA_BENCH_HOUSEHOLDS", 2_000),
            hamlet_size: env_usize("GOCUA_BENCH_HAMLET_SIZE", 200),
            phones: env_usize("GOCUA_BENCH_PHONES", 200),
            visits: env_usize("GOCUA_BENCH_VISITS", 50),
            rounds: env_usize("GOCUA_BENCH_ROUNDS", 1),
            first_syncs: std::env::var("GOCUA_BENCH_FIRST_SYNCS")
                .ok()
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(24),
            spread_ms: env_usize("GOCUA_BENCH_SPREAD_MS", 0) as u64,
            setup_concurrency: env_usize("GOCUA_BENCH_SETUP_CONCURRENCY", 4),
            backends,
            pg_admin: std::env::var("GOCUA_BENCH_PG")
                .or_else(|_| std::env::var("GOCUA_TEST_PG"))
                .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into()),
        }
    }

    fn hamlets(&self) -> usize {
        self.households.div_ceil(self.hamlet_size).max(1)
    }
}

// ---------------------------------------------------------------------------
// Deterministic data (the same generator as sync-core's bench, abridged)
// ---------------------------------------------------------------------------

fn hamlet_id(i: usize) -> String {
    format!("{COMMUNE}-tdp{:02}", i + 1)
}

fn hamlet_name(i: usize) -> String {
    format!("Tổ dân phố {}", i + 1)
}

/// One generated household: what the server imports, plus what the bench
/// needs to write visits (resident ids and birth years).
struct GenHousehold {
    new: NewHousehold,
    hamlet: usize,
    people: Vec<(ResidentId, i32)>,
}

/// Household `i` of the commune: five residents (a couple, two children,
/// a grandparent or a third child), in hamlet `i % hamlets`.
fn gen_household(rng: &mut Rng, i: usize, hamlets: usize) -> GenHousehold {
    let n = rng.range(1, 180);
    let house_number = match rng.below(20) {
        0..=11 => n.to_string(),
        12..=14 => format!("{n}{}", rng.pick(&["A", "B", "C"])),
        _ => format!("{n}/{}", rng.range(1, 40)),
    };
    let alley = match rng.below(20) {
        0..=6 => String::new(),
        7..=16 => format!("ngõ {}", rng.range(1, 250)),
        _ => format!("ngách {}/{}", rng.range(1, 250), rng.range(1, 60)),
    };
    let address = Address {
        house_number,
        alley,
        street: (*rng.pick(STREETS)).to_owned(),
    };
    let family = *rng.weighted(FAMILY);
    let head_born = rng.range(1955, 1988);
    let head_sex = if rng.chance(0.8) {
        Sex::Male
    } else {
        Sex::Female
    };
    let other = match head_sex {
        Sex::Male => Sex::Female,
        Sex::Female => Sex::Male,
    };
    let spouse_family = *rng.weighted(FAMILY);
    let spouse_born = head_born + rng.range(-3, 6);
    let mut members = vec![
        (person(rng, family, head_sex, head_born), head_born),
        (person(rng, spouse_family, other, spouse_born), spouse_born),
    ];
    for _ in 0..2 {
        let born = (head_born + rng.range(22, 36)).min(2022);
        let sex = if rng.chance(0.5) {
            Sex::Male
        } else {
            Sex::Female
        };
        members.push((person(rng, family, sex, born), born));
    }
    if rng.chance(0.5) {
        let born = head_born - rng.range(22, 32);
        members.push((person(rng, family, Sex::Female, born), born));
    } else {
        let born = (head_born + rng.range(25, 40)).min(2023);
        members.push((person(rng, family, Sex::Male, born), born));
    }
    let mut people = Vec::new();
    let mut residents = Vec::new();
    for (info, born) in members {
        let id = ResidentId::new();
        people.push((id, born));
        residents.push((id, info));
    }
    let hamlet = i % hamlets;
    GenHousehold {
        new: NewHousehold {
            id: HouseholdId::new(),
            commune: COMMUNE.into(),
            hamlet: hamlet_id(hamlet),
            address,
            residents,
        },
        hamlet,
        people,
    }
}

/// A typical outcome for a resident born in `born`, with an explanation
/// now and then.
fn gen_outcome(rng: &mut Rng, born: i32) -> (Outcome, Option<String>) {
    if born >= 2012 {
        return (
            Outcome::Ineligible {
                reason: IneligibleReason::UnderAge,
            },
            None,
        );
    }
    let o = match *rng.weighted(&[
        (0u8, 25),
        (1, 15),
        (2, 12),
        (3, 10),
        (4, 3),
        (5, 8),
        (6, 3),
        (7, 2),
        (8, 3),
        (9, 2),
        (10, 7),
        (11, 2),
        (12, 1),
    ]) {
        0 => Outcome::Activated {
            how: ActivationHow::OnTheSpot,
        },
        1 => Outcome::Activated {
            how: ActivationHow::AlreadyActive,
        },
        2 => Outcome::Absent {
            reason: AbsentReason::WorkingOrStudyingElsewhere,
        },
        3 => Outcome::Absent {
            reason: AbsentReason::NotHomeNow,
        },
        4 => Outcome::Absent {
            reason: AbsentReason::AwayForAWhile,
        },
        5 => Outcome::Ineligible {
            reason: IneligibleReason::NoSmartphone,
        },
        6 => Outcome::Ineligible {
            reason: IneligibleReason::NoChipIdCard,
        },
        7 => Outcome::Ineligible {
            reason: IneligibleReason::OldIllOrDisabled,
        },
        8 => Outcome::NeedsSupport {
            kind: SupportKind::LockedAccount,
        },
        9 => Outcome::NeedsSupport {
            kind: SupportKind::ChangedPhoneNumber,
        },
        10 => Outcome::ApplicationCollected,
        11 => Outcome::Refused,
        _ => Outcome::Ineligible {
            reason: IneligibleReason::Other,
        },
    };
    let explanation = match o {
        Outcome::Ineligible {
            reason: IneligibleReason::Other,
        } => Some("Đang điều trị dài ngày ở Bệnh viện Bạch Mai".to_owned()),
        Outcome::Absent { .. } if rng.chance(0.1) => {
            Some("Đi làm ở Bình Dương, cuối năm mới về".to_owned())
        }
        _ => None,
    };
    (o, explanation)
}

fn gen_visit(rng: &mut Rng, h: &GenHousehold, by: Recorder, at_ms: i64) -> Visit {
    Visit {
        id: VisitId::new(),
        at_ms,
        by,
        place: Place::Home,
        outcomes: h
            .people
            .iter()
            .map(|(id, born)| {
                let (outcome, explanation) = gen_outcome(rng, *born);
                ResidentOutcome {
                    resident: *id,
                    outcome,
                    explanation,
                }
            })
            .collect(),
        newcomers: vec![],
    }
}

// ---------------------------------------------------------------------------
// Databases
// ---------------------------------------------------------------------------

/// A fresh database for one run, removed when dropped.
struct BenchDb {
    url: String,
    _dir: Option<tempfile::TempDir>,
    pg: Option<(String, String)>,
}

impl BenchDb {
    async fn new(backend: Backend, pg_admin: &str) -> R<BenchDb> {
        match backend {
            Backend::Sqlite => {
                // On the target directory's disk (not a tmpfs), so fsync is real.
                let base = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
                std::fs::create_dir_all(&base)?;
                let dir = tempfile::Builder::new()
                    .prefix("server_bench")
                    .tempdir_in(base)?;
                let url = format!("sqlite://{}", dir.path().join("gocua.db").display());
                Ok(BenchDb {
                    url,
                    _dir: Some(dir),
                    pg: None,
                })
            }
            Backend::Postgres => {
                use sqlx::Connection;
                let name = format!("gocua_bench_{}", uuid::Uuid::new_v4().simple());
                let mut admin = sqlx::PgConnection::connect(pg_admin).await?;
                sqlx::Executor::execute(
                    &mut admin,
                    sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")),
                )
                .await?;
                admin.close().await?;
                let slash = pg_admin
                    .rfind('/')
                    .ok_or("PostgreSQL URL without a database")?;
                Ok(BenchDb {
                    url: format!("{}/{name}", &pg_admin[..slash]),
                    _dir: None,
                    pg: Some((pg_admin.to_owned(), name)),
                })
            }
        }
    }
}

impl Drop for BenchDb {
    fn drop(&mut self) {
        if let Some((admin_url, name)) = self.pg.take() {
            // Drop runs outside any runtime: use a small one of its own.
            let _ = std::thread::spawn(move || {
                let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                else {
                    return;
                };
                rt.block_on(async {
                    use sqlx::Connection;
                    if let Ok(mut admin) = sqlx::PgConnection::connect(&admin_url).await {
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

/// What the database promises about a commit, read from it.
async fn durability(state: &AppState, backend: Backend) -> R<String> {
    let pool = &state.db.pool;
    Ok(match backend {
        Backend::Sqlite => {
            let mode: String = sqlx::query("PRAGMA journal_mode")
                .fetch_one(pool)
                .await?
                .try_get(0)?;
            let sync: i64 = sqlx::query("PRAGMA synchronous")
                .fetch_one(pool)
                .await?
                .try_get(0)?;
            let sync = match sync {
                0 => "OFF",
                1 => "NORMAL",
                2 => "FULL",
                3 => "EXTRA",
                _ => "?",
            };
            format!("journal_mode={mode}, synchronous={sync}")
        }
        Backend::Postgres => {
            let mut out = Vec::new();
            for setting in ["fsync", "synchronous_commit", "wal_sync_method"] {
                let v: String = sqlx::query(sqlx::AssertSqlSafe(format!("SHOW {setting}")))
                    .fetch_one(pool)
                    .await?
                    .try_get(0)?;
                out.push(format!("{setting}={v}"));
            }
            out.join(", ")
        }
    })
}

async fn count_changes(state: &AppState) -> R<i64> {
    Ok(sqlx::query("SELECT COUNT(*) FROM changes")
        .fetch_one(&state.db.pool)
        .await?
        .try_get(0)?)
}

// ---------------------------------------------------------------------------
// Phones
// ---------------------------------------------------------------------------

/// A phone: a sync-core store in memory with its own HTTP client (its own
/// keep-alive connection), logged in as one user on its own device.
struct Phone {
    store: Option<PhoneStore>,
    http: reqwest::Client,
    base: String,
    access: String,
    user_id: String,
    role: Role,
    /// Indexes (into the commune's households) of the phone's area.
    area: Vec<usize>,
    /// Where in its area the phone walks today.
    walk_from: usize,
}

#[derive(Debug, Default, Clone)]
struct SyncStats {
    trips: usize,
    up: usize,
    down: usize,
    /// Whole sync, first byte sent to last response received (and applied,
    /// where the apply is part of the loop).
    total: Duration,
    /// Time waiting for HTTP answers (server + loopback).
    http: Duration,
    /// Phone-side work inside the loop (building requests, applying).
    phone: Duration,
    errors: Vec<String>,
}

fn http_client(timeout: Duration) -> R<reqwest::Client> {
    Ok(reqwest::Client::builder()
        .no_proxy()
        .timeout(timeout)
        .build()?)
}

fn http_error(e: reqwest::Error) -> Box<dyn std::error::Error + Send + Sync> {
    if e.is_timeout() {
        "no answer before the phone's timeout".into()
    } else {
        e.into()
    }
}

/// How long a phone waits for an answer (the first-sync check uses less).
const HTTP_TIMEOUT: Duration = Duration::from_secs(300);
/// The first-sync check's phones give up after this long (and close the
/// connection, which cancels the request on the server).
const FIRST_SYNC_TIMEOUT: Duration = Duration::from_secs(10);

impl Phone {
    fn store(&mut self) -> &mut PhoneStore {
        self.store.as_mut().expect("phone store present")
    }

    async fn login(
        base: &str,
        username: &str,
        role: Role,
        area: Vec<usize>,
        walk_from: usize,
        timeout: Duration,
    ) -> R<Phone> {
        let store = PhoneStore::open_in_memory()?;
        let http = http_client(timeout)?;
        let resp = http
            .post(format!("{base}/api/v1/auth/login"))
            .json(&serde_json::json!({
                "username": username,
                "password": PASSWORD,
                "device_id": store.device_id(),
            }))
            .send()
            .await?;
        if resp.status() != 200 {
            return Err(format!("login {username}: HTTP {}", resp.status()).into());
        }
        let v: serde_json::Value = resp.json().await?;
        let access = v["access_token"].as_str().ok_or("no token")?.to_owned();
        let user_id = v["user"]["id"].as_str().ok_or("no user id")?.to_owned();
        Ok(Phone {
            store: Some(store),
            http,
            base: base.to_owned(),
            access,
            user_id,
            role,
            area,
            walk_from,
        })
    }

    async fn post(&self, frame: Vec<u8>) -> R<(u16, Vec<u8>)> {
        let resp = self
            .http
            .post(format!("{}/api/v1/sync", self.base))
            .bearer_auth(&self.access)
            .header("content-type", "application/octet-stream")
            .body(frame)
            .send()
            .await
            .map_err(http_error)?;
        let status = resp.status().as_u16();
        let body = resp.bytes().await.map_err(http_error)?.to_vec();
        Ok((status, body))
    }

    /// Runs phone work on a blocking thread, so that the phones' runtime
    /// keeps moving other phones' bytes meanwhile.
    async fn on_phone<T: Send + 'static>(
        &mut self,
        f: impl FnOnce(&mut PhoneStore) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let mut store = self.store.take().expect("phone store present");
        let (store, r) = tokio::task::spawn_blocking(move || {
            let r = f(&mut store);
            (store, r)
        })
        .await
        .expect("phone task");
        self.store = Some(store);
        r
    }

    /// Syncs until the server has nothing more, applying each answer as it
    /// comes (on a blocking thread): the whole loop is timed.
    async fn sync_inline(&mut self) -> R<SyncStats> {
        let mut s = SyncStats::default();
        let t0 = Instant::now();
        loop {
            let tp = Instant::now();
            let req = self.on_phone(|st| st.sync_request()).await?;
            s.phone += tp.elapsed();
            s.up += req.len();
            let th = Instant::now();
            let (status, body) = self.post(req).await?;
            s.http += th.elapsed();
            s.trips += 1;
            s.down += body.len();
            if status != 200 {
                return Err(format!("sync: HTTP {status}").into());
            }
            let tp = Instant::now();
            let applied = self.on_phone(move |st| st.apply_sync_response(&body)).await;
            s.phone += tp.elapsed();
            match applied {
                Ok(a) if a.more => {}
                Ok(_) => break,
                Err(StoreError::NeedsFullResync) => s.errors.push("needs full resync".into()),
                Err(e) => return Err(e.into()),
            }
            if s.trips > 50 {
                return Err("sync does not converge".into());
            }
        }
        s.total = t0.elapsed();
        Ok(s)
    }

    /// Records this round's visits on the phone (offline work).
    fn record_day(
        &mut self,
        world: &[GenHousehold],
        visits: usize,
        round: usize,
        rng: &mut Rng,
    ) -> R<usize> {
        let device = self.store().device_id().to_owned();
        let len = self.area.len();
        let mut n = 0;
        for k in 0..visits.min(len) {
            let h = &world[self.area[(self.walk_from + round * visits + k) % len]];
            let by = Recorder {
                user: self.user_id.clone(),
                role: self.role,
                device: device.clone(),
            };
            let at = MORNING_MS + round as i64 * 5 * 3_600_000 + k as i64 * 6 * 60_000;
            let v = gen_visit(rng, h, by, at);
            self.store().record_visit(h.new.id, &v)?;
            n += 1;
        }
        Ok(n)
    }
}

/// One phone's part of the concurrent round: the first request was built
/// before the round started. The clock runs from sending it until the
/// response with `more == false` has arrived. A response with `more` is
/// applied at once (on a blocking thread, timed) since the next request
/// depends on it; the last one is returned, to be applied after the round.
async fn timed_sync(phone: &mut Phone, first: Vec<u8>) -> (SyncStats, Option<Vec<u8>>) {
    let mut s = SyncStats::default();
    let limits = protocol::Limits::default();
    let t0 = Instant::now();
    let mut req = first;
    loop {
        s.up += req.len();
        let th = Instant::now();
        let answer = phone.post(req).await;
        s.http += th.elapsed();
        s.trips += 1;
        let body = match answer {
            Ok((200, body)) => body,
            Ok((status, body)) => {
                s.errors.push(format!(
                    "HTTP {status}: {}",
                    String::from_utf8_lossy(&body[..body.len().min(200)])
                ));
                break;
            }
            Err(e) => {
                s.errors.push(format!("request: {e}"));
                break;
            }
        };
        s.down += body.len();
        let more = match protocol::decode_response(&body, &limits) {
            Ok(r) => r.more,
            Err(e) => {
                s.errors.push(format!("decode: {e}"));
                break;
            }
        };
        if !more {
            s.total = t0.elapsed();
            return (s, Some(body));
        }
        let tp = Instant::now();
        let Some(mut store) = phone.store.take() else {
            s.errors.push("store missing".into());
            break;
        };
        let joined = tokio::task::spawn_blocking(move || {
            let r = store
                .apply_sync_response(&body)
                .and_then(|_| store.sync_request());
            (store, r)
        })
        .await;
        match joined {
            Ok((store, r)) => {
                phone.store = Some(store);
                match r {
                    Ok(next) => req = next,
                    Err(e) => {
                        s.errors.push(format!("apply: {e}"));
                        break;
                    }
                }
            }
            Err(e) => {
                s.errors.push(format!("apply task: {e}"));
                break;
            }
        }
        s.phone += tp.elapsed();
        if s.trips > 50 {
            s.errors.push("does not converge".into());
            break;
        }
    }
    s.total = t0.elapsed();
    (s, None)
}

/// Applies a phone's last answer on a blocking thread; returns how long it
/// took and the outbox entries still waiting after it.
async fn apply_last(
    phone: &mut Phone,
    body: Option<Vec<u8>>,
) -> (Duration, Result<u64, StoreError>) {
    let (Some(body), Some(mut store)) = (body, phone.store.take()) else {
        return (Duration::ZERO, Ok(0));
    };
    let joined = tokio::task::spawn_blocking(move || {
        let t = Instant::now();
        let r: Result<SyncApplied, StoreError> = store.apply_sync_response(&body);
        let took = t.elapsed();
        let r = r.and_then(|_| store.pending_changes());
        (store, took, r)
    })
    .await;
    match joined {
        Ok((store, took, r)) => {
            phone.store = Some(store);
            (took, r)
        }
        Err(_) => (Duration::ZERO, Err(StoreError::NotFound)),
    }
}

/// Fresh volunteers' phones (one hamlet each, in turn) log in, then all
/// make their first sync at the same moment.
async fn first_syncs_at_once(
    cfg: &Config,
    col: usize,
    base: &str,
    world: &[GenHousehold],
    table: &mut Table,
) -> R<()> {
    let hamlets = cfg.hamlets();
    let specs: Vec<(String, Vec<usize>)> = (0..cfg.first_syncs)
        .map(|i| {
            let area = world
                .iter()
                .enumerate()
                .filter(|(_, h)| h.hamlet == i % hamlets)
                .map(|(k, _)| k)
                .collect();
            (format!("tnv-moi{:03}", i + 1), area)
        })
        .collect();
    let logins: Vec<R<Phone>> = futures::stream::iter(specs)
        .map(|(u, area)| async move {
            Phone::login(base, &u, Role::Volunteer, area, 0, FIRST_SYNC_TIMEOUT).await
        })
        .buffered(cfg.setup_concurrency)
        .collect()
        .await;
    let mut phones = logins.into_iter().collect::<R<Vec<Phone>>>()?;
    let mut firsts = Vec::with_capacity(phones.len());
    for p in phones.iter_mut() {
        firsts.push(p.store().sync_request()?);
    }
    let t = Instant::now();
    let results: Vec<(SyncStats, Option<Vec<u8>>)> = futures::future::join_all(
        phones
            .iter_mut()
            .zip(firsts)
            .map(|(p, first)| timed_sync(p, first)),
    )
    .await;
    let wall = t.elapsed();
    let errors: Vec<String> = results
        .iter()
        .flat_map(|(s, _)| s.errors.iter().cloned())
        .collect();
    let done = results.iter().filter(|(_, last)| last.is_some()).count();
    let times = summarize(results.iter().map(|(s, _)| s.total).collect());
    println!(
        "  {} first syncs at once: {done} done in {:.2} s (p50 {:.2} s, max {:.2} s); {} error(s){}",
        phones.len(),
        secs(wall),
        secs(times.p50),
        secs(times.max),
        errors.len(),
        errors
            .first()
            .map(|e| format!(", first: {e}"))
            .unwrap_or_default()
    );
    table.set(
        col,
        &format!(
            "   {} fresh phones' first syncs at the same moment",
            phones.len()
        ),
        "no errors",
        format!(
            "{done} done, {} error(s), wall {:.2} s, max {:.2} s",
            errors.len(),
            secs(wall),
            secs(times.max)
        ),
        Some(errors.is_empty()),
    );
    Ok(())
}

// ---------------------------------------------------------------------------
// Statistics, memory and printing
// ---------------------------------------------------------------------------

struct Summary {
    p50: Duration,
    p95: Duration,
    max: Duration,
}

fn summarize(mut v: Vec<Duration>) -> Summary {
    v.sort();
    let n = v.len();
    if n == 0 {
        return Summary {
            p50: Duration::ZERO,
            p95: Duration::ZERO,
            max: Duration::ZERO,
        };
    }
    let p50 = if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2
    };
    let p95 = v[((n as f64 * 0.95).ceil() as usize).clamp(1, n) - 1];
    Summary {
        p50,
        p95,
        max: v[n - 1],
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn secs(d: Duration) -> f64 {
    d.as_secs_f64()
}

fn status_kb(field: &str) -> u64 {
    let Ok(s) = std::fs::read_to_string("/proc/self/status") else {
        return 0;
    };
    s.lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|rest| rest.trim_start_matches(':').split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// CPU time used by this process so far (user + system), from
/// `/proc/self/stat` (clock ticks of 1/100 s).
fn cpu_time() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name (which is in parentheses).
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let f: Vec<u64> = rest
        .split_whitespace()
        .map(|x| x.parse().unwrap_or(0))
        .collect();
    // utime and stime are fields 14 and 15 of the line: 12 and 13 here.
    let ticks = f.get(11).copied().unwrap_or(0) + f.get(12).copied().unwrap_or(0);
    Duration::from_millis(ticks * 10)
}

fn rss_mb() -> f64 {
    status_kb("VmRSS") as f64 / 1024.0
}

fn hwm_mb() -> f64 {
    status_kb("VmHWM") as f64 / 1024.0
}

/// Resets VmHWM to the current RSS (Linux ≥ 4.0). Returns false if refused.
fn reset_hwm() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

/// With `GOCUA_BENCH_PERF_CTL=FIFO`, writes `enable` / `disable` to a
/// `perf record --delay=-1 --control=fifo:FIFO` control pipe around the
/// timed rounds, so a profile covers them and not the setup.
fn perf_control(cmd: &str) {
    if let Some(path) = std::env::var_os("GOCUA_BENCH_PERF_CTL") {
        let _ = std::fs::write(path, format!("{cmd}\n"));
    }
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .unwrap_or_default()
        .split_whitespace()
        .take(3)
        .collect::<Vec<_>>()
        .join(" ")
}

/// 12345.6 → "12,346".
fn thousands(x: f64) -> String {
    let s = format!("{:.0}", x);
    let (sign, digits) = s.strip_prefix('-').map_or(("", &s[..]), |d| ("-", d));
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    format!("{sign}{out}")
}

/// One backend's figure: the text and, against a target, PASS or MISS.
type Cell = (String, Option<bool>);

/// The results table: one column of figures per backend.
struct Table {
    backends: Vec<Backend>,
    /// label → (target, per backend: (text, verdict)).
    rows: Vec<(String, String, BTreeMap<usize, Cell>)>,
}

impl Table {
    fn set(&mut self, b: usize, label: &str, target: &str, text: String, ok: Option<bool>) {
        if let Some(row) = self.rows.iter_mut().find(|r| r.0 == label) {
            row.2.insert(b, (text, ok));
        } else {
            let mut m = BTreeMap::new();
            m.insert(b, (text, ok));
            self.rows.push((label.to_owned(), target.to_owned(), m));
        }
    }

    fn print(&self) {
        let cell = |m: &BTreeMap<usize, Cell>, b: usize| match m.get(&b) {
            Some((t, Some(true))) => format!("{t} PASS"),
            Some((t, Some(false))) => format!("{t} MISS"),
            Some((t, None)) => t.clone(),
            None => "-".into(),
        };
        let mut header = vec!["figure".to_owned(), "target".to_owned()];
        header.extend(self.backends.iter().map(|b| b.name().to_owned()));
        let mut lines = vec![header];
        for (label, target, m) in &self.rows {
            let mut l = vec![label.clone(), target.clone()];
            l.extend((0..self.backends.len()).map(|b| cell(m, b)));
            lines.push(l);
        }
        let cols = lines[0].len();
        let widths: Vec<usize> = (0..cols)
            .map(|c| {
                lines
                    .iter()
                    .map(|l| l[c].chars().count())
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        for (i, l) in lines.iter().enumerate() {
            let cells: Vec<String> = l
                .iter()
                .zip(&widths)
                .map(|(s, w)| format!("{s}{}", " ".repeat(w - s.chars().count())))
                .collect();
            println!("| {} |", cells.join(" | "));
            if i == 0 {
                let rule: Vec<String> = widths.iter().map(|w| "-".repeat(*w)).collect();
                println!("|-{}-|", rule.join("-|-"));
            }
        }
    }
}

// ---------------------------------------------------------------------------
// One backend
// ---------------------------------------------------------------------------

/// Runs `f` on the server's runtime (where the pool and the listener live)
/// and waits for it from the phones' runtime.
async fn on_server<F, T>(rt: &tokio::runtime::Handle, f: F) -> R<T>
where
    F: Future<Output = R<T>> + Send + 'static,
    T: Send + 'static,
{
    rt.spawn(f).await?
}

/// A user to create: (username, role, hamlet indexes).
type UserSpec = (String, Role, Vec<usize>);

/// The field phones: officers owning two hamlets each (one officer for
/// every two hamlets), and volunteers owning one hamlet each, spread over
/// the hamlets in turn.
fn field_users(cfg: &Config) -> Vec<UserSpec> {
    let h = cfg.hamlets();
    let officers = (h / 2).max(1).min(cfg.phones);
    (0..cfg.phones)
        .map(|p| {
            if p < officers {
                (
                    format!("canbo{:02}", p + 1),
                    Role::Officer,
                    vec![(2 * p) % h, (2 * p + 1) % h],
                )
            } else {
                let v = p - officers;
                (format!("tnv{:03}", v + 1), Role::Volunteer, vec![v % h])
            }
        })
        .map(|(u, r, mut hs)| {
            hs.sort();
            hs.dedup();
            (u, r, hs)
        })
        .collect()
}

async fn run_backend(
    backend: Backend,
    col: usize,
    cfg: &Config,
    server_rt: &tokio::runtime::Handle,
    table: &mut Table,
) -> R<()> {
    println!("\n=== {} ===", backend.name());
    println!("  load average at start: {}", load_average());
    let db = match BenchDb::new(backend, &cfg.pg_admin).await {
        Ok(db) => db,
        Err(e) => {
            println!("  skipped: cannot create a database ({e})");
            table.set(col, "backend", "", format!("skipped: {e}"), None);
            return Ok(());
        }
    };
    let settings = Settings {
        db: db.url.clone(),
        // The per-user limiter must not shape the figures.
        rate_per_minute: 1_000_000,
        ..Settings::default()
    };
    let state = on_server(server_rt, async move { Ok(AppState::new(settings).await?) }).await?;
    let (base, shutdown, server) = {
        let st = state.clone();
        let listener = on_server(server_rt, async move {
            Ok(tokio::net::TcpListener::bind("127.0.0.1:0").await?)
        })
        .await?;
        let base = format!("http://{}", listener.local_addr()?);
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let handle = server_rt.spawn(gocua_server::serve(listener, st, async move {
            let _ = rx.await;
        }));
        (base, tx, handle)
    };
    let durable = {
        let st = state.clone();
        on_server(server_rt, async move { durability(&st, backend).await }).await?
    };
    println!("  durability: {durable}");
    table.set(
        col,
        "1. durable before acknowledged (commit settings)",
        "yes",
        durable,
        None,
    );

    // ---- setup: hamlets, users, households ------------------------------
    let hamlets = cfg.hamlets();
    let mut rng = Rng(0x5E2E_2026);
    let world: Vec<GenHousehold> = (0..cfg.households)
        .map(|i| gen_household(&mut rng, i, hamlets))
        .collect();
    let residents: usize = world.iter().map(|h| h.people.len()).sum();
    let field = field_users(cfg);
    let all_hamlets: Vec<usize> = (0..hamlets).collect();
    let mut users: Vec<UserSpec> = field.clone();
    users.push(("lanhdao".into(), Role::Leader, vec![]));
    users.push(("canbo-lichsu".into(), Role::Officer, all_hamlets.clone()));
    users.push(("canbo-xa".into(), Role::Officer, all_hamlets.clone()));
    for i in 0..cfg.first_syncs {
        users.push((
            format!("tnv-moi{:03}", i + 1),
            Role::Volunteer,
            vec![i % hamlets],
        ));
    }

    let t = Instant::now();
    {
        let st = state.clone();
        on_server(server_rt, async move {
            for i in 0..hamlets {
                accounts::create_hamlet(&st.db, COMMUNE, &hamlet_id(i), &hamlet_name(i)).await?;
            }
            Ok(())
        })
        .await?;
    }
    // Users in parallel on the server's runtime (argon2 hashing is the cost).
    let mut tasks = Vec::new();
    for (username, role, hs) in users.clone() {
        let st = state.clone();
        tasks.push(server_rt.spawn(async move {
            let hamlets: Vec<String> = hs.iter().map(|h| hamlet_id(*h)).collect();
            accounts::create_user(
                &st.db,
                &NewUser {
                    username: &username,
                    display_name: &username,
                    password: PASSWORD,
                    role,
                    province: None,
                    commune: Some(COMMUNE),
                    hamlets: &hamlets,
                    team_officer: None,
                },
            )
            .await
            .map(|_| ())
        }));
    }
    for task in tasks {
        task.await??;
    }
    let users_time = t.elapsed();

    // Households, one create_household call at a time (as an import would).
    let t = Instant::now();
    {
        let st = state.clone();
        let news: Vec<NewHousehold> = world.iter().map(|h| h.new.clone()).collect();
        on_server(server_rt, async move {
            for new in &news {
                docs::create_household(&st.db, &st.actor, new).await?;
            }
            Ok(())
        })
        .await?;
    }
    let import = t.elapsed();
    let per_s = residents as f64 / secs(import);
    println!(
        "  setup: {hamlets} hamlets, {} users in {:.1} s; {} households ({residents} residents) \
         created one at a time in {:.1} s = {:.0} households/s, {:.0} residents/s",
        users.len(),
        secs(users_time),
        cfg.households,
        secs(import),
        cfg.households as f64 / secs(import),
        per_s
    );
    table.set(
        col,
        "   setup: create_household one at a time",
        "-",
        format!(
            "{:.1} s for {} households = {:.0} residents/s ({:.0} s per 60,000)",
            secs(import),
            cfg.households,
            per_s,
            60_000.0 / per_s
        ),
        None,
    );

    // ---- visit history: another officer's phone, a visit at every third house
    let t = Instant::now();
    let everything: Vec<usize> = (0..world.len()).collect();
    let mut history = Phone::login(
        &base,
        "canbo-lichsu",
        Role::Officer,
        everything.clone(),
        0,
        HTTP_TIMEOUT,
    )
    .await?;
    history.sync_inline().await?;
    let device = history.store().device_id().to_owned();
    let mut prior = 0;
    for (k, h) in world.iter().enumerate().filter(|(k, _)| k % 3 == 0) {
        let by = Recorder {
            user: history.user_id.clone(),
            role: Role::Officer,
            device: device.clone(),
        };
        let v = gen_visit(&mut rng, h, by, MORNING_MS - 86_400_000 + k as i64 * 20_000);
        history.store().record_visit(h.new.id, &v)?;
        prior += 1;
    }
    let hs = history.sync_inline().await?;
    println!(
        "  history: {prior} visits by another officer (one phone, {} round trip(s), {:.0} KB up, \
         HTTP {:.2} s); setup {:.1} s",
        hs.trips,
        hs.up as f64 / KB,
        secs(hs.http),
        secs(t.elapsed())
    );
    table.set(
        col,
        "   one phone sending a backlog of visits",
        "-",
        format!(
            "{prior} visits in {:.2} s of HTTP = {} visits/s",
            secs(hs.http),
            thousands(prior as f64 / secs(hs.http))
        ),
        None,
    );
    drop(history);

    // ---- 3: initial sync of an officer's whole commune -------------------
    let mut officer = Phone::login(
        &base,
        "canbo-xa",
        Role::Officer,
        everything.clone(),
        0,
        HTTP_TIMEOUT,
    )
    .await?;
    let s3 = officer.sync_inline().await?;
    let on_phone = officer.store().household_ids()?.len();
    println!(
        "  initial sync (officer, {on_phone} households): {:.2} s = HTTP {:.2} s + phone {:.2} s; \
         {} round trip(s), {} B up, {} B down",
        secs(s3.total),
        secs(s3.http),
        secs(s3.phone),
        s3.trips,
        s3.up,
        s3.down
    );
    if on_phone != world.len() {
        println!(
            "  WARNING: officer's phone holds {on_phone} households, server {}",
            world.len()
        );
    }
    let label3 = format!("3. initial sync, officer's {} households", world.len());
    table.set(
        col,
        &label3,
        "≤ 3 s",
        format!(
            "{:.2} s (server+HTTP {:.2} s, phone {:.2} s)",
            secs(s3.total),
            secs(s3.http),
            secs(s3.phone)
        ),
        Some(s3.total <= Duration::from_secs(3)),
    );
    table.set(
        col,
        "3. initial sync: round trips, bytes",
        "-",
        format!(
            "{} trip(s), {} B up, {:.3} MB down",
            s3.trips,
            s3.up,
            s3.down as f64 / MB
        ),
        None,
    );
    drop(officer);

    // ---- field phones: login and initial sync ---------------------------
    let t = Instant::now();
    let mut rank: BTreeMap<usize, usize> = BTreeMap::new();
    let mut specs = Vec::new();
    for (username, role, hs) in &field {
        let area: Vec<usize> = world
            .iter()
            .enumerate()
            .filter(|(_, h)| hs.contains(&h.hamlet))
            .map(|(i, _)| i)
            .collect();
        // Phones sharing a hamlet walk different streets of it.
        let r = rank.entry(hs[0]).or_default();
        let walk_from = (*r * cfg.visits) % area.len().max(1);
        *r += 1;
        specs.push((username.clone(), *role, area, walk_from));
    }
    let logins: Vec<R<Phone>> = futures::stream::iter(specs)
        .map(|(u, r, area, w)| {
            let base = base.clone();
            async move { Phone::login(&base, &u, r, area, w, HTTP_TIMEOUT).await }
        })
        .buffered(cfg.setup_concurrency)
        .collect()
        .await;
    let mut phones = logins.into_iter().collect::<R<Vec<Phone>>>()?;
    let login_time = t.elapsed();
    let t = Instant::now();
    let initial: Vec<R<SyncStats>> = futures::stream::iter(phones.iter_mut())
        .map(|p| p.sync_inline())
        .buffer_unordered(cfg.setup_concurrency)
        .collect()
        .await;
    let mut init_times = Vec::new();
    for s in initial {
        init_times.push(s?.total);
    }
    let si = summarize(init_times);
    let avg_area = phones.iter().map(|p| p.area.len()).sum::<usize>() as f64 / phones.len() as f64;
    println!(
        "  {} field phones ({} officers, {} volunteers; {:.0} households each on average): \
         logins {:.1} s, initial syncs {:.1} s ({} at a time; each p50 {:.2} s, max {:.2} s)",
        phones.len(),
        phones.iter().filter(|p| p.role == Role::Officer).count(),
        phones.iter().filter(|p| p.role == Role::Volunteer).count(),
        avg_area,
        secs(login_time),
        secs(t.elapsed()),
        cfg.setup_concurrency,
        secs(si.p50),
        secs(si.max)
    );
    table.set(
        col,
        "   setup: logins (argon2id), initial syncs of the phones",
        "-",
        format!(
            "{} logins in {:.1} s, {} at a time; initial syncs {:.1} s",
            phones.len(),
            secs(login_time),
            cfg.setup_concurrency,
            secs(t.elapsed())
        ),
        None,
    );
    let mut leader = Phone::login(
        &base,
        "lanhdao",
        Role::Leader,
        everything.clone(),
        0,
        HTTP_TIMEOUT,
    )
    .await?;
    leader.sync_inline().await?;

    // ---- first syncs at the same moment ---------------------------------
    if cfg.first_syncs > 0 {
        first_syncs_at_once(cfg, col, &base, &world, table).await?;
    }

    // ---- 1 + 2: rounds of field work, all phones syncing at once --------
    for round in 0..cfg.rounds {
        let t = Instant::now();
        let mut visits = 0;
        let mut visit_counts = Vec::with_capacity(phones.len());
        for p in phones.iter_mut() {
            let n = p.record_day(&world, cfg.visits, round, &mut rng)?;
            visit_counts.push(n);
            visits += n;
        }
        let mut outbox = 0u64;
        for p in phones.iter_mut() {
            outbox += p.store().pending_changes()?;
        }
        let record_time = t.elapsed();
        // Each phone builds its request before the round (phone work).
        let mut firsts = Vec::with_capacity(phones.len());
        for p in phones.iter_mut() {
            firsts.push(p.store().sync_request()?);
        }
        let changes_before = {
            let st = state.clone();
            on_server(server_rt, async move { count_changes(&st).await }).await?
        };
        println!(
            "  round {}: {} phones recorded {visits} visits ({outbox} outbox changes) in {:.1} s; \
             load average {}",
            round + 1,
            phones.len(),
            secs(record_time),
            load_average()
        );
        let rss_before = rss_mb();
        let hwm_ok = reset_hwm();
        perf_control("enable");
        let cpu_before = cpu_time();
        let t_round = Instant::now();
        let n_phones = phones.len().max(1) as u64;
        let results: Vec<(SyncStats, Option<Vec<u8>>)> =
            futures::future::join_all(phones.iter_mut().zip(firsts).enumerate().map(
                |(i, (p, first))| async move {
                    let delay = cfg.spread_ms * i as u64 / n_phones;
                    if delay > 0 {
                        tokio::time::sleep(Duration::from_millis(delay)).await;
                    }
                    timed_sync(p, first).await
                },
            ))
            .await;
        let wall = t_round.elapsed();
        let cpu = cpu_time().saturating_sub(cpu_before);
        perf_control("disable");
        let round_hwm = hwm_mb();
        // Apply the last answers now, one phone after the other: on a
        // phone this is the phone's own CPU.
        // Two at a time (two cores), the server being idle by now.
        let applied: Vec<(Duration, Result<u64, StoreError>)> =
            futures::stream::iter(phones.iter_mut().zip(results.iter()))
                .map(|(p, (_, last))| apply_last(p, last.clone()))
                .buffered(2)
                .collect()
                .await;
        let mut apply_times = Vec::with_capacity(phones.len());
        let mut whole = Vec::with_capacity(phones.len());
        let mut acked_visits = 0;
        let mut errors = Vec::new();
        let mut trips = 0;
        let (mut up, mut down) = (0usize, 0usize);
        let mut slowest = (Duration::ZERO, String::new());
        for (((p, (s, last)), n), (ta, outcome)) in phones
            .iter()
            .zip(results.iter())
            .zip(&visit_counts)
            .zip(applied)
        {
            trips += s.trips;
            up += s.up;
            down += s.down;
            errors.extend(s.errors.iter().cloned());
            if last.is_none() {
                continue;
            }
            apply_times.push(ta);
            let w = s.total + s.phone + ta;
            whole.push(w);
            if w > slowest.0 {
                slowest = (w, format!("{:?}, {} households", p.role, p.area.len()));
            }
            match outcome {
                Ok(0) => acked_visits += n,
                Ok(_) => errors.push("outbox not emptied".into()),
                Err(e) => errors.push(format!("apply: {e}")),
            }
        }
        let changes_after = {
            let st = state.clone();
            on_server(server_rt, async move { count_changes(&st).await }).await?
        };
        let logged = changes_after - changes_before;
        let totals = summarize(results.iter().map(|(s, _)| s.total).collect());
        let https = summarize(results.iter().map(|(s, _)| s.http).collect());
        let applies = summarize(apply_times);
        let wholes = summarize(whole);
        let rate = acked_visits as f64 / secs(wall);
        println!(
            "  round {}: {acked_visits}/{visits} visits acknowledged in {:.2} s = {:.0} visits/s; \
             server logged {logged} of {outbox} changes; {trips} round trips, {:.0} KB up, {:.0} KB down",
            round + 1,
            secs(wall),
            rate,
            up as f64 / KB,
            down as f64 / KB
        );
        println!(
            "    per phone until the last answer arrived: p50 {:.2} s, p95 {:.2} s, max {:.2} s; \
             with the phone's own apply: p95 {:.2} s, max {:.2} s ({}); apply alone p50 {:.0} ms, \
             p95 {:.0} ms",
            secs(totals.p50),
            secs(totals.p95),
            secs(totals.max),
            secs(wholes.p95),
            secs(wholes.max),
            slowest.1,
            ms(applies.p50),
            ms(applies.p95)
        );
        if hwm_ok {
            println!(
                "    memory: RSS {rss_before:.0} MB before the round, peak {round_hwm:.0} MB during it"
            );
        }
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let cpu_per_visit = cpu.as_secs_f64() / visits.max(1) as f64;
        println!(
            "    CPU used by the process during the round: {:.1} s of {:.1} s × {cores} cores \
             ({:.2} ms per visit: at most {:.0} visits/s on {cores} cores)",
            secs(cpu),
            secs(wall),
            cpu_per_visit * 1e3,
            cores as f64 / cpu_per_visit
        );
        if !errors.is_empty() {
            println!("    {} ERRORS, first: {}", errors.len(), errors[0]);
        }
        let tag = if round == 0 {
            String::new()
        } else {
            format!(" (round {})", round + 1)
        };
        let r1 = round == 0;
        table.set(
            col,
            &format!("1. ingest: acknowledged visits / wall time{tag}"),
            if r1 && cfg.spread_ms == 0 {
                "≥ 2,000/s"
            } else {
                "-"
            },
            format!(
                "{} visits/s ({acked_visits} in {:.2} s)",
                thousands(rate),
                secs(wall)
            ),
            // With the syncs spread out, the rate is the spread's.
            (r1 && cfg.spread_ms == 0).then_some(rate >= 2_000.0 && errors.is_empty()),
        );
        table.set(
            col,
            &format!(
                "2. {} phones × {} visits {}: p95 whole sync{tag}",
                phones.len(),
                cfg.visits,
                if cfg.spread_ms == 0 {
                    "at once".to_owned()
                } else {
                    format!("within {:.0} s", cfg.spread_ms as f64 / 1e3)
                }
            ),
            if r1 { "≤ 2 s" } else { "-" },
            format!(
                "{:.2} s (p50 {:.2}, max {:.2})",
                secs(wholes.p95),
                secs(wholes.p50),
                secs(wholes.max)
            ),
            r1.then_some(wholes.p95 <= Duration::from_secs(2) && errors.is_empty()),
        );
        if r1 {
            table.set(
                col,
                "2.   of which waiting for the server (HTTP)",
                "-",
                format!(
                    "p50 {:.2} s, p95 {:.2} s, max {:.2} s",
                    secs(https.p50),
                    secs(https.p95),
                    secs(https.max)
                ),
                None,
            );
            table.set(
                col,
                "2.   phone's apply of the answer",
                "-",
                format!(
                    "p50 {:.0} ms, p95 {:.0} ms",
                    ms(applies.p50),
                    ms(applies.p95)
                ),
                None,
            );
            table.set(
                col,
                "2.   wall time, round trips, bytes",
                "-",
                format!(
                    "{:.2} s, {trips} trips, {:.0} KB up, {:.0} KB down",
                    secs(wall),
                    up as f64 / KB,
                    down as f64 / KB
                ),
                None,
            );
            table.set(
                col,
                "2.   CPU of the process during the round",
                "-",
                format!(
                    "{:.1} s in {:.1} s wall = {:.2} ms per visit",
                    secs(cpu),
                    secs(wall),
                    cpu_per_visit * 1e3
                ),
                None,
            );
            table.set(
                col,
                "   process peak RSS during the round",
                "-",
                if hwm_ok {
                    format!("{round_hwm:.0} MB (from {rss_before:.0} MB)")
                } else {
                    "n/a".into()
                },
                None,
            );
        }
        if !errors.is_empty() {
            table.set(
                col,
                &format!("   errors{tag}"),
                "0",
                format!("{} ({})", errors.len(), errors[0]),
                Some(false),
            );
        }
    }

    // ---- the leader's evening sync of the whole commune ------------------
    let sl = leader.sync_inline().await?;
    println!(
        "  leader's sync of everyone's visits: {:.2} s = HTTP {:.2} s + phone {:.2} s; {} round trips, \
         {:.0} KB down",
        secs(sl.total),
        secs(sl.http),
        secs(sl.phone),
        sl.trips,
        sl.down as f64 / KB
    );
    table.set(
        col,
        "   leader then syncs the whole commune's day",
        "-",
        format!(
            "{:.2} s (server+HTTP {:.2} s), {} trips, {:.2} MB down",
            secs(sl.total),
            secs(sl.http),
            sl.trips,
            sl.down as f64 / MB
        ),
        None,
    );
    drop(leader);
    drop(phones);

    let _ = shutdown.send(());
    let _ = server.await;
    let pool = state.db.pool.clone();
    drop(state);
    on_server(server_rt, async move {
        pool.close().await;
        Ok(())
    })
    .await?;
    drop(db);
    table.set(
        col,
        "   process VmHWM (server + all phones), so far",
        "-",
        format!("{:.0} MB", hwm_mb()),
        None,
    );
    println!("  load average at end: {}", load_average());
    Ok(())
}

// ---------------------------------------------------------------------------
// The bench
// ---------------------------------------------------------------------------

fn main() -> R<()> {
    let started = Instant::now();
    let cfg = Config::from_env();
    println!(
        "gocua-server bench: commune {COMMUNE}, {} households in {} hamlets; {} field phones × {} \
         visits, {} round(s); backends {:?}",
        cfg.households,
        cfg.hamlets(),
        cfg.phones,
        cfg.visits,
        cfg.rounds,
        cfg.backends
    );
    println!("  load average at start: {}", load_average());
    // The server's runtime: multi-threaded with one worker per core, like
    // the binary's #[tokio::main].
    let server_rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("server")
        .build()?;
    // The phones' runtime: one thread; phone work is kept out of the timed
    // rounds, so this thread only moves bytes while they run.
    let phones_rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let mut table = Table {
        backends: cfg.backends.clone(),
        rows: Vec::new(),
    };
    for (col, backend) in cfg.backends.clone().into_iter().enumerate() {
        let handle = server_rt.handle().clone();
        if let Err(e) = phones_rt.block_on(run_backend(backend, col, &cfg, &handle, &mut table)) {
            println!("  {} FAILED: {e}", backend.name());
            table.set(col, "backend", "", format!("failed: {e}"), None);
        }
    }
    println!();
    table.print();
    println!(
        "\n(total bench time {:.1} s; load average at end {})",
        started.elapsed().as_secs_f64(),
        load_average()
    );
    Ok(())
}
