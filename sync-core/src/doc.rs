//! One household as a pair of automerge documents (schema in `docs/SCHEMA.md`).
//!
//! * The **main** document holds what everyone working the hamlet needs:
//!   address, residents' names and registry status, every visit with its
//!   per-resident outcome codes, and settlements.
//! * The **protected** document holds residents' ID numbers, birth dates and
//!   phones, sensitive ineligibility reasons (health, detention) and every
//!   free-text explanation. Volunteers' phones never receive it: they keep a
//!   write-only protected document holding only their own entries, which
//!   merges into the server's copy because every protected key is a flat,
//!   unique root key (no nested objects that two writers could create twice).
//!
//! Concurrent visits never collide: each visit is a new key (`visits/<uuid>`).
//! Concurrent edits of one field are kept by automerge and reported by
//! [`HouseholdDoc::field_conflicts`], never dropped.

use crate::ids::{BirthDate, PersonalId, PhoneNumber, Sex};
use crate::model::*;
use crate::status::{self, OutcomeRecord, ResidentStatus, SettlementRecord};
use automerge::transaction::Transactable;
use automerge::{ActorId, AutoCommit, Change, ChangeHash, ObjId, ObjType, ROOT, ReadDoc, Value};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Version of the document layout written by this code.
pub const SCHEMA_VERSION: u64 = 1;

/// Which of a household's two documents.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DocPart {
    /// Shared with everyone working the hamlet.
    Main,
    /// Officers, leaders and the server only.
    Protected,
}

impl DocPart {
    /// Both parts.
    pub const ALL: [DocPart; 2] = [DocPart::Main, DocPart::Protected];
    /// Stable code.
    pub fn code(self) -> &'static str {
        match self {
            DocPart::Main => "main",
            DocPart::Protected => "protected",
        }
    }
    /// Parses a stable code.
    pub fn from_code(s: &str) -> Option<Self> {
        match s {
            "main" => Some(DocPart::Main),
            "protected" => Some(DocPart::Protected),
            _ => None,
        }
    }
}

/// Identifies one document: a household's main or protected part.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct DocId {
    /// The household.
    pub household: HouseholdId,
    /// Which part.
    pub part: DocPart,
}

/// What went wrong with a document operation. Messages carry no personal data.
#[derive(Debug, thiserror::Error, PartialEq, Eq, Clone)]
#[non_exhaustive]
pub enum DocError {
    /// The bytes are not an automerge document or change.
    #[error("corrupt document or change: {0}")]
    Corrupt(String),
    /// The document was written by a newer schema.
    #[error("document schema {0} is newer than this app understands ({SCHEMA_VERSION})")]
    NewerSchema(u64),
    /// The main document lacks its skeleton (not yet received).
    #[error("household document has no skeleton yet")]
    NoSkeleton,
    /// The visit names a resident that is not in the household.
    #[error("visit names a resident that is not in this household")]
    UnknownResident,
    /// A visit or settlement with this id exists already.
    #[error("a visit or settlement with this id exists already")]
    Duplicate,
    /// `Ineligible(Other)` needs an explanation.
    #[error("an 'other' ineligibility reason needs a written explanation")]
    ExplanationRequired,
    /// A visit must say something about someone.
    #[error("a visit must record at least one outcome")]
    EmptyVisit,
    /// Text longer than the limit.
    #[error("text too long")]
    TooLong,
}

impl DocError {
    /// Stable machine code.
    pub fn code(&self) -> &'static str {
        match self {
            DocError::Corrupt(_) => "doc.corrupt",
            DocError::NewerSchema(_) => "doc.newer_schema",
            DocError::NoSkeleton => "doc.no_skeleton",
            DocError::UnknownResident => "visit.unknown_resident",
            DocError::Duplicate => "visit.duplicate",
            DocError::ExplanationRequired => "visit.explanation_required",
            DocError::EmptyVisit => "visit.empty",
            DocError::TooLong => "visit.text_too_long",
        }
    }
    /// Vietnamese message for people.
    pub fn message_vi(&self) -> &'static str {
        match self {
            DocError::Corrupt(_) => "Dữ liệu hộ gia đình bị hỏng",
            DocError::NewerSchema(_) => {
                "Dữ liệu được tạo bởi phiên bản mới hơn, hãy cập nhật ứng dụng"
            }
            DocError::NoSkeleton => "Chưa nhận được dữ liệu hộ gia đình này, hãy đồng bộ",
            DocError::UnknownResident => "Nhân khẩu không thuộc hộ gia đình này",
            DocError::Duplicate => "Lượt ghi nhận này đã có",
            DocError::ExplanationRequired => "Lý do khác cần có giải trình bằng văn bản",
            DocError::EmptyVisit => "Lượt đến nhà phải ghi kết quả cho ít nhất một người",
            DocError::TooLong => "Nội dung quá dài",
        }
    }
}

