//! Crash test: a child process records visits and settlements on a phone
//! store file and is killed with SIGKILL at random moments, at least 200
//! times. After every kill the parent reopens the store and checks that
//!
//! * `PRAGMA integrity_check` says ok;
//! * every household is still there and every document loads; the
//!   documents the child wrote to derive statuses that the index tables
//!   agree with (every document, every tenth kill and after the last);
//! * every acknowledged visit and settlement is there, and nothing the
//!   child never started is;
//! * every committed change waits in the outbox (exactly one entry per
//!   changed document part, none lost, none duplicated).
//!
//! At the end the phone syncs with the reference server, which must then
//! hold every acknowledged visit.
//!
//! The child is this same test executable, re-invoked as
//! `<exe> --exact crash_child --nocapture --test-threads=1` with
//! `GOCUA_CRASH_CHILD=<dir>`; without that variable `crash_child` returns at
//! once, so it passes in ordinary runs. This works under `cargo test` and
//! `cargo nextest run` alike. The child prints `BEGIN <op>` before each write
//! and `ACK <op>` once the write has returned `Ok`, i.e. is durable.
//!
//! Kills are spread over the child's life: at start-up, right after an
//! acknowledgement, inside an ordinary write and inside a write that
//! compacts a household (the parent mirrors the store's compaction rule to
//! know which write that is). A short random busy-wait after
//! a `BEGIN` moves the kill through the write; it is never needed for
//! correctness and nothing asserts on timing.
//!
//! `GOCUA_CRASH_SEED` replays the parent's random choices (the exact kill
//! moments still depend on scheduling); `GOCUA_CRASH_KILLS` raises the
//! number of kills for a soak run; `GOCUA_CRASH_VERBOSE` prints a line per
//! kill. Failure messages name ids, never residents' names.

use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};
use sync_core::ids::PhoneNumber;
use sync_core::prelude::*;
use sync_core::sim::{MemoryServer, SimDevice, sync_until_done};
use sync_core::store::COMPACT_AFTER;

/// Name of the child entry test (must match the function below).
const CHILD_TEST: &str = "crash_child";
/// Set (to the store's directory) only in the child's environment.
const CHILD_ENV: &str = "GOCUA_CRASH_CHILD";
/// The child's PRNG seed.
const CHILD_SEED_ENV: &str = "GOCUA_CRASH_CHILD_SEED";
/// The households the child writes to most, comma-separated.
const CHILD_HOT_ENV: &str = "GOCUA_CRASH_CHILD_HOT";
const SEED_ENV: &str = "GOCUA_CRASH_SEED";
const KILLS_ENV: &str = "GOCUA_CRASH_KILLS";
/// Prints a line per kill.
const VERBOSE_ENV: &str = "GOCUA_CRASH_VERBOSE";

/// Kills per run (the issue asks for at least 200).
const KILLS: usize = 220;
/// Households on the phone (a hamlet's worth; spreading the writes keeps
/// documents, and so the run time, moderate).
const HOUSEHOLDS: usize = 48;
/// Each child run writes mostly to this many households (chosen by the
/// parent), in bursts.
const HOT: usize = 3;
/// Largest number of acknowledgements before a kill.
const MAX_ACKS: usize = 40;
/// A compaction hunt gives up after this many acknowledgements.
const HUNT_LIMIT: usize = 60;
/// Statuses and index rows of every household are checked after every
/// this many kills (and after the last); in between, those of the
/// households the child wrote to.
const FULL_CHECK_EVERY: usize = 10;
const STORE_FILE: &str = "phone.sqlite3";

// ---------------------------------------------------------------------------
// The line protocol between child and parent.

/// A write of the child: a visit or a settlement.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Record {
    Visit(VisitId),
    Settlement(SettlementId),
}

impl fmt::Display for Record {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Record::Visit(v) => write!(f, "visit {v}"),
            Record::Settlement(s) => write!(f, "settlement {s}"),
        }
    }
}

/// One write: which household, what, and how many document parts it
/// changes (= outbox entries it adds).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Op {
    household: HouseholdId,
    record: Record,
    parts: u64,
}

impl Op {
    fn line(&self, tag: &str) -> String {
        let (kind, id) = match self.record {
            Record::Visit(v) => ("V", v.to_string()),
            Record::Settlement(s) => ("S", s.to_string()),
        };
        format!("{tag} {kind} {} {id} {}\n", self.household, self.parts)
    }
}

