//! `gocua demo`: a real server on SQLite with a demo commune a newcomer can
//! look at — Phường Ba Đình (00004), four residential groups, about three
//! thousand synthetic residents with Vietnamese names and account statuses
//! in proportions like the seeds' figures, an account for each role, and a
//! simulated morning of visits from several phones, one of them in
//! conflict with another.

use crate::auth::Caller;
use crate::db::accounts::{self, NewUser};
use crate::{AppState, Settings};
use std::path::{Path, PathBuf};
use sync_core::model::*;
use sync_core::store::PhoneStore;

/// Password of every demo account.
pub const DEMO_PASSWORD: &str = "gocua-demo";
/// The demo commune.
pub const DEMO_COMMUNE: &str = "00004";

const FAMILY: [&str; 14] = [
    "Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Phan", "Vũ", "Võ", "Đặng", "Bùi", "Đỗ",
    "Hồ", "Ngô",
];
const MIDDLE_M: [&str; 6] = ["Văn", "Hữu", "Đức", "Minh", "Quang", "Công"];
const MIDDLE_F: [&str; 6] = ["Thị", "Thu", "Ngọc", "Thanh", "Mai", "Hồng"];
const GIVEN_M: [&str; 12] = [
    "An", "Bình", "Cường", "Dũng", "Đạt", "Hải", "Hùng", "Khánh", "Long", "Nam", "Sơn", "Tuấn",
];
const GIVEN_F: [&str; 12] = [
    "Anh", "Ánh", "Châu", "Dung", "Đào", "Hà", "Hương", "Lan", "Linh", "Ngân", "Thảo", "Yến",
];
const STREETS: [&str; 4] = ["Đội Cấn", "Liễu Giai", "Kim Mã", "Đào Tấn"];
const HAMLETS: [(&str, &str); 4] = [
    ("00004-tdp01", "Tổ dân phố 1"),
    ("00004-tdp02", "Tổ dân phố 2"),
    ("00004-tdp03", "Tổ dân phố 3"),
    ("00004-tdp04", "Tổ dân phố 4"),
];

/// A small deterministic generator, so every demo looks the same.
struct Rng(u64);
impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((self.0 >> 33) as usize) % n.max(1)
    }
    fn pick<'a>(&mut self, xs: &[&'a str]) -> &'a str {
        xs[self.below(xs.len())]
    }
}

/// Options of the demo.
#[derive(Debug, Clone)]
pub struct DemoOptions {
    /// Where the database and phone files go.
    pub data_dir: PathBuf,
    /// Address to serve on.
    pub bind: String,
    /// Households to create.
    pub households: usize,
}

/// Demo accounts: (username, display name, role, hamlets).
pub fn demo_accounts() -> Vec<(&'static str, &'static str, Role, Vec<String>)> {
    let h = |i: usize| HAMLETS[i].0.to_owned();
    vec![
        (
            "lanhdao",
            "Trần Quốc Hưng (Chủ tịch UBND phường)",
            Role::Leader,
            vec![],
        ),
        (
            "canbo1",
            "Nguyễn Văn Bình (CSKV Tổ 1–2)",
            Role::Officer,
            vec![h(0), h(1)],
        ),
        (
            "canbo2",
            "Lê Thị Hương (CSKV Tổ 3–4)",
            Role::Officer,
            vec![h(2), h(3)],
        ),
        (
            "tnv1",
            "Phạm Minh Khánh (đoàn viên, Tổ 1)",
            Role::Volunteer,
            vec![h(0)],
        ),
        (
            "tnv2",
            "Đỗ Thu Hà (hội viên phụ nữ, Tổ 3)",
            Role::Volunteer,
            vec![h(2)],
        ),
        (
            "tinh01",
            "Phòng PC06 Công an TP Hà Nội",
            Role::ProvincialAdmin,
            vec![],
        ),
    ]
}