fn corrupt(e: impl std::fmt::Display) -> DocError {
    DocError::Corrupt(e.to_string())
}

/// Longest free text accepted (explanations, notes, names), in characters.
pub const MAX_TEXT: usize = 2_000;

/// New changes made locally, to put in the outbox, one per touched part.
#[derive(Debug, Default)]
pub struct LocalChanges(pub Vec<(DocPart, Change)>);

/// A household's main and protected documents.
#[derive(Debug)]
pub struct HouseholdDoc {
    id: HouseholdId,
    main: AutoCommit,
    protected: AutoCommit,
}

/// Everything the skeleton of a new household holds.
#[derive(Clone, Debug)]
pub struct NewHousehold {
    /// Its id.
    pub id: HouseholdId,
    /// Official 5-digit commune code.
    pub commune: String,
    /// Hamlet id, as the commune defines hamlets.
    pub hamlet: String,
    /// Address.
    pub address: Address,
    /// Residents.
    pub residents: Vec<(ResidentId, ResidentInfo)>,
}

/// Read view of a resident.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResidentView {
    /// Id.
    pub id: ResidentId,
    /// Full name.
    pub full_name: String,
    /// Sex when known.
    pub sex: Option<Sex>,
    /// Registry status from the last import.
    pub registry: RegistryStatus,
    /// Found in the field.
    pub newcomer: bool,
    /// Protected fields, when this replica holds them.
    pub protected: ProtectedResidentInfo,
}

/// Read view of a household.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HouseholdView {
    /// Id.
    pub id: HouseholdId,
    /// Commune code.
    pub commune: String,
    /// Hamlet id.
    pub hamlet: String,
    /// Address.
    pub address: Address,
    /// Residents, in key order.
    pub residents: Vec<ResidentView>,
}

/// Two or more values written concurrently to one field.
#[derive(Clone, PartialEq, Eq)]
pub struct FieldConflict {
    /// Which part holds it.
    pub part: DocPart,
    /// Path such as `residents/<id>/full_name` or `r/<id>/phone`.
    pub path: String,
    /// The competing values (personal data: show, never log).
    pub values: Vec<String>,
}

impl std::fmt::Debug for FieldConflict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FieldConflict")
            .field("part", &self.part)
            .field("path", &self.path)
            .field("values", &self.values.len())
            .finish()
    }
}

fn s(doc: &AutoCommit, obj: &ObjId, key: &str) -> Option<String> {
    match doc.get(obj, key) {
        Ok(Some((v, _))) => v.as_str().map(str::to_owned),
        _ => None,
    }
}

fn int(doc: &AutoCommit, obj: &ObjId, key: &str) -> Option<i64> {
    match doc.get(obj, key) {
        Ok(Some((v, _))) => v
            .as_i64()
            .or_else(|| v.as_u64().and_then(|u| i64::try_from(u).ok())),
        _ => None,
    }
}

fn map(doc: &AutoCommit, obj: &ObjId, key: &str) -> Option<ObjId> {
    match doc.get(obj, key) {
        Ok(Some((Value::Object(ObjType::Map), id))) => Some(id),
        _ => None,
    }
}

fn check_len(t: &str) -> Result<(), DocError> {
    if t.chars().count() > MAX_TEXT {
        Err(DocError::TooLong)
    } else {
        Ok(())
    }
}

/// Outcome detail code as written in the main document: the sub-reason, or
/// `restricted` for a sensitive ineligibility reason (kept in protected).
fn outcome_detail(o: &Outcome) -> Option<String> {
    let code = |v: &dyn erased::Code| v.code();
    match o {
        Outcome::Activated { how } => Some(code(how)),
        Outcome::Absent { reason } => Some(code(reason)),
        Outcome::Ineligible { reason } => Some(code(&reason.public_form())),
        Outcome::NeedsSupport { kind } => Some(code(kind)),
        Outcome::ApplicationCollected | Outcome::Refused => None,
    }
}

/// Serde-string codes of the small enums, without a hand-written table each.
mod erased {
    pub trait Code {
        fn code(&self) -> String;
    }
    impl<T: serde::Serialize> Code for T {
        fn code(&self) -> String {
            match serde_json::to_value(self) {
                Ok(serde_json::Value::String(s)) => s,
                _ => String::new(),
            }
        }
    }
    pub fn parse<T: serde::de::DeserializeOwned>(code: &str) -> Option<T> {
        serde_json::from_value(serde_json::Value::String(code.to_owned())).ok()
    }
}

