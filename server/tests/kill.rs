//! Crash safety of the server process: the real `gocua` binary is killed
//! with SIGKILL while several phones sync against it, again and again, on
//! SQLite and on PostgreSQL. After every kill (before the restart) every
//! visit a phone saw acknowledged must be in the database; after the last
//! restart and a full re-sync, every visit any phone recorded must be on the
//! server and on every phone whose area holds the household.
//!
//! Set `GOCUA_KILL_SEED` to replay a run's choices (visits, kill points;
//! not the timing). The seed is printed, and named in the checks' panics.

mod common;

use common::*;
use gocua_server::db::docs;
use gocua_server::{AppState, Settings};
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use sync_core::model::*;
use sync_core::store::{PhoneStore, StoreError};
use tokio::sync::Notify;

/// Rounds of record → sync storm → SIGKILL → check → restart.
const ROUNDS: usize = 12;
/// Bound on one phone's round trips in one storm (the kill comes far sooner).
const MAX_TRIPS: usize = 400;
/// Bound on a server start (process spawn, migrations, bind).
const START_TIMEOUT: Duration = Duration::from_secs(30);
/// Bound on one storm (the kill and every phone noticing it).
const STORM_TIMEOUT: Duration = Duration::from_secs(30);

/// A small deterministic generator (xorshift64*), so a failing run can be
/// replayed from its seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

fn rng_seed() -> u64 {
    match std::env::var("GOCUA_KILL_SEED") {
        Ok(s) => s.parse().expect("GOCUA_KILL_SEED must be a u64"),
        Err(_) => uuid::Uuid::new_v4().as_u64_pair().0 | 1,
    }
}

/// The last lines the server printed, for panic messages.
type LogTail = Arc<Mutex<VecDeque<String>>>;

fn push_line(log: &LogTail, line: String) {
    let mut l = log.lock().unwrap_or_else(|e| e.into_inner());
    if l.len() == 40 {
        l.pop_front();
    }
    l.push_back(line);
}

fn tail(log: &LogTail) -> String {
    let l = log.lock().unwrap_or_else(|e| e.into_inner());
    l.iter().cloned().collect::<Vec<_>>().join("\n")
}

/// The real server binary as a child process; killed (SIGKILL) and reaped
/// when dropped, so a panicking test leaves no server behind.
struct ServerProcess {
    child: Child,
    base: String,
    log: LogTail,
}