/// Builds the demo database in `opts.data_dir` (fresh each run), simulates
/// a morning of field work, and returns the server state ready to serve.
pub async fn prepare(
    opts: &DemoOptions,
    progress: &dyn Fn(&str),
) -> Result<AppState, Box<dyn std::error::Error>> {
    std::fs::create_dir_all(&opts.data_dir)?;
    let db_path = opts.data_dir.join("gocua-demo.db");
    for suffix in ["", "-wal", "-shm"] {
        let p = PathBuf::from(format!("{}{suffix}", db_path.display()));
        if p.exists() {
            std::fs::remove_file(&p)?;
        }
    }
    let settings = Settings {
        db: format!("sqlite://{}", db_path.display()),
        bind: opts.bind.clone(),
        // The demo serves plain HTTP (on this machine or a local network):
        // a `Secure` session cookie would never come back.
        secure_cookies: false,
        ..Settings::default()
    };
    let state = AppState::new(settings).await?;
    for (id, name) in HAMLETS {
        accounts::create_hamlet(&state.db, DEMO_COMMUNE, id, name).await?;
    }
    for (username, name, role, hamlets) in demo_accounts() {
        accounts::create_user(
            &state.db,
            &NewUser {
                username,
                display_name: name,
                password: DEMO_PASSWORD,
                role,
                province: (role == Role::ProvincialAdmin).then_some("01"),
                commune: (role != Role::ProvincialAdmin).then_some(DEMO_COMMUNE),
                hamlets: &hamlets,
                team_officer: None,
            },
        )
        .await?;
    }
    // A campaign running today: started three weeks ago, a month to go.
    let today = sync_core::plan::vn_day(crate::db::now_ms());
    let mut campaign = crate::campaign::campaigns::NewCampaign::new(
        "Cao điểm 50 ngày, đêm",
        &sync_core::plan::iso_date(today - 20),
        &sync_core::plan::iso_date(today + 29),
    );
    campaign.daily_cap = 40;
    crate::campaign::campaigns::create(&state.db, DEMO_COMMUNE, "demo", &campaign).await?;
    let households = create_households(&state, &opts.data_dir, opts.households, progress).await?;
    simulate_morning(&state, &opts.data_dir, &households, progress).await?;
    Ok(state)
}