fn parse_outcome(kind: &str, detail: Option<&str>, sensitive: Option<&str>) -> Option<Outcome> {
    fn d<T: serde::de::DeserializeOwned>(detail: Option<&str>) -> Option<T> {
        detail.and_then(erased::parse)
    }
    Some(match kind {
        "activated" => Outcome::Activated { how: d(detail)? },
        "application_collected" => Outcome::ApplicationCollected,
        "absent" => Outcome::Absent { reason: d(detail)? },
        "ineligible" => {
            let public: IneligibleReason = d(detail)?;
            // The protected reason, when this replica holds it and it is
            // consistent with the public stand-in.
            let real = sensitive
                .and_then(erased::parse::<IneligibleReason>)
                .filter(|r| r.public_form() == public);
            Outcome::Ineligible {
                reason: real.unwrap_or(public),
            }
        }
        "needs_support" => Outcome::NeedsSupport { kind: d(detail)? },
        "refused" => Outcome::Refused,
        _ => return None,
    })
}

/// Parses a stable enum code (the serde spelling), e.g. `"no_smartphone"`.
pub fn parse_code<T: serde::de::DeserializeOwned>(code: &str) -> Option<T> {
    erased::parse(code)
}

/// The stable code (serde spelling) of a small enum value.
pub fn code_of<T: Serialize>(v: &T) -> String {
    erased::Code::code(v)
}

impl HouseholdDoc {
    /// Creates a household: the skeleton of its main document and the
    /// protected fields of its residents, written by `actor`.
    pub fn create(actor: &ActorId, new: &NewHousehold) -> Result<(Self, LocalChanges), DocError> {
        let mut main = AutoCommit::new().with_actor(actor.clone());
        let mut protected = AutoCommit::new().with_actor(actor.clone());
        main.put(ROOT, "schema", SCHEMA_VERSION).map_err(corrupt)?;
        main.put(ROOT, "household", new.id.to_string())
            .map_err(corrupt)?;
        main.put(ROOT, "commune", new.commune.as_str())
            .map_err(corrupt)?;
        main.put(ROOT, "hamlet", new.hamlet.as_str())
            .map_err(corrupt)?;
        let addr = main
            .put_object(ROOT, "address", ObjType::Map)
            .map_err(corrupt)?;
        main.put(&addr, "house_number", new.address.house_number.as_str())
            .map_err(corrupt)?;
        main.put(&addr, "alley", new.address.alley.as_str())
            .map_err(corrupt)?;
        main.put(&addr, "street", new.address.street.as_str())
            .map_err(corrupt)?;
        let residents = main
            .put_object(ROOT, "residents", ObjType::Map)
            .map_err(corrupt)?;
        main.put_object(ROOT, "visits", ObjType::Map)
            .map_err(corrupt)?;
        main.put_object(ROOT, "settlements", ObjType::Map)
            .map_err(corrupt)?;
        for (rid, info) in &new.residents {
            write_resident(&mut main, &mut protected, &residents, *rid, info)?;
        }
        let mut doc = HouseholdDoc {
            id: new.id,
            main,
            protected,
        };
        let changes = doc.commit("create");
        Ok((doc, changes))
    }

    /// An empty replica of a household whose documents will arrive by sync.
    pub fn empty(actor: &ActorId, id: HouseholdId) -> Self {
        HouseholdDoc {
            id,
            main: AutoCommit::new().with_actor(actor.clone()),
            protected: AutoCommit::new().with_actor(actor.clone()),
        }
    }

    /// Loads saved bytes of both parts (either may be empty).
    pub fn load(
        actor: &ActorId,
        id: HouseholdId,
        main: &[u8],
        protected: &[u8],
    ) -> Result<Self, DocError> {
        let load = |b: &[u8]| -> Result<AutoCommit, DocError> {
            let mut d = if b.is_empty() {
                AutoCommit::new()
            } else {
                AutoCommit::load(b).map_err(corrupt)?
            };
            d.set_actor(actor.clone());
            Ok(d)
        };
        let doc = HouseholdDoc {
            id,
            main: load(main)?,
            protected: load(protected)?,
        };
        if let Some(v) = int(&doc.main, &ROOT, "schema")
            && v as u64 > SCHEMA_VERSION
        {
            return Err(DocError::NewerSchema(v as u64));
        }
        Ok(doc)
    }

    /// The household id.
    pub fn id(&self) -> HouseholdId {
        self.id
    }

    /// The automerge document of one part.
    pub fn part(&self, part: DocPart) -> &AutoCommit {
        match part {
            DocPart::Main => &self.main,
            DocPart::Protected => &self.protected,
        }
    }

    /// Mutable access to one part (sync applies changes through it).
    pub fn part_mut(&mut self, part: DocPart) -> &mut AutoCommit {
        match part {
            DocPart::Main => &mut self.main,
            DocPart::Protected => &mut self.protected,
        }
    }

    /// Whether the main document's skeleton has arrived.
    pub fn has_skeleton(&self) -> bool {
        map(&self.main, &ROOT, "visits").is_some() && map(&self.main, &ROOT, "residents").is_some()
    }