impl ServerProcess {
    /// Starts `gocua serve` on `db`, port 0, and waits (bounded) for the
    /// "listening" line to learn the address.
    async fn start(db: &str) -> ServerProcess {
        let mut child = Command::new(env!("CARGO_BIN_EXE_gocua"))
            .args(["serve", "--db", db, "--bind", "127.0.0.1:0"])
            .env("GOCUA_RATE_PER_MINUTE", "1000000")
            .env("RUST_LOG", "info,sqlx=warn")
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn gocua");
        let log: LogTail = Arc::default();
        let (tx, rx) = tokio::sync::oneshot::channel::<String>();
        // Drain both streams for the life of the process (a full pipe would
        // block the server), keeping a tail and reporting the address.
        let out = child.stdout.take().expect("stdout");
        let err = child.stderr.take().expect("stderr");
        {
            let log = log.clone();
            std::thread::spawn(move || {
                let mut tx = Some(tx);
                for line in BufReader::new(out).lines() {
                    let Ok(line) = line else { break };
                    if line.contains("listening")
                        && let Some(addr) = parse_addr(&line)
                        && let Some(tx) = tx.take()
                    {
                        let _ = tx.send(addr);
                    }
                    push_line(&log, line);
                }
            });
        }
        {
            let log = log.clone();
            std::thread::spawn(move || drain(err, &log));
        }
        let addr = match tokio::time::timeout(START_TIMEOUT, rx).await {
            Ok(Ok(addr)) => addr,
            Ok(Err(_)) => {
                // Output closed without "listening": it exited (or is about to).
                let _ = child.kill();
                let status = child.wait().expect("wait");
                panic!(
                    "gocua exited ({status}) before listening; output:\n{}",
                    tail(&log)
                );
            }
            Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "gocua did not print \"listening\" within {START_TIMEOUT:?}; output:\n{}",
                    tail(&log)
                );
            }
        };
        ServerProcess {
            child,
            base: format!("http://{addr}"),
            log,
        }
    }

    /// SIGKILL (the process gets no chance to finish anything).
    fn kill(&mut self) {
        self.child.kill().expect("SIGKILL the server");
    }

    /// Reaps a killed process and checks it died of SIGKILL (not earlier,
    /// of something else).
    fn reap(mut self) {
        let status = self.child.wait().expect("wait for the server");
        #[cfg(unix)]
        {
            use std::os::unix::process::ExitStatusExt;
            assert_eq!(
                status.signal(),
                Some(9),
                "the server should have died of SIGKILL, not {status}; output:\n{}",
                tail(&self.log)
            );
        }
        let _ = status;
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn drain(stream: impl Read, log: &LogTail) {
    for line in BufReader::new(stream).lines() {
        let Ok(line) = line else { break };
        push_line(log, line);
    }
}

/// `… listening addr=127.0.0.1:PORT` → `127.0.0.1:PORT`.
fn parse_addr(line: &str) -> Option<String> {
    let at = line.rfind("127.0.0.1:")?;
    let rest = &line[at + "127.0.0.1:".len()..];
    let port: String = rest.chars().take_while(char::is_ascii_digit).collect();
    let port: u16 = port.parse().ok()?;
    (port != 0).then(|| format!("127.0.0.1:{port}"))
}

/// Households with their residents.
type Households = Vec<(HouseholdId, Vec<ResidentId>)>;

/// A phone in the field: who it is, where it works, what it recorded.
struct FieldPhone {
    name: &'static str,
    role: Role,
    phone: Phone,
    /// Households this phone may visit and receives (its area).
    area: Households,
    /// Every visit recorded on this phone, in order.
    recorded: Vec<(HouseholdId, VisitId)>,
    /// `recorded[..acked]` were in a request the server answered with 200
    /// and whose answer (with `acked_through`) the phone applied.
    acked: usize,
    rng: Rng,
    clock_ms: i64,
}

impl FieldPhone {
    fn record_visit(&mut self) {
        let (h, residents) = self.area[self.rng.below(self.area.len())].clone();
        let resident = residents[self.rng.below(residents.len())];
        let outcome = if self.rng.below(4) == 0 {
            Outcome::Activated {
                how: ActivationHow::OnTheSpot,
            }
        } else {
            Outcome::Absent {
                reason: AbsentReason::NotHomeNow,
            }
        };
        let mut v = self.phone.visit(self.role, vec![(resident, outcome)]);
        self.clock_ms += 60_000;
        v.at_ms = self.clock_ms;
        self.phone
            .store
            .record_visit(h, &v)
            .unwrap_or_else(|e| panic!("{}: record visit: {e}", self.name));
        self.recorded.push((h, v.id));
    }
}

/// Logs in against a base URL (the harness's `Phone::login` wants an
/// in-process `TestServer`).
async fn login_at(base: &str, username: &str) -> Phone {
    let store = PhoneStore::open_in_memory().expect("store");
    let http = reqwest::Client::new();
    let resp = http
        .post(format!("{base}/api/v1/auth/login"))
        .json(&serde_json::json!({
            "username": username, "password": PASSWORD, "device_id": store.device_id()
        }))
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
        base: base.to_owned(),
    }
}

/// What the storms saw, over the whole run.
#[derive(Default)]
struct Stats {
    /// Round trips that completed (200, applied).
    trips: AtomicUsize,
    /// Requests that failed at the connection (refused, reset, cut body).
    cut: AtomicUsize,
}

