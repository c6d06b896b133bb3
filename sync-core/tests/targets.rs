//! Today's targets on the phone: the campaign's planning terms arrive with
//! the sync, and the phone picks today's residents offline with the same
//! rules as the server (`sync_core::plan`).
//!
//! One hamlet, one street, households in walking order by house number:
//!
//! | house | resident | registry / field                        | target?                      |
//! | ----- | -------- | --------------------------------------- | ---------------------------- |
//! | 2     | Ân       | no account                              | no application               |
//! | 3     | Oanh     | refused                                 | after the recheck time       |
//! | 5     | Nam      | pending approval                        | follow-up                    |
//! | 7     | Cúc      | out on a weekday evening                | come back (weekend morning)  |
//! | 9     | Dũng     | deceased                                | never                        |
//! | 11    | Hà       | no smartphone                           | after the recheck time       |
//! | 12    | Khoa     | born 2015 (under 14 at the start)       | not where the age is known   |
//! | 12    | Lan      | born 1990                               | no application               |
//! | 15    | Minh     | activated in the registry               | never                        |
//! | 20    | Bình     | approved, not activated                 | approved (chosen first)      |

use sync_core::plan::{self, DAY_MS, DayKind, DayPart, VN_OFFSET_MS, day_number};
use sync_core::prelude::*;
use sync_core::sim::{MemoryServer, SimDevice, sync_until_done};

/// Unix ms of a Vietnam local time.
fn vn(y: i32, m: u32, d: u32, hour: i64) -> i64 {
    i64::from(day_number(y, m, d)) * DAY_MS + hour * 3_600_000 - VN_OFFSET_MS
}

fn terms(end_day: i32, daily_cap: u32) -> Terms {
    Terms {
        campaign: "cd-2026".into(),
        name: "Cao điểm 50 ngày, đêm".into(),
        start_day: day_number(2026, 9, 10),
        end_day,
        min_age: 14,
        daily_cap,
        recheck_after_days: 14,
    }
}