    fn commit(&mut self, message: &str) -> LocalChanges {
        let mut out = LocalChanges::default();
        for part in DocPart::ALL {
            let d = self.part_mut(part);
            if d.pending_ops() > 0 {
                d.commit_with(
                    automerge::transaction::CommitOptions::default().with_message(message),
                );
                if let Some(c) = d.get_last_local_change() {
                    out.0.push((part, c));
                }
            }
        }
        out
    }

    /// Records a visit: one new key in `visits`, outcomes with codes in the
    /// main part, sensitive reasons and explanations in the protected part.
    pub fn record_visit(&mut self, visit: &Visit) -> Result<LocalChanges, DocError> {
        if visit.outcomes.is_empty() && visit.newcomers.is_empty() {
            return Err(DocError::EmptyVisit);
        }
        let visits = map(&self.main, &ROOT, "visits").ok_or(DocError::NoSkeleton)?;
        let residents = map(&self.main, &ROOT, "residents").ok_or(DocError::NoSkeleton)?;
        let vkey = visit.id.to_string();
        if self
            .main
            .get(&visits, vkey.as_str())
            .map_err(corrupt)?
            .is_some()
        {
            return Err(DocError::Duplicate);
        }
        for o in &visit.outcomes {
            let known = self
                .main
                .get(&residents, o.resident.to_string().as_str())
                .map_err(corrupt)?
                .is_some()
                || visit.newcomers.iter().any(|(id, _)| *id == o.resident);
            if !known {
                return Err(DocError::UnknownResident);
            }
            if let Some(e) = &o.explanation {
                check_len(e)?;
            }
            let other = matches!(
                o.outcome,
                Outcome::Ineligible {
                    reason: IneligibleReason::Other
                }
            );
            if other && o.explanation.as_deref().is_none_or(|e| e.trim().is_empty()) {
                return Err(DocError::ExplanationRequired);
            }
        }
        let result = self.write_visit(visit, &visits, &residents);
        if let Err(e) = result {
            self.main.rollback();
            self.protected.rollback();
            return Err(e);
        }
        Ok(self.commit("visit"))
    }

    fn write_visit(
        &mut self,
        visit: &Visit,
        visits: &ObjId,
        residents: &ObjId,
    ) -> Result<(), DocError> {
        for (rid, info) in &visit.newcomers {
            write_resident(&mut self.main, &mut self.protected, residents, *rid, info)?;
        }
        let vkey = visit.id.to_string();
        let m = &mut self.main;
        let v = m
            .put_object(visits, vkey.as_str(), ObjType::Map)
            .map_err(corrupt)?;
        m.put(&v, "at", visit.at_ms).map_err(corrupt)?;
        m.put(&v, "user", visit.by.user.as_str()).map_err(corrupt)?;
        m.put(&v, "role", visit.by.role.code()).map_err(corrupt)?;
        m.put(&v, "device", visit.by.device.as_str())
            .map_err(corrupt)?;
        m.put(&v, "place", code_of(&visit.place)).map_err(corrupt)?;
        let outs = m
            .put_object(&v, "outcomes", ObjType::Map)
            .map_err(corrupt)?;
        for o in &visit.outcomes {
            let rkey = o.resident.to_string();
            let om = m
                .put_object(&outs, rkey.as_str(), ObjType::Map)
                .map_err(corrupt)?;
            m.put(&om, "kind", o.outcome.kind_code()).map_err(corrupt)?;
            if let Some(d) = outcome_detail(&o.outcome) {
                m.put(&om, "detail", d).map_err(corrupt)?;
            }
            if let Outcome::Ineligible { reason: r } = o.outcome
                && r.public_form() != r
            {
                self.protected
                    .put(ROOT, format!("o/{vkey}/{rkey}/reason"), code_of(&r))
                    .map_err(corrupt)?;
            }
            if let Some(e) = &o.explanation {
                self.protected
                    .put(ROOT, format!("o/{vkey}/{rkey}/explanation"), e.as_str())
                    .map_err(corrupt)?;
            }
        }
        Ok(())
    }

