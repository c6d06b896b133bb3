//! The cost of the FFI layer: `gocua_mobile::FieldStore` (what the UniFFI
//! scaffolding calls) against `sync_core::store::PhoneStore` called
//! directly, for `record_visit` and the work list, on identical data.
//!
//! ```text
//! cargo bench -p mobile-ffi --bench ffi_bench
//! GOCUA_FFI_BENCH_EXPORT=target/ffi-bench cargo bench -p mobile-ffi --bench ffi_bench
//! ```
//!
//! One hamlet of `GOCUA_FFI_BENCH_HOUSEHOLDS` households (default 500, four
//! residents each, Vietnamese names) is imported into the in-memory
//! reference server; another officer's phone records a visit at every third
//! household. An encrypted phone store (SQLCipher, the app's 32-byte key) on
//! the target directory's disk syncs it all and is closed. Each side then
//! gets its own copy of that file and its own process (this binary, started
//! with `--child direct` or `--child ffi`), which opens the copy with
//! `PhoneStore::open_encrypted` or `FieldStore::open` and times the calls
//! the parent asks for over a pipe. The parent alternates the calls (direct
//! then FieldStore, then FieldStore then direct), so that load from other
//! processes and fsync stalls fall on both sides alike.
//!
//! Why processes: the bundled SQLite is built with
//! `SQLITE_ENABLE_MEMORY_MANAGEMENT`, so all connections of a process share
//! one page-cache pool and a connection at its `cache_size` recycles the
//! least recently used page of the whole pool, another connection's too.
//! Two stores used in turn in one process can evict each other's pages
//! (each miss is a read plus an HMAC check and an AES decryption): in the
//! first version of this bench one of them ended up about 0.8 ms a visit
//! slower than the other, whichever API it was opened with. A phone has
//! one store in its process; so has each side here.
//!
//! * `record_visit`: `GOCUA_FFI_BENCH_ROUNDS` (default 2) visits to every
//!   household, the same visits on both copies, timed once on the disk
//!   (durable: one fsync each) and once on `/dev/shm` (a tmpfs, where fsync
//!   costs nothing, so the CPU work stands alone; skipped when there is no
//!   `/dev/shm` or with `GOCUA_FFI_BENCH_NO_TMPFS=1`). Both sides get their
//!   input built before the clock starts (an `m::Visit` for the direct call,
//!   a `VisitInput` of strings for FieldStore); FieldStore's timing therefore
//!   covers what the layer adds: parsing the ids and the role, checking text
//!   sizes, converting the outcomes, the mutex, the visit id as a string.
//! * `work_list(Some(hamlet))`: `GOCUA_FFI_BENCH_LIST_RUNS` (default 300)
//!   calls on each copy after one warm-up each; freeing the result is not
//!   timed. FieldStore adds the mutex and converting every `ResidentRow`
//!   into a `ResidentItem` (two UUIDs formatted as strings), which is also
//!   timed alone.
//! * `device_id()`: 20,000 calls that do almost nothing, for the fixed cost.
//!
//! The real foreign-language crossing (lowering arguments into a
//! `RustBuffer`, the `extern "C"` call, lifting the result in the other
//! language) cannot be called from this crate, which forbids `unsafe` code.
//! `mobile-ffi/bindings-tests/bench_ffi.py` measures it from Python through
//! the generated bindings: with `GOCUA_FFI_BENCH_EXPORT=DIR` this bench
//! writes the pristine store (`DIR/seed.db`) and the visit plan with this
//! binary's path (`DIR/plan.json`); the script runs the same calls through
//! Python, rotating them with this binary's two children.
//!
//! The bench measures and prints PASS or MISS against the ≤ 10 % target; it
//! never fails on a miss. See `docs/BENCHMARKS.md`.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use gocua_mobile as ffi;
use sync_core::doc::NewHousehold;
use sync_core::ids::Sex;
use sync_core::model as m;
use sync_core::sample::{FAMILY, Rng, STREETS, person};
use sync_core::sim::{MemoryServer, SimDevice, sync_until_done};
use sync_core::store::PhoneStore;

type R<T> = Result<T, Box<dyn std::error::Error>>;