struct Village {
    server: MemoryServer,
    /// Name → (household, resident).
    people: Vec<(&'static str, HouseholdId, ResidentId)>,
}

impl Village {
    fn who(&self, name: &str) -> (HouseholdId, ResidentId) {
        let (_, h, r) = self
            .people
            .iter()
            .find(|(n, ..)| *n == name)
            .expect("known name");
        (*h, *r)
    }
}

/// Short name, full name, registry status, birth date.
type Person = (
    &'static str,
    &'static str,
    RegistryStatus,
    Option<&'static str>,
);

fn village() -> Village {
    let mut server = MemoryServer::new();
    let mut people = Vec::new();
    let layout: [(&str, &[Person]); 9] = [
        (
            "2",
            &[("Ân", "Nguyễn Văn Ân", RegistryStatus::NoAccount, None)],
        ),
        (
            "3",
            &[("Oanh", "Lê Thị Oanh", RegistryStatus::Level1, None)],
        ),
        (
            "5",
            &[("Nam", "Trần Văn Nam", RegistryStatus::PendingApproval, None)],
        ),
        (
            "7",
            &[("Cúc", "Phạm Thị Cúc", RegistryStatus::NoAccount, None)],
        ),
        (
            "9",
            &[("Dũng", "Võ Văn Dũng", RegistryStatus::NoAccount, None)],
        ),
        (
            "11",
            &[("Hà", "Đỗ Thu Hà", RegistryStatus::NoAccount, None)],
        ),
        (
            "12",
            &[
                (
                    "Khoa",
                    "Bùi Đăng Khoa",
                    RegistryStatus::NoAccount,
                    Some("03/05/2015"),
                ),
                (
                    "Lan",
                    "Bùi Thị Lan",
                    RegistryStatus::NoAccount,
                    Some("1990"),
                ),
            ],
        ),
        (
            "15",
            &[("Minh", "Hồ Văn Minh", RegistryStatus::Activated, None)],
        ),
        (
            "20",
            &[(
                "Bình",
                "Đặng Văn Bình",
                RegistryStatus::ApprovedNotActivated,
                None,
            )],
        ),
    ];
    for (house, residents) in layout {
        let id = HouseholdId::new();
        let mut rs = Vec::new();
        for (short, full, registry, birth) in residents {
            let rid = ResidentId::new();
            people.push((*short, id, rid));
            rs.push((
                rid,
                ResidentInfo {
                    full_name: (*full).into(),
                    registry: *registry,
                    protected: ProtectedResidentInfo {
                        birth_date: birth.map(|b| BirthDate::parse(b).expect("birth date")),
                        ..Default::default()
                    },
                    ..Default::default()
                },
            ));
        }
        server
            .create_household(&NewHousehold {
                id,
                commune: "00004".into(),
                hamlet: "to-1".into(),
                address: Address {
                    house_number: house.into(),
                    alley: String::new(),
                    street: "Đội Cấn".into(),
                },
                residents: rs,
            })
            .expect("create household");
    }
    Village { server, people }
}

fn phone(v: &mut Village, role: Role) -> PhoneStore {
    let store = PhoneStore::open_in_memory().expect("open");
    register(v, &store, role);
    store
}

fn register(v: &mut Village, store: &PhoneStore, role: Role) {
    v.server.register_device(
        store.device_id(),
        SimDevice {
            role,
            hamlets: None,
            revoked: false,
        },
    );
}

/// A weekday evening, 19:00: Monday 2026-09-28.
fn out_at() -> i64 {
    vn(2026, 9, 28, 19)
}

/// The officer's visits: Cúc out, Dũng deceased, Hà without a smartphone,
/// Oanh refused — all on the evening of 2026-09-28.
fn record_visits(v: &Village, store: &mut PhoneStore) {
    let outcomes = [
        (
            "Cúc",
            Outcome::Absent {
                reason: AbsentReason::NotHomeNow,
            },
        ),
        (
            "Dũng",
            Outcome::Ineligible {
                reason: IneligibleReason::Deceased,
            },
        ),
        (
            "Hà",
            Outcome::Ineligible {
                reason: IneligibleReason::NoSmartphone,
            },
        ),
        ("Oanh", Outcome::Refused),
    ];
    for (name, outcome) in outcomes {
        let (household, resident) = v.who(name);
        store
            .record_visit(
                household,
                &Visit {
                    id: VisitId::new(),
                    at_ms: out_at(),
                    by: Recorder {
                        user: "cskv-01".into(),
                        role: Role::Officer,
                        device: store.device_id().into(),
                    },
                    place: Place::Home,
                    outcomes: vec![ResidentOutcome {
                        resident,
                        outcome,
                        explanation: None,
                    }],
                    newcomers: vec![],
                },
            )
            .expect("record visit");
    }
}

fn names(v: &Village, t: &Targets) -> Vec<&'static str> {
    t.rows
        .iter()
        .map(|row| {
            v.people
                .iter()
                .find(|(_, _, r)| *r == row.resident.id)
                .map(|(n, ..)| *n)
                .expect("a known resident")
        })
        .collect()
}

fn priority_of(t: &Targets, v: &Village, name: &str) -> Option<Priority> {
    let (_, r) = v.who(name);
    t.rows
        .iter()
        .find(|row| row.resident.id == r)
        .map(|row| row.priority)
}

/// 2026-10-01, 10:00: three days after the visits.
fn now() -> i64 {
    vn(2026, 10, 1, 10)
}