    /// Records a settlement of a conflict (itself a change that merges).
    pub fn settle(&mut self, st: &Settlement) -> Result<LocalChanges, DocError> {
        let settlements = map(&self.main, &ROOT, "settlements").ok_or(DocError::NoSkeleton)?;
        let residents = map(&self.main, &ROOT, "residents").ok_or(DocError::NoSkeleton)?;
        let skey = st.id.to_string();
        if self
            .main
            .get(&settlements, skey.as_str())
            .map_err(corrupt)?
            .is_some()
        {
            return Err(DocError::Duplicate);
        }
        let rkey = st.resident.to_string();
        if self
            .main
            .get(&residents, rkey.as_str())
            .map_err(corrupt)?
            .is_none()
        {
            return Err(DocError::UnknownResident);
        }
        if let Some(n) = &st.note {
            check_len(n)?;
        }
        let m = &mut self.main;
        let sm = m
            .put_object(&settlements, skey.as_str(), ObjType::Map)
            .map_err(corrupt)?;
        m.put(&sm, "resident", rkey.as_str()).map_err(corrupt)?;
        m.put(&sm, "kind", st.decision.kind_code())
            .map_err(corrupt)?;
        if let Some(d) = outcome_detail(&st.decision) {
            m.put(&sm, "detail", d).map_err(corrupt)?;
        }
        let covers: Vec<String> = st.covers.iter().map(ToString::to_string).collect();
        m.put(&sm, "covers", covers.join(",")).map_err(corrupt)?;
        m.put(&sm, "at", st.at_ms).map_err(corrupt)?;
        m.put(&sm, "user", st.by.user.as_str()).map_err(corrupt)?;
        m.put(&sm, "role", st.by.role.code()).map_err(corrupt)?;
        m.put(&sm, "device", st.by.device.as_str())
            .map_err(corrupt)?;
        if let Outcome::Ineligible { reason: r } = st.decision
            && r.public_form() != r
        {
            self.protected
                .put(ROOT, format!("s/{skey}/reason"), code_of(&r))
                .map_err(corrupt)?;
        }
        if let Some(n) = &st.note {
            self.protected
                .put(ROOT, format!("s/{skey}/note"), n.as_str())
                .map_err(corrupt)?;
        }
        Ok(self.commit("settle"))
    }

    /// Sets one field of the household address (`house_number`, `alley`, `street`).
    pub fn set_address_field(
        &mut self,
        field: AddressField,
        value: &str,
    ) -> Result<LocalChanges, DocError> {
        check_len(value)?;
        let addr = map(&self.main, &ROOT, "address").ok_or(DocError::NoSkeleton)?;
        self.main.put(&addr, field.key(), value).map_err(corrupt)?;
        Ok(self.commit("address"))
    }

    /// Sets a resident's name (a correction, or a settlement of a name conflict).
    pub fn set_full_name(
        &mut self,
        resident: ResidentId,
        name: &str,
    ) -> Result<LocalChanges, DocError> {
        check_len(name)?;
        let r = self.resident_obj(resident)?;
        self.main.put(&r, "full_name", name).map_err(corrupt)?;
        Ok(self.commit("name"))
    }

    /// Sets a resident's registry status (from an import of the police's export).
    pub fn set_registry(
        &mut self,
        resident: ResidentId,
        status: RegistryStatus,
    ) -> Result<LocalChanges, DocError> {
        let r = self.resident_obj(resident)?;
        if s(&self.main, &r, "registry").as_deref() != Some(status.code()) {
            self.main
                .put(&r, "registry", status.code())
                .map_err(corrupt)?;
        }
        Ok(self.commit("registry"))
    }

    /// Adds a resident to the household (a newer export of the police's
    /// list names someone new at a known household).
    pub fn add_resident(
        &mut self,
        resident: ResidentId,
        info: &ResidentInfo,
    ) -> Result<LocalChanges, DocError> {
        check_len(&info.full_name)?;
        let residents = map(&self.main, &ROOT, "residents").ok_or(DocError::NoSkeleton)?;
        write_resident(
            &mut self.main,
            &mut self.protected,
            &residents,
            resident,
            info,
        )?;
        Ok(self.commit("resident"))
    }

    /// Sets a resident's phone number (protected).
    pub fn set_phone(
        &mut self,
        resident: ResidentId,
        phone: &PhoneNumber,
    ) -> Result<LocalChanges, DocError> {
        self.resident_obj(resident)?;
        self.protected
            .put(ROOT, format!("r/{resident}/phone"), phone.as_str())
            .map_err(corrupt)?;
        Ok(self.commit("phone"))
    }

    fn resident_obj(&self, resident: ResidentId) -> Result<ObjId, DocError> {
        let residents = map(&self.main, &ROOT, "residents").ok_or(DocError::NoSkeleton)?;
        map(&self.main, &residents, resident.to_string().as_str()).ok_or(DocError::UnknownResident)
    }

    /// Applies changes received by sync to one part. Changes already
    /// present are ignored; changes whose dependencies are missing wait in
    /// automerge's queue (see [`HouseholdDoc::missing_deps`]).
    pub fn apply_changes(&mut self, part: DocPart, changes: Vec<Change>) -> Result<(), DocError> {
        self.part_mut(part).apply_changes(changes).map_err(corrupt)
    }

    /// Merges a whole saved document into one part.
    pub fn merge_saved(&mut self, part: DocPart, bytes: &[u8]) -> Result<(), DocError> {
        let mut other = AutoCommit::load(bytes).map_err(corrupt)?;
        self.part_mut(part).merge(&mut other).map_err(corrupt)?;
        Ok(())
    }

