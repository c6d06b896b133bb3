//! An in-memory reference server for the sync protocol: the peer that the
//! property tests, the crash test and the benchmarks sync phones against.
//!
//! It implements exactly the server's side of [`crate::protocol`]: apply
//! incoming changes idempotently and log each new one with a sequence
//! number; answer a missing cursor with whole documents in pages, and a
//! cursor with the changes made since by other devices (or whole documents
//! where a household has many). The Gõ Cửa server does the same over SQL.

use crate::doc::{DocId, DocPart, HouseholdDoc, NewHousehold};
use crate::model::{HouseholdId, Role};
use crate::plan::Terms;
use crate::protocol::{
    self, DocChanges, DocSnapshot, Limits, ProtocolError, ServerCursor, SyncResponse,
};
use automerge::{ActorId, ChangeHash, ReadDoc};
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// A device the reference server knows.
#[derive(Clone, Debug)]
pub struct SimDevice {
    /// Role of its user.
    pub role: Role,
    /// Hamlets it may see; `None` for the whole commune.
    pub hamlets: Option<BTreeSet<String>>,
    /// Cut off by a leader.
    pub revoked: bool,
}

#[derive(Clone, Debug)]
struct LogEntry {
    doc: DocId,
    hash: ChangeHash,
    origin: String,
}

/// Why the reference server refused a request.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SimError {
    /// The request did not decode.
    #[error(transparent)]
    Protocol(#[from] ProtocolError),
    /// Unknown device.
    #[error("unknown device")]
    UnknownDevice,
}

/// The in-memory reference server.
#[derive(Debug)]
pub struct MemoryServer {
    actor: ActorId,
    docs: BTreeMap<HouseholdId, HouseholdDoc>,
    hamlet_of: HashMap<HouseholdId, String>,
    log: Vec<LogEntry>,
    devices: HashMap<String, SimDevice>,
    limits: Limits,
    /// Uncompressed bytes of documents per initial-sync page.
    pub page_bytes: usize,
    /// A household with more new changes than this is sent whole.
    pub compact_threshold: usize,
    terms: Option<Terms>,
}

impl Default for MemoryServer {
    fn default() -> Self {
        Self::new()
    }
}

impl MemoryServer {
    /// An empty server.
    pub fn new() -> Self {
        MemoryServer {
            actor: ActorId::random(),
            docs: BTreeMap::new(),
            hamlet_of: HashMap::new(),
            log: Vec::new(),
            devices: HashMap::new(),
            limits: Limits::default(),
            page_bytes: 8 << 20,
            compact_threshold: 64,
            terms: None,
        }
    }

    /// Registers (or updates) a device.
    pub fn register_device(&mut self, device: &str, info: SimDevice) {
        self.devices.insert(device.to_owned(), info);
    }

    /// Sets the active campaign's planning terms, sent with every answer
    /// (`None`: no campaign active).
    pub fn set_terms(&mut self, terms: Option<Terms>) {
        self.terms = terms;
    }

    /// Revokes a device: its next sync is answered with a wipe.
    pub fn revoke(&mut self, device: &str) {
        if let Some(d) = self.devices.get_mut(device) {
            d.revoked = true;
        }
    }

    /// Creates a household on the server (as an import does).
    pub fn create_household(&mut self, new: &NewHousehold) -> Result<(), crate::doc::DocError> {
        let (doc, changes) = HouseholdDoc::create(&self.actor, new)?;
        for (part, c) in changes.0 {
            self.log.push(LogEntry {
                doc: DocId {
                    household: new.id,
                    part,
                },
                hash: c.hash(),
                origin: String::new(),
            });
        }
        self.hamlet_of.insert(new.id, new.hamlet.clone());
        self.docs.insert(new.id, doc);
        Ok(())
    }

    /// The server's copy of a household.
    pub fn household(&self, id: HouseholdId) -> Option<&HouseholdDoc> {
        self.docs.get(&id)
    }

    /// Mutable access (for tests that settle on the server).
    pub fn household_mut(&mut self, id: HouseholdId) -> Option<&mut HouseholdDoc> {
        self.docs.get_mut(&id)
    }

    /// Every household id.
    pub fn household_ids(&self) -> Vec<HouseholdId> {
        self.docs.keys().copied().collect()
    }

    /// Highest sequence number given so far.
    pub fn seq(&self) -> u64 {
        self.log.len() as u64
    }

    /// Records a change made on the server itself (a settlement by a leader
    /// on the review page) so that phones receive it.
    pub fn log_local(&mut self, id: HouseholdId, changes: crate::doc::LocalChanges) {
        for (part, c) in changes.0 {
            self.log.push(LogEntry {
                doc: DocId {
                    household: id,
                    part,
                },
                hash: c.hash(),
                origin: String::new(),
            });
        }
    }

    fn visible(&self, dev: &SimDevice, h: &HouseholdId) -> bool {
        match (&dev.hamlets, self.hamlet_of.get(h)) {
            (None, _) => true,
            (Some(set), Some(hamlet)) => set.contains(hamlet),
            (Some(_), None) => false,
        }
    }