#[test]
fn targets_follow_the_campaign_terms_from_sync() {
    let mut v = village();
    let today = plan::vn_day(now());
    v.server
        .set_terms(Some(terms(day_number(2026, 10, 31), 40)));

    // An officer records visits and syncs; a second officer and a
    // volunteer sync and plan their day offline.
    let mut recorder = phone(&mut v, Role::Officer);
    sync_until_done(&mut recorder, &mut v.server).expect("sync");
    assert_eq!(
        recorder.terms().expect("terms"),
        Some(terms(day_number(2026, 10, 31), 40)),
        "the terms came with the sync"
    );
    record_visits(&v, &mut recorder);
    sync_until_done(&mut recorder, &mut v.server).expect("sync");
    let mut officer = phone(&mut v, Role::Officer);
    sync_until_done(&mut officer, &mut v.server).expect("sync");
    let mut volunteer = phone(&mut v, Role::Volunteer);
    sync_until_done(&mut volunteer, &mut v.server).expect("sync");

    // 31 days left, 5 targets: one a day. The approved household is chosen first.
    let t = officer.targets(now()).expect("targets");
    assert_eq!(t.remaining, 5, "Ân, Nam, Cúc, Lan, Bình");
    assert_eq!(t.quota, 1);
    assert_eq!(names(&v, &t), ["Bình"]);
    assert_eq!(t.rows[0].priority, Priority::Approved);
    assert_eq!(t.rows[0].come_back, None);
    assert_eq!(
        t.terms.as_ref().map(|t| t.campaign.as_str()),
        Some("cd-2026")
    );
    assert_eq!(
        recorder.targets(now()).expect("targets"),
        t,
        "every officer's phone plans the same day"
    );

    // A cap of 2 on the last day: approved and follow-up are chosen, and
    // walked in street order (5 before 20).
    v.server.set_terms(Some(terms(today, 2)));
    sync_until_done(&mut officer, &mut v.server).expect("sync");
    let t = officer.targets(now()).expect("targets");
    assert_eq!((t.remaining, t.quota), (5, 2));
    assert_eq!(names(&v, &t), ["Nam", "Bình"]);
    assert_eq!(priority_of(&t, &v, "Nam"), Some(Priority::FollowUp));

    // No cap on the last day: everyone who is a target, in walking order.
    v.server.set_terms(Some(terms(today, 0)));
    sync_until_done(&mut officer, &mut v.server).expect("sync");
    sync_until_done(&mut volunteer, &mut v.server).expect("sync");
    let t = officer.targets(now()).expect("targets");
    assert_eq!((t.remaining, t.quota), (5, 5));
    assert_eq!(names(&v, &t), ["Ân", "Nam", "Cúc", "Lan", "Bình"]);
    assert_eq!(priority_of(&t, &v, "Ân"), Some(Priority::NoApplication));
    assert_eq!(priority_of(&t, &v, "Lan"), Some(Priority::NoApplication));
    // Out on a weekday evening: come back at another time.
    let cuc = &t.rows[2];
    assert_eq!(cuc.priority, Priority::ComeBack);
    assert_eq!(
        plan::Slot::of_ms(out_at()),
        Slot::new(DayKind::Weekday, DayPart::Evening)
    );
    assert_eq!(
        cuc.come_back,
        Some(Slot::new(DayKind::Weekend, DayPart::Morning))
    );
    assert_eq!(cuc.resident.state, "absent");
    assert_eq!(cuc.resident.detail.as_deref(), Some("not_home_now"));
    assert!(
        t.rows
            .iter()
            .all(|r| (r.priority == Priority::ComeBack) == r.come_back.is_some())
    );
    // Khoa (11 at the start) is left out where the birth date is known;
    // the volunteer's phone does not hold it and keeps him in.
    let tv = volunteer.targets(now()).expect("targets");
    assert_eq!(names(&v, &tv), ["Ân", "Nam", "Cúc", "Khoa", "Lan", "Bình"]);
    assert_eq!((tv.remaining, tv.quota), (6, 6));

    // Two weeks after the visits, the refusal and the missing smartphone
    // come back for a re-check; the deceased and the activated never do.
    let later = now() + 12 * DAY_MS;
    let t = officer.targets(later).expect("targets");
    assert_eq!(
        names(&v, &t),
        ["Ân", "Oanh", "Nam", "Cúc", "Hà", "Lan", "Bình"]
    );
    assert_eq!(priority_of(&t, &v, "Hà"), Some(Priority::Recheck));
    assert_eq!(priority_of(&t, &v, "Oanh"), Some(Priority::Recheck));
    assert_eq!(t.quota, 7, "past the last day the quota is what remains");
    // Twelve days after: still inside the waiting time.
    let t = officer.targets(now() + 10 * DAY_MS).expect("targets");
    assert_eq!(priority_of(&t, &v, "Hà"), None);
    assert_eq!(priority_of(&t, &v, "Oanh"), None);
}

#[test]
fn terms_survive_reopening_and_are_cleared_with_the_campaign() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("phone.db");
    let mut v = village();
    let campaign = terms(day_number(2026, 10, 31), 40);
    v.server.set_terms(Some(campaign.clone()));
    let mut store = PhoneStore::open(&path).expect("open");
    register(&mut v, &store, Role::Officer);
    assert_eq!(store.terms().expect("terms"), None, "nothing before a sync");
    sync_until_done(&mut store, &mut v.server).expect("sync");
    let before = store.targets(now()).expect("targets");
    drop(store);

    let mut store = PhoneStore::open(&path).expect("reopen");
    assert_eq!(store.terms().expect("terms"), Some(campaign));
    assert_eq!(store.targets(now()).expect("targets"), before);

    // The campaign ends: the next answer carries no terms and the phone
    // forgets them. Everything open is then today's work, no age limit.
    v.server.set_terms(None);
    sync_until_done(&mut store, &mut v.server).expect("sync");
    assert_eq!(store.terms().expect("terms"), None);
    let t = store.targets(now()).expect("targets");
    assert_eq!(t.terms, None);
    assert_eq!(t.quota, t.remaining);
    assert_eq!(
        names(&v, &t),
        [
            "Ân", "Oanh", "Nam", "Cúc", "Dũng", "Hà", "Khoa", "Lan", "Bình"
        ],
        "nobody visited yet on this phone: all but the registry's activated"
    );
    drop(store);
    assert_eq!(
        PhoneStore::open(&path)
            .expect("reopen")
            .terms()
            .expect("terms"),
        None
    );
}