    /// Dependencies referenced by received changes but not present.
    pub fn missing_deps(&mut self, part: DocPart) -> Vec<ChangeHash> {
        self.part_mut(part).get_missing_deps(&[])
    }

    /// Current heads of one part.
    pub fn heads(&mut self, part: DocPart) -> Vec<ChangeHash> {
        self.part_mut(part).get_heads()
    }

    /// Compact save of one part.
    pub fn save(&mut self, part: DocPart) -> Vec<u8> {
        self.part_mut(part).save()
    }

    /// Save without compression (for compressing a whole batch at once).
    pub fn save_nocompress(&mut self, part: DocPart) -> Vec<u8> {
        self.part_mut(part).save_nocompress()
    }

    /// The household read in one pass (see [`Tree`]).
    fn tree(&self) -> Tree {
        Tree {
            main: hydrate_root(&self.main),
            protected: hydrate_root(&self.protected),
        }
    }

    /// The household as stored.
    pub fn view(&self) -> Result<HouseholdView, DocError> {
        self.tree().view(self.id)
    }

    /// Every visit's outcome records, grouped by resident. Malformed
    /// entries (from a hostile or newer peer) are skipped.
    pub fn outcome_records(&self) -> BTreeMap<ResidentId, Vec<OutcomeRecord>> {
        self.tree().outcome_records()
    }

    /// Settlements, grouped by resident.
    pub fn settlement_records(&self) -> BTreeMap<ResidentId, Vec<SettlementRecord>> {
        self.tree().settlement_records()
    }

    /// The explanation written for one resident at one visit (protected).
    pub fn explanation(&self, visit: VisitId, resident: ResidentId) -> Option<String> {
        s(
            &self.protected,
            &ROOT,
            &format!("o/{visit}/{resident}/explanation"),
        )
    }

    /// Ids of all visits in the document.
    pub fn visit_ids(&self) -> Vec<VisitId> {
        let m = &self.main;
        map(m, &ROOT, "visits")
            .map(|v| m.keys(&v).filter_map(|k| VisitId::parse(&k)).collect())
            .unwrap_or_default()
    }

    /// Every resident's derived status (residents without records included).
    pub fn statuses(&self) -> Result<Vec<(ResidentId, ResidentStatus)>, DocError> {
        let tree = self.tree();
        let view = tree.view(self.id)?;
        Ok(tree.statuses(&view, &tree.outcome_records()))
    }

    /// Everything a projection of the household needs — view, outcome
    /// records, statuses, field conflicts — read in one pass over each part
    /// (the server re-derives a household on every change it receives).
    pub fn projection(&self) -> Result<Projection, DocError> {
        let tree = self.tree();
        let view = tree.view(self.id)?;
        let records = tree.outcome_records();
        let statuses = tree.statuses(&view, &records);
        let field_conflicts = self.field_conflicts_in(&tree);
        Ok(Projection {
            view,
            records,
            statuses,
            field_conflicts,
            protected: tree.protected,
        })
    }

    /// Fields written concurrently with different values, in both parts.
    pub fn field_conflicts(&self) -> Vec<FieldConflict> {
        self.field_conflicts_in(&self.tree())
    }

    /// [`HouseholdDoc::field_conflicts`] where the one-pass read says a key
    /// holds several values (rare): only those keys are read again, with
    /// every value.
    fn field_conflicts_in(&self, tree: &Tree) -> Vec<FieldConflict> {
        let mut out = Vec::new();
        let m = &self.main;
        let mut check =
            |doc: &AutoCommit, part: DocPart, obj: &ObjId, seen: &HMap, prefix: &str| {
                let mut keys: Vec<&String> = seen
                    .iter()
                    .filter(|(_, v)| v.conflict)
                    .map(|(k, _)| k)
                    .collect();
                keys.sort();
                for key in keys {
                    let Ok(all) = doc.get_all(obj, key.as_str()) else {
                        continue;
                    };
                    if all.len() > 1 {
                        let mut values: Vec<String> = all
                            .iter()
                            .map(|(v, _)| {
                                v.as_str()
                                    .map(str::to_owned)
                                    .unwrap_or_else(|| v.to_string())
                            })
                            .collect();
                        values.sort();
                        values.dedup();
                        out.push(FieldConflict {
                            part,
                            path: format!("{prefix}{key}"),
                            values,
                        });
                    }
                }
            };
        check(m, DocPart::Main, &ROOT, &tree.main, "");
        if let Some(seen) = hmap(&tree.main, "address")
            && let Some(a) = map(m, &ROOT, "address")
        {
            check(m, DocPart::Main, &a, seen, "address/");
        }
        if let Some(rs_seen) = hmap(&tree.main, "residents")
            && let Some(rs) = map(m, &ROOT, "residents")
        {
            for key in sorted_keys(rs_seen) {
                let Some(seen) = hmap(rs_seen, key) else {
                    continue;
                };
                if !seen.iter().any(|(_, v)| v.conflict) {
                    continue;
                }
                if let Some(r) = map(m, &rs, key) {
                    check(m, DocPart::Main, &r, seen, &format!("residents/{key}/"));
                }
            }
        }
        check(
            &self.protected,
            DocPart::Protected,
            &ROOT,
            &tree.protected,
            "",
        );
        out
    }
}

