//! Deriving a resident's current status from the visit history.
//!
//! The status is a pure function of the outcome records and settlements in
//! a household document, so every replica that holds the same changes
//! derives the same status, whatever order the changes arrived in. The rules
//! (also in `docs/SCHEMA.md`):
//!
//! 1. Records are ordered by the phone's clock, then by visit id. Clocks
//!    are often wrong; the order only decides between outcomes that do not
//!    contradict each other (absent, refused, needs support…).
//! 2. A settlement replaces the records it covers with its decision. Of two
//!    settlements for the same resident, the later one wins for the records
//!    both cover.
//! 3. Contradictions are conflicts, never silently resolved:
//!    - activated and a final ineligibility (deceased, moved away, not living
//!      here, old/ill/disabled), in any order;
//!    - activated, then later any ineligibility;
//!    - two different ineligibility reasons.
//! 4. Otherwise, in precedence order: activated (sticky: a later absence
//!    does not undo it) → final ineligibility → application collected
//!    (sticky against a later absence or refusal) → the latest of the
//!    remaining outcomes.

use crate::model::{
    AbsentReason, IneligibleReason, Outcome, Recorder, Role, SettlementId, SupportKind, VisitId,
};
use serde::{Deserialize, Serialize};

/// One resident's outcome from one visit (or a settlement).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutcomeRecord {
    /// The visit it came from.
    pub visit: VisitId,
    /// Phone clock, ms since epoch.
    pub at_ms: i64,
    /// Who recorded it.
    pub by: Recorder,
    /// What was found.
    pub outcome: Outcome,
}

/// A settlement as the derivation sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SettlementRecord {
    /// Its id.
    pub id: SettlementId,
    /// Clock of the settler, ms since epoch.
    pub at_ms: i64,
    /// Who settled.
    pub by: Recorder,
    /// The outcome that stands.
    pub decision: Outcome,
    /// Visits whose records it replaces.
    pub covers: Vec<VisitId>,
}

/// The derived state of a resident.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum State {
    /// No outcome recorded yet.
    NotVisited,
    /// Activated: on the confirmation list.
    Activated,
    /// Level-2 application collected, pending approval.
    ApplicationCollected,
    /// Not present at the last attempt.
    Absent {
        /// Sub-case of the last attempt.
        reason: AbsentReason,
    },
    /// Ineligible: on the ineligible list.
    Ineligible {
        /// The reason, or its restricted stand-in.
        reason: IneligibleReason,
    },
    /// Needs the police's help.
    NeedsSupport {
        /// The problem.
        kind: SupportKind,
    },
    /// Refused.
    Refused,
    /// Contradicting outcomes: waits for a leader.
    Conflict,
}