#[test]
fn a_wipe_forgets_the_terms() {
    let mut v = village();
    v.server
        .set_terms(Some(terms(day_number(2026, 10, 31), 40)));
    let mut store = phone(&mut v, Role::Officer);
    sync_until_done(&mut store, &mut v.server).expect("sync");
    assert!(store.terms().expect("terms").is_some());
    store.wipe().expect("wipe");
    assert_eq!(store.terms().expect("terms"), None);
    let t = store.targets(now()).expect("targets");
    assert_eq!((t.remaining, t.quota, t.rows.len()), (0, 0, 0));
}

#[test]
fn an_older_store_rebuilds_its_lists_when_opened() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("phone.db");
    let mut v = village();
    v.server.set_terms(Some(terms(plan::vn_day(now()), 0)));
    let mut store = PhoneStore::open(&path).expect("open");
    register(&mut v, &store, Role::Officer);
    sync_until_done(&mut store, &mut v.server).expect("sync");
    record_visits(&v, &mut store);
    let pending = store.pending_changes().expect("pending");
    let expected = store.targets(now()).expect("targets");
    assert_eq!(expected.rows.len(), 5);
    drop(store);

    // Make it look like a version-1 store: no absent times, no birth dates.
    {
        let conn = rusqlite::Connection::open(&path).expect("sqlite");
        conn.execute_batch(
            "ALTER TABLE residents DROP COLUMN absent_at;
             ALTER TABLE residents DROP COLUMN birth_date;
             PRAGMA user_version = 0;",
        )
        .expect("downgrade");
    }
    let store = PhoneStore::open(&path).expect("reopen");
    assert_eq!(store.targets(now()).expect("targets"), expected);
    assert_eq!(
        store.pending_changes().expect("pending"),
        pending,
        "the outbox is kept"
    );
    assert!(store.integrity_ok().expect("integrity"));
}

#[test]
fn a_whole_list_reads_the_same_as_a_day_s_quota() {
    // 300 households: without a campaign all are listed (read in one scan);
    // a campaign's quota picks a few (read one by one). Same rows either way.
    let mut server = MemoryServer::new();
    let mut expected = Vec::new();
    for n in (1..=300).rev() {
        let (id, rid) = (HouseholdId::new(), ResidentId::new());
        server
            .create_household(&NewHousehold {
                id,
                commune: "00004".into(),
                hamlet: "to-2".into(),
                address: Address {
                    house_number: n.to_string(),
                    alley: String::new(),
                    street: "Kim Mã".into(),
                },
                residents: vec![(
                    rid,
                    ResidentInfo {
                        full_name: format!("Ngô Văn Số {n}"),
                        ..Default::default()
                    },
                )],
            })
            .expect("create household");
        expected.push((id, rid));
    }
    expected.reverse(); // walking order: house 1, 2, … 300
    let mut store = PhoneStore::open_in_memory().expect("open");
    server.register_device(
        store.device_id(),
        SimDevice {
            role: Role::Officer,
            hamlets: None,
            revoked: false,
        },
    );
    sync_until_done(&mut store, &mut server).expect("sync");
    let all = store.targets(now()).expect("targets");
    assert_eq!((all.quota, all.remaining), (300, 300));
    let got: Vec<_> = all
        .rows
        .iter()
        .map(|r| (r.resident.household, r.resident.id))
        .collect();
    assert_eq!(got, expected);
    assert!(
        all.rows
            .iter()
            .all(|r| r.priority == Priority::NoApplication
                && r.resident.house_number.parse::<u32>().is_ok()
                && r.resident.state == "not_visited")
    );

    // Ten a day: the first ten in walking order (all alike), as in the whole list.
    server.set_terms(Some(terms(plan::vn_day(now()) + 29, 0)));
    sync_until_done(&mut store, &mut server).expect("sync");
    let day = store.targets(now()).expect("targets");
    assert_eq!((day.quota, day.remaining), (10, 300));
    assert_eq!(day.rows, all.rows[..10]);
    assert_eq!(store.work_list(None).expect("work list").len(), 300);
}