#[derive(Debug)]
enum Event {
    /// The child opened the store.
    Ready,
    /// A write is about to start.
    Begin(Op),
    /// A write returned `Ok`.
    Ack(Op),
    /// Anything else (the test harness's own output).
    Other,
}

fn parse_line(line: &str) -> Result<Event, String> {
    let line = line.trim_end();
    // The harness prints `test crash_child ... ` without a newline first.
    if line.ends_with("READY") {
        return Ok(Event::Ready);
    }
    let mut w = line.split(' ');
    let tag = w.next().unwrap_or_default();
    if tag != "BEGIN" && tag != "ACK" {
        return Ok(Event::Other);
    }
    let bad = || format!("malformed line from the child: {line:?}");
    let kind = w.next().ok_or_else(bad)?;
    let household = w.next().and_then(HouseholdId::parse).ok_or_else(bad)?;
    let id = w.next().ok_or_else(bad)?;
    let record = match kind {
        "V" => Record::Visit(VisitId::parse(id).ok_or_else(bad)?),
        "S" => Record::Settlement(SettlementId::parse(id).ok_or_else(bad)?),
        _ => return Err(bad()),
    };
    let parts = w.next().and_then(|p| p.parse().ok()).ok_or_else(bad)?;
    let op = Op {
        household,
        record,
        parts,
    };
    Ok(if tag == "BEGIN" {
        Event::Begin(op)
    } else {
        Event::Ack(op)
    })
}

// ---------------------------------------------------------------------------
// Vietnamese-shaped data.

const FAMILY: [&str; 14] = [
    "Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Phan", "Vũ", "Võ", "Đặng", "Bùi", "Đỗ",
    "Hồ", "Ngô",
];
const MIDDLE: [&str; 10] = [
    "Văn", "Thị", "Đức", "Minh", "Ngọc", "Thu", "Quang", "Thanh", "Hữu", "Kim",
];
const GIVEN: [&str; 20] = [
    "An", "Bình", "Châu", "Dũng", "Giang", "Hà", "Hải", "Hạnh", "Hiếu", "Hoa", "Hùng", "Hương",
    "Khánh", "Lan", "Linh", "Mai", "Phúc", "Sơn", "Thảo", "Yến",
];
const STREETS: [&str; 4] = ["Đội Cấn", "Kim Mã", "Liễu Giai", "Văn Cao"];
const EXPLANATIONS: [&str; 3] = [
    "Gia đình cho biết đang đi làm ăn ở Bình Dương",
    "Hẹn quay lại vào cuối tuần",
    "Đã hướng dẫn tại nhà văn hóa thôn",
];

fn pick<'a>(rng: &mut StdRng, from: &[&'a str]) -> &'a str {
    from[rng.random_range(0..from.len())]
}

fn vietnamese_name(rng: &mut StdRng) -> String {
    format!(
        "{} {} {}",
        pick(rng, &FAMILY),
        pick(rng, &MIDDLE),
        pick(rng, &GIVEN)
    )
}

fn phone(rng: &mut StdRng) -> PhoneNumber {
    let n = format!("09{:08}", rng.random_range(0..100_000_000u32));
    PhoneNumber::parse(&n).expect("a 09x mobile number is valid")
}

fn resident_info(rng: &mut StdRng, newcomer: bool) -> ResidentInfo {
    ResidentInfo {
        full_name: vietnamese_name(rng),
        registry: if rng.random_bool(0.5) {
            RegistryStatus::Level1
        } else {
            RegistryStatus::NoAccount
        },
        protected: ProtectedResidentInfo {
            phone: rng.random_bool(0.5).then(|| phone(rng)),
            ..Default::default()
        },
        newcomer,
        ..Default::default()
    }
}