/// When to pull the plug in one storm.
#[derive(Clone, Copy, Debug)]
enum KillAt {
    /// Once this many requests have been handed to the HTTP client (the
    /// kill lands while they are being written or handled).
    Sent(usize),
    /// Once this many round trips have completed (others are in flight).
    Completed(usize),
}

struct Storm {
    kill_at: KillAt,
    sent: AtomicUsize,
    completed: AtomicUsize,
    running: AtomicUsize,
    fire: Notify,
    killed: AtomicBool,
}

impl Storm {
    fn after_send(&self) {
        let n = self.sent.fetch_add(1, Ordering::SeqCst) + 1;
        if matches!(self.kill_at, KillAt::Sent(k) if k == n) {
            self.fire.notify_one();
        }
    }
    fn after_trip(&self) {
        let n = self.completed.fetch_add(1, Ordering::SeqCst) + 1;
        if matches!(self.kill_at, KillAt::Completed(k) if k == n) {
            self.fire.notify_one();
        }
    }
    fn phone_stopped(&self) {
        if self.running.fetch_sub(1, Ordering::SeqCst) == 1 {
            // The last phone stopped: wake the killer in any case (it
            // checks whether its moment came).
            self.fire.notify_one();
        }
    }
}

/// One phone syncing in a loop (recording a visit now and then) until the
/// server stops answering. Connection errors end the loop; any answer other
/// than 200 is a bug (a killed server answers nothing at all).
async fn sync_until_cut(f: &mut FieldPhone, storm: &Storm, stats: &Stats, ctx: &str) {
    for _ in 0..MAX_TRIPS {
        if f.rng.below(2) == 0 {
            f.record_visit();
        }
        let built = f.recorded.len();
        let req = f.phone.store.sync_request().expect("sync request");
        let send = f
            .phone
            .http
            .post(format!("{}/api/v1/sync", f.phone.base))
            .bearer_auth(&f.phone.access)
            .header("content-type", "application/octet-stream")
            .body(req)
            .send();
        storm.after_send();
        let resp = match send.await {
            Ok(r) => r,
            Err(_) => {
                stats.cut.fetch_add(1, Ordering::Relaxed);
                break;
            }
        };
        let status = resp.status().as_u16();
        let body = match resp.bytes().await {
            Ok(b) => b,
            Err(_) => {
                stats.cut.fetch_add(1, Ordering::Relaxed);
                break;
            }
        };
        assert_eq!(
            status,
            200,
            "{ctx}: {} got {status}: {}",
            f.name,
            String::from_utf8_lossy(&body)
        );
        match f.phone.store.apply_sync_response(&body) {
            Ok(applied) => {
                f.acked = built;
                if !applied.more {
                    assert_eq!(
                        f.phone.store.pending_changes().expect("pending"),
                        0,
                        "{ctx}: {} applied an answer to its whole outbox but changes remain",
                        f.name
                    );
                }
            }
            Err(StoreError::NeedsFullResync) => {}
            Err(e) => panic!("{ctx}: {} could not apply a 200 answer: {e}", f.name),
        }
        stats.trips.fetch_add(1, Ordering::Relaxed);
        storm.after_trip();
    }
    storm.phone_stopped();
}

/// Opens the database in-process (after a kill: SQLite recovers its WAL,
/// PostgreSQL has rolled back the dead sessions) and checks that every
/// acknowledged visit is there, and the SQLite file is sound.
async fn check_acknowledged(url: &str, backend: Backend, fleet: &[FieldPhone], ctx: &str) {
    let state = AppState::new(Settings {
        db: url.into(),
        ..Default::default()
    })
    .await
    .unwrap_or_else(|e| panic!("{ctx}: reopen the database after the kill: {e}"));
    let mut acked: BTreeMap<HouseholdId, Vec<(&str, VisitId)>> = BTreeMap::new();
    for f in fleet {
        for (h, v) in &f.recorded[..f.acked] {
            acked.entry(*h).or_default().push((f.name, *v));
        }
    }
    for (h, visits) in acked {
        let doc = docs::load(&state.db, &state.actor, h)
            .await
            .expect("load")
            .unwrap_or_else(|| panic!("{ctx}: household {h} missing on the server"));
        let have: BTreeSet<VisitId> = doc.visit_ids().into_iter().collect();
        for (who, v) in visits {
            assert!(
                have.contains(&v),
                "{ctx}: visit {v} at {h} by {who} was acknowledged, but the server lost it"
            );
        }
    }
    if backend == Backend::Sqlite {
        integrity_ok(&state, ctx).await;
    }
    state.db.pool.close().await;
}

