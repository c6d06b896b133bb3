//! # sync-core
//!
//! The phone-side heart of Gõ Cửa: the household / resident / visit model,
//! one pair of automerge documents per household, a crash-safe SQLite phone
//! store, and a batched, sans-I/O sync protocol that the phone, the server
//! and the simulator share.
//!
//! An officer records a visit offline; the phone store makes it durable
//! before returning; a later sync sends it in one round trip:
//!
//! ```
//! use sync_core::prelude::*;
//! use sync_core::sim::{MemoryServer, SimDevice, sync_until_done};
//!
//! // The server holds a household imported from the commune police's list.
//! let mut server = MemoryServer::new();
//! let (household, resident) = (HouseholdId::new(), ResidentId::new());
//! server.create_household(&NewHousehold {
//!     id: household,
//!     commune: "00004".into(),
//!     hamlet: "to-1".into(),
//!     address: Address { house_number: "12".into(), alley: "ngõ 4".into(), street: "Đội Cấn".into() },
//!     residents: vec![(resident, ResidentInfo { full_name: "Nguyễn Thị Thu Hà".into(), ..Default::default() })],
//! }).unwrap();
//!
//! // A phone syncs once, then records a visit offline.
//! let mut phone = PhoneStore::open_in_memory().unwrap();
//! server.register_device(phone.device_id(), SimDevice { role: Role::Officer, hamlets: None, revoked: false });
//! sync_until_done(&mut phone, &mut server).unwrap();
//! phone.record_visit(household, &Visit {
//!     id: VisitId::new(),
//!     at_ms: 1_700_000_000_000,
//!     by: Recorder { user: "cskv-01".into(), role: Role::Officer, device: phone.device_id().into() },
//!     place: Place::Home,
//!     outcomes: vec![ResidentOutcome {
//!         resident,
//!         outcome: Outcome::Activated { how: ActivationHow::OnTheSpot },
//!         explanation: None,
//!     }],
//!     newcomers: vec![],
//! }).unwrap();
//! assert_eq!(phone.pending_changes().unwrap(), 1);
//!
//! // Back in signal: one round trip sends it; the server derives the status.
//! assert_eq!(sync_until_done(&mut phone, &mut server).unwrap(), 1);
//! assert_eq!(phone.pending_changes().unwrap(), 0);
//! let statuses = server.household(household).unwrap().statuses().unwrap();
//! assert_eq!(statuses[0].1.state, State::Activated);
//! // Search works without diacritics.
//! assert_eq!(phone.search("nguyen thi ha", 10).unwrap().len(), 1);
//! ```

#![cfg_attr(not(test), warn(clippy::unwrap_used))]

pub mod doc;
pub mod ids;
pub mod model;
pub mod plan;
pub mod protocol;
pub mod sample;
pub mod sim;
pub mod status;
pub mod store;
pub mod text;

/// The types most callers need.
pub mod prelude {
    pub use crate::doc::{DocId, DocPart, HouseholdDoc, NewHousehold};
    pub use crate::ids::{BirthDate, CommuneCode, PersonalId, PhoneNumber, Sex};
    pub use crate::model::*;
    pub use crate::plan::{Priority, Slot, Terms};
    pub use crate::status::{ResidentStatus, State};
    pub use crate::store::{PhoneStore, ResidentRow, TargetRow, Targets};
}