/// Writes the demo commune's resident list as the police would export it
/// (CSV, Vietnamese headers), keeps it in the data folder for a newcomer to
/// look at, and imports it through the same path as `gocua import`.
async fn create_households(
    state: &AppState,
    dir: &Path,
    n: usize,
    progress: &dyn Fn(&str),
) -> Result<Vec<(HouseholdId, String, Vec<ResidentId>)>, Box<dyn std::error::Error>> {
    let mut rng = Rng(2025);
    let mut serial = 0u32;
    let mut w = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(Vec::new());
    w.write_record([
        "STT",
        "Họ và tên",
        "Số định danh cá nhân",
        "Ngày sinh",
        "Giới tính",
        "Số điện thoại",
        "Số nhà",
        "Ngõ/Hẻm",
        "Đường/Phố",
        "Thôn/Tổ dân phố",
        "Mã hộ",
        "Trạng thái tài khoản",
    ])?;
    for i in 0..n {
        let hamlet = HAMLETS[i % HAMLETS.len()].1;
        let family = rng.pick(&FAMILY);
        let size = 1 + rng.below(5);
        let number = i / HAMLETS.len() / 2 + 1;
        let house = match rng.below(10) {
            0 => format!("{number}A"),
            1 => format!("{number}/{}", 1 + rng.below(9)),
            _ => number.to_string(),
        };
        let alley = format!("ngõ {}", 1 + rng.below(12));
        let street = STREETS[(i / 2) % STREETS.len()];
        for k in 0..size {
            let female = rng.below(2) == 1;
            let (middle, given) = if female {
                (rng.pick(&MIDDLE_F), rng.pick(&GIVEN_F))
            } else {
                (rng.pick(&MIDDLE_M), rng.pick(&GIVEN_M))
            };
            let year = if k < 2 {
                1955 + rng.below(45) as i32
            } else {
                1990 + rng.below(22) as i32
            };
            let (month, day) = (1 + rng.below(12), 1 + rng.below(28));
            serial += 1;
            let century = if year >= 2000 { 2 } else { 0 } + u32::from(female);
            let id = format!("001{century}{:02}{serial:06}", year % 100);
            let phone = format!("09{:08}", 10_000_000 + serial);
            // Proportions like Hưng Yên, Sept 2025: about 60 % with level 2.
            let registry = match rng.below(100) {
                0..=54 => "Đã kích hoạt",
                55..=60 => "Đã phê duyệt",
                61..=64 => "Chờ phê duyệt",
                65..=66 => "Đã thu nhận hồ sơ",
                67..=74 => "Mức 1",
                _ => "Chưa có tài khoản",
            };
            w.write_record([
                serial.to_string(),
                format!("{family} {middle} {given}"),
                id,
                format!("{day:02}/{month:02}/{year}"),
                (if female { "Nữ" } else { "Nam" }).to_owned(),
                if k < 3 { phone } else { String::new() },
                house.clone(),
                alley.clone(),
                street.to_owned(),
                hamlet.to_owned(),
                format!("HK{:05}", i + 1),
                registry.to_owned(),
            ])?;
        }
    }
    let bytes = w.into_inner().map_err(|e| e.to_string())?;
    let file = dir.join("danh-sach-cong-an-phuong.csv");
    std::fs::write(&file, &bytes)?;
    progress(&format!(
        "  danh sách dân cư mẫu: {} ({serial} người)",
        file.display()
    ));
    let summary = crate::campaign::import::run(
        &state.db,
        DEMO_COMMUNE,
        "demo",
        "danh-sach-cong-an-phuong.csv",
        bytes,
        None,
        Box::new(|_, _, _| {}),
    )
    .await?;
    progress(&format!(
        "  đã nhập: {} hộ, {} nhân khẩu, {} dòng bị từ chối",
        summary.households_created,
        summary.residents_created,
        summary.rejected.len()
    ));
    let rows = sqlx::query(
        "SELECT r.household, r.hamlet, r.id FROM residents r JOIN households h ON h.id = r.household
         WHERE r.commune = $1 ORDER BY h.walk_key, r.household, r.sort_key",
    )
    .bind(DEMO_COMMUNE)
    .fetch_all(&state.db.pool)
    .await?;
    let mut out: Vec<(HouseholdId, String, Vec<ResidentId>)> = Vec::new();
    for r in rows {
        use sqlx::Row;
        let hid: String = r.try_get(0)?;
        let hamlet: String = r.try_get(1)?;
        let rid: String = r.try_get(2)?;
        let (Some(hid), Some(rid)) = (HouseholdId::parse(&hid), ResidentId::parse(&rid)) else {
            continue;
        };
        match out.last_mut() {
            Some((h, _, list)) if *h == hid => list.push(rid),
            _ => out.push((hid, hamlet, vec![rid])),
        }
    }
    Ok(out)
}

async fn caller_for(
    state: &AppState,
    username: &str,
    device: &str,
) -> Result<Caller, Box<dyn std::error::Error>> {
    let user = accounts::user_by_username(&state.db, username)
        .await?
        .ok_or("demo user missing")?;
    accounts::register_device(&state.db, device, &user.id).await?;
    Ok(Caller {
        area: user.area(&state.db).await?,
        user_id: user.id,
        role: user.role,
        device: device.to_owned(),
        area_version: user.area_version,
    })
}

async fn sync_phone(
    state: &AppState,
    caller: &Caller,
    phone: &mut PhoneStore,
) -> Result<(), Box<dyn std::error::Error>> {
    for _ in 0..20 {
        let req = phone.sync_request()?;
        let terms = crate::campaign::campaigns::terms_for(&state.db, caller.area.commune()).await?;
        let resp = crate::sync::handle(state, caller, &req, terms).await?;
        if !phone.apply_sync_response(&resp)?.more {
            return Ok(());
        }
    }
    Err("demo sync did not finish".into())
}