impl State {
    /// Stable code, used in indexes and exports.
    pub fn code(&self) -> &'static str {
        match self {
            State::NotVisited => "not_visited",
            State::Activated => "activated",
            State::ApplicationCollected => "application_collected",
            State::Absent { .. } => "absent",
            State::Ineligible { .. } => "ineligible",
            State::NeedsSupport { .. } => "needs_support",
            State::Refused => "refused",
            State::Conflict => "conflict",
        }
    }

    /// Vietnamese label.
    pub fn label_vi(&self) -> &'static str {
        match self {
            State::NotVisited => "Chưa đến",
            State::Activated => "Đã kích hoạt",
            State::ApplicationCollected => "Đã thu nhận hồ sơ",
            State::Absent { .. } => "Không có mặt",
            State::Ineligible { .. } => "Không đủ điều kiện",
            State::NeedsSupport { .. } => "Cần hỗ trợ",
            State::Refused => "Từ chối",
            State::Conflict => "Kết quả mâu thuẫn",
        }
    }

    /// The sub-reason code (absent sub-case, ineligibility reason, support
    /// kind), as stored beside the state in list indexes.
    pub fn detail_code(&self) -> Option<String> {
        match self {
            State::Absent { reason } => Some(crate::doc::code_of(reason)),
            State::Ineligible { reason } => Some(crate::doc::code_of(reason)),
            State::NeedsSupport { kind } => Some(crate::doc::code_of(kind)),
            _ => None,
        }
    }

    /// The state from its code and sub-reason code, as stored in list
    /// indexes ([`State::code`], [`State::detail_code`]); `None` for an
    /// unknown code or a missing or unknown sub-reason.
    pub fn from_codes(code: &str, detail: Option<&str>) -> Option<State> {
        fn d<T: serde::de::DeserializeOwned>(detail: Option<&str>) -> Option<T> {
            detail.and_then(crate::doc::parse_code)
        }
        Some(match code {
            "not_visited" => State::NotVisited,
            "activated" => State::Activated,
            "application_collected" => State::ApplicationCollected,
            "absent" => State::Absent { reason: d(detail)? },
            "ineligible" => State::Ineligible { reason: d(detail)? },
            "needs_support" => State::NeedsSupport { kind: d(detail)? },
            "refused" => State::Refused,
            "conflict" => State::Conflict,
            _ => return None,
        })
    }

    fn from_outcome(o: Outcome) -> State {
        match o {
            Outcome::Activated { .. } => State::Activated,
            Outcome::ApplicationCollected => State::ApplicationCollected,
            Outcome::Absent { reason } => State::Absent { reason },
            Outcome::Ineligible { reason } => State::Ineligible { reason },
            Outcome::NeedsSupport { kind } => State::NeedsSupport { kind },
            Outcome::Refused => State::Refused,
        }
    }
}

/// Why outcomes contradict each other.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConflictKind {
    /// Activated, and also deceased / moved away / not living here / unable.
    ActivatedVsFinalIneligible,
    /// Activated, then later found ineligible.
    IneligibleAfterActivated,
    /// Two different ineligibility reasons.
    DifferentIneligibleReasons,
}

impl ConflictKind {
    /// Vietnamese description for the review queue.
    pub fn label_vi(self) -> &'static str {
        match self {
            ConflictKind::ActivatedVsFinalIneligible => {
                "Vừa ghi đã kích hoạt, vừa ghi đã chết/chuyển đi/không đủ điều kiện"
            }
            ConflictKind::IneligibleAfterActivated => {
                "Đã ghi kích hoạt, lần sau lại ghi không đủ điều kiện"
            }
            ConflictKind::DifferentIneligibleReasons => "Hai lý do không đủ điều kiện khác nhau",
        }
    }
}

/// A contradiction for a leader to settle: the records involved, side by side.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutcomeConflict {
    /// What contradicts what.
    pub kinds: Vec<ConflictKind>,
    /// The contradicting records, in record order (settlements appear with
    /// the settlement's own id as a visit id).
    pub records: Vec<OutcomeRecord>,
}

/// A resident's derived status.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResidentStatus {
    /// Where the resident stands.
    pub state: State,
    /// Number of visits that recorded an outcome for this resident.
    pub attempts: u32,
    /// Phone time of the latest of those.
    pub last_visit_at_ms: Option<i64>,
    /// Phone times of the attempts that found the resident absent (to plan
    /// the next attempt at another time of day or day of week).
    pub absent_at_ms: Vec<i64>,
    /// The outcome that decided `state` came from a volunteer and needs an
    /// officer's confirmation (deceased, moved away, unable…).
    pub awaiting_confirmation: bool,
    /// Set when `state` is [`State::Conflict`].
    pub conflict: Option<OutcomeConflict>,
}

impl ResidentStatus {
    /// The status of someone nobody has visited.
    pub fn not_visited() -> Self {
        ResidentStatus {
            state: State::NotVisited,
            attempts: 0,
            last_visit_at_ms: None,
            absent_at_ms: Vec::new(),
            awaiting_confirmation: false,
            conflict: None,
        }
    }
}