/// A random outcome and, when it needs or gets one, an explanation.
fn random_outcome(rng: &mut StdRng) -> (Outcome, Option<String>) {
    let outcome = match rng.random_range(0..10) {
        0 | 1 => Outcome::Activated {
            how: if rng.random_bool(0.5) {
                ActivationHow::OnTheSpot
            } else {
                ActivationHow::AlreadyActive
            },
        },
        2 => Outcome::ApplicationCollected,
        3 | 4 => Outcome::Absent {
            reason: [
                AbsentReason::WorkingOrStudyingElsewhere,
                AbsentReason::AwayForAWhile,
                AbsentReason::NotHomeNow,
            ][rng.random_range(0..3)],
        },
        5 | 6 => Outcome::Ineligible {
            reason: IneligibleReason::ALL[rng.random_range(0..IneligibleReason::ALL.len())],
        },
        7 => Outcome::NeedsSupport {
            kind: [
                SupportKind::ChangedDevice,
                SupportKind::ChangedPhoneNumber,
                SupportKind::LockedAccount,
                SupportKind::Other,
            ][rng.random_range(0..4)],
        },
        _ => Outcome::Refused,
    };
    let needs = matches!(
        outcome,
        Outcome::Ineligible {
            reason: IneligibleReason::Other
        }
    );
    let explanation = (needs || rng.random_bool(0.1)).then(|| pick(rng, &EXPLANATIONS).to_owned());
    (outcome, explanation)
}

/// Whether an outcome writes to the protected document (a sensitive reason).
fn sensitive(o: &Outcome) -> bool {
    matches!(o, Outcome::Ineligible { reason } if reason.public_form() != *reason)
}

// ---------------------------------------------------------------------------
// The child.

/// Entry of the child process. Without `GOCUA_CRASH_CHILD` it does nothing.
#[test]
fn crash_child() {
    if let Some(dir) = std::env::var_os(CHILD_ENV) {
        child_main(Path::new(&dir));
    }
}

/// Writes a protocol line; exits when the parent has gone away.
fn emit(out: &mut impl Write, line: &str) {
    if out
        .write_all(line.as_bytes())
        .and_then(|()| out.flush())
        .is_err()
    {
        std::process::exit(3);
    }
}

