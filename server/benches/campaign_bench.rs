//! Campaign-operation benchmarks of gocua-server (issue 4), printed with
//! PASS/MISS against each target; never fails on a miss. See
//! docs/BENCHMARKS.md.
//!
//! ```text
//! cargo bench -p gocua-server --bench campaign_bench
//! ```
//!
//! 1. Import of a 60,000-resident commune's police list (CSV, the same
//!    path as `gocua import`), SQLite and PostgreSQL: target ≤ 30 s.
//! 2. Target list of a 20,000-resident commune on the server (the whole
//!    commune, and one officer's two hamlets), median of 30: target ≤ 20 ms.
//! 3. Daily report of one commune and the roll-up of a 2.7-million-resident
//!    province on PostgreSQL (projection rows generated in the database,
//!    spread over the province's real commune codes): target ≤ 2 s.
//!
//! Environment: `GOCUA_BENCH_BACKENDS` [`sqlite,postgres`],
//! `GOCUA_BENCH_IMPORT_ROWS` [60000], `GOCUA_BENCH_PROVINCE_RESIDENTS`
//! [2700000], `GOCUA_BENCH_PG` [`postgres://postgres@127.0.0.1:5432/test`].

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use gocua_server::auth::Area;
use gocua_server::campaign::{campaigns, import, reports, targets};
use gocua_server::db::{Db, accounts, now_ms};
use std::collections::BTreeSet;
use std::time::{Duration, Instant};

type R<T> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

const FAMILY: [&str; 14] = [
    "Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Phan", "Vũ", "Võ", "Đặng", "Bùi", "Đỗ",
    "Hồ", "Ngô",
];
const MIDDLE: [&str; 8] = ["Văn", "Thị", "Hữu", "Ngọc", "Minh", "Thu", "Đức", "Thanh"];
const GIVEN: [&str; 16] = [
    "An", "Bình", "Cường", "Dũng", "Hà", "Hương", "Lan", "Linh", "Long", "Nam", "Ngân", "Sơn",
    "Thảo", "Tuấn", "Yến", "Ánh",
];
const STATUS: [&str; 6] = [
    "Đã kích hoạt",
    "Đã phê duyệt",
    "Chờ phê duyệt",
    "Đã thu nhận hồ sơ",
    "Mức 1",
    "Chưa có tài khoản",
];

struct Rng(u64);
impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((self.0 >> 33) as usize) % n.max(1)
    }
}

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(default)
}

/// A police export of `rows` residents in `hamlets` hamlets.
fn police_csv(rows: usize, hamlets: usize, seed: u64) -> Vec<u8> {
    let mut rng = Rng(seed);
    let mut out = String::with_capacity(rows * 130);
    out.push_str("STT,Họ và tên,Số định danh cá nhân,Ngày sinh,Giới tính,Số điện thoại,Địa chỉ,Thôn/Tổ dân phố,Mã hộ,Trạng thái tài khoản\n");
    let mut household = 0usize;
    let mut left_in_household = 0usize;
    for i in 0..rows {
        if left_in_household == 0 {
            household += 1;
            left_in_household = 1 + rng.below(6);
        }
        left_in_household -= 1;
        let hamlet = household % hamlets;
        let year = 1940 + rng.below(70);
        let female = rng.below(2) == 1;
        let century = if year >= 2000 { 2 } else { 0 } + usize::from(female);
        let status = match rng.below(100) {
            0..=59 => STATUS[0],
            60..=65 => STATUS[1],
            66..=69 => STATUS[2],
            70..=71 => STATUS[3],
            72..=79 => STATUS[4],
            _ => STATUS[5],
        };
        out.push_str(&format!(
            "{},{} {} {},001{century}{:02}{:06},{:02}/{:02}/{year},{},09{:08},\"Số {}, ngõ {}, đường Láng\",Tổ dân phố {},HK{household},{status}\n",
            i + 1,
            FAMILY[rng.below(FAMILY.len())],
            MIDDLE[rng.below(MIDDLE.len())],
            GIVEN[rng.below(GIVEN.len())],
            year % 100,
            (seed as usize * 1_000_000 + i) % 1_000_000,
            1 + rng.below(28),
            1 + rng.below(12),
            if female { "Nữ" } else { "Nam" },
            10_000_000 + i,
            1 + household / hamlets % 300,
            1 + rng.below(20),
            hamlet + 1,
        ));
    }
    out.into_bytes()
}

async fn fresh_db(
    backend: &str,
    pg_admin: &str,
    tag: &str,
) -> R<(Db, Option<String>, Option<tempfile::TempDir>)> {
    if backend == "sqlite" {
        let dir = tempfile::tempdir()?;
        let db = Db::connect(&format!(
            "sqlite://{}",
            dir.path().join("bench.db").display()
        ))
        .await?;
        Ok((db, None, Some(dir)))
    } else {
        use sqlx::Connection;
        let name = format!("gocua_bench_{tag}_{}", uuid::Uuid::new_v4().simple());
        let mut admin = sqlx::PgConnection::connect(pg_admin).await?;
        sqlx::Executor::execute(
            &mut admin,
            sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")),
        )
        .await?;
        let url = format!("{}/{name}", &pg_admin[..pg_admin.rfind('/').ok_or("url")?]);
        Ok((Db::connect(&url).await?, Some(name), None))
    }
}

