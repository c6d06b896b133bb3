//! A day of field work in a demo commune, end to end through sync-core:
//! the reference server holds the police's list; two officers and a
//! volunteer sync their phones, visit houses offline (two of them the same
//! house), sync again, and the merged lists come out in Vietnamese order —
//! with the conflict a leader must settle.
//!
//! Run: `cargo run --release -p sync-core --example field_day -- [DIR]`
//! The phone stores are left in DIR (default `./gocua-demo`) as SQLite files.

use std::path::PathBuf;
use sync_core::ids::CommuneCode;
use sync_core::prelude::*;
use sync_core::sim::{MemoryServer, SimDevice, sync_until_done};
use sync_core::store::ResidentRow;

const FAMILY: [&str; 10] = [
    "Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Vũ", "Đặng", "Bùi", "Đỗ", "Ngô",
];
const MIDDLE: [&str; 8] = ["Văn", "Thị", "Hữu", "Đức", "Minh", "Thu", "Ngọc", "Quang"];
const GIVEN: [&str; 16] = [
    "An", "Anh", "Ánh", "Bình", "Châu", "Dũng", "Đào", "Hà", "Hải", "Hương", "Khánh", "Lan",
    "Minh", "Nam", "Thảo", "Yến",
];
const HAMLETS: [&str; 3] = ["Tổ dân phố 1", "Tổ dân phố 2", "Tổ dân phố 3"];
const STREETS: [&str; 3] = ["Đội Cấn", "Liễu Giai", "Kim Mã"];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = PathBuf::from(
        std::env::args()
            .nth(1)
            .unwrap_or_else(|| "gocua-demo".into()),
    );
    std::fs::create_dir_all(&dir)?;
    let commune = CommuneCode::parse("00004")?;
    println!(
        "Xã/phường: {} ({}), {}",
        commune.commune_name(),
        commune.as_str(),
        commune.province_name()
    );

    // The police's list: 120 households of 1–5 residents over 3 hamlets.
    let mut server = MemoryServer::new();
    let mut seed = 7u64;
    let mut next = move |n: usize| {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((seed >> 33) as usize) % n
    };
    let mut households = Vec::new();
    for h in 0..120 {
        let id = HouseholdId::new();
        let residents: Vec<_> = (0..1 + next(5))
            .map(|_| {
                let name = format!(
                    "{} {} {}",
                    FAMILY[next(10)],
                    MIDDLE[next(8)],
                    GIVEN[next(16)]
                );
                let registry = match next(10) {
                    0..=5 => RegistryStatus::Activated,
                    6 => RegistryStatus::ApprovedNotActivated,
                    7 => RegistryStatus::PendingApproval,
                    _ => RegistryStatus::NoAccount,
                };
                (
                    ResidentId::new(),
                    ResidentInfo {
                        full_name: name,
                        registry,
                        ..Default::default()
                    },
                )
            })
            .collect();
        let hamlet = HAMLETS[h % 3];
        let house = if h % 7 == 0 {
            format!("{}A", h / 3 + 1)
        } else {
            format!("{}", h / 3 + 1)
        };
        server.create_household(&NewHousehold {
            id,
            commune: commune.as_str().into(),
            hamlet: hamlet.into(),
            address: Address {
                house_number: house,
                alley: format!("ngõ {}", 1 + h % 4),
                street: STREETS[h % 3].into(),
            },
            residents: residents.clone(),
        })?;
        households.push((
            id,
            hamlet,
            residents.into_iter().map(|(r, _)| r).collect::<Vec<_>>(),
        ));
    }
    println!(
        "Danh sách công an xã: {} hộ, 3 tổ dân phố",
        households.len()
    );

    // Three phones: two officers and a volunteer.
    let people = [
        ("cskv-01", Role::Officer),
        ("cskv-02", Role::Officer),
        ("tnv-01", Role::Volunteer),
    ];
    let mut phones = Vec::new();
    for (user, role) in people {
        let mut store = PhoneStore::open(&dir.join(format!("{user}.sqlite")))?;
        store.wipe()?; // a fresh demo each run
        server.register_device(
            store.device_id(),
            SimDevice {
                role,
                hamlets: None,
                revoked: false,
            },
        );
        let trips = sync_until_done(&mut store, &mut server)?;
        println!(
            "  {user}: đồng bộ lần đầu, {trips} lượt, {} hộ",
            store.household_ids()?.len()
        );
        phones.push((user, role, store));
    }

    // Offline: each phone visits its share of houses; household 0 twice.
    let outcomes = [
        Outcome::Activated {
            how: ActivationHow::OnTheSpot,
        },
        Outcome::Absent {
            reason: AbsentReason::NotHomeNow,
        },
        Outcome::ApplicationCollected,
        Outcome::Ineligible {
            reason: IneligibleReason::NoSmartphone,
        },
        Outcome::Refused,
    ];
    let mut visits = 0;
    for (i, (hid, _, residents)) in households.iter().enumerate().take(60) {
        let p = if i == 0 { 0 } else { i % 3 };
        let (user, role, store) = &mut phones[p];
        let visit = Visit {
            id: VisitId::new(),
            at_ms: 1_763_800_000_000 + i as i64 * 60_000,
            by: Recorder {
                user: (*user).into(),
                role: *role,
                device: store.device_id().into(),
            },
            place: Place::Home,
            outcomes: residents
                .iter()
                .enumerate()
                .map(|(k, r)| ResidentOutcome {
                    resident: *r,
                    // The officer activates household 0's first resident…
                    outcome: if i == 0 && k == 0 {
                        outcomes[0]
                    } else {
                        outcomes[next(5)]
                    },
                    explanation: None,
                })
                .collect(),
            newcomers: vec![],
        };
        store.record_visit(*hid, &visit)?;
        visits += 1;
    }
    // …whom the volunteer, at the same house, recorded as deceased.
    let (hid, _, residents) = &households[0];
    let (user, role, store) = &mut phones[2];
    store.record_visit(
        *hid,
        &Visit {
            id: VisitId::new(),
            at_ms: 1_763_800_500_000,
            by: Recorder {
                user: (*user).into(),
                role: *role,
                device: store.device_id().into(),
            },
            place: Place::Home,
            outcomes: vec![ResidentOutcome {
                resident: residents[0],
                outcome: Outcome::Ineligible {
                    reason: IneligibleReason::Deceased,
                },
                explanation: None,
            }],
            newcomers: vec![],
        },
    )?;
    visits += 1;
    println!("Ngoại tuyến: {visits} lượt đến nhà đã lưu trên 3 điện thoại");

    // Back in signal: everyone syncs twice (send, then receive the others').
    for _ in 0..2 {
        for (_, _, store) in phones.iter_mut() {
            sync_until_done(store, &mut server)?;
        }
    }
    let (_, _, officer) = &phones[0];
    let show = |title: &str, rows: Vec<ResidentRow>| {
        println!("\n{title} ({} người)", rows.len());
        for r in rows.iter().take(8) {
            println!(
                "  {:<24} {:<14} {} {}, {}",
                r.full_name, r.hamlet, r.house_number, r.alley, r.street
            );
        }
        if rows.len() > 8 {
            println!("  …");
        }
    };
    show(
        "Danh sách đã kích hoạt",
        officer.residents_by_state("activated", None)?,
    );
    show(
        "Danh sách không có mặt",
        officer.residents_by_state("absent", None)?,
    );
    show(
        "Danh sách không đủ điều kiện",
        officer.residents_by_state("ineligible", None)?,
    );
    show(
        "Cần lãnh đạo xử lý (mâu thuẫn)",
        officer.residents_by_state("conflict", None)?,
    );
    show(
        "Việc còn lại, theo thứ tự đi đường (Tổ dân phố 1)",
        officer.work_list(Some(HAMLETS[0]))?,
    );
    let found = officer.search("nguyen an", 5)?;
    println!("\nTìm \"nguyen an\" (không dấu): {} kết quả", found.len());
    println!("\nCác tệp điện thoại (SQLite) nằm trong {}", dir.display());
    Ok(())
}