const COMMUNE: &str = "00004";
const HAMLET: &str = "Tổ dân phố 3";
/// The app's key from the platform keystore (any 32 bytes will do here).
const KEY: [u8; 32] = [
    0x47, 0xf5, 0x43, 0x75, 0x61, 0x20, 0x62, 0x65, 0x6e, 0x63, 0x68, 0x21, 0x0d, 0x9a, 0x31, 0x7c,
    0x88, 0x02, 0xee, 0x5b, 0x14, 0x6f, 0xc3, 0x27, 0x90, 0x3d, 0xa1, 0x4e, 0x0b, 0x72, 0xd8, 0x16,
];
const TARGET_PCT: f64 = 10.0;

// ---------------------------------------------------------------------------
// Deterministic data
// ---------------------------------------------------------------------------

/// One generated household and its residents' ids and birth years.
struct GenHousehold {
    new: NewHousehold,
    people: Vec<(m::ResidentId, i32)>,
}

/// Four residents: a couple and two children, or a couple, a child and a
/// grandparent.
fn gen_household(rng: &mut Rng) -> GenHousehold {
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
    let family = *rng.weighted(FAMILY);
    let spouse_family = *rng.weighted(FAMILY);
    let head_born = rng.range(1958, 1990);
    let (head_sex, other) = if rng.chance(0.8) {
        (Sex::Male, Sex::Female)
    } else {
        (Sex::Female, Sex::Male)
    };
    let spouse_born = head_born + rng.range(-3, 6);
    let child_sex = |rng: &mut Rng| {
        if rng.chance(0.5) {
            Sex::Male
        } else {
            Sex::Female
        }
    };
    let mut members = vec![
        (person(rng, family, head_sex, head_born), head_born),
        (person(rng, spouse_family, other, spouse_born), spouse_born),
    ];
    let c1 = (head_born + rng.range(22, 36)).min(2022);
    let s1 = child_sex(rng);
    members.push((person(rng, family, s1, c1), c1));
    if rng.chance(0.5) {
        let g = head_born - rng.range(22, 32);
        members.push((person(rng, family, Sex::Female, g), g));
    } else {
        let c2 = (head_born + rng.range(24, 38)).min(2023);
        let s2 = child_sex(rng);
        members.push((person(rng, family, s2, c2), c2));
    }
    let mut people = Vec::new();
    let mut residents = Vec::new();
    for (info, born) in members {
        let id = m::ResidentId::new();
        people.push((id, born));
        residents.push((id, info));
    }
    GenHousehold {
        new: NewHousehold {
            id: m::HouseholdId::new(),
            commune: COMMUNE.into(),
            hamlet: HAMLET.into(),
            address: m::Address {
                house_number,
                alley,
                street: (*rng.pick(STREETS)).to_owned(),
            },
            residents,
        },
        people,
    }
}