fn child_main(dir: &Path) {
    let seed: u64 = std::env::var(CHILD_SEED_ENV)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let mut rng = StdRng::seed_from_u64(seed);
    let mut out = std::io::stdout().lock();
    let mut store = PhoneStore::open(&dir.join(STORE_FILE))
        .unwrap_or_else(|e| panic!("child: the store does not open: {e}"));
    let device = store.device_id().to_owned();
    let households = store
        .household_ids()
        .unwrap_or_else(|e| panic!("child: household ids: {e}"));
    assert!(!households.is_empty(), "child: no households on the phone");
    let mut residents: Vec<Vec<ResidentId>> = households
        .iter()
        .map(|h| {
            store
                .residents_of(*h)
                .unwrap_or_else(|e| panic!("child: residents of {h}: {e}"))
                .iter()
                .map(|r| r.id)
                .collect()
        })
        .collect();
    let mut recent: Vec<Vec<VisitId>> = vec![Vec::new(); households.len()];
    // A few households, named by the parent, take most of this run's writes.
    let hot: Vec<usize> = std::env::var(CHILD_HOT_ENV)
        .unwrap_or_default()
        .split(',')
        .filter_map(HouseholdId::parse)
        .filter_map(|h| households.iter().position(|x| *x == h))
        .collect();
    let hot = if hot.is_empty() { vec![0] } else { hot };
    let mut at_ms = 1_760_000_000_000 + (seed % 1_000_000) as i64 * 1_000;
    emit(&mut out, "READY\n");
    loop {
        // Mostly the hot households, in bursts: their chunks pile up fast.
        let hi = if rng.random_bool(0.7) {
            hot[rng.random_range(0..hot.len())]
        } else {
            rng.random_range(0..households.len())
        };
        let household = households[hi];
        let burst = if rng.random_bool(0.3) {
            rng.random_range(2..=8)
        } else {
            1
        };
        for _ in 0..burst {
            at_ms += rng.random_range(1_000..600_000);
            let by = Recorder {
                user: "cskv-07".into(),
                role: Role::Officer,
                device: device.clone(),
            };
            if rng.random_ratio(1, 12) {
                let (decision, _) = random_outcome(&mut rng);
                let mut covers = recent[hi].clone();
                covers.shuffle(&mut rng);
                covers.truncate(rng.random_range(0..=3));
                let st = Settlement {
                    id: SettlementId::new(),
                    resident: residents[hi][rng.random_range(0..residents[hi].len())],
                    decision,
                    covers,
                    by,
                    at_ms,
                    note: rng
                        .random_bool(0.3)
                        .then(|| "Đã xác minh với trưởng thôn".to_owned()),
                };
                let protected = sensitive(&st.decision) || st.note.is_some();
                let op = Op {
                    household,
                    record: Record::Settlement(st.id),
                    parts: 1 + u64::from(protected),
                };
                emit(&mut out, &op.line("BEGIN"));
                store
                    .settle(household, &st)
                    .unwrap_or_else(|e| panic!("child: settle failed: {e} ({})", e.code()));
                emit(&mut out, &op.line("ACK"));
            } else {
                let mut who = residents[hi].clone();
                who.shuffle(&mut rng);
                who.truncate(rng.random_range(1..=who.len()));
                let newcomers: Vec<(ResidentId, ResidentInfo)> = if rng.random_ratio(1, 20) {
                    vec![(ResidentId::new(), resident_info(&mut rng, true))]
                } else {
                    Vec::new()
                };
                who.extend(newcomers.iter().map(|(id, _)| *id));
                let outcomes: Vec<ResidentOutcome> = who
                    .iter()
                    .map(|r| {
                        let (outcome, explanation) = random_outcome(&mut rng);
                        ResidentOutcome {
                            resident: *r,
                            outcome,
                            explanation,
                        }
                    })
                    .collect();
                let protected = outcomes
                    .iter()
                    .any(|o| o.explanation.is_some() || sensitive(&o.outcome))
                    || newcomers.iter().any(|(_, i)| i.protected.phone.is_some());
                let visit = Visit {
                    id: VisitId::new(),
                    at_ms,
                    by,
                    place: if rng.random_ratio(1, 5) {
                        Place::GuidancePoint
                    } else {
                        Place::Home
                    },
                    outcomes,
                    newcomers,
                };
                let op = Op {
                    household,
                    record: Record::Visit(visit.id),
                    parts: 1 + u64::from(protected),
                };
                emit(&mut out, &op.line("BEGIN"));
                store
                    .record_visit(household, &visit)
                    .unwrap_or_else(|e| panic!("child: record_visit failed: {e} ({})", e.code()));
                emit(&mut out, &op.line("ACK"));
                residents[hi].extend(visit.newcomers.iter().map(|(id, _)| *id));
                recent[hi].push(visit.id);
                if recent[hi].len() > 6 {
                    recent[hi].remove(0);
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------
// The parent.

/// When to kill the child.
#[derive(Clone, Copy, Debug)]
enum Plan {
    /// Right after spawning it (start-up, opening the store), after a
    /// random busy-wait.
    AtSpawn,
    /// As soon as it says the store is open.
    AfterReady,
    /// Right after reading the k-th acknowledgement.
    AfterAck(usize),
    /// After k acknowledgements, inside the next write.
    InsideWrite(usize),
    /// Inside the first write that compacts a household (the child is told
    /// to write mostly to the households with the most chunks).
    InsideCompaction,
}

impl Plan {
    fn random(rng: &mut StdRng) -> Plan {
        match rng.random_range(0..100) {
            0..4 => Plan::AtSpawn,
            4..8 => Plan::AfterReady,
            8..40 => Plan::AfterAck(rng.random_range(1..=MAX_ACKS)),
            40..75 => Plan::InsideWrite(rng.random_range(0..MAX_ACKS)),
            _ => Plan::InsideCompaction,
        }
    }
}

/// Running estimates used to spread kills over a write (never asserted).
#[derive(Debug)]
struct Pace {
    /// Spawn to `READY`.
    startup: Duration,
    /// One write (acknowledgement to acknowledgement).
    write: Duration,
}

impl Pace {
    fn update(avg: &mut Duration, sample: Duration) {
        *avg = (*avg * 7 + sample) / 8;
    }
}

fn spin(d: Duration) {
    let until = Instant::now() + d;
    while Instant::now() < until {
        std::hint::spin_loop();
    }
}

fn jitter(rng: &mut StdRng, upto: Duration) -> Duration {
    let micros = upto.as_micros().max(1) as u64;
    Duration::from_micros(rng.random_range(0..micros))
}

/// What the parent knows must be on the phone.
#[derive(Debug, Default)]
struct World {
    households: BTreeSet<HouseholdId>,
    /// Writes the child acknowledged.
    acked: BTreeMap<HouseholdId, BTreeSet<Record>>,
    /// Acknowledged writes plus in-flight writes found committed after a kill.
    committed: BTreeMap<HouseholdId, BTreeSet<Record>>,
    acked_visits: usize,
    acked_settlements: usize,
    /// Outbox entries of acknowledged writes.
    acked_changes: u64,
    /// Outbox entries of every committed write.
    committed_changes: u64,
}

impl World {
    fn commit(&mut self, op: &Op) {
        if self
            .committed
            .entry(op.household)
            .or_default()
            .insert(op.record)
        {
            self.committed_changes += op.parts;
        }
    }

    fn ack(&mut self, op: &Op) {
        if self
            .acked
            .entry(op.household)
            .or_default()
            .insert(op.record)
        {
            self.acked_changes += op.parts;
            match op.record {
                Record::Visit(_) => self.acked_visits += 1,
                Record::Settlement(_) => self.acked_settlements += 1,
            }
        }
        self.commit(op);
    }
}

#[derive(Debug, Default)]
struct Stats {
    acks: usize,
    before_ready: usize,
    in_flight_committed: usize,
    in_flight_rolled_back: usize,
    compacting: usize,
    compacting_committed: usize,
}

/// A write in flight when the child was killed.
#[derive(Debug)]
struct InFlight {
    op: Op,
    /// The write would fold the household's chunks into its snapshot.
    compacting: bool,
}

/// Change chunks per household, read from the store file while no child runs
/// (for steering kills into compactions and for the statistics only).
fn chunk_counts(path: &Path) -> BTreeMap<HouseholdId, i64> {
    let conn = rusqlite::Connection::open(path).expect("open the store file for chunk counts");
    let mut st = conn
        .prepare("SELECT household, COUNT(*) FROM doc_chunks GROUP BY household")
        .expect("the crash test counts doc_chunks rows to steer kills into compactions");
    let rows = st
        .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))
        .expect("count chunks");
    rows.map(|r| {
        let (h, n) = r.expect("a chunk count row");
        (HouseholdId::parse(&h).expect("a household id"), n)
    })
    .collect()
}

/// The store's compaction rule, mirrored to know when a write compacts.
fn compacts(chunks: &BTreeMap<HouseholdId, i64>, op: &Op) -> bool {
    chunks.get(&op.household).copied().unwrap_or(0) + op.parts as i64 > COMPACT_AFTER
}

/// Kills the child when dropped (also when the parent panics).
struct ChildGuard(Child);

impl Drop for ChildGuard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// What one child run told the parent.
struct Run<'a> {
    world: &'a mut World,
    chunks: BTreeMap<HouseholdId, i64>,
    ready: bool,
    acks: usize,
    begun: Option<Op>,
    touched: BTreeSet<HouseholdId>,
}

impl Run<'_> {
    fn apply(&mut self, event: &Event) -> Result<(), String> {
        match event {
            Event::Ready => self.ready = true,
            Event::Begin(op) => {
                if let Some(prev) = self.begun {
                    return Err(format!(
                        "child began {} before acknowledging {}",
                        op.record, prev.record
                    ));
                }
                self.begun = Some(*op);
                self.touched.insert(op.household);
            }
            Event::Ack(op) => {
                if self.begun != Some(*op) {
                    return Err(format!(
                        "child acknowledged {} without beginning it",
                        op.record
                    ));
                }
                self.begun = None;
                self.acks += 1;
                self.world.ack(op);
                let c = self.chunks.entry(op.household).or_default();
                *c += op.parts as i64;
                if *c > COMPACT_AFTER {
                    *c = 0;
                }
            }
            Event::Other => {}
        }
        Ok(())
    }
}

fn read_event(reader: &mut BufReader<ChildStdout>) -> Result<Option<Event>, String> {
    let mut line = String::new();
    let n = reader
        .read_line(&mut line)
        .map_err(|e| format!("reading the child's output: {e}"))?;
    if n == 0 || !line.ends_with('\n') {
        return Ok(None);
    }
    parse_line(&line).map(Some)
}

/// What the parent learnt from one child run.
struct Killed {
    /// The write in flight at the kill, if any.
    in_flight: Option<InFlight>,
    /// Households the child began a write on.
    touched: BTreeSet<HouseholdId>,
}

/// Runs one child and kills it according to `plan`.
#[allow(clippy::too_many_arguments)]
fn run_child(
    exe: &Path,
    dir: &Path,
    plan: Plan,
    child_seed: u64,
    rng: &mut StdRng,
    pace: &mut Pace,
    world: &mut World,
    stats: &mut Stats,
) -> Result<Killed, String> {
    let chunks = chunk_counts(&dir.join(STORE_FILE));
    let mut hot: Vec<HouseholdId> = world.households.iter().copied().collect();
    hot.shuffle(rng);
    if let Plan::InsideCompaction = plan {
        // The fullest households compact within a few writes.
        hot.sort_by_key(|h| std::cmp::Reverse(chunks.get(h).copied().unwrap_or(0)));
    }
    let hot: Vec<String> = hot.iter().take(HOT).map(ToString::to_string).collect();
    let spawned = Instant::now();
    let mut child = ChildGuard(
        Command::new(exe)
            .args(["--exact", CHILD_TEST, "--nocapture", "--test-threads=1"])
            .env(CHILD_ENV, dir)
            .env(CHILD_SEED_ENV, child_seed.to_string())
            .env(CHILD_HOT_ENV, hot.join(","))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("spawning the child: {e}"))?,
    );
    let mut reader = BufReader::new(child.0.stdout.take().expect("piped stdout"));
    let mut run = Run {
        world,
        chunks,
        ready: false,
        acks: 0,
        begun: None,
        touched: BTreeSet::new(),
    };
    let mut last_ack: Option<Instant> = None;
    if let Plan::AtSpawn = plan {
        spin(jitter(rng, pace.startup));
    } else {
        // Ends early only if the child dies by itself (reported below).
        while let Some(event) = read_event(&mut reader)? {
            run.apply(&event)?;
            let now = Instant::now();
            let kill = match (&event, plan) {
                (Event::Ready, _) => {
                    Pace::update(&mut pace.startup, now - spawned);
                    matches!(plan, Plan::AfterReady)
                }
                (Event::Ack(_), _) => {
                    if let Some(t) = last_ack {
                        Pace::update(&mut pace.write, now - t);
                    }
                    last_ack = Some(now);
                    matches!(plan, Plan::AfterAck(k) if run.acks >= k)
                }
                (Event::Begin(_), Plan::InsideWrite(k)) if run.acks >= k => {
                    spin(jitter(rng, pace.write * 3 / 2));
                    true
                }
                (Event::Begin(op), Plan::InsideCompaction)
                    if compacts(&run.chunks, op) || run.acks >= HUNT_LIMIT =>
                {
                    // A compacting write is slower: spread wider.
                    spin(jitter(rng, pace.write * 2));
                    true
                }
                _ => false,
            };
            if kill {
                break;
            }
            if run.acks > MAX_ACKS.max(HUNT_LIMIT) {
                return Err(format!("the kill plan {plan:?} never fired (test bug)"));
            }
        }
    }
    // SIGKILL on Unix.
    let _ = child.0.kill();
    let status = child
        .0
        .wait()
        .map_err(|e| format!("waiting for the child: {e}"))?;
    // Lines already in the pipe were acknowledged too.
    while let Some(event) = read_event(&mut reader)? {
        run.apply(&event)?;
    }
    let mut stderr = Vec::new();
    if let Some(mut e) = child.0.stderr.take() {
        let _ = e.read_to_end(&mut stderr);
    }
    if !killed_by_us(&status) {
        return Err(format!(
            "the child ended by itself ({status}) after {} acknowledgements; its stderr:\n{}",
            run.acks,
            String::from_utf8_lossy(&stderr)
        ));
    }
    stats.acks += run.acks;
    if !run.ready {
        stats.before_ready += 1;
    }
    Ok(Killed {
        in_flight: run.begun.map(|op| InFlight {
            op,
            compacting: compacts(&run.chunks, &op),
        }),
        touched: run.touched,
    })
}