async fn simulate_morning(
    state: &AppState,
    dir: &Path,
    households: &[(HouseholdId, String, Vec<ResidentId>)],
    progress: &dyn Fn(&str),
) -> Result<(), Box<dyn std::error::Error>> {
    progress("  mô phỏng một buổi sáng: 2 cán bộ và 2 tình nguyện viên đi từng nhà, ngoại tuyến");
    let mut rng = Rng(7);
    let outcomes = [
        Outcome::Activated {
            how: ActivationHow::OnTheSpot,
        },
        Outcome::Activated {
            how: ActivationHow::AlreadyActive,
        },
        Outcome::ApplicationCollected,
        Outcome::Absent {
            reason: AbsentReason::NotHomeNow,
        },
        Outcome::Absent {
            reason: AbsentReason::WorkingOrStudyingElsewhere,
        },
        Outcome::Ineligible {
            reason: IneligibleReason::NoSmartphone,
        },
        Outcome::Ineligible {
            reason: IneligibleReason::OldIllOrDisabled,
        },
        Outcome::NeedsSupport {
            kind: SupportKind::LockedAccount,
        },
        Outcome::Refused,
    ];
    // 07:30 Vietnam time today.
    let today = sync_core::plan::vn_day(crate::db::now_ms());
    // (Run before dawn, the "morning" is the evening before: never a time
    // that has not come yet.)
    let morning = (crate::campaign::reports::day_start_ms(today) + 7 * 3_600_000 + 30 * 60_000)
        .min(crate::db::now_ms() - 5 * 3_600_000);
    let mut first_visit: Option<(HouseholdId, ResidentId)> = None;
    for (p, username) in ["canbo1", "canbo2", "tnv1", "tnv2"].iter().enumerate() {
        let mut phone = PhoneStore::open(&dir.join(format!("phone-{username}.sqlite")))?;
        phone.wipe()?;
        let caller = caller_for(state, username, phone.device_id()).await?;
        sync_phone(state, &caller, &mut phone).await?;
        let mine: Vec<_> = households
            .iter()
            .filter(|(_, hamlet, _)| match &caller.area {
                crate::auth::Area::Hamlets { hamlets, .. } => hamlets.contains(hamlet),
                _ => false,
            })
            .collect();
        for (k, (h, _, residents)) in mine.iter().take(30).enumerate() {
            let mut outs: Vec<ResidentOutcome> = residents
                .iter()
                .map(|r| ResidentOutcome {
                    resident: *r,
                    outcome: outcomes[rng.below(outcomes.len())],
                    explanation: None,
                })
                .collect();
            if p == 0 && k == 0 {
                outs[0].outcome = Outcome::Activated {
                    how: ActivationHow::OnTheSpot,
                };
                first_visit = Some((*h, residents[0]));
            }
            phone.record_visit(
                *h,
                &Visit {
                    id: VisitId::new(),
                    at_ms: morning + (p as i64 * 7 + k as i64) * 6 * 60_000,
                    by: Recorder {
                        user: caller.user_id.clone(),
                        role: caller.role,
                        device: phone.device_id().into(),
                    },
                    place: Place::Home,
                    outcomes: outs,
                    newcomers: vec![],
                },
            )?;
        }
        // The volunteer of Tổ 1 was at canbo1's first house too, and was
        // told that person had died: a conflict for the leader.
        if *username == "tnv1"
            && let Some((h, r)) = first_visit
        {
            phone.record_visit(
                h,
                &Visit {
                    id: VisitId::new(),
                    at_ms: morning + 45 * 60_000,
                    by: Recorder {
                        user: caller.user_id.clone(),
                        role: caller.role,
                        device: phone.device_id().into(),
                    },
                    place: Place::Home,
                    outcomes: vec![ResidentOutcome {
                        resident: r,
                        outcome: Outcome::Ineligible {
                            reason: IneligibleReason::Deceased,
                        },
                        explanation: None,
                    }],
                    newcomers: vec![],
                },
            )?;
        }
        sync_phone(state, &caller, &mut phone).await?;
        progress(&format!(
            "  {username}: {} lượt đến nhà đã đồng bộ",
            mine.len().min(30)
        ));
    }
    Ok(())
}
