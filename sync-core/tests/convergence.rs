//! Property test: 2–6 replicas (the reference server and 1–5 phone stores,
//! officers and volunteers) record random visits and field edits and sync
//! in random pairings through a faulty network that drops, duplicates,
//! delays (reorders) and truncates messages. After a final full sync every
//! replica holds identical documents (same heads) and every acknowledged
//! visit is everywhere.
//!
//! 10,000 cases in all, split over four tests so the test runner can spread
//! them over the machine's cores. `GOCUA_PROPTEST_CASES` overrides the
//! per-test count.

use proptest::prelude::*;
use std::collections::BTreeSet;
use sync_core::doc::DocPart;
use sync_core::prelude::*;
use sync_core::sim::{MemoryServer, SimDevice, sync_until_done};
use sync_core::store::StoreError;

const HOUSEHOLDS: usize = 3;
const RESIDENTS: usize = 3;

#[derive(Clone, Debug)]
enum Fault {
    None,
    DropRequest,
    DropResponse,
    DuplicateResponse,
    DelayResponse,
    TruncateRequest(usize),
    TruncateResponse(usize),
    FlipResponseByte(usize),
}

#[derive(Clone, Debug)]
enum Op {
    Visit {
        phone: usize,
        household: usize,
        residents: u8,
        outcome: u8,
        at: i64,
    },
    EditName {
        phone: usize,
        household: usize,
        resident: usize,
        name: u8,
    },
    Sync {
        phone: usize,
        fault: Fault,
    },
    DeliverDelayed {
        phone: usize,
    },
    Settle {
        household: usize,
        resident: usize,
    },
}

fn fault() -> impl Strategy<Value = Fault> {
    prop_oneof![
        4 => Just(Fault::None),
        1 => Just(Fault::DropRequest),
        1 => Just(Fault::DropResponse),
        1 => Just(Fault::DuplicateResponse),
        1 => Just(Fault::DelayResponse),
        1 => any::<usize>().prop_map(Fault::TruncateRequest),
        1 => any::<usize>().prop_map(Fault::TruncateResponse),
        1 => any::<usize>().prop_map(Fault::FlipResponseByte),
    ]
}

fn op(phones: usize) -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (0..phones, 0..HOUSEHOLDS, 1u8..8, 0u8..10, 0i64..1_000)
            .prop_map(|(phone, household, residents, outcome, at)| Op::Visit { phone, household, residents, outcome, at }),
        1 => (0..phones, 0..HOUSEHOLDS, 0..RESIDENTS, 0u8..3)
            .prop_map(|(phone, household, resident, name)| Op::EditName { phone, household, resident, name }),
        4 => (0..phones, fault()).prop_map(|(phone, fault)| Op::Sync { phone, fault }),
        1 => (0..phones).prop_map(|phone| Op::DeliverDelayed { phone }),
        1 => (0..HOUSEHOLDS, 0..RESIDENTS).prop_map(|(household, resident)| Op::Settle { household, resident }),
    ]
}

fn scenario() -> impl Strategy<Value = (Vec<bool>, Vec<Op>)> {
    (1usize..=5).prop_flat_map(|phones| {
        (
            proptest::collection::vec(any::<bool>(), phones),
            proptest::collection::vec(op(phones), 1..32),
        )
    })
}

const OUTCOMES: [Outcome; 10] = [
    Outcome::Activated {
        how: ActivationHow::OnTheSpot,
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
        reason: IneligibleReason::Deceased,
    },
    Outcome::Ineligible {
        reason: IneligibleReason::OldIllOrDisabled,
    },
    Outcome::NeedsSupport {
        kind: SupportKind::LockedAccount,
    },
    Outcome::Refused,
    Outcome::Ineligible {
        reason: IneligibleReason::Other,
    },
];

const NAMES: [&str; 3] = ["Nguyễn Văn Ân", "Nguyễn Văn An", "Trần Thị Ánh"];

struct Phone {
    store: PhoneStore,
    role: Role,
    delayed: Vec<Vec<u8>>,
}