/// Derives a status from one resident's records and settlements, in any order.
pub fn derive(records: &[OutcomeRecord], settlements: &[SettlementRecord]) -> ResidentStatus {
    let mut status = ResidentStatus::not_visited();
    if records.is_empty() && settlements.is_empty() {
        return status;
    }

    let mut visits: Vec<&OutcomeRecord> = records.iter().collect();
    visits.sort_by_key(|a| (a.at_ms, a.visit));
    status.attempts = visits.len() as u32;
    status.last_visit_at_ms = visits.iter().map(|r| r.at_ms).max();
    status.absent_at_ms = visits
        .iter()
        .filter(|r| matches!(r.outcome, Outcome::Absent { .. }))
        .map(|r| r.at_ms)
        .collect();

    // Rule 2: settlements replace what they cover; the later settlement wins.
    let mut settles: Vec<&SettlementRecord> = settlements.iter().collect();
    settles.sort_by_key(|a| (a.at_ms, a.id));
    let mut effective: Vec<OutcomeRecord> = Vec::with_capacity(visits.len() + settles.len());
    let covered_by_later =
        |visit: VisitId, from: usize| settles[from..].iter().any(|s| s.covers.contains(&visit));
    for r in &visits {
        if !covered_by_later(r.visit, 0) {
            effective.push((*r).clone());
        }
    }
    for (i, s) in settles.iter().enumerate() {
        // A settlement fully covered by a later one (same records) is superseded.
        let superseded =
            !s.covers.is_empty() && s.covers.iter().all(|v| covered_by_later(*v, i + 1));
        if !superseded {
            effective.push(OutcomeRecord {
                visit: VisitId(s.id.0),
                at_ms: s.at_ms,
                by: s.by.clone(),
                outcome: s.decision,
            });
        }
    }
    effective.sort_by_key(|a| (a.at_ms, a.visit));

    // Rule 3: contradictions.
    let activated: Vec<&OutcomeRecord> = effective
        .iter()
        .filter(|r| matches!(r.outcome, Outcome::Activated { .. }))
        .collect();
    let ineligible: Vec<&OutcomeRecord> = effective
        .iter()
        .filter(|r| matches!(r.outcome, Outcome::Ineligible { .. }))
        .collect();
    let mut kinds = Vec::new();
    let mut involved: Vec<&OutcomeRecord> = Vec::new();
    if !activated.is_empty() {
        let finals: Vec<_> = ineligible
            .iter()
            .filter(|r| r.outcome.is_final_ineligible())
            .copied()
            .collect();
        if !finals.is_empty() {
            kinds.push(ConflictKind::ActivatedVsFinalIneligible);
            involved.extend(activated.iter().copied());
            involved.extend(finals);
        }
        let first_activation = activated[0];
        let later: Vec<_> = ineligible
            .iter()
            .filter(|r| (r.at_ms, r.visit) > (first_activation.at_ms, first_activation.visit))
            .filter(|r| !r.outcome.is_final_ineligible())
            .copied()
            .collect();
        if !later.is_empty() {
            kinds.push(ConflictKind::IneligibleAfterActivated);
            involved.extend(activated.iter().copied());
            involved.extend(later);
        }
    }
    let reason_of = |r: &OutcomeRecord| match r.outcome {
        Outcome::Ineligible { reason } => Some(reason),
        _ => None,
    };
    if let Some(first) = ineligible.first() {
        let first_reason = reason_of(first);
        if ineligible
            .iter()
            .any(|r| !same_reason(reason_of(r), first_reason))
        {
            kinds.push(ConflictKind::DifferentIneligibleReasons);
            involved.extend(ineligible.iter().copied());
        }
    }
    if !kinds.is_empty() {
        involved.sort_by_key(|a| (a.at_ms, a.visit));
        involved.dedup_by(|a, b| a.visit == b.visit);
        status.state = State::Conflict;
        status.conflict = Some(OutcomeConflict {
            kinds,
            records: involved.into_iter().cloned().collect(),
        });
        return status;
    }

    // Rule 4: precedence.
    let deciding: Option<&OutcomeRecord> = activated
        .first()
        .copied()
        .or_else(|| {
            ineligible
                .iter()
                .rev()
                .find(|r| r.outcome.is_final_ineligible())
                .copied()
        })
        .or_else(|| {
            let latest = effective.last()?;
            let collected = effective
                .iter()
                .rev()
                .find(|r| r.outcome == Outcome::ApplicationCollected);
            match (latest.outcome, collected) {
                (Outcome::Absent { .. } | Outcome::Refused, Some(c)) => Some(c),
                _ => Some(latest),
            }
        });
    if let Some(d) = deciding {
        status.state = State::from_outcome(d.outcome);
        status.awaiting_confirmation = d.outcome.needs_officer_confirmation()
            && d.by.role == Role::Volunteer
            && !effective.iter().any(|r| {
                r.outcome == d.outcome && matches!(r.by.role, Role::Officer | Role::Leader)
            });
    }
    status
}