async fn drop_db(pg_admin: &str, name: Option<String>) -> R<()> {
    if let Some(name) = name {
        use sqlx::Connection;
        let mut admin = sqlx::PgConnection::connect(pg_admin).await?;
        sqlx::Executor::execute(
            &mut admin,
            sqlx::AssertSqlSafe(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")),
        )
        .await?;
    }
    Ok(())
}

fn verdict(ok: bool) -> &'static str {
    if ok { "PASS" } else { "MISS" }
}

fn median(mut v: Vec<Duration>) -> (Duration, Duration) {
    v.sort();
    let p95 = v[(v.len() * 95 / 100).min(v.len() - 1)];
    (v[v.len() / 2], p95)
}

async fn setup_commune(db: &Db, commune: &str, hamlets: usize) -> R<()> {
    for h in 0..hamlets {
        accounts::create_hamlet(
            db,
            commune,
            &format!("{commune}-h{:02}", h + 1),
            &format!("Tổ dân phố {}", h + 1),
        )
        .await?;
    }
    let today = sync_core::plan::vn_day(now_ms());
    let new = campaigns::NewCampaign::new(
        "Cao điểm 50 ngày, đêm",
        &sync_core::plan::iso_date(today - 20),
        &sync_core::plan::iso_date(today + 29),
    );
    campaigns::create(db, commune, "bench", &new).await?;
    Ok(())
}

async fn import_and_targets(backend: &str, pg_admin: &str) -> R<()> {
    let rows = env_usize("GOCUA_BENCH_IMPORT_ROWS", 60_000);
    let (db, name, _dir) = fresh_db(backend, pg_admin, "import").await?;
    setup_commune(&db, "00004", 30).await?;
    let csv = police_csv(rows, 30, 1);
    println!(
        "  import: {rows} rows, {:.1} MB CSV",
        csv.len() as f64 / 1e6
    );
    let t = Instant::now();
    let mut last = Instant::now();
    let summary = import::run(
        &db,
        "00004",
        "bench",
        "bench.csv",
        csv,
        None,
        Box::new(move |stage, done, total| {
            if last.elapsed() > Duration::from_secs(5) || done == total {
                last = Instant::now();
                eprintln!("    {}: {done}/{total}", stage.label_vi());
            }
        }),
    )
    .await?;
    let took = t.elapsed();
    println!(
        "  import {backend}: {} rows accepted, {} households, {:.1} s ({:.0} rows/s)  target ≤ 30 s  {}",
        summary.accepted,
        summary.households_created,
        took.as_secs_f64(),
        summary.accepted as f64 / took.as_secs_f64(),
        verdict(took <= Duration::from_secs(30))
    );
    // Re-import of the same export (statuses only): nothing created.
    let t = Instant::now();
    let again = import::run(
        &db,
        "00004",
        "bench",
        "bench.csv",
        police_csv(rows, 30, 1),
        None,
        Box::new(|_, _, _| {}),
    )
    .await?;
    println!(
        "  re-import {backend}: {} created, {:.1} s",
        again.residents_created,
        t.elapsed().as_secs_f64()
    );

    // Target lists of a 20,000-resident commune.
    let (db2, name2, _dir2) = fresh_db(backend, pg_admin, "targets").await?;
    setup_commune(&db2, "00008", 20).await?;
    import::run(
        &db2,
        "00008",
        "bench",
        "t.csv",
        police_csv(20_000, 20, 2),
        None,
        Box::new(|_, _, _| {}),
    )
    .await?;
    let whole = Area::Commune("00008".into());
    let officer = Area::Hamlets {
        commune: "00008".into(),
        hamlets: BTreeSet::from(["00008-h01".to_owned(), "00008-h02".to_owned()]),
    };
    for (label, area) in [
        ("whole commune", &whole),
        ("an officer's 2 hamlets", &officer),
    ] {
        let mut times = Vec::new();
        let mut count = 0;
        for _ in 0..30 {
            let t = Instant::now();
            let list = targets::for_area(&db2, "bench", "00008", area, now_ms()).await?;
            times.push(t.elapsed());
            count = list.remaining;
        }
        let (med, p95) = median(times);
        println!(
            "  target list {backend}, 20,000 residents, {label} ({count} open): median {:.1} ms, p95 {:.1} ms  target ≤ 20 ms  {}",
            med.as_secs_f64() * 1e3,
            p95.as_secs_f64() * 1e3,
            verdict(med <= Duration::from_millis(20))
        );
    }
    let t = Instant::now();
    let day = sync_core::plan::vn_day(now_ms());
    let r = reports::daily(&db2, "00008", day, now_ms()).await?;
    println!(
        "  daily report {backend}, 20,000 residents: {:.1} ms ({} eligible, {:.1} % activated)",
        t.elapsed().as_secs_f64() * 1e3,
        r.totals.eligible,
        r.totals.percent
    );
    db.pool.close().await;
    db2.pool.close().await;
    drop_db(pg_admin, name).await?;
    drop_db(pg_admin, name2).await?;
    Ok(())
}