#[cfg(unix)]
fn killed_by_us(status: &std::process::ExitStatus) -> bool {
    use std::os::unix::process::ExitStatusExt;
    status.signal() == Some(9)
}

#[cfg(not(unix))]
fn killed_by_us(status: &std::process::ExitStatus) -> bool {
    !status.success()
}

/// The records a household's documents hold.
fn records_of(doc: &HouseholdDoc) -> BTreeSet<Record> {
    let mut out: BTreeSet<Record> = doc.visit_ids().into_iter().map(Record::Visit).collect();
    out.extend(
        doc.settlement_records()
            .values()
            .flatten()
            .map(|s| Record::Settlement(s.id)),
    );
    out
}

/// Everything that must hold after a restart. Statuses and index rows are
/// derived for the households the last child wrote to, or for all when
/// `full` (a household nobody wrote to holds the same records as at its
/// last full check, which `records_of` confirms on every call).
fn verify(
    store: &PhoneStore,
    world: &World,
    touched: &BTreeSet<HouseholdId>,
    full: bool,
) -> Result<(), String> {
    let ok = store
        .integrity_ok()
        .map_err(|e| format!("PRAGMA integrity_check did not run: {e}"))?;
    if !ok {
        return Err("PRAGMA integrity_check is not ok".into());
    }
    let ids: BTreeSet<HouseholdId> = store
        .household_ids()
        .map_err(|e| format!("household ids: {e}"))?
        .into_iter()
        .collect();
    if ids != world.households {
        return Err(format!(
            "the phone holds {} households, {} were seeded ({} missing)",
            ids.len(),
            world.households.len(),
            world.households.difference(&ids).count()
        ));
    }
    let none = BTreeSet::new();
    for &h in &ids {
        let doc = store
            .household(h)
            .map_err(|e| format!("household {h} does not load: {e} ({})", e.code()))?;
        let present = records_of(&doc);
        let acked = world.acked.get(&h).unwrap_or(&none);
        if let Some(r) = acked.difference(&present).next() {
            return Err(format!(
                "acknowledged {r} of household {h} is missing ({} of {} acknowledged writes there)",
                acked.difference(&present).count(),
                acked.len()
            ));
        }
        let committed = world.committed.get(&h).unwrap_or(&none);
        if let Some(r) = committed.difference(&present).next() {
            return Err(format!(
                "{r} of household {h}, found committed after an earlier kill, is gone"
            ));
        }
        if let Some(r) = present.difference(committed).next() {
            return Err(format!(
                "household {h} holds {r}, which the child never wrote"
            ));
        }
        if !(full || touched.contains(&h)) {
            continue;
        }
        let statuses = doc
            .statuses()
            .map_err(|e| format!("household {h}: statuses: {e} ({})", e.code()))?;
        // The index rows were written in the same transaction.
        let rows = store
            .residents_of(h)
            .map_err(|e| format!("household {h}: residents: {e}"))?;
        if rows.len() != statuses.len() {
            return Err(format!(
                "household {h}: {} index rows for {} residents in the document",
                rows.len(),
                statuses.len()
            ));
        }
        for (rid, st) in &statuses {
            let row = rows
                .iter()
                .find(|r| r.id == *rid)
                .ok_or_else(|| format!("household {h}: resident {rid} has no index row"))?;
            let indexed = (
                row.state.as_str(),
                row.attempts,
                row.last_visit_at_ms,
                row.awaiting_confirmation,
            );
            let derived = (
                st.state.code(),
                st.attempts,
                st.last_visit_at_ms,
                st.awaiting_confirmation,
            );
            if indexed != derived {
                return Err(format!(
                    "household {h}: resident {rid}: index (state, attempts, last visit, \
                     awaiting) = {indexed:?}, document says {derived:?}"
                ));
            }
        }
    }
    let pending = store
        .pending_changes()
        .map_err(|e| format!("pending changes: {e}"))?;
    if pending < world.acked_changes {
        return Err(format!(
            "the outbox holds {pending} changes, fewer than the {} of acknowledged writes",
            world.acked_changes
        ));
    }
    if pending != world.committed_changes {
        return Err(format!(
            "the outbox holds {pending} changes, the committed writes made {}",
            world.committed_changes
        ));
    }
    Ok(())
}