/// What [`HouseholdDoc::projection`] derives.
#[derive(Debug)]
pub struct Projection {
    /// The household as stored.
    pub view: HouseholdView,
    /// Outcome records by resident.
    pub records: BTreeMap<ResidentId, Vec<OutcomeRecord>>,
    /// Each resident's status, in the view's order.
    pub statuses: Vec<(ResidentId, ResidentStatus)>,
    /// Fields written concurrently with different values.
    pub field_conflicts: Vec<FieldConflict>,
    protected: HMap,
}

impl Projection {
    /// The explanation written for one resident at one visit (protected).
    pub fn explanation(&self, visit: VisitId, resident: ResidentId) -> Option<String> {
        hs(
            &self.protected,
            &format!("o/{visit}/{resident}/explanation"),
        )
        .map(str::to_owned)
    }
}

type HMap = automerge::hydrate::Map;

/// A household's two documents read in one pass each (automerge's
/// `hydrate`): one scan per object instead of one lookup per key, which on
/// automerge's columnar storage is several times cheaper for the whole
/// household. Keys are visited in sorted order, as automerge's own `keys`.
struct Tree {
    main: HMap,
    protected: HMap,
}

fn hydrate_root(doc: &AutoCommit) -> HMap {
    match doc.hydrate(ROOT, None) {
        Ok(automerge::hydrate::Value::Map(m)) => m,
        _ => HMap::default(),
    }
}

fn hs<'a>(m: &'a HMap, key: &str) -> Option<&'a str> {
    match m.get(key)? {
        automerge::hydrate::Value::Scalar(v) => v.as_str(),
        _ => None,
    }
}

fn hint(m: &HMap, key: &str) -> Option<i64> {
    match m.get(key)? {
        automerge::hydrate::Value::Scalar(automerge::ScalarValue::Uint(u)) => {
            i64::try_from(*u).ok()
        }
        automerge::hydrate::Value::Scalar(v) => v.as_i64(),
        _ => None,
    }
}

fn hmap<'a>(m: &'a HMap, key: &str) -> Option<&'a HMap> {
    match m.get(key)? {
        automerge::hydrate::Value::Map(o) => Some(o),
        _ => None,
    }
}

fn sorted_keys(m: &HMap) -> Vec<&str> {
    let mut keys: Vec<&str> = m.iter().map(|(k, _)| k.as_str()).collect();
    keys.sort_unstable();
    keys
}

fn hrecorder(o: &HMap) -> Option<Recorder> {
    Some(Recorder {
        user: hs(o, "user")?.to_owned(),
        role: Role::from_code(hs(o, "role")?)?,
        device: hs(o, "device").unwrap_or_default().to_owned(),
    })
}

impl Tree {
    fn view(&self, id: HouseholdId) -> Result<HouseholdView, DocError> {
        let m = &self.main;
        let residents_obj = hmap(m, "residents").ok_or(DocError::NoSkeleton)?;
        let addr = hmap(m, "address");
        let a = |k: &str| addr.and_then(|o| hs(o, k)).unwrap_or_default().to_owned();
        let mut residents = Vec::new();
        for key in sorted_keys(residents_obj) {
            let (Some(rid), Some(obj)) = (ResidentId::parse(key), hmap(residents_obj, key)) else {
                continue;
            };
            let p = |f: &str| hs(&self.protected, &format!("r/{key}/{f}"));
            residents.push(ResidentView {
                id: rid,
                full_name: hs(obj, "full_name").unwrap_or_default().to_owned(),
                sex: hs(obj, "sex").and_then(parse_code),
                registry: hs(obj, "registry")
                    .and_then(RegistryStatus::from_code)
                    .unwrap_or_default(),
                newcomer: hs(obj, "newcomer") == Some("yes"),
                protected: ProtectedResidentInfo {
                    personal_id: p("personal_id").and_then(|v| PersonalId::parse(v).ok()),
                    birth_date: p("birth_date").and_then(|v| BirthDate::parse(v).ok()),
                    phone: p("phone").and_then(|v| PhoneNumber::parse(v).ok()),
                },
            });
        }
        Ok(HouseholdView {
            id,
            commune: hs(m, "commune").unwrap_or_default().to_owned(),
            hamlet: hs(m, "hamlet").unwrap_or_default().to_owned(),
            address: Address {
                house_number: a("house_number"),
                alley: a("alley"),
                street: a("street"),
            },
            residents,
        })
    }