/// 2.7 million projection rows over the province's communes, generated in
/// PostgreSQL, then the province roll-up and one commune's daily report.
async fn province_report(pg_admin: &str) -> R<()> {
    let total = env_usize("GOCUA_BENCH_PROVINCE_RESIDENTS", 2_700_000);
    let (db, name, _) = fresh_db("postgres", pg_admin, "province").await?;
    let province = sync_core::ids::ProvinceCode::parse("01")?;
    let communes: Vec<String> = province.communes().map(|c| c.as_str().to_owned()).collect();
    let per = total / communes.len();
    println!(
        "  generating {total} residents in {} communes of {} ({per} each) …",
        communes.len(),
        province.name()
    );
    let t = Instant::now();
    let list = communes
        .iter()
        .map(|c| format!("'{c}'"))
        .collect::<Vec<_>>()
        .join(",");
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "INSERT INTO residents (id, household, commune, hamlet, full_name, name_folded, sort_key, state,
             detail, registry, attempts, last_visit_at, awaiting_confirmation, assignee, birth_date,
             personal_id, decided_at, decided_by, explanation, absent_at, field_activated_at, newcomer)
         SELECT 'r' || g, 'h' || (g / 4), c.code, c.code || '-h' || (g % 20), 'Nguyễn Văn ' || g,
                'nguyen van ' || g, decode(lpad(to_hex(g), 8, '0'), 'hex'),
                (ARRAY['not_visited','activated','absent','ineligible','application_collected',
                       'refused','needs_support','not_visited'])[1 + (g * 7 % 8)],
                CASE WHEN g * 7 % 8 = 2 THEN 'not_home_now'
                     WHEN g * 7 % 8 = 3 THEN (ARRAY['no_smartphone','deceased','moved_away','under_age'])[1 + g % 4]
                     ELSE NULL END,
                (ARRAY['activated','no_account','level1','approved_not_activated','pending_approval'])[1 + (g * 13 % 5)],
                g % 3, 1790000000000 + g, 0, NULL,
                (1940 + g % 80)::text || '-0' || (1 + g % 9)::text || '-15',
                NULL, 1790000000000 + g * 100, 'u' || (g % 50), NULL, '', NULL, 0
         FROM (SELECT unnest(ARRAY[{list}]) AS code, generate_subscripts(ARRAY[{list}], 1) AS n) c,
              generate_series(1, {per}) AS s(i),
              LATERAL (SELECT (c.n::bigint * 10000000 + s.i) AS g) x"
    )))
    .execute(&db.pool)
    .await?;
    sqlx::query(
        "INSERT INTO households (id, commune, hamlet, house_number, alley, street, walk_key, conflicts, updated_seq)
         SELECT household, MIN(commune), MIN(hamlet), '1', '', '', '\\x00'::bytea, 0, 0
         FROM residents GROUP BY household",
    )
    .execute(&db.pool)
    .await?;
    sqlx::query("ANALYZE residents").execute(&db.pool).await?;
    sqlx::query("ANALYZE households").execute(&db.pool).await?;
    println!("  generated in {:.0} s", t.elapsed().as_secs_f64());
    let day = sync_core::plan::vn_day(now_ms());
    let mut times = Vec::new();
    let mut report = None;
    for _ in 0..5 {
        let t = Instant::now();
        report = Some(reports::province_week(&db, "01", day).await?);
        times.push(t.elapsed());
    }
    let (med, p95) = median(times);
    let r = report.ok_or("no report")?;
    println!(
        "  province report, PostgreSQL, {} residents in {} communes: median {:.2} s, worst {:.2} s  target ≤ 2 s  {}",
        r.totals.residents,
        r.communes.len(),
        med.as_secs_f64(),
        p95.as_secs_f64(),
        verdict(med <= Duration::from_secs(2))
    );
    let one = &communes[0];
    let t = Instant::now();
    let d = reports::daily(&db, one, day, now_ms()).await?;
    println!(
        "  daily report of one commune in that database ({} residents): {:.1} ms",
        d.totals.residents,
        t.elapsed().as_secs_f64() * 1e3
    );
    db.pool.close().await;
    drop_db(pg_admin, name).await?;
    Ok(())
}

fn main() -> R<()> {
    let backends =
        std::env::var("GOCUA_BENCH_BACKENDS").unwrap_or_else(|_| "sqlite,postgres".into());
    let pg_admin = std::env::var("GOCUA_BENCH_PG")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    println!(
        "Gõ Cửa campaign benchmarks ({} CPUs)",
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
    );
    rt.block_on(async {
        for b in backends.split(',').map(str::trim) {
            if b == "sqlite" || b == "postgres" {
                println!("{b}:");
                import_and_targets(b, &pg_admin).await?;
            }
        }
        if backends.contains("postgres") {
            println!("province:");
            province_report(&pg_admin).await?;
        }
        Ok(())
    })
}