fn run(officer_flags: Vec<bool>, ops: Vec<Op>) -> Result<(), TestCaseError> {
    let mut server = MemoryServer::new();
    // Small pages, so initial syncs take several rounds and can be cut midway.
    server.page_bytes = 600;
    server.compact_threshold = 4;
    let mut households = Vec::new();
    for h in 0..HOUSEHOLDS {
        let id = HouseholdId::new();
        let residents: Vec<_> = (0..RESIDENTS)
            .map(|r| {
                (
                    ResidentId::new(),
                    ResidentInfo {
                        full_name: format!("Lê Thị {h}{r}"),
                        ..Default::default()
                    },
                )
            })
            .collect();
        server
            .create_household(&NewHousehold {
                id,
                commune: "00004".into(),
                hamlet: "to-1".into(),
                address: Address {
                    house_number: format!("{h}"),
                    ..Default::default()
                },
                residents: residents.clone(),
            })
            .expect("create");
        households.push((
            id,
            residents.into_iter().map(|(r, _)| r).collect::<Vec<_>>(),
        ));
    }
    let mut phones: Vec<Phone> = officer_flags
        .iter()
        .map(|officer| {
            let store = PhoneStore::open_in_memory().expect("open");
            let role = if *officer {
                Role::Officer
            } else {
                Role::Volunteer
            };
            server.register_device(
                store.device_id(),
                SimDevice {
                    role,
                    hamlets: None,
                    revoked: false,
                },
            );
            Phone {
                store,
                role,
                delayed: Vec::new(),
            }
        })
        .collect();

    let mut acknowledged: BTreeSet<(HouseholdId, VisitId)> = BTreeSet::new();
    for op in ops {
        match op {
            Op::Visit {
                phone,
                household,
                residents,
                outcome,
                at,
            } => {
                let p = &mut phones[phone];
                let (hid, rids) = &households[household];
                let visit = Visit {
                    id: VisitId::new(),
                    at_ms: at,
                    by: Recorder {
                        user: format!("u{phone}"),
                        role: p.role,
                        device: p.store.device_id().into(),
                    },
                    place: Place::Home,
                    outcomes: rids
                        .iter()
                        .enumerate()
                        .filter(|(i, _)| residents & (1 << i) != 0)
                        .map(|(i, r)| ResidentOutcome {
                            resident: *r,
                            outcome: OUTCOMES[(outcome as usize + i) % OUTCOMES.len()],
                            explanation: Some("Giải trình".into()),
                        })
                        .collect(),
                    newcomers: vec![],
                };
                match p.store.record_visit(*hid, &visit) {
                    Ok(()) => {
                        acknowledged.insert((*hid, visit.id));
                    }
                    Err(StoreError::NotFound) => {} // not synced yet: nothing acknowledged
                    Err(e) => return Err(TestCaseError::fail(format!("record_visit: {e}"))),
                }
            }
            Op::EditName {
                phone,
                household,
                resident,
                name,
            } => {
                let (hid, rids) = &households[household];
                let r = phones[phone].store.change(*hid, |d| {
                    d.set_full_name(rids[resident], NAMES[name as usize])
                });
                prop_assert!(
                    matches!(r, Ok(()) | Err(StoreError::NotFound)),
                    "edit: {:?}",
                    r.err()
                );
            }
            Op::Settle {
                household,
                resident,
            } => {
                let (hid, rids) = &households[household];
                let doc = server.household_mut(*hid).expect("server doc");
                let covers = doc.visit_ids();
                let changes = doc
                    .settle(&Settlement {
                        id: SettlementId::new(),
                        resident: rids[resident],
                        decision: Outcome::Refused,
                        covers,
                        by: Recorder {
                            user: "leader".into(),
                            role: Role::Leader,
                            device: "web".into(),
                        },
                        at_ms: 2_000,
                        note: None,
                    })
                    .expect("settle");
                server.log_local(*hid, changes);
            }
            Op::Sync { phone, fault } => {
                let p = &mut phones[phone];
                let mut req = p.store.sync_request().expect("request");
                match fault {
                    Fault::DropRequest => continue,
                    Fault::TruncateRequest(at) => {
                        let cut = at % req.len();
                        req.truncate(cut);
                        prop_assert!(server.handle(&req).is_err(), "truncated request accepted");
                        continue;
                    }
                    _ => {}
                }
                let resp = server.handle(&req).expect("server handles a good request");
                match fault {
                    Fault::DropResponse => {}
                    Fault::DelayResponse => p.delayed.push(resp),
                    Fault::DuplicateResponse => {
                        p.store.apply_sync_response(&resp).or_else(resync_ok)?;
                        let again = p.store.apply_sync_response(&resp);
                        prop_assert!(again.is_err(), "a duplicated response must be refused");
                    }
                    Fault::TruncateResponse(at) => {
                        let cut = at % resp.len();
                        let before = p.store.pending_changes().expect("count");
                        prop_assert!(p.store.apply_sync_response(&resp[..cut]).is_err());
                        prop_assert_eq!(before, p.store.pending_changes().expect("count"));
                    }
                    Fault::FlipResponseByte(at) => {
                        let mut bad = resp.clone();
                        let i = at % bad.len();
                        bad[i] ^= 0xA5;
                        // Either refused, or (if the flip hit a harmless
                        // spot) applied: never a panic, never a loss.
                        let _ = p.store.apply_sync_response(&bad);
                    }
                    _ => {
                        p.store.apply_sync_response(&resp).or_else(resync_ok)?;
                    }
                }
            }
            Op::DeliverDelayed { phone } => {
                let p = &mut phones[phone];
                if let Some(old) = p.delayed.pop() {
                    let _ = p.store.apply_sync_response(&old);
                }
            }
        }
    }

    // Final full sync: everybody sends, then everybody receives.
    for _ in 0..2 {
        for p in phones.iter_mut() {
            sync_until_done(&mut p.store, &mut server)
                .map_err(|e| TestCaseError::fail(format!("final sync: {e}")))?;
        }
    }
    for (hid, _) in &households {
        let mut s = server
            .household(*hid)
            .expect("server doc")
            .part(DocPart::Main)
            .clone();
        let server_heads = s.get_heads();
        let mut sp = server
            .household(*hid)
            .expect("server doc")
            .part(DocPart::Protected)
            .clone();
        let server_protected = sp.get_heads();
        let server_visits: BTreeSet<_> = server
            .household(*hid)
            .expect("doc")
            .visit_ids()
            .into_iter()
            .collect();
        let server_status = server
            .household(*hid)
            .expect("doc")
            .statuses()
            .expect("statuses");
        for p in phones.iter_mut() {
            prop_assert_eq!(p.store.pending_changes().expect("count"), 0);
            let mut doc = p
                .store
                .household(*hid)
                .expect("every phone has every household");
            prop_assert_eq!(doc.heads(DocPart::Main), server_heads.clone());
            if p.role.sees_protected() {
                prop_assert_eq!(doc.heads(DocPart::Protected), server_protected.clone());
                prop_assert_eq!(doc.statuses().expect("statuses"), server_status.clone());
            } else {
                let mine = doc.statuses().expect("statuses");
                for ((a, sa), (b, sb)) in mine.iter().zip(server_status.iter()) {
                    prop_assert_eq!(a, b);
                    prop_assert_eq!(sa.state.code(), sb.state.code());
                }
            }
            let visits: BTreeSet<_> = doc.visit_ids().into_iter().collect();
            prop_assert_eq!(&visits, &server_visits);
            prop_assert!(p.store.integrity_ok().expect("integrity"));
        }
    }
    for (hid, vid) in &acknowledged {
        let on_server = server.household(*hid).expect("doc").visit_ids();
        prop_assert!(on_server.contains(vid), "acknowledged visit lost");
    }
    Ok(())
}

fn resync_ok(e: StoreError) -> Result<sync_core::store::SyncApplied, TestCaseError> {
    match e {
        StoreError::NeedsFullResync => Ok(Default::default()),
        e => Err(TestCaseError::fail(format!("apply: {e}"))),
    }
}

fn cases() -> u32 {
    std::env::var("GOCUA_PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2_500)
}

macro_rules! convergence_test {
    ($name:ident) => {
        proptest! {
            #![proptest_config(ProptestConfig { cases: cases(), max_shrink_iters: 2_000, ..ProptestConfig::default() })]
            #[test]
            fn $name((flags, ops) in scenario()) {
                run(flags, ops)?;
            }
        }
    };
}

convergence_test!(replicas_converge_a);
convergence_test!(replicas_converge_b);
convergence_test!(replicas_converge_c);
convergence_test!(replicas_converge_d);
