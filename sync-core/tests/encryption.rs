//! The phone store encrypted at rest: a copy of its files holds no
//! plaintext name, ID number or phone; a wrong key opens nothing.

use sync_core::ids::{PersonalId, PhoneNumber};
use sync_core::prelude::*;
use sync_core::sim::{MemoryServer, SimDevice, sync_until_done};
use sync_core::store::StoreError;

const NAME: &str = "Nguyễn Thị Thu Hà";
const ID: &str = "001190012345";
const PHONE: &str = "0912345678";

fn server() -> (MemoryServer, HouseholdId, ResidentId) {
    let mut server = MemoryServer::new();
    let (h, r) = (HouseholdId::new(), ResidentId::new());
    server
        .create_household(&NewHousehold {
            id: h,
            commune: "00004".into(),
            hamlet: "t1".into(),
            address: Address {
                house_number: "12".into(),
                alley: "ngõ 4".into(),
                street: "Đội Cấn".into(),
            },
            residents: vec![(
                r,
                ResidentInfo {
                    full_name: NAME.into(),
                    protected: ProtectedResidentInfo {
                        personal_id: Some(PersonalId::parse(ID).unwrap()),
                        phone: Some(PhoneNumber::parse(PHONE).unwrap()),
                        birth_date: None,
                    },
                    ..Default::default()
                },
            )],
        })
        .unwrap();
    (server, h, r)
}

fn files_contain(dir: &std::path::Path, needle: &[u8]) -> bool {
    std::fs::read_dir(dir).unwrap().any(|e| {
        let bytes = std::fs::read(e.unwrap().path()).unwrap();
        bytes.windows(needle.len()).any(|w| w == needle)
    })
}

fn fill(store: &mut PhoneStore, server: &mut MemoryServer, h: HouseholdId, r: ResidentId) {
    server.register_device(
        store.device_id(),
        SimDevice {
            role: Role::Officer,
            hamlets: None,
            revoked: false,
        },
    );
    sync_until_done(store, server).unwrap();
    store
        .record_visit(
            h,
            &Visit {
                id: VisitId::new(),
                at_ms: 1,
                by: Recorder {
                    user: "u".into(),
                    role: Role::Officer,
                    device: "d".into(),
                },
                place: Place::Home,
                outcomes: vec![ResidentOutcome {
                    resident: r,
                    outcome: Outcome::Ineligible {
                        reason: IneligibleReason::Other,
                    },
                    explanation: Some("Đi làm ăn xa, không liên lạc được".into()),
                }],
                newcomers: vec![],
            },
        )
        .unwrap();
}

#[test]
fn encrypted_files_hold_no_plaintext() {
    let needles: [&[u8]; 5] = [
        NAME.as_bytes(),
        "nguyen thi thu ha".as_bytes(),
        ID.as_bytes(),
        PHONE.as_bytes(),
        "Đi làm ăn xa".as_bytes(),
    ];
    // Control: without a key the same data is visible in the file, so the
    // search below can find what it looks for.
    let plain = tempfile::tempdir().unwrap();
    {
        let (mut server, h, r) = server();
        let mut store = PhoneStore::open(&plain.path().join("phone.sqlite")).unwrap();
        fill(&mut store, &mut server, h, r);
        assert!(
            files_contain(plain.path(), NAME.as_bytes()),
            "control: plaintext store shows the name"
        );
    }

    let dir = tempfile::tempdir().unwrap();
    let key = [7u8; 32];
    let path = dir.path().join("phone.sqlite");
    let (mut server, h, r) = server();
    {
        let mut store = PhoneStore::open_encrypted(&path, &key).unwrap();
        fill(&mut store, &mut server, h, r);
        // Checked while open (WAL not yet checkpointed) and after closing.
        for n in needles {
            assert!(
                !files_contain(dir.path(), n),
                "plaintext found in the encrypted store"
            );
        }
    }
    for n in needles {
        assert!(!files_contain(dir.path(), n), "plaintext found after close");
    }
    // The right key opens it, with everything in it.
    let store = PhoneStore::open_encrypted(&path, &key).unwrap();
    assert_eq!(store.search("nguyen ha", 5).unwrap().len(), 1);
    assert_eq!(store.pending_changes().unwrap(), 2);
    drop(store);
    // A wrong key, or no key, opens nothing.
    assert!(matches!(
        PhoneStore::open_encrypted(&path, &[8u8; 32]),
        Err(StoreError::WrongKey)
    ));
    assert!(PhoneStore::open(&path).is_err());
}