/// Two reasons agree when equal, or when one is the restricted stand-in of
/// the other (a volunteer's phone holds its own sensitive reasons but only
/// the stand-ins of others').
fn same_reason(a: Option<IneligibleReason>, b: Option<IneligibleReason>) -> bool {
    match (a, b) {
        (Some(x), Some(y)) => {
            let stand_in = |r: IneligibleReason| r.public_form() == r && r.is_sensitive();
            x == y || ((stand_in(x) || stand_in(y)) && x.public_form() == y.public_form())
        }
        (x, y) => x == y,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ActivationHow;

    fn rec(at: i64, role: Role, outcome: Outcome) -> OutcomeRecord {
        OutcomeRecord {
            visit: VisitId::new(),
            at_ms: at,
            by: Recorder {
                user: format!("{}-1", role.code()),
                role,
                device: "d".into(),
            },
            outcome,
        }
    }
    const ACT: Outcome = Outcome::Activated {
        how: ActivationHow::OnTheSpot,
    };
    const ABSENT: Outcome = Outcome::Absent {
        reason: AbsentReason::NotHomeNow,
    };
    fn inel(r: IneligibleReason) -> Outcome {
        Outcome::Ineligible { reason: r }
    }

    #[test]
    fn later_activation_settles_earlier_absence() {
        let rs = [rec(1, Role::Volunteer, ABSENT), rec(2, Role::Officer, ACT)];
        let s = derive(&rs, &[]);
        assert_eq!(s.state, State::Activated);
        assert_eq!(s.attempts, 2);
        assert_eq!(s.absent_at_ms, vec![1]);
    }

    #[test]
    fn activation_is_sticky_against_later_absence() {
        let rs = [rec(1, Role::Officer, ACT), rec(2, Role::Volunteer, ABSENT)];
        assert_eq!(derive(&rs, &[]).state, State::Activated);
    }

    #[test]
    fn deceased_against_activated_is_a_conflict_in_either_order() {
        for order in [[0, 1], [1, 0]] {
            let outcomes = [ACT, inel(IneligibleReason::Deceased)];
            let rs: Vec<_> = order
                .iter()
                .enumerate()
                .map(|(t, i)| rec(t as i64, Role::Officer, outcomes[*i]))
                .collect();
            let s = derive(&rs, &[]);
            assert_eq!(s.state, State::Conflict);
            let c = s.conflict.expect("conflict");
            assert!(c.kinds.contains(&ConflictKind::ActivatedVsFinalIneligible));
            assert_eq!(c.records.len(), 2);
        }
    }

    #[test]
    fn two_ineligibility_reasons_conflict_and_a_settlement_resolves() {
        let a = rec(1, Role::Volunteer, inel(IneligibleReason::NoSmartphone));
        let b = rec(2, Role::Officer, inel(IneligibleReason::NoChipIdCard));
        let s = derive(&[a.clone(), b.clone()], &[]);
        assert_eq!(s.state, State::Conflict);
        let settlement = SettlementRecord {
            id: SettlementId::new(),
            at_ms: 3,
            by: b.by.clone(),
            decision: inel(IneligibleReason::NoChipIdCard),
            covers: vec![a.visit, b.visit],
        };
        let s = derive(&[a, b], &[settlement]);
        assert_eq!(
            s.state,
            State::Ineligible {
                reason: IneligibleReason::NoChipIdCard
            }
        );
        assert_eq!(s.attempts, 2);
    }

    #[test]
    fn temporary_ineligibility_then_activation_is_no_conflict() {
        let rs = [
            rec(1, Role::Officer, inel(IneligibleReason::NoSmartphone)),
            rec(2, Role::Officer, ACT),
        ];
        assert_eq!(derive(&rs, &[]).state, State::Activated);
    }

    #[test]
    fn activation_then_temporary_ineligibility_is_a_conflict() {
        let rs = [
            rec(1, Role::Officer, ACT),
            rec(2, Role::Volunteer, inel(IneligibleReason::NoSmartphone)),
        ];
        let s = derive(&rs, &[]);
        assert_eq!(s.state, State::Conflict);
        assert_eq!(
            s.conflict.map(|c| c.kinds),
            Some(vec![ConflictKind::IneligibleAfterActivated])
        );
    }

    #[test]
    fn collected_application_is_sticky_against_absence() {
        let rs = [
            rec(1, Role::Officer, Outcome::ApplicationCollected),
            rec(2, Role::Volunteer, ABSENT),
        ];
        assert_eq!(derive(&rs, &[]).state, State::ApplicationCollected);
        let rs = [
            rec(1, Role::Officer, Outcome::ApplicationCollected),
            rec(
                2,
                Role::Volunteer,
                Outcome::NeedsSupport {
                    kind: SupportKind::LockedAccount,
                },
            ),
        ];
        assert!(matches!(derive(&rs, &[]).state, State::NeedsSupport { .. }));
    }

    #[test]
    fn volunteer_final_outcome_awaits_officer() {
        let v = rec(1, Role::Volunteer, inel(IneligibleReason::MovedAway));
        let s = derive(std::slice::from_ref(&v), &[]);
        assert!(s.awaiting_confirmation);
        let o = rec(2, Role::Officer, inel(IneligibleReason::MovedAway));
        let s = derive(&[v, o], &[]);
        assert!(!s.awaiting_confirmation);
        assert_eq!(
            s.state,
            State::Ineligible {
                reason: IneligibleReason::MovedAway
            }
        );
    }

    #[test]
    fn derivation_ignores_input_order() {
        let rs = vec![
            rec(5, Role::Volunteer, ABSENT),
            rec(3, Role::Officer, Outcome::Refused),
            rec(9, Role::Volunteer, ABSENT),
        ];
        let mut rev = rs.clone();
        rev.reverse();
        assert_eq!(derive(&rs, &[]), derive(&rev, &[]));
    }

    #[test]
    fn states_round_trip_through_their_codes() {
        let states = [
            State::NotVisited,
            State::Activated,
            State::ApplicationCollected,
            State::Absent {
                reason: AbsentReason::WorkingOrStudyingElsewhere,
            },
            State::Ineligible {
                reason: IneligibleReason::RestrictedFinal,
            },
            State::Ineligible {
                reason: IneligibleReason::NoSmartphone,
            },
            State::NeedsSupport {
                kind: SupportKind::LockedAccount,
            },
            State::Refused,
            State::Conflict,
        ];
        for s in states {
            let detail = s.detail_code();
            assert_eq!(State::from_codes(s.code(), detail.as_deref()), Some(s));
        }
        assert_eq!(State::from_codes("absent", None), None);
        assert_eq!(State::from_codes("absent", Some("nonsense")), None);
        assert_eq!(State::from_codes("nonsense", None), None);
    }
}