async fn integrity_ok(state: &AppState, ctx: &str) {
    let rows: Vec<String> = sqlx::query_scalar("PRAGMA integrity_check")
        .fetch_all(&state.db.pool)
        .await
        .expect("integrity_check");
    assert_eq!(rows, ["ok"], "{ctx}: SQLite integrity_check");
}

async fn sigkill_during_syncs_loses_no_acknowledged_visit(backend: Backend) {
    let started = Instant::now();
    let seed = rng_seed();
    let mut rng = Rng(seed);
    let db = TestDb::new(backend).await;
    let fx = {
        let state = AppState::new(Settings {
            db: db.url.clone(),
            ..Default::default()
        })
        .await
        .expect("state");
        let fx = common::seed(&state).await;
        state.db.pool.close().await;
        fx
    };

    let mut server = ServerProcess::start(&db.url).await;
    let both: Households = fx
        .households_a1
        .iter()
        .chain(fx.households_a2.iter())
        .cloned()
        .collect();
    let people: [(&'static str, Role, &Households); 4] = [
        ("officer-a1", Role::Officer, &fx.households_a1),
        ("volunteer-a1", Role::Volunteer, &fx.households_a1),
        ("officer-a2", Role::Officer, &fx.households_a2),
        ("leader-a", Role::Leader, &both),
    ];
    let mut fleet = Vec::new();
    for (i, (name, role, area)) in people.into_iter().enumerate() {
        let mut phone = login_at(&server.base, name).await;
        phone.sync().await;
        assert_eq!(
            phone.store.household_ids().expect("ids").len(),
            area.len(),
            "{name}: initial sync brings its area"
        );
        fleet.push(FieldPhone {
            name,
            role,
            phone,
            area: area.clone(),
            recorded: Vec::new(),
            acked: 0,
            rng: Rng(rng.next() | 1),
            clock_ms: 1_763_800_000_000 + i as i64,
        });
    }

    let stats = Stats::default();
    let mut kills = Vec::new();
    for round in 1..=ROUNDS {
        let ctx = format!("{backend:?} seed {seed} round {round}");
        for f in fleet.iter_mut() {
            for _ in 0..1 + f.rng.below(3) {
                f.record_visit();
            }
        }
        let kill_at = if rng.below(3) == 0 {
            KillAt::Sent(1 + rng.below(fleet.len()))
        } else {
            KillAt::Completed(1 + rng.below(8))
        };
        let storm = Storm {
            kill_at,
            sent: AtomicUsize::new(0),
            completed: AtomicUsize::new(0),
            running: AtomicUsize::new(fleet.len()),
            fire: Notify::new(),
            killed: AtomicBool::new(false),
        };
        let killer = async {
            storm.fire.notified().await;
            let due = match kill_at {
                KillAt::Sent(k) => storm.sent.load(Ordering::SeqCst) >= k,
                KillAt::Completed(k) => storm.completed.load(Ordering::SeqCst) >= k,
            };
            assert!(
                due,
                "{ctx}: every phone stopped syncing before the kill ({kill_at:?}): \
                 did the server die by itself? output:\n{}",
                tail(&server.log)
            );
            storm.killed.store(true, Ordering::SeqCst);
            server.kill();
        };
        let phones = futures::future::join_all(
            fleet
                .iter_mut()
                .map(|f| sync_until_cut(f, &storm, &stats, &ctx)),
        );
        tokio::time::timeout(STORM_TIMEOUT, async { futures::join!(killer, phones) })
            .await
            .unwrap_or_else(|_| panic!("{ctx}: storm did not end within {STORM_TIMEOUT:?}"));
        assert!(storm.killed.load(Ordering::SeqCst));
        kills.push(format!(
            "{kill_at:?}:{}/{}",
            storm.sent.load(Ordering::SeqCst),
            storm.completed.load(Ordering::SeqCst)
        ));
        server.reap();

        check_acknowledged(&db.url, backend, &fleet, &ctx).await;

        server = ServerProcess::start(&db.url).await;
        for f in fleet.iter_mut() {
            f.phone.base = server.base.clone();
        }
    }

    // Final: everyone syncs until done, twice (so what one phone sent
    // reaches the others), against the restarted server.
    let ctx = format!("{backend:?} seed {seed} final");
    for _ in 0..2 {
        for f in fleet.iter_mut() {
            f.phone.sync().await;
        }
    }
    let mut all: BTreeMap<HouseholdId, BTreeSet<VisitId>> = BTreeMap::new();
    for f in &fleet {
        assert_eq!(
            f.phone.store.pending_changes().expect("pending"),
            0,
            "{ctx}: {} still has changes waiting",
            f.name
        );
        for (h, v) in &f.recorded {
            all.entry(*h).or_default().insert(*v);
        }
    }
    let recorded: usize = all.values().map(BTreeSet::len).sum();
    drop(server);

    let state = AppState::new(Settings {
        db: db.url.clone(),
        ..Default::default()
    })
    .await
    .expect("state");
    for (h, visits) in &all {
        let doc = docs::load(&state.db, &state.actor, *h)
            .await
            .expect("load")
            .unwrap_or_else(|| panic!("{ctx}: household {h} missing on the server"));
        let have: BTreeSet<VisitId> = doc.visit_ids().into_iter().collect();
        let missing: Vec<_> = visits.difference(&have).collect();
        assert!(
            missing.is_empty(),
            "{ctx}: the server lacks visits {missing:?} at {h}"
        );
        // The projection agrees: one outcome per visit, so the attempts of
        // the household's residents add up to its visits.
        let attempts: Vec<i64> = sqlx::query_scalar(
            "SELECT CAST(attempts AS BIGINT) FROM residents WHERE household = $1",
        )
        .bind(h.to_string())
        .fetch_all(&state.db.pool)
        .await
        .expect("residents");
        assert_eq!(
            attempts.iter().sum::<i64>() as usize,
            have.len(),
            "{ctx}: projection of {h} disagrees with its document"
        );
    }
    for f in &fleet {
        for (h, _) in &f.area {
            let have: BTreeSet<VisitId> = f
                .phone
                .store
                .household(*h)
                .expect("household on phone")
                .visit_ids()
                .into_iter()
                .collect();
            if let Some(visits) = all.get(h) {
                let missing: Vec<_> = visits.difference(&have).collect();
                assert!(
                    missing.is_empty(),
                    "{ctx}: {} lacks visits {missing:?} at {h}",
                    f.name
                );
            }
        }
    }
    if backend == Backend::Sqlite {
        integrity_ok(&state, &ctx).await;
    }
    state.db.pool.close().await;

    assert!(kills.len() >= 5, "{ctx}: only {} kills", kills.len());
    eprintln!(
        "kill[{backend:?}]: seed {seed}, {} SIGKILLs [{}], {} round trips completed, \
         {} cut by a kill, {recorded} visits recorded by {} phones, none lost, {:.1?}",
        kills.len(),
        kills.join(" "),
        stats.trips.load(Ordering::Relaxed),
        stats.cut.load(Ordering::Relaxed),
        fleet.len(),
        started.elapsed()
    );
}

both_backends!(sigkill, sigkill_during_syncs_loses_no_acknowledged_visit);