    /// Handles one request frame and returns the response frame.
    pub fn handle(&mut self, bytes: &[u8]) -> Result<Vec<u8>, SimError> {
        let req = protocol::decode_request(bytes, &self.limits)?;
        let dev = self
            .devices
            .get(&req.device)
            .cloned()
            .ok_or(SimError::UnknownDevice)?;
        if dev.revoked {
            return Ok(protocol::encode_response(&SyncResponse {
                request_id: req.request_id,
                wipe: true,
                ..Default::default()
            })?);
        }
        // Parse everything first: a bad change refuses the whole request.
        let mut incoming = Vec::with_capacity(req.changes.len());
        for dc in &req.changes {
            incoming.push((dc.doc, protocol::parse_changes(&dc.changes)?));
        }
        for (doc_id, changes) in incoming {
            let doc = self
                .docs
                .entry(doc_id.household)
                .or_insert_with(|| HouseholdDoc::empty(&self.actor, doc_id.household));
            let fresh: Vec<_> = changes
                .into_iter()
                .filter(|c| {
                    doc.part(doc_id.part)
                        .get_change_by_hash(&c.hash())
                        .is_none()
                })
                .collect();
            for c in &fresh {
                self.log.push(LogEntry {
                    doc: doc_id,
                    hash: c.hash(),
                    origin: req.device.clone(),
                });
            }
            doc.apply_changes(doc_id.part, fresh)
                .map_err(|_| ProtocolError::InvalidChange)?;
            if doc_id.part == DocPart::Main
                && !self.hamlet_of.contains_key(&doc_id.household)
                && let Ok(v) = doc.view()
            {
                self.hamlet_of.insert(doc_id.household, v.hamlet);
            }
        }

        let cursor = req.cursor.as_deref().and_then(ServerCursor::from_bytes);
        let mut resp = SyncResponse {
            request_id: req.request_id,
            acked_through: req.outbox_through,
            terms: self.terms.clone(),
            ..Default::default()
        };
        let parts: &[DocPart] = if dev.role.sees_protected() {
            &DocPart::ALL
        } else {
            &[DocPart::Main]
        };
        match cursor {
            Some(c) if !c.in_snapshot => self.incremental(&req.device, &dev, parts, c, &mut resp),
            c => self.snapshot_page(&dev, parts, c, &mut resp),
        }
        Ok(protocol::encode_response(&resp)?)
    }

    fn snapshot_page(
        &mut self,
        dev: &SimDevice,
        parts: &[DocPart],
        cursor: Option<ServerCursor>,
        resp: &mut SyncResponse,
    ) {
        let start = cursor.unwrap_or(ServerCursor {
            seq: self.seq(),
            in_snapshot: true,
            ..Default::default()
        });
        let after = start.snapshot_after;
        let mut budget = self.page_bytes;
        let ids: Vec<HouseholdId> = self
            .docs
            .keys()
            .filter(|h| after.is_none_or(|a| **h > a))
            .filter(|h| self.visible(dev, h))
            .copied()
            .collect();
        let mut last = None;
        let mut done = true;
        for h in ids {
            if budget == 0 {
                done = false;
                break;
            }
            let Some(doc) = self.docs.get_mut(&h) else {
                continue;
            };
            for part in parts {
                if doc.part_mut(*part).get_heads().is_empty() {
                    continue;
                }
                let bytes = doc.save_nocompress(*part);
                budget = budget.saturating_sub(bytes.len());
                resp.docs.push(DocSnapshot {
                    doc: DocId {
                        household: h,
                        part: *part,
                    },
                    bytes,
                });
            }
            last = Some(h);
        }
        resp.more = !done;
        resp.cursor = ServerCursor {
            seq: start.seq,
            snapshot_after: if done { None } else { last },
            in_snapshot: !done,
            area_version: 0,
        }
        .to_bytes();
    }

    fn incremental(
        &mut self,
        device: &str,
        dev: &SimDevice,
        parts: &[DocPart],
        cursor: ServerCursor,
        resp: &mut SyncResponse,
    ) {
        let from = cursor.seq as usize;
        let max = self.limits.max_changes / 2;
        let mut per_doc: BTreeMap<DocId, Vec<ChangeHash>> = BTreeMap::new();
        let mut seq = cursor.seq;
        let mut count = 0;
        for (i, e) in self.log.iter().enumerate().skip(from) {
            if count >= max {
                resp.more = true;
                break;
            }
            seq = i as u64 + 1;
            if e.origin == device
                || !parts.contains(&e.doc.part)
                || !self.visible(dev, &e.doc.household)
            {
                continue;
            }
            per_doc.entry(e.doc).or_default().push(e.hash);
            count += 1;
        }
        for (doc_id, hashes) in per_doc {
            let Some(doc) = self.docs.get_mut(&doc_id.household) else {
                continue;
            };
            if hashes.len() > self.compact_threshold {
                resp.docs.push(DocSnapshot {
                    doc: doc_id,
                    bytes: doc.save_nocompress(doc_id.part),
                });
                continue;
            }
            let am = doc.part(doc_id.part);
            let changes = hashes
                .iter()
                .filter_map(|h| am.get_change_by_hash(h))
                .map(|c| c.raw_bytes().to_vec())
                .collect();
            resp.changes.push(DocChanges {
                doc: doc_id,
                changes,
            });
        }
        resp.cursor = ServerCursor {
            seq,
            ..Default::default()
        }
        .to_bytes();
    }
}

/// Syncs a phone store with the server until nothing more is waiting.
/// Returns the number of round trips.
pub fn sync_until_done(
    phone: &mut crate::store::PhoneStore,
    server: &mut MemoryServer,
) -> Result<usize, crate::store::StoreError> {
    let mut trips = 0;
    loop {
        trips += 1;
        let req = phone.sync_request()?;
        let resp = server.handle(&req).map_err(|e| match e {
            SimError::Protocol(p) => crate::store::StoreError::Protocol(p),
            SimError::UnknownDevice => crate::store::StoreError::NotFound,
        })?;
        match phone.apply_sync_response(&resp) {
            Ok(a) if a.more => continue,
            Ok(_) => return Ok(trips),
            Err(crate::store::StoreError::NeedsFullResync) if trips < 8 => continue,
            Err(e) => return Err(e),
        }
    }
}