/// A typical outcome (in the FFI's terms) for a resident born in `born`.
fn gen_outcome(rng: &mut Rng, born: i32) -> (ffi::Outcome, Option<String>) {
    use ffi::{AbsentReason as A, IneligibleReason as I, Outcome as O, SupportKind as S};
    if born >= 2012 {
        return (
            O::Ineligible {
                reason: I::UnderAge,
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
        (7, 3),
        (8, 7),
        (9, 2),
        (10, 1),
    ]) {
        0 => O::Activated {
            already_active: false,
        },
        1 => O::Activated {
            already_active: true,
        },
        2 => O::Absent {
            reason: A::WorkingOrStudyingElsewhere,
        },
        3 => O::Absent {
            reason: A::NotHomeNow,
        },
        4 => O::Absent {
            reason: A::AwayForAWhile,
        },
        5 => O::Ineligible {
            reason: I::NoSmartphone,
        },
        6 => O::Ineligible {
            reason: I::OldIllOrDisabled,
        },
        7 => O::NeedsSupport {
            kind: S::LockedAccount,
        },
        8 => O::ApplicationCollected,
        9 => O::Refused,
        _ => O::Ineligible { reason: I::Other },
    };
    let explanation = match o {
        O::Ineligible { reason: I::Other } => {
            Some("Đang điều trị dài ngày ở Bệnh viện Bạch Mai".to_owned())
        }
        O::Absent { .. } if rng.chance(0.1) => {
            Some("Đi làm ở Bình Dương, cuối năm mới về".to_owned())
        }
        _ => None,
    };
    (o, explanation)
}

/// A visit to record on both copies.
struct Planned {
    household: m::HouseholdId,
    at_ms: i64,
    outcomes: Vec<(m::ResidentId, ffi::Outcome, Option<String>)>,
}

const USER: &str = "cskv-01";

impl Planned {
    /// What an app calling sync-core directly would build.
    fn visit(&self, device: &str) -> m::Visit {
        m::Visit {
            id: m::VisitId::new(),
            at_ms: self.at_ms,
            by: m::Recorder {
                user: USER.into(),
                role: m::Role::Officer,
                device: device.into(),
            },
            place: m::Place::Home,
            outcomes: self
                .outcomes
                .iter()
                .map(|(r, o, e)| m::ResidentOutcome {
                    resident: *r,
                    outcome: (*o).into(),
                    explanation: e.clone(),
                })
                .collect(),
            newcomers: vec![],
        }
    }

    /// What a Kotlin or Swift app hands the FFI.
    fn input(&self) -> ffi::VisitInput {
        ffi::VisitInput {
            household_id: self.household.to_string(),
            at_ms: self.at_ms,
            user_id: USER.into(),
            role: "officer".into(),
            at_guidance_point: false,
            outcomes: self
                .outcomes
                .iter()
                .map(|(r, o, e)| ffi::OutcomeInput {
                    resident_id: r.to_string(),
                    outcome: *o,
                    explanation: e.clone(),
                })
                .collect(),
        }
    }

    fn json(&self) -> serde_json::Value {
        serde_json::json!({
            "household_id": self.household.to_string(),
            "at_ms": self.at_ms,
            "outcomes": self.outcomes.iter().map(|(r, o, e)| serde_json::json!({
                "resident_id": r.to_string(),
                "outcome": outcome_json(*o),
                "explanation": e,
            })).collect::<Vec<_>>(),
        })
    }

    fn from_json(v: &serde_json::Value) -> R<Planned> {
        let text = |v: &serde_json::Value, k: &str| -> R<String> {
            Ok(v[k].as_str().ok_or(format!("plan: no {k}"))?.to_owned())
        };
        let mut outcomes = Vec::new();
        for o in v["outcomes"].as_array().ok_or("plan: no outcomes")? {
            outcomes.push((
                m::ResidentId::parse(&text(o, "resident_id")?).ok_or("plan: resident id")?,
                outcome_from_json(&o["outcome"])?,
                o["explanation"].as_str().map(str::to_owned),
            ));
        }
        Ok(Planned {
            household: m::HouseholdId::parse(&text(v, "household_id")?)
                .ok_or("plan: household id")?,
            at_ms: v["at_ms"].as_i64().ok_or("plan: at_ms")?,
            outcomes,
        })
    }
}

/// `NotHomeNow` → `NOT_HOME_NOW`, the names of the generated Python enums.
fn upper_snake(camel: &str) -> String {
    let mut out = String::new();
    for (i, c) in camel.chars().enumerate() {
        if c.is_uppercase() && i > 0 {
            out.push('_');
        }
        out.extend(c.to_uppercase());
    }
    out
}

fn name_of(x: impl std::fmt::Debug) -> String {
    upper_snake(&format!("{x:?}"))
}

fn outcome_json(o: ffi::Outcome) -> serde_json::Value {
    use ffi::Outcome as O;
    match o {
        O::Activated { already_active } => {
            serde_json::json!({ "kind": "ACTIVATED", "already_active": already_active })
        }
        O::ApplicationCollected => serde_json::json!({ "kind": "APPLICATION_COLLECTED" }),
        O::Absent { reason } => serde_json::json!({ "kind": "ABSENT", "reason": name_of(reason) }),
        O::Ineligible { reason } => {
            serde_json::json!({ "kind": "INELIGIBLE", "reason": name_of(reason) })
        }
        O::NeedsSupport { kind } => {
            serde_json::json!({ "kind": "NEEDS_SUPPORT", "support": name_of(kind) })
        }
        O::Refused => serde_json::json!({ "kind": "REFUSED" }),
    }
}

fn outcome_from_json(v: &serde_json::Value) -> R<ffi::Outcome> {
    use ffi::{AbsentReason as A, IneligibleReason as I, Outcome as O, SupportKind as S};
    fn find<T: Copy + std::fmt::Debug>(all: &[T], name: Option<&str>) -> R<T> {
        all.iter()
            .copied()
            .find(|x| Some(name_of(x).as_str()) == name)
            .ok_or_else(|| format!("plan: unknown {name:?}").into())
    }
    let reason = v["reason"].as_str();
    Ok(match v["kind"].as_str() {
        Some("ACTIVATED") => O::Activated {
            already_active: v["already_active"]
                .as_bool()
                .ok_or("plan: already_active")?,
        },
        Some("APPLICATION_COLLECTED") => O::ApplicationCollected,
        Some("ABSENT") => O::Absent {
            reason: find(
                &[
                    A::WorkingOrStudyingElsewhere,
                    A::AwayForAWhile,
                    A::NotHomeNow,
                ],
                reason,
            )?,
        },
        Some("INELIGIBLE") => O::Ineligible {
            reason: find(
                &[
                    I::NoSmartphone,
                    I::NoChipIdCard,
                    I::UnderAge,
                    I::OldIllOrDisabled,
                    I::PhoneNotInOwnName,
                    I::Deceased,
                    I::MovedAway,
                    I::NotLivingHere,
                    I::MilitaryServiceOrDetention,
                    I::Other,
                ],
                reason,
            )?,
        },
        Some("NEEDS_SUPPORT") => O::NeedsSupport {
            kind: find(
                &[
                    S::ChangedDevice,
                    S::ChangedPhoneNumber,
                    S::LockedAccount,
                    S::Other,
                ],
                v["support"].as_str(),
            )?,
        },
        Some("REFUSED") => O::Refused,
        other => return Err(format!("plan: unknown outcome {other:?}").into()),
    })
}

// ---------------------------------------------------------------------------
// Statistics
// ---------------------------------------------------------------------------

#[derive(Clone, Copy, Default)]
struct Summary {
    median: f64,
    p95: f64,
}

/// Median and p95 of values in µs (p95: the ⌈0.95 n⌉-th smallest).
fn summarize_us(mut us: Vec<f64>) -> Summary {
    us.sort_by(f64::total_cmp);
    Summary {
        median: median(&us),
        p95: us
            .get(((us.len() as f64 * 0.95).ceil() as usize).clamp(1, us.len().max(1)) - 1)
            .copied()
            .unwrap_or(0.0),
    }
}

fn summarize(v: &[Duration]) -> Summary {
    summarize_us(v.iter().map(|d| d.as_secs_f64() * 1e6).collect())
}

/// Median of sorted values.
fn median(sorted: &[f64]) -> f64 {
    let n = sorted.len();
    match n {
        0 => 0.0,
        _ if n % 2 == 1 => sorted[n / 2],
        _ => (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0,
    }
}

/// Median of the paired differences `b[i] − a[i]`, in µs.
fn paired_median(a: &[f64], b: &[f64]) -> f64 {
    let mut d: Vec<f64> = a.iter().zip(b).map(|(x, y)| y - x).collect();
    d.sort_by(f64::total_cmp);
    median(&d)
}

fn pct(base: f64, other: f64) -> f64 {
    (other - base) / base * 100.0
}

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .filter(|v| *v > 0)
        .unwrap_or(default)
}

/// A temporary folder under `base`.
fn temp_in(base: &Path) -> R<tempfile::TempDir> {
    std::fs::create_dir_all(base)?;
    Ok(tempfile::Builder::new()
        .prefix("ffi_bench")
        .tempdir_in(base)?)
}

/// Copies a closed store (and its WAL, if SQLite left one).
fn copy_store(from: &Path, to: &Path) -> R<()> {
    std::fs::copy(from, to)?;
    let wal = |p: &Path| {
        let mut s = p.as_os_str().to_owned();
        s.push("-wal");
        PathBuf::from(s)
    };
    if wal(from).exists() {
        std::fs::copy(wal(from), wal(to))?;
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// One side of the comparison, in a child process
// ---------------------------------------------------------------------------

/// The store under test: sync-core directly, or the FFI layer.
enum Side {
    Direct(PhoneStore),
    Ffi(std::sync::Arc<ffi::FieldStore>),
}

/// Child: opens `store` one way (`direct` or `ffi`), reads the visit plan,
/// then answers the parent's commands, one line each, with timings in ns:
/// `T n` (n calls of device_id: median and p95), `L` (one work list: time
/// and rows), `V i` (records visit i), `P` (pending changes), `Q` (quit).
fn child(kind: &str, store: &Path, plan: &Path) -> R<()> {
    use std::io::{BufRead, Write};
    let side = match kind {
        "direct" => Side::Direct(PhoneStore::open_encrypted(store, &KEY)?),
        "ffi" => Side::Ffi(ffi::FieldStore::open(
            store.display().to_string(),
            KEY.to_vec(),
        )?),
        _ => return Err(format!("unknown side {kind}").into()),
    };
    let plan: serde_json::Value = serde_json::from_slice(&std::fs::read(plan)?)?;
    let visits = plan["visits"]
        .as_array()
        .ok_or("plan: no visits")?
        .iter()
        .map(Planned::from_json)
        .collect::<R<Vec<_>>>()?;
    let hamlet = plan["hamlet"].as_str().ok_or("plan: no hamlet")?.to_owned();
    let mut side = side;
    let device = match &side {
        Side::Direct(s) => s.device_id().to_owned(),
        Side::Ffi(s) => s.device_id()?,
    };
    let stdin = std::io::stdin();
    let mut out = std::io::stdout().lock();
    for line in stdin.lock().lines() {
        let line = line?;
        let mut words = line.split_whitespace();
        let answer = match (words.next(), words.next().map(str::parse::<usize>)) {
            (Some("T"), Some(Ok(n))) => {
                let mut ns = Vec::with_capacity(n);
                for _ in 0..n {
                    let t = Instant::now();
                    let id = match &side {
                        Side::Direct(s) => std::hint::black_box(s.device_id().to_owned()),
                        Side::Ffi(s) => std::hint::black_box(s.device_id()?),
                    };
                    let e = t.elapsed();
                    drop(id);
                    ns.push(e);
                }
                let s = summarize(&ns);
                format!("{} {}", s.median * 1e3, s.p95 * 1e3)
            }
            (Some("L"), None) => {
                // Freeing the rows is not timed.
                let (e, rows) = match &side {
                    Side::Direct(s) => {
                        let t = Instant::now();
                        let rows = s.work_list(Some(&hamlet))?;
                        (t.elapsed(), rows.len())
                    }
                    Side::Ffi(s) => {
                        let t = Instant::now();
                        let rows = s.work_list(Some(hamlet.clone()))?;
                        (t.elapsed(), rows.len())
                    }
                };
                format!("{} {rows}", e.as_nanos())
            }
            (Some("V"), Some(Ok(i))) => {
                let p = visits.get(i).ok_or("no such visit")?;
                // The caller's own record is built before the clock starts.
                let e = match &mut side {
                    Side::Direct(s) => {
                        let visit = p.visit(&device);
                        let t = Instant::now();
                        s.record_visit(p.household, &visit)?;
                        t.elapsed()
                    }
                    Side::Ffi(s) => {
                        let input = p.input();
                        let t = Instant::now();
                        let id = s.record_visit(input)?;
                        let e = t.elapsed();
                        drop(id);
                        e
                    }
                };
                e.as_nanos().to_string()
            }
            (Some("P"), None) => match &side {
                Side::Direct(s) => s.pending_changes()?,
                Side::Ffi(s) => s.pending_changes()?,
            }
            .to_string(),
            (Some("Q"), None) => break,
            _ => return Err(format!("bad command {line:?}").into()),
        };
        writeln!(out, "{answer}")?;
        out.flush()?;
    }
    if let Side::Ffi(s) = &side {
        s.close();
    }
    Ok(())
}

/// The parent's handle on a child.
struct Child {
    proc: std::process::Child,
    to: std::io::BufWriter<std::process::ChildStdin>,
    from: std::io::BufReader<std::process::ChildStdout>,
}

impl Child {
    fn spawn(kind: &str, store: &Path, plan: &Path) -> R<Child> {
        use std::process::{Command, Stdio};
        let mut proc = Command::new(std::env::current_exe()?)
            .arg("--child")
            .arg(kind)
            .arg(store)
            .arg(plan)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()?;
        let to = std::io::BufWriter::new(proc.stdin.take().ok_or("no child stdin")?);
        let from = std::io::BufReader::new(proc.stdout.take().ok_or("no child stdout")?);
        Ok(Child { proc, to, from })
    }

    /// Sends one command; returns the answer's numbers.
    fn ask(&mut self, command: &str) -> R<Vec<f64>> {
        use std::io::{BufRead, Write};
        writeln!(self.to, "{command}")?;
        self.to.flush()?;
        let mut line = String::new();
        if self.from.read_line(&mut line)? == 0 {
            return Err(format!("the child died on {command:?}").into());
        }
        Ok(line
            .split_whitespace()
            .map(str::parse)
            .collect::<Result<_, _>>()?)
    }

    /// Asks for one timing in ns and returns it in µs.
    fn time_us(&mut self, command: &str) -> R<f64> {
        Ok(self.ask(command)?.first().copied().ok_or("empty answer")? / 1e3)
    }

    fn quit(mut self) -> R<()> {
        use std::io::Write;
        writeln!(self.to, "Q")?;
        self.to.flush()?;
        let status = self.proc.wait()?;
        if !status.success() {
            return Err(format!("child failed: {status}").into());
        }
        Ok(())
    }
}

/// Runs `f` on both children, alternating which goes first.
fn both(
    i: usize,
    d: &mut Child,
    f: &mut Child,
    mut run: impl FnMut(&mut Child) -> R<f64>,
) -> R<(f64, f64)> {
    Ok(if i.is_multiple_of(2) {
        let a = run(d)?;
        (a, run(f)?)
    } else {
        let b = run(f)?;
        (run(d)?, b)
    })
}

struct Row {
    figure: String,
    direct: Summary,
    ffi: Summary,
    paired: f64,
    target: bool,
}

impl Row {
    fn new(figure: String, direct: Vec<f64>, ffi: Vec<f64>, target: bool) -> Row {
        Row {
            figure,
            paired: paired_median(&direct, &ffi),
            direct: summarize_us(direct),
            ffi: summarize_us(ffi),
            target,
        }
    }
    fn overhead(&self) -> f64 {
        pct(self.direct.median, self.ffi.median)
    }
}

/// What one pair of children measured on copies of the seeded store.
struct Measured {
    visits: Row,
    list: Option<(Row, usize)>,
    trivial: Option<Row>,
    wall: Duration,
}

/// Copies the seed twice into `dir`, starts one child per copy and
/// alternates the calls between them.
fn measure(
    dir: &Path,
    seed: &Path,
    plan_file: &Path,
    visits: usize,
    list_runs: usize,
    label: &str,
) -> R<Measured> {
    let t = Instant::now();
    let (dp, fp) = (dir.join("direct.db"), dir.join("ffi.db"));
    copy_store(seed, &dp)?;
    copy_store(seed, &fp)?;
    let mut d = Child::spawn("direct", &dp, plan_file)?;
    let mut f = Child::spawn("ffi", &fp, plan_file)?;

    let mut trivial = None;
    let mut list = None;
    if list_runs > 0 {
        let (a, b) = (d.ask("T 20000")?, f.ask("T 20000")?);
        let s = |v: &[f64]| Summary {
            median: v.first().copied().unwrap_or(0.0) / 1e3,
            p95: v.get(1).copied().unwrap_or(0.0) / 1e3,
        };
        trivial = Some(Row {
            figure: "device_id() (a call doing nothing), 20,000 calls".into(),
            direct: s(&a),
            ffi: s(&b),
            paired: f64::NAN,
            target: false,
        });
        // One warm-up each, then alternate.
        let rows_d = d.ask("L")?.get(1).copied().unwrap_or(0.0) as usize;
        let rows_f = f.ask("L")?.get(1).copied().unwrap_or(0.0) as usize;
        if rows_d != rows_f {
            return Err(format!("work lists differ: {rows_d} vs {rows_f} rows").into());
        }
        let (mut ld, mut lf) = (Vec::new(), Vec::new());
        for i in 0..list_runs {
            let (a, b) = both(i, &mut d, &mut f, |c| c.time_us("L"))?;
            ld.push(a);
            lf.push(b);
        }
        list = Some((
            Row::new(
                format!("work_list(Some(hamlet)), {rows_d} rows, {list_runs} calls"),
                ld,
                lf,
                true,
            ),
            rows_d,
        ));
    }

    let (mut vd, mut vf) = (Vec::new(), Vec::new());
    for i in 0..visits {
        let (a, b) = both(i, &mut d, &mut f, |c| c.time_us(&format!("V {i}")))?;
        vd.push(a);
        vf.push(b);
    }
    let (pd, pf) = (d.ask("P")?, f.ask("P")?);
    if pd != pf {
        println!("  WARNING: the copies hold {pd:?} and {pf:?} pending changes");
    }
    d.quit()?;
    f.quit()?;
    Ok(Measured {
        visits: Row::new(
            format!("record_visit, {label}, {visits} visits"),
            vd,
            vf,
            true,
        ),
        list,
        trivial,
        wall: t.elapsed(),
    })
}

// ---------------------------------------------------------------------------
// The bench
// ---------------------------------------------------------------------------

fn main() -> R<()> {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--child") {
        let arg = |k: usize| args.get(i + k).ok_or("--child needs: kind store plan");
        return child(arg(1)?, Path::new(arg(2)?), Path::new(arg(3)?));
    }
    let started = Instant::now();
    let n = env_usize("GOCUA_FFI_BENCH_HOUSEHOLDS", 500);
    let rounds = env_usize("GOCUA_FFI_BENCH_ROUNDS", 2);
    let list_runs = env_usize("GOCUA_FFI_BENCH_LIST_RUNS", 300);
    let export = std::env::var_os("GOCUA_FFI_BENCH_EXPORT").map(PathBuf::from);
    let tmpfs = PathBuf::from("/dev/shm");
    let use_tmpfs = std::env::var_os("GOCUA_FFI_BENCH_NO_TMPFS").is_none() && tmpfs.is_dir();
    println!(
        "mobile-ffi bench: FieldStore vs PhoneStore, {n} households × 4 residents in one hamlet"
    );
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let load = load
        .split_whitespace()
        .take(3)
        .collect::<Vec<_>>()
        .join(" ");
    println!("  load average at start: {load}");

    // ---- data: server, another officer's visits, the seeded store ----------
    let t = Instant::now();
    let mut rng = Rng(0x60C0_AFF1);
    let mut server = MemoryServer::new();
    let households: Vec<GenHousehold> = (0..n).map(|_| gen_household(&mut rng)).collect();
    for h in &households {
        server.create_household(&h.new)?;
    }
    let officer = || SimDevice {
        role: m::Role::Officer,
        hamlets: None,
        revoked: false,
    };
    let mut other = PhoneStore::open_in_memory()?;
    let other_device = other.device_id().to_owned();
    server.register_device(&other_device, officer());
    sync_until_done(&mut other, &mut server)?;
    for (k, h) in households.iter().enumerate().step_by(3) {
        let p = Planned {
            household: h.new.id,
            at_ms: 1_763_000_000_000 + k as i64 * 60_000,
            outcomes: h
                .people
                .iter()
                .map(|(r, born)| {
                    let (o, e) = gen_outcome(&mut rng, *born);
                    (*r, o, e)
                })
                .collect(),
        };
        let mut v = p.visit(&other_device);
        v.by.user = "cskv-02".into();
        other.record_visit(h.new.id, &v)?;
    }
    sync_until_done(&mut other, &mut server)?;

    // On the target directory's disk (not a tmpfs), so fsync is real.
    let disk = temp_in(Path::new(env!("CARGO_TARGET_TMPDIR")))?;
    let seed = disk.path().join("seed.db");
    {
        let mut phone = PhoneStore::open_encrypted(&seed, &KEY)?;
        server.register_device(phone.device_id(), officer());
        sync_until_done(&mut phone, &mut server)?;
        if phone.household_ids()?.len() != n {
            return Err("the seeded store does not hold every household".into());
        }
    } // closed: SQLite checkpoints its WAL into the file

    // The visits: every household `rounds` times, in a shuffled order.
    let mut plan = Vec::with_capacity(rounds * n);
    let mut at = 1_764_000_000_000i64;
    for _ in 0..rounds {
        let mut order: Vec<usize> = (0..n).collect();
        for i in (1..order.len()).rev() {
            order.swap(i, rng.below(i + 1));
        }
        for k in order {
            let h = &households[k];
            at += 45_000;
            plan.push(Planned {
                household: h.new.id,
                at_ms: at,
                outcomes: h
                    .people
                    .iter()
                    .map(|(r, born)| {
                        let (o, e) = gen_outcome(&mut rng, *born);
                        (*r, o, e)
                    })
                    .collect(),
            });
        }
    }
    let mut doc = serde_json::json!({
        "key_hex": KEY.iter().map(|b| format!("{b:02x}")).collect::<String>(),
        "hamlet": HAMLET,
        "user_id": USER,
        "role": "officer",
        "households": n,
        "list_runs": list_runs,
        "visits": plan.iter().map(Planned::json).collect::<Vec<_>>(),
    });
    let plan_file = disk.path().join("plan.json");
    std::fs::write(&plan_file, serde_json::to_vec(&doc)?)?;
    println!(
        "  setup: {n} households, {} residents, {} prior visits, encrypted store {:.1} MB ({:.1} s)",
        4 * n,
        n.div_ceil(3),
        std::fs::metadata(&seed)?.len() as f64 / (1024.0 * 1024.0),
        t.elapsed().as_secs_f64()
    );

    // ---- the two sides, each in its own process ---------------------------
    let on_disk = measure(
        disk.path(),
        &seed,
        &plan_file,
        plan.len(),
        list_runs,
        "durable (fsync)",
    )?;
    println!(
        "  on disk: {} visits and {list_runs} work lists per side in {:.1} s",
        plan.len(),
        on_disk.wall.as_secs_f64()
    );
    let on_tmpfs = if use_tmpfs {
        let dir = temp_in(&tmpfs)?;
        let m = measure(
            dir.path(),
            &seed,
            &plan_file,
            plan.len(),
            0,
            "on tmpfs (fsync free)",
        )?;
        println!(
            "  on tmpfs: {} visits per side in {:.1} s",
            plan.len(),
            m.wall.as_secs_f64()
        );
        Some(m)
    } else {
        None
    };

    // The layer's own work on a list, alone: ResidentRow → ResidentItem,
    // in this process on a third copy.
    let conv_path = disk.path().join("conv.db");
    copy_store(&seed, &conv_path)?;
    let conv_store = PhoneStore::open_encrypted(&conv_path, &KEY)?;
    let mut conv = Vec::with_capacity(list_runs);
    for _ in 0..list_runs.min(100) {
        let rows = conv_store.work_list(Some(HAMLET))?;
        let t = Instant::now();
        let items: Vec<ffi::ResidentItem> = rows.into_iter().map(Into::into).collect();
        let e = t.elapsed();
        std::hint::black_box(&items);
        drop(items);
        conv.push(e);
    }
    drop(conv_store);
    let conversion = summarize(&conv);

    // ---- report -----------------------------------------------------------
    let mut rows: Vec<&Row> = vec![&on_disk.visits];
    if let Some(m) = &on_tmpfs {
        rows.push(&m.visits);
    }
    let list = on_disk.list.as_ref().ok_or("no list figures")?;
    rows.push(&list.0);
    let trivial = on_disk.trivial.as_ref().ok_or("no device_id figures")?;
    println!();
    println!(
        "| figure | PhoneStore (direct) median / p95 | FieldStore median / p95 | \
         overhead (medians) | median of paired differences | target | verdict |"
    );
    println!("|---|---|---|---|---|---|---|");
    for r in rows {
        let verdict = if r.overhead() <= TARGET_PCT {
            "PASS"
        } else {
            "MISS"
        };
        println!(
            "| {} | {:.1} µs / {:.1} µs | {:.1} µs / {:.1} µs | {:+.2} % | {:+.1} µs | {} | {} |",
            r.figure,
            r.direct.median,
            r.direct.p95,
            r.ffi.median,
            r.ffi.p95,
            r.overhead(),
            r.paired,
            if r.target { "≤ 10 %" } else { "–" },
            if r.target { verdict } else { "info" },
        );
    }
    println!(
        "| {} | {:.0} ns / {:.0} ns | {:.0} ns / {:.0} ns | {:+.0} ns | – | – | info |",
        trivial.figure,
        trivial.direct.median * 1e3,
        trivial.direct.p95 * 1e3,
        trivial.ffi.median * 1e3,
        trivial.ffi.p95 * 1e3,
        (trivial.ffi.median - trivial.direct.median) * 1e3,
    );
    println!();
    println!(
        "  converting the {} ResidentRows into ResidentItems alone: {:.1} µs / {:.1} µs \
         ({:.3} µs a row, {:.1} % of the direct work list)",
        list.1,
        conversion.median,
        conversion.p95,
        conversion.median / list.1.max(1) as f64,
        conversion.median / list.0.direct.median * 100.0
    );

    // ---- export for the Python crossing -----------------------------------
    if let Some(dir) = export {
        std::fs::create_dir_all(&dir)?;
        copy_store(&seed, &dir.join("seed.db"))?;
        doc["list_rows"] = list.1.into();
        // The Python script runs this binary's children beside its own calls.
        doc["child_exe"] = std::env::current_exe()?.display().to_string().into();
        std::fs::write(dir.join("plan.json"), serde_json::to_vec_pretty(&doc)?)?;
        println!(
            "  exported the seeded store and the plan to {}",
            dir.display()
        );
    }
    println!("  done in {:.1} s", started.elapsed().as_secs_f64());
    Ok(())
}