/// A server with households, and the phone store at `path` synced with it.
fn seed_phone(path: &Path, rng: &mut StdRng) -> (MemoryServer, BTreeSet<HouseholdId>) {
    let mut server = MemoryServer::new();
    for i in 0..HOUSEHOLDS {
        let residents = (0..rng.random_range(3..=5))
            .map(|_| (ResidentId::new(), resident_info(rng, false)))
            .collect();
        server
            .create_household(&NewHousehold {
                id: HouseholdId::new(),
                commune: "00004".into(),
                hamlet: format!("to-{}", i % 4 + 1),
                address: Address {
                    house_number: format!("{}{}", i + 1, if i % 3 == 0 { "A" } else { "" }),
                    alley: format!("ngõ {}", i % 5 + 2),
                    street: pick(rng, &STREETS).into(),
                },
                residents,
            })
            .expect("create a household on the server");
    }
    let mut phone = PhoneStore::open(path).expect("create the phone store");
    server.register_device(
        phone.device_id(),
        SimDevice {
            role: Role::Officer,
            hamlets: None,
            revoked: false,
        },
    );
    sync_until_done(&mut phone, &mut server).expect("initial sync");
    assert_eq!(phone.pending_changes().expect("pending"), 0);
    let ids: BTreeSet<HouseholdId> = phone
        .household_ids()
        .expect("household ids")
        .into_iter()
        .collect();
    assert_eq!(ids.len(), HOUSEHOLDS, "every household reached the phone");
    (server, ids)
}