    fn outcome_records(&self) -> BTreeMap<ResidentId, Vec<OutcomeRecord>> {
        let mut out: BTreeMap<ResidentId, Vec<OutcomeRecord>> = BTreeMap::new();
        let Some(visits) = hmap(&self.main, "visits") else {
            return out;
        };
        for vkey in sorted_keys(visits) {
            let (Some(vid), Some(v)) = (VisitId::parse(vkey), hmap(visits, vkey)) else {
                continue;
            };
            let Some(by) = hrecorder(v) else { continue };
            let at_ms = hint(v, "at").unwrap_or(0);
            let Some(outs) = hmap(v, "outcomes") else {
                continue;
            };
            for rkey in sorted_keys(outs) {
                let (Some(rid), Some(o)) = (ResidentId::parse(rkey), hmap(outs, rkey)) else {
                    continue;
                };
                let sensitive = hs(&self.protected, &format!("o/{vkey}/{rkey}/reason"));
                let Some(outcome) =
                    hs(o, "kind").and_then(|k| parse_outcome(k, hs(o, "detail"), sensitive))
                else {
                    continue;
                };
                out.entry(rid).or_default().push(OutcomeRecord {
                    visit: vid,
                    at_ms,
                    by: by.clone(),
                    outcome,
                });
            }
        }
        out
    }

    fn settlement_records(&self) -> BTreeMap<ResidentId, Vec<SettlementRecord>> {
        let mut out: BTreeMap<ResidentId, Vec<SettlementRecord>> = BTreeMap::new();
        let Some(sts) = hmap(&self.main, "settlements") else {
            return out;
        };
        for skey in sorted_keys(sts) {
            let (Some(sid), Some(o)) = (SettlementId::parse(skey), hmap(sts, skey)) else {
                continue;
            };
            let Some(rid) = hs(o, "resident").and_then(ResidentId::parse) else {
                continue;
            };
            let Some(by) = hrecorder(o) else { continue };
            let sensitive = hs(&self.protected, &format!("s/{skey}/reason"));
            let Some(decision) =
                hs(o, "kind").and_then(|k| parse_outcome(k, hs(o, "detail"), sensitive))
            else {
                continue;
            };
            let covers = hs(o, "covers")
                .unwrap_or_default()
                .split(',')
                .filter_map(VisitId::parse)
                .collect();
            out.entry(rid).or_default().push(SettlementRecord {
                id: sid,
                at_ms: hint(o, "at").unwrap_or(0),
                by,
                decision,
                covers,
            });
        }
        out
    }

    fn statuses(
        &self,
        view: &HouseholdView,
        records: &BTreeMap<ResidentId, Vec<OutcomeRecord>>,
    ) -> Vec<(ResidentId, ResidentStatus)> {
        let settlements = self.settlement_records();
        view.residents
            .iter()
            .map(|r| {
                let recs = records.get(&r.id).map(Vec::as_slice).unwrap_or(&[]);
                let sts = settlements.get(&r.id).map(Vec::as_slice).unwrap_or(&[]);
                (r.id, status::derive(recs, sts))
            })
            .collect()
    }
}

/// The editable parts of an address.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AddressField {
    /// Số nhà.
    HouseNumber,
    /// Ngõ / ngách / hẻm.
    Alley,
    /// Đường.
    Street,
}

impl AddressField {
    fn key(self) -> &'static str {
        match self {
            AddressField::HouseNumber => "house_number",
            AddressField::Alley => "alley",
            AddressField::Street => "street",
        }
    }
}

fn write_resident(
    main: &mut AutoCommit,
    protected: &mut AutoCommit,
    residents: &ObjId,
    rid: ResidentId,
    info: &ResidentInfo,
) -> Result<(), DocError> {
    check_len(&info.full_name)?;
    let key = rid.to_string();
    let r = main
        .put_object(residents, key.as_str(), ObjType::Map)
        .map_err(corrupt)?;
    main.put(&r, "full_name", info.full_name.as_str())
        .map_err(corrupt)?;
    if let Some(sex) = info.sex {
        main.put(&r, "sex", code_of(&sex)).map_err(corrupt)?;
    }
    main.put(&r, "registry", info.registry.code())
        .map_err(corrupt)?;
    if info.newcomer {
        main.put(&r, "newcomer", "yes").map_err(corrupt)?;
    }
    let p = &info.protected;
    if let Some(id) = &p.personal_id {
        protected
            .put(ROOT, format!("r/{key}/personal_id"), id.as_str())
            .map_err(corrupt)?;
    }
    if let Some(b) = &p.birth_date {
        protected
            .put(ROOT, format!("r/{key}/birth_date"), b.to_iso_string())
            .map_err(corrupt)?;
    }
    if let Some(ph) = &p.phone {
        protected
            .put(ROOT, format!("r/{key}/phone"), ph.as_str())
            .map_err(corrupt)?;
    }
    Ok(())
}
