//! Phone-side benchmarks of sync-core: initial and incremental sync against
//! the reference server, the durable cost of recording a visit, building
//! officers' lists, and the phone's peak memory during an initial sync.
//!
//! ```text
//! cargo bench -p sync-core --bench sync_bench
//! GOCUA_BENCH_HOUSEHOLDS=500 cargo bench -p sync-core --bench sync_bench
//! ```
//!
//! `GOCUA_BENCH_HOUSEHOLDS` (default 2,000, five residents each) sets the
//! commune measured in full; the list timings are repeated on a commune of
//! `GOCUA_BENCH_LARGE_HOUSEHOLDS` (default twice as many: 20,000 residents).
//!
//! The bench measures and prints; it never fails on a missed target (the
//! tests check correctness). Figures and targets are described in
//! `docs/BENCHMARKS.md`.
//!
//! Memory: the workspace forbids `unsafe` code (`[workspace.lints.rust]
//! unsafe_code = "forbid"`, which an `allow` cannot override), so the bench
//! cannot install a counting `#[global_allocator]`. Instead the phone's
//! side of each initial sync runs in a child process (this same binary,
//! started with `--phone-child`) that talks to the in-memory server in the
//! parent over pipes. The child holds nothing but the phone store, so its
//! resident set (`/proc/self/status`: `VmRSS`, `VmHWM`, with the high-water
//! mark reset through `/proc/self/clear_refs` before each call) is the
//! phone's memory, unpolluted by the server.