fn env_u64(name: &str) -> Option<u64> {
    std::env::var(name).ok().and_then(|s| s.parse().ok())
}

#[test]
fn sigkill_never_loses_an_acknowledged_visit() {
    let started = Instant::now();
    let seed = env_u64(SEED_ENV).unwrap_or_else(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(1)
    });
    let kills = env_u64(KILLS_ENV).map_or(KILLS, |k| (k as usize).max(KILLS));
    let verbose = std::env::var_os(VERBOSE_ENV).is_some();
    let mut rng = StdRng::seed_from_u64(seed);
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path: PathBuf = dir.path().join(STORE_FILE);
    let exe = std::env::current_exe().expect("the test executable's path");

    let (mut server, households) = seed_phone(&path, &mut rng);
    let mut world = World {
        households,
        ..Default::default()
    };
    let mut stats = Stats::default();
    let mut pace = Pace {
        startup: Duration::from_millis(5),
        write: Duration::from_millis(5),
    };

    for i in 0..kills {
        let plan = Plan::random(&mut rng);
        let child_seed = rng.random();
        let killed = run_child(
            &exe,
            dir.path(),
            plan,
            child_seed,
            &mut rng,
            &mut pace,
            &mut world,
            &mut stats,
        )
        .unwrap_or_else(|e| panic!("kill {i} ({plan:?}, seed {seed}): {e}"));

        let store = PhoneStore::open(&path).unwrap_or_else(|e| {
            panic!("kill {i} ({plan:?}, seed {seed}): the store does not reopen: {e}")
        });
        if let Some(f) = &killed.in_flight {
            // Committed but not acknowledged is fine; it must then stay.
            let doc = store.household(f.op.household).unwrap_or_else(|e| {
                panic!(
                    "kill {i} ({plan:?}, seed {seed}): household {} does not load: {e}",
                    f.op.household
                )
            });
            let landed = records_of(&doc).contains(&f.op.record);
            if landed {
                world.commit(&f.op);
                stats.in_flight_committed += 1;
            } else {
                stats.in_flight_rolled_back += 1;
            }
            if f.compacting {
                stats.compacting += 1;
                stats.compacting_committed += usize::from(landed);
            }
        }
        let full = (i + 1) % FULL_CHECK_EVERY == 0 || i + 1 == kills;
        verify(&store, &world, &killed.touched, full)
            .unwrap_or_else(|e| panic!("after kill {i} ({plan:?}, seed {seed}): {e}"));
        drop(store);
        if verbose {
            eprintln!(
                "kill {i}: {plan:?}, {} acknowledged so far, write ≈ {:?}, {:.1} s",
                stats.acks,
                pace.write,
                started.elapsed().as_secs_f64()
            );
        }
    }

    // Back in signal: everything committed reaches the server.
    let mut phone = PhoneStore::open(&path).expect("reopen for the final sync");
    sync_until_done(&mut phone, &mut server)
        .unwrap_or_else(|e| panic!("final sync (seed {seed}): {e}"));
    assert_eq!(
        phone.pending_changes().expect("pending"),
        0,
        "the outbox is empty after the final sync (seed {seed})"
    );
    for (h, records) in &world.committed {
        let doc = server
            .household(*h)
            .unwrap_or_else(|| panic!("the server lost household {h}"));
        let on_server = records_of(doc);
        if let Some(r) = records.difference(&on_server).next() {
            panic!("{r} of household {h} did not reach the server (seed {seed})");
        }
    }

    eprintln!(
        "crash test: {kills} SIGKILLs ({} before the store opened, {} during a compacting \
         write, {} of them committed), {} acknowledged visits and {} settlements all \
         present; in-flight writes at the kill: {} committed, {} rolled back; seed {seed}; \
         {:.1} s",
        stats.before_ready,
        stats.compacting,
        stats.compacting_committed,
        world.acked_visits,
        world.acked_settlements,
        stats.in_flight_committed,
        stats.in_flight_rolled_back,
        started.elapsed().as_secs_f64()
    );
    assert_eq!(stats.acks, world.acked_visits + world.acked_settlements);
}