use std::io::{BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use sync_core::doc::{DocPart, NewHousehold};
use sync_core::prelude::*;
use sync_core::sample::{FAMILY, Rng, STREETS, person};
use sync_core::sim::{MemoryServer, SimDevice, sync_until_done};

type R<T> = Result<T, Box<dyn std::error::Error>>;

const KB: f64 = 1024.0;
const MB: f64 = 1024.0 * 1024.0;

// ---------------------------------------------------------------------------
// Deterministic data
// ---------------------------------------------------------------------------

const COMMUNE: &str = "00004";
const HAMLETS: usize = 8;

fn hamlet_name(i: usize) -> String {
    format!("Tổ dân phố {}", i + 1)
}

/// One generated household: what the server imports, plus what the
/// bench needs to write visits (resident ids and birth years).
struct GenHousehold {
    new: NewHousehold,
    people: Vec<(ResidentId, i32)>,
}

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
    // A grandparent, or a third child.
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
    GenHousehold {
        new: NewHousehold {
            id: HouseholdId::new(),
            commune: COMMUNE.into(),
            hamlet: hamlet_name(rng.below(HAMLETS)),
            address,
            residents,
        },
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
    let pick = *rng.weighted(&[
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
    ]);
    let o = match pick {
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

fn gen_visit(rng: &mut Rng, h: &GenHousehold, user: &str, device: &str, at_ms: i64) -> Visit {
    Visit {
        id: VisitId::new(),
        at_ms,
        by: Recorder {
            user: user.into(),
            role: Role::Officer,
            device: device.into(),
        },
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

fn officer() -> SimDevice {
    SimDevice {
        role: Role::Officer,
        hamlets: None,
        revoked: false,
    }
}

/// The server holding a commune: every household imported, and about one
/// visit for a third of them recorded by another officer's phone.
struct World {
    server: MemoryServer,
    households: Vec<GenHousehold>,
    prior_visits: usize,
}

fn build_world(n: usize, seed: u64) -> R<World> {
    let mut rng = Rng(seed);
    let mut server = MemoryServer::new();
    let mut households = Vec::with_capacity(n);
    for _ in 0..n {
        let h = gen_household(&mut rng);
        server.create_household(&h.new)?;
        households.push(h);
    }
    let mut other = PhoneStore::open_in_memory()?;
    let other_device = other.device_id().to_owned();
    server.register_device(&other_device, officer());
    sync_until_done(&mut other, &mut server)?;
    let mut prior_visits = 0;
    for (k, h) in households.iter().enumerate() {
        if k % 3 == 0 {
            let v = gen_visit(
                &mut rng,
                h,
                "cskv-02",
                &other_device,
                1_763_000_000_000 + k as i64 * 60_000,
            );
            other.record_visit(h.new.id, &v)?;
            prior_visits += 1;
        }
    }
    sync_until_done(&mut other, &mut server)?;
    Ok(World {
        server,
        households,
        prior_visits,
    })
}

// ---------------------------------------------------------------------------
// Memory probes (/proc/self/status)
// ---------------------------------------------------------------------------

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

fn rss_bytes() -> u64 {
    status_kb("VmRSS") * 1024
}

fn hwm_bytes() -> u64 {
    status_kb("VmHWM") * 1024
}

/// Resets VmHWM to the current RSS (Linux ≥ 4.0). Returns false if refused.
fn reset_hwm() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

// ---------------------------------------------------------------------------
// The phone's side of an initial sync, in a child process
// ---------------------------------------------------------------------------

fn write_frame(w: &mut impl Write, tag: u8, bytes: &[u8]) -> std::io::Result<()> {
    w.write_all(&[tag])?;
    w.write_all(&(bytes.len() as u64).to_le_bytes())?;
    w.write_all(bytes)?;
    w.flush()
}

fn read_frame(r: &mut impl Read) -> std::io::Result<(u8, Vec<u8>)> {
    let mut head = [0u8; 9];
    r.read_exact(&mut head)?;
    let mut len = [0u8; 8];
    len.copy_from_slice(&head[1..]);
    let mut buf = vec![0u8; u64::from_le_bytes(len) as usize];
    r.read_exact(&mut buf)?;
    Ok((head[0], buf))
}

/// Child: opens the phone store and syncs through the parent's pipes,
/// measuring its own memory around each call.
fn phone_child(path: &Path) -> R<()> {
    let start_hwm = hwm_bytes();
    let mut phone = PhoneStore::open(path)?;
    let open_rss = rss_bytes();
    let mut peak = start_hwm.max(hwm_bytes());
    let mut max_req_inc = 0u64;
    let mut max_apply_inc = 0u64;
    let mut apply_time = Duration::ZERO;
    let mut docs = 0usize;
    let mut resettable = true;
    let mut input = BufReader::new(std::io::stdin().lock());
    let mut output = BufWriter::new(std::io::stdout().lock());
    loop {
        let before = rss_bytes();
        resettable &= reset_hwm();
        let req = phone.sync_request()?;
        let hwm = hwm_bytes();
        peak = peak.max(hwm);
        max_req_inc = max_req_inc.max(hwm.saturating_sub(before));
        write_frame(&mut output, b'Q', &req)?;
        drop(req);
        let (_, resp) = read_frame(&mut input)?;
        // The response is in memory: measure the apply alone.
        let before = rss_bytes();
        resettable &= reset_hwm();
        let t = Instant::now();
        let applied = phone.apply_sync_response(&resp)?;
        apply_time += t.elapsed();
        let hwm = hwm_bytes();
        peak = peak.max(hwm);
        max_apply_inc = max_apply_inc.max(hwm.saturating_sub(before));
        docs += applied.docs;
        drop(resp);
        if !applied.more {
            break;
        }
    }
    drop(phone);
    let report = format!(
        "open_rss {open_rss}\npeak {peak}\nmax_req_inc {max_req_inc}\nmax_apply_inc {max_apply_inc}\n\
         apply_ns {}\ndocs {docs}\nresettable {}\n",
        apply_time.as_nanos(),
        u8::from(resettable)
    );
    write_frame(&mut output, b'E', report.as_bytes())?;
    Ok(())
}

#[derive(Debug, Default)]
struct InitialSync {
    up: usize,
    down: usize,
    trips: usize,
    wall: Duration,
    server_time: Duration,
    phone_apply: Duration,
    docs: usize,
    open_rss: u64,
    peak_rss: u64,
    max_req_inc: u64,
    max_apply_inc: u64,
    hwm_resettable: bool,
    responses: Vec<Vec<u8>>,
}

/// Parent: runs the initial sync of a fresh phone store at `path` against
/// `server`, the phone's side in a child process.
fn initial_sync(server: &mut MemoryServer, path: &Path, keep_responses: bool) -> R<InitialSync> {
    // Register the phone's device id: open once to create the identity.
    let device = PhoneStore::open(path)?.device_id().to_owned();
    server.register_device(&device, officer());
    let exe = std::env::current_exe()?;
    let t0 = Instant::now();
    let mut child = Command::new(exe)
        .arg("--phone-child")
        .arg(path)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()?;
    let mut to_child = BufWriter::new(child.stdin.take().ok_or("no child stdin")?);
    let mut from_child = BufReader::new(child.stdout.take().ok_or("no child stdout")?);
    let mut out = InitialSync::default();
    let report = loop {
        let (tag, bytes) = read_frame(&mut from_child)?;
        if tag == b'E' {
            break String::from_utf8(bytes)?;
        }
        out.trips += 1;
        out.up += bytes.len();
        let ts = Instant::now();
        let resp = server.handle(&bytes)?;
        out.server_time += ts.elapsed();
        out.down += resp.len();
        write_frame(&mut to_child, b'S', &resp)?;
        if keep_responses {
            out.responses.push(resp);
        }
    };
    out.wall = t0.elapsed();
    let status = child.wait()?;
    if !status.success() {
        return Err(format!("phone child failed: {status}").into());
    }
    let field = |k: &str| -> u64 {
        report
            .lines()
            .find_map(|l| l.strip_prefix(k).map(str::trim))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    out.open_rss = field("open_rss ");
    out.peak_rss = field("peak ");
    out.max_req_inc = field("max_req_inc ");
    out.max_apply_inc = field("max_apply_inc ");
    out.phone_apply = Duration::from_nanos(field("apply_ns "));
    out.docs = field("docs ") as usize;
    out.hwm_resettable = field("resettable ") == 1;
    Ok(out)
}

/// One manual sync loop in-process, counting bytes and round trips.
fn counted_sync(phone: &mut PhoneStore, server: &mut MemoryServer) -> R<(usize, usize, usize)> {
    let (mut up, mut down, mut trips) = (0, 0, 0);
    loop {
        let req = phone.sync_request()?;
        let resp = server.handle(&req)?;
        trips += 1;
        up += req.len();
        down += resp.len();
        let applied = phone.apply_sync_response(&resp)?;
        if !applied.more {
            return Ok((up, down, trips));
        }
        if trips > 50 {
            return Err("sync does not converge".into());
        }
    }
}

// ---------------------------------------------------------------------------
// Statistics and printing
// ---------------------------------------------------------------------------

struct Summary {
    median: Duration,
    p95: Duration,
    max: Duration,
    n: usize,
}

fn summarize(mut v: Vec<Duration>) -> Summary {
    v.sort();
    let n = v.len();
    if n == 0 {
        return Summary {
            median: Duration::ZERO,
            p95: Duration::ZERO,
            max: Duration::ZERO,
            n,
        };
    }
    let median = if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2
    };
    let p95 = v[((n as f64 * 0.95).ceil() as usize).clamp(1, n) - 1];
    Summary {
        median,
        p95,
        max: v[n - 1],
        n,
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// Times `runs` calls of `f` after one warm-up call (prepared statements,
/// page cache). Freeing a result is not timed. Returns the summary and the
/// length of the last result.
fn time_runs<T>(runs: usize, mut f: impl FnMut() -> R<Vec<T>>) -> R<(Summary, usize)> {
    let mut len = f()?.len();
    let mut v = Vec::with_capacity(runs);
    for _ in 0..runs {
        let t = Instant::now();
        let out = f()?;
        v.push(t.elapsed());
        len = out.len();
        drop(out);
    }
    Ok((summarize(v), len))
}

/// The results table. Rows are printed grouped by figure number (the
/// first character of the label, or the previous row's for a continuation
/// row starting with a space), in the order they were added within one.
struct Table {
    rows: Vec<(char, String, String, String, String)>,
}

impl Table {
    fn row(&mut self, figure: &str, target: &str, measured: String, ok: Option<bool>) {
        let verdict = match ok {
            Some(true) => "PASS",
            Some(false) => "MISS",
            None => "info",
        };
        let section = match figure.chars().next() {
            Some(c) if c.is_ascii_digit() => c,
            _ => self.rows.last().map_or('9', |r| r.0),
        };
        self.rows.push((
            section,
            figure.into(),
            target.into(),
            measured,
            verdict.into(),
        ));
    }
    fn print(&mut self) {
        self.rows.sort_by_key(|r| r.0);
        let width = |f: fn(&(char, String, String, String, String)) -> &String| {
            self.rows
                .iter()
                .map(|r| f(r).chars().count())
                .max()
                .unwrap_or(0)
        };
        let (w0, w1, w2) = (width(|r| &r.1), width(|r| &r.2), width(|r| &r.3));
        let pad = |s: &str, w: usize| format!("{s}{}", " ".repeat(w - s.chars().count()));
        println!(
            "| {} | {} | {} | verdict |",
            pad("figure", w0),
            pad("target", w1),
            pad("measured", w2)
        );
        println!(
            "|{}|{}|{}|---------|",
            "-".repeat(w0 + 2),
            "-".repeat(w1 + 2),
            "-".repeat(w2 + 2)
        );
        for (_, a, b, c, d) in &self.rows {
            println!(
                "| {} | {} | {} | {:<7} |",
                pad(a, w0),
                pad(b, w1),
                pad(c, w2),
                d
            );
        }
    }
}

fn file_size_with_wal(path: &Path) -> u64 {
    let mut wal = path.as_os_str().to_owned();
    wal.push("-wal");
    [path.to_owned(), PathBuf::from(wal)]
        .iter()
        .filter_map(|p| std::fs::metadata(p).ok())
        .map(|m| m.len())
        .sum()
}

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .filter(|v| *v > 0)
        .unwrap_or(default)
}

fn bench_dir() -> R<tempfile::TempDir> {
    // On the target directory's disk (not a tmpfs), so fsync is real.
    let base = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    std::fs::create_dir_all(&base)?;
    Ok(tempfile::Builder::new()
        .prefix("sync_bench")
        .tempdir_in(base)?)
}

// ---------------------------------------------------------------------------
// The bench
// ---------------------------------------------------------------------------

fn main() -> R<()> {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--phone-child") {
        let path = args.get(i + 1).ok_or("--phone-child needs a path")?;
        return phone_child(Path::new(path));
    }
    let started = Instant::now();
    let n = env_usize("GOCUA_BENCH_HOUSEHOLDS", 2_000);
    let n_large = env_usize("GOCUA_BENCH_LARGE_HOUSEHOLDS", 2 * n);
    let tmp = bench_dir()?;
    // GOCUA_BENCH_KEEP=1 keeps the phone stores for inspection.
    let keep = std::env::var_os("GOCUA_BENCH_KEEP").is_some();
    let dir_path = tmp.path().to_owned();
    let _cleanup = if keep {
        println!("  keeping the phone stores in {}", tmp.keep().display());
        None
    } else {
        Some(tmp)
    };
    let mut table = Table { rows: Vec::new() };

    println!("sync-core phone-side bench: {n} households (and {n_large} for the large lists)");
    // Timings are only as good as the machine is quiet: say how busy it was.
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!(
        "  load average at start: {}",
        load.split_whitespace()
            .take(3)
            .collect::<Vec<_>>()
            .join(" ")
    );

    // ---- setup -----------------------------------------------------------
    let t = Instant::now();
    let mut world = build_world(n, 0x60C0A)?;
    let residents: usize = world.households.iter().map(|h| h.people.len()).sum();
    println!(
        "  setup: {} households, {residents} residents, {} prior visits by another phone, \
         server seq {} ({:.1} s)",
        n,
        world.prior_visits,
        world.server.seq(),
        t.elapsed().as_secs_f64()
    );

    // Per-document save() sizes on the server, for comparison (figure 6).
    let mut save_total = 0usize;
    let mut nocompress_total = 0usize;
    for h in &world.households {
        if let Some(doc) = world.server.household_mut(h.new.id) {
            for part in DocPart::ALL {
                if doc.part_mut(part).get_heads().is_empty() {
                    continue;
                }
                save_total += doc.save(part).len();
                nocompress_total += doc.save_nocompress(part).len();
            }
        }
    }

    // ---- 1 + 5: initial sync, phone in a child process --------------------
    let path = dir_path.join("phone.sqlite3");
    let init = initial_sync(&mut world.server, &path, true)?;
    println!(
        "  initial sync: {} round trips, {} docs, wall {:.2} s (server {:.2} s, phone apply {:.2} s)",
        init.trips,
        init.docs,
        init.wall.as_secs_f64(),
        init.server_time.as_secs_f64(),
        init.phone_apply.as_secs_f64()
    );
    let total = init.up + init.down;
    table.row(
        "1. initial sync: bytes up + down",
        "≤ 1.0 MB",
        format!(
            "{:.3} MB ({} B up, {} B down)",
            total as f64 / MB,
            init.up,
            init.down
        ),
        Some(total as f64 <= MB),
    );
    table.row(
        "1. initial sync: round trips",
        "≤ 3",
        init.trips.to_string(),
        Some(init.trips <= 3),
    );
    table.row(
        "1. initial sync: wall time (phone apply)",
        "-",
        format!(
            "{:.2} s ({:.2} s)",
            init.wall.as_secs_f64(),
            init.phone_apply.as_secs_f64()
        ),
        None,
    );

    let store_size = file_size_with_wal(&path);
    table.row(
        "1. phone store size after initial sync (db + wal)",
        "-",
        format!("{:.1} MB", store_size as f64 / MB),
        None,
    );
    let mut phone = PhoneStore::open(&path)?;
    let on_phone = phone.household_ids()?.len();
    if on_phone != n {
        println!("  WARNING: phone holds {on_phone} households, server {n}");
    }

    // ---- 2: incremental sync after 50 visits ------------------------------
    let mut rng = Rng(0xB15175);
    let device = phone.device_id().to_owned();
    let mut at = 1_764_000_000_000i64;
    let mut visit_times = Vec::new();
    let seq_before = world.server.seq();
    for h in world.households.iter().skip(1).step_by(3).take(50) {
        let v = gen_visit(&mut rng, h, "cskv-01", &device, at);
        at += 90_000;
        let t = Instant::now();
        phone.record_visit(h.new.id, &v)?;
        visit_times.push(t.elapsed());
    }
    let pending = phone.pending_changes()?;
    let (up, down, trips) = counted_sync(&mut phone, &mut world.server)?;
    let received = world.server.seq() - seq_before;
    println!(
        "  incremental sync: {} visits = {pending} outbox changes; server logged {received} new changes",
        visit_times.len()
    );
    table.row(
        &format!(
            "2. incremental sync ({} visits): round trips",
            visit_times.len()
        ),
        "1",
        trips.to_string(),
        Some(trips == 1),
    );
    table.row(
        "2. incremental sync: bytes up",
        "≤ 15 KB",
        format!("{:.2} KB ({up} B)", up as f64 / KB),
        Some(up as f64 <= 15.0 * KB),
    );
    table.row(
        "2. incremental sync: bytes down",
        "≤ 2 KB",
        format!("{:.2} KB ({down} B)", down as f64 / KB),
        Some(down as f64 <= 2.0 * KB),
    );

    // ---- 3: record_visit latency, durable, file-backed -------------------
    let mut times = Vec::new();
    // Households not visited at step 2, spread over the commune (some with
    // a prior visit by the other phone); one visit each, or more if the
    // commune is small.
    let candidates: Vec<&GenHousehold> = world
        .households
        .iter()
        .enumerate()
        .filter(|(k, _)| k % 3 != 1 || *k >= 3 * 50)
        .map(|(_, h)| h)
        .collect();
    let stride = (candidates.len() / 200).max(1);
    let targets: Vec<&GenHousehold> = candidates
        .iter()
        .copied()
        .step_by(stride)
        .cycle()
        .take(200)
        .collect();
    for h in &targets {
        let v = gen_visit(&mut rng, h, "cskv-01", &device, at);
        at += 90_000;
        let t = Instant::now();
        phone.record_visit(h.new.id, &v)?;
        times.push(t.elapsed());
    }
    let s = summarize(times);
    table.row(
        "3. record_visit incl. durable commit: median",
        "≤ 5 ms",
        format!("{:.2} ms (n = {})", ms(s.median), s.n),
        Some(s.median <= Duration::from_millis(5)),
    );
    table.row(
        "3. record_visit incl. durable commit: p95",
        "≤ 5 ms",
        format!("{:.2} ms (max {:.2} ms)", ms(s.p95), ms(s.max)),
        Some(s.p95 <= Duration::from_millis(5)),
    );
    let (up200, down200, trips200) = counted_sync(&mut phone, &mut world.server)?;
    let s50 = summarize(visit_times);
    println!(
        "  the step-2 visits: median {:.2} ms, p95 {:.2} ms; syncing the 200 visits: \
         {trips200} round trip(s), {up200} B up, {down200} B down",
        ms(s50.median),
        ms(s50.p95)
    );
    // The same visits on a store in memory: the cost without the disk.
    let mut mem = PhoneStore::open_in_memory()?;
    world.server.register_device(mem.device_id(), officer());
    sync_until_done(&mut mem, &mut world.server)?;
    let mem_device = mem.device_id().to_owned();
    let mut times = Vec::new();
    for h in &targets {
        let v = gen_visit(&mut rng, h, "cskv-03", &mem_device, at);
        at += 90_000;
        let t = Instant::now();
        mem.record_visit(h.new.id, &v)?;
        times.push(t.elapsed());
    }
    drop(mem);
    let s = summarize(times);
    table.row(
        "   record_visit on a store in memory (no disk)",
        "-",
        format!("median {:.2} ms, p95 {:.2} ms", ms(s.median), ms(s.p95)),
        None,
    );

    // ---- 4: officers' lists ----------------------------------------------
    let list_row = |table: &mut Table, label: &str, s: &Summary, rows: usize, check: bool| {
        table.row(
            label,
            if check { "≤ 20 ms" } else { "-" },
            format!(
                "median {:.2} ms, p95 {:.2} ms ({rows} rows)",
                ms(s.median),
                ms(s.p95)
            ),
            check.then_some(s.p95 <= Duration::from_millis(20)),
        );
    };
    let res_small = n * 5;
    let (s, rows) = time_runs(30, || Ok(phone.work_list(None)?))?;
    list_row(
        &mut table,
        &format!("4. work_list(None), {res_small} residents"),
        &s,
        rows,
        false,
    );
    let (s, rows) = time_runs(30, || Ok(phone.residents_by_state("absent", None)?))?;
    list_row(
        &mut table,
        &format!("4. residents_by_state(absent), {res_small} residents"),
        &s,
        rows,
        false,
    );
    let (s, rows) = time_runs(30, || Ok(phone.search("nguyen thi ha", 50)?))?;
    list_row(
        &mut table,
        &format!("   search(\"nguyen thi ha\", 50), {res_small} residents"),
        &s,
        rows,
        false,
    );
    drop(phone);

    // ---- 5: phone memory during the initial sync --------------------------
    table.row(
        "5. phone peak RSS increase during initial sync",
        "≤ 50 MB",
        format!(
            "{:.1} MB (peak {:.1} MB over {:.1} MB after open)",
            init.peak_rss.saturating_sub(init.open_rss) as f64 / MB,
            init.peak_rss as f64 / MB,
            init.open_rss as f64 / MB
        ),
        Some((init.peak_rss.saturating_sub(init.open_rss) as f64) <= 50.0 * MB),
    );
    table.row(
        "5. max per-call increase (apply / request)",
        "≤ 50 MB",
        if init.hwm_resettable {
            format!(
                "{:.1} MB / {:.2} MB",
                init.max_apply_inc as f64 / MB,
                init.max_req_inc as f64 / MB
            )
        } else {
            "n/a (clear_refs refused)".into()
        },
        init.hwm_resettable
            .then_some((init.max_apply_inc.max(init.max_req_inc) as f64) <= 50.0 * MB),
    );

    // ---- 6: compression -------------------------------------------------
    table.row(
        "6. initial sync down vs per-doc save()",
        "-",
        format!(
            "{:.3} MB vs {:.3} MB (ratio {:.2}; save_nocompress {:.3} MB)",
            init.down as f64 / MB,
            save_total as f64 / MB,
            init.down as f64 / save_total as f64,
            nocompress_total as f64 / MB
        ),
        None,
    );
    // What other zstd levels would give on the same payload.
    let mut plain = Vec::new();
    for frame in &init.responses {
        // A frame: magic (4), version, kind, body length (u32): 10 bytes.
        plain.extend(zstd::decode_all(&frame[10..])?);
    }
    let mut levels = Vec::new();
    for level in [3, 9, 19] {
        let t = Instant::now();
        let c = zstd::encode_all(plain.as_slice(), level)?;
        levels.push(format!(
            "L{level}: {:.3} MB in {:.0} ms",
            c.len() as f64 / MB,
            ms(t.elapsed())
        ));
    }
    table.row(
        "   zstd level of the same payload",
        "-",
        format!(
            "{:.3} MB plain → {}",
            plain.len() as f64 / MB,
            levels.join(", ")
        ),
        None,
    );
    drop(plain);

    // ---- 4 (large): a 20,000-resident commune ----------------------------
    let t = Instant::now();
    drop(world);
    let mut large = build_world(n_large, 0x1A26E)?;
    let res_large: usize = large.households.iter().map(|h| h.people.len()).sum();
    // A 50-day campaign around the prior visits (November 2025).
    large.server.set_terms(Some(Terms {
        campaign: "bench".into(),
        name: "Cao điểm 50 ngày, đêm".into(),
        start_day: sync_core::plan::day_number(2025, 11, 1),
        end_day: sync_core::plan::day_number(2025, 12, 20),
        min_age: 14,
        daily_cap: 40,
        recheck_after_days: 14,
    }));
    let path_large = dir_path.join("phone-large.sqlite3");
    let init_large = initial_sync(&mut large.server, &path_large, false)?;
    println!(
        "  large commune: {n_large} households, {res_large} residents, setup + initial sync {:.1} s: \
         {} round trips, {} B down, phone peak RSS +{:.1} MB",
        t.elapsed().as_secs_f64(),
        init_large.trips,
        init_large.down,
        init_large.peak_rss.saturating_sub(init_large.open_rss) as f64 / MB
    );
    let mut phone = PhoneStore::open(&path_large)?;
    let (s, rows) = time_runs(30, || Ok(phone.work_list(None)?))?;
    list_row(
        &mut table,
        &format!("4. work_list(None), {res_large} residents"),
        &s,
        rows,
        true,
    );
    let (s, rows) = time_runs(30, || Ok(phone.residents_by_state("absent", None)?))?;
    list_row(
        &mut table,
        &format!("4. residents_by_state(absent), {res_large} residents"),
        &s,
        rows,
        true,
    );
    // Ten days after the prior visits: every resident is read and ranked.
    let now = 1_763_000_000_000 + 10 * sync_core::plan::DAY_MS;
    let (s, rows) = time_runs(30, || Ok(phone.targets(now)?.rows))?;
    list_row(
        &mut table,
        &format!("4. targets(now), campaign terms, {res_large} residents"),
        &s,
        rows,
        false,
    );
    // No campaign: every open resident is listed.
    large.server.set_terms(None);
    sync_until_done(&mut phone, &mut large.server)?;
    let (s, rows) = time_runs(30, || Ok(phone.targets(now)?.rows))?;
    list_row(
        &mut table,
        &format!("   targets(now), no campaign, {res_large} residents"),
        &s,
        rows,
        false,
    );
    let hamlet = hamlet_name(0);
    let (s, rows) = time_runs(30, || Ok(phone.work_list(Some(&hamlet))?))?;
    list_row(
        &mut table,
        &format!("   work_list(one hamlet of {HAMLETS}), {res_large} residents"),
        &s,
        rows,
        false,
    );
    table.row(
        "   initial sync, large commune: bytes / trips",
        "-",
        format!(
            "{:.3} MB, {} trips, phone RSS +{:.1} MB",
            (init_large.up + init_large.down) as f64 / MB,
            init_large.trips,
            init_large.peak_rss.saturating_sub(init_large.open_rss) as f64 / MB
        ),
        None,
    );
    drop(phone);

    table.row(
        "5. bench process VmHWM (server and phone in one)",
        "-",
        format!("{:.0} MB", hwm_bytes() as f64 / MB),
        None,
    );

    println!();
    table.print();
    println!(
        "\n(total bench time {:.1} s)",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
