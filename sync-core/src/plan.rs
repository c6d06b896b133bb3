//! Target planning, shared by the server (target lists, quotas, printed
//! lists) and the phone (today's targets offline): who to reach next, when
//! to come back to someone who was out, and how many a day.
//!
//! # Priority (documented in docs/ARCHITECTURE.md, "Target lists")
//!
//! 1. [`Priority::Approved`]: the registry shows an application approved but
//!    not activated — quickest to finish (one visit, a few minutes).
//! 2. [`Priority::FollowUp`]: an application collected or pending approval,
//!    or a problem the police must help with (needs support).
//! 3. [`Priority::NoApplication`]: nothing yet (not visited, no account or
//!    level 1).
//! 4. [`Priority::ComeBack`]: out at the last attempt; comes back at a
//!    time of day or day of week not yet tried ([`come_back_slot`]).
//! 5. [`Priority::Recheck`]: a temporary ineligibility reason (no
//!    smartphone, no chip card, phone not in own name…) or a refusal, once
//!    [`Terms::recheck_after_days`] have passed since it was recorded.
//!
//! Nobody else is a target: activated (in the field or in the registry),
//! final ineligibility (deceased, moved away, not living here, old, ill or
//! disabled), under the campaign's minimum age, a temporary reason or
//! refusal still inside its waiting time, and conflicts (they wait for a
//! leader in the review queue).
//!
//! All times are Vietnam time (UTC+7, no daylight saving).

use crate::model::{AbsentReason, IneligibleReason, RegistryStatus};
use crate::status::State;
use serde::{Deserialize, Serialize};

/// Milliseconds in a day.
pub const DAY_MS: i64 = 86_400_000;
/// Vietnam's offset from UTC in milliseconds.
pub const VN_OFFSET_MS: i64 = 7 * 3_600_000;

/// Why someone is on today's list, best first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Priority {
    /// Approved, not activated: finish it.
    Approved,
    /// Application to follow up, or support needed.
    FollowUp,
    /// No application yet.
    NoApplication,
    /// Out last time: come back at another time.
    ComeBack,
    /// Temporary reason or refusal: check again.
    Recheck,
}

impl Priority {
    /// Every priority, best first.
    pub const ALL: [Priority; 5] = [
        Priority::Approved,
        Priority::FollowUp,
        Priority::NoApplication,
        Priority::ComeBack,
        Priority::Recheck,
    ];

    /// Stable code.
    pub fn code(self) -> &'static str {
        match self {
            Priority::Approved => "approved",
            Priority::FollowUp => "follow_up",
            Priority::NoApplication => "no_application",
            Priority::ComeBack => "come_back",
            Priority::Recheck => "recheck",
        }
    }

    /// Vietnamese label, as printed on a target list.
    pub fn label_vi(self) -> &'static str {
        match self {
            Priority::Approved => "Đã duyệt, chưa kích hoạt",
            Priority::FollowUp => "Theo dõi hồ sơ / cần hỗ trợ",
            Priority::NoApplication => "Chưa có hồ sơ",
            Priority::ComeBack => "Quay lại (lần trước vắng)",
            Priority::Recheck => "Kiểm tra lại",
        }
    }
}

/// Part of the day.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DayPart {
    /// Before 11:00.
    Morning,
    /// 11:00–13:59.
    Midday,
    /// 14:00–16:59.
    Afternoon,
    /// From 17:00.
    Evening,
}

/// Working day or weekend.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DayKind {
    /// Monday to Friday.
    Weekday,
    /// Saturday or Sunday.
    Weekend,
}

/// A time to find someone at home.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Slot {
    /// Weekday or weekend.
    pub day: DayKind,
    /// Part of the day.
    pub part: DayPart,
}

impl Slot {
    /// The order in which untried slots are suggested: evenings and
    /// weekends first, because people who are out at work are home then.
    pub const PREFERENCE: [Slot; 8] = [
        Slot::new(DayKind::Weekday, DayPart::Evening),
        Slot::new(DayKind::Weekend, DayPart::Morning),
        Slot::new(DayKind::Weekend, DayPart::Afternoon),
        Slot::new(DayKind::Weekend, DayPart::Evening),
        Slot::new(DayKind::Weekday, DayPart::Morning),
        Slot::new(DayKind::Weekday, DayPart::Afternoon),
        Slot::new(DayKind::Weekend, DayPart::Midday),
        Slot::new(DayKind::Weekday, DayPart::Midday),
    ];

    /// A slot.
    pub const fn new(day: DayKind, part: DayPart) -> Slot {
        Slot { day, part }
    }

    /// The slot a moment (Unix milliseconds) falls in, Vietnam time.
    pub fn of_ms(ms: i64) -> Slot {
        let local = ms.saturating_add(VN_OFFSET_MS);
        let day = local.div_euclid(DAY_MS);
        let hour = local.rem_euclid(DAY_MS) / 3_600_000;
        // 1970-01-01 was a Thursday: day 0 → weekday index 3 (Mon = 0).
        let weekday = (day + 3).rem_euclid(7);
        let kind = if weekday >= 5 {
            DayKind::Weekend
        } else {
            DayKind::Weekday
        };
        let part = match hour {
            0..=10 => DayPart::Morning,
            11..=13 => DayPart::Midday,
            14..=16 => DayPart::Afternoon,
            _ => DayPart::Evening,
        };
        Slot::new(kind, part)
    }

    /// Stable code: `weekday_evening`, `weekend_morning`, …
    pub fn code(self) -> String {
        format!(
            "{}_{}",
            crate::doc::code_of(&self.day),
            crate::doc::code_of(&self.part)
        )
    }

    /// Vietnamese wording: "Tối ngày thường", "Sáng cuối tuần", …
    pub fn label_vi(self) -> String {
        let part = match self.part {
            DayPart::Morning => "Sáng",
            DayPart::Midday => "Trưa",
            DayPart::Afternoon => "Chiều",
            DayPart::Evening => "Tối",
        };
        let day = match self.day {
            DayKind::Weekday => "ngày thường",
            DayKind::Weekend => "cuối tuần",
        };
        format!("{part} {day}")
    }
}

/// When to come back to someone found out at `absent_at_ms` (the phone
/// times of the failed attempts): the first slot of [`Slot::PREFERENCE`]
/// not yet tried; if every slot was tried, the one tried least often (the
/// earliest in preference order among equals).
pub fn come_back_slot(absent_at_ms: &[i64]) -> Slot {
    let tried: Vec<Slot> = absent_at_ms.iter().map(|&ms| Slot::of_ms(ms)).collect();
    Slot::PREFERENCE
        .iter()
        .copied()
        .min_by_key(|s| tried.iter().filter(|t| *t == s).count())
        .unwrap_or(Slot::PREFERENCE[0])
}

/// A campaign's planning terms, as the phone receives them with its sync.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Terms {
    /// Campaign id.
    pub campaign: String,
    /// Campaign name ("Cao điểm 50 ngày, đêm").
    pub name: String,
    /// First day (Vietnam date, days since 1970-01-01).
    pub start_day: i32,
    /// Last day, inclusive.
    pub end_day: i32,
    /// Minimum age on the first day (14 in 2023–2025, 6 from 2026).
    pub min_age: u32,
    /// At most this many residents a day per officer.
    pub daily_cap: u32,
    /// Days before a temporary reason or a refusal comes back.
    pub recheck_after_days: u32,
}

impl Terms {
    /// Days left in the campaign counting `today` (at least 1, so the last
    /// day and days after the end still divide the remaining work).
    pub fn days_left(&self, today: i32) -> u32 {
        let left = i64::from(self.end_day) - i64::from(today.max(self.start_day)) + 1;
        u32::try_from(left.max(1)).unwrap_or(u32::MAX)
    }

    /// Today's quota for `remaining` open targets.
    pub fn quota(&self, remaining: u32, today: i32) -> u32 {
        daily_quota(remaining, self.days_left(today), self.daily_cap)
    }

    /// Whether someone born on `birth` is old enough: at least
    /// [`Terms::min_age`] on the campaign's first day ([`Facts::of_age`]).
    /// An unknown birth date (a volunteer's phone, a missing record) is
    /// `None`, counted in; a partial one is read as the earliest possible
    /// day ([`crate::ids::BirthDate::age_on`]), so nobody is wrongly left out.
    pub fn of_age(&self, birth: Option<&crate::ids::BirthDate>) -> Option<bool> {
        let (y, m, d) = civil_date(self.start_day);
        birth.map(|b| b.age_on(y, m, d) >= self.min_age)
    }
}

/// The daily quota: the remaining workload spread evenly over the days
/// left (rounded up), at most `cap` (0 = no cap).
pub fn daily_quota(remaining: u32, days_left: u32, cap: u32) -> u32 {
    let even = remaining.div_ceil(days_left.max(1));
    if cap == 0 { even } else { even.min(cap) }
}

/// The Vietnam calendar day of a moment (days since 1970-01-01).
pub fn vn_day(ms: i64) -> i32 {
    i32::try_from(ms.saturating_add(VN_OFFSET_MS).div_euclid(DAY_MS)).unwrap_or(i32::MAX)
}

/// Days since 1970-01-01 of a civil date (proleptic Gregorian).
pub fn day_number(year: i32, month: u32, day: u32) -> i32 {
    // Howard Hinnant's days_from_civil.
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = month as i32;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + day as i32 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The civil date of a day number.
pub fn civil_date(days: i32) -> (i32, u32, u32) {
    // In i64: any i32 day (from a hostile or broken peer) is a date, no overflow.
    let z = i64::from(days) + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + if m <= 2 { 1 } else { 0 };
    (i32::try_from(y).unwrap_or(i32::MAX), m, d)
}

/// `2026-11-22` from a day number.
pub fn iso_date(days: i32) -> String {
    let (y, m, d) = civil_date(days);
    format!("{y:04}-{m:02}-{d:02}")
}

/// A day number from `2026-11-22` (also `22/11/2026`, as people write it).
pub fn parse_date(s: &str) -> Option<i32> {
    let s = s.trim();
    let parts: Vec<&str> = s.split(['-', '/', '.']).collect();
    if parts.len() != 3 {
        return None;
    }
    let n: Vec<i64> = parts
        .iter()
        .map(|p| p.trim().parse::<i64>().ok())
        .collect::<Option<_>>()?;
    let (y, m, d) = if parts[0].len() == 4 {
        (n[0], n[1], n[2])
    } else {
        (n[2], n[1], n[0])
    };
    if !(1900..=2200).contains(&y) || !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return None;
    }
    let days = day_number(y as i32, m as u32, d as u32);
    // Reject 31/02 and the like: the round trip must give the same date.
    (civil_date(days) == (y as i32, m as u32, d as u32)).then_some(days)
}

/// What planning needs to know about one resident.
#[derive(Clone, Copy, Debug)]
pub struct Facts<'a> {
    /// Registry status from the police's latest export.
    pub registry: RegistryStatus,
    /// Derived state.
    pub state: &'a State,
    /// Phone time of the outcome that decided the state.
    pub decided_at_ms: Option<i64>,
    /// Old enough for the campaign (None: birth date unknown, counted in).
    pub of_age: Option<bool>,
}

/// Whether and why a resident is a target on `now_ms`.
pub fn priority(f: &Facts<'_>, terms: &Terms, now_ms: i64) -> Option<Priority> {
    if f.registry == RegistryStatus::Activated || f.of_age == Some(false) {
        return None;
    }
    let waited = |days: u32| {
        f.decided_at_ms
            .is_none_or(|at| now_ms.saturating_sub(at) >= i64::from(days) * DAY_MS)
    };
    let by_registry = match f.registry {
        RegistryStatus::ApprovedNotActivated => Priority::Approved,
        RegistryStatus::Collected | RegistryStatus::PendingApproval => Priority::FollowUp,
        _ => Priority::NoApplication,
    };
    match f.state {
        State::Activated | State::Conflict => None,
        State::Ineligible { reason } if reason.is_final() => None,
        State::Ineligible { reason } => (waited(terms.recheck_after_days)
            && *reason != IneligibleReason::UnderAge)
            .then_some(Priority::Recheck),
        State::Refused => waited(terms.recheck_after_days).then_some(Priority::Recheck),
        State::Absent { .. } => Some(Priority::ComeBack),
        State::ApplicationCollected | State::NeedsSupport { .. } => {
            Some(by_registry.min(Priority::FollowUp))
        }
        State::NotVisited => Some(by_registry),
    }
}

/// Whether someone who was out is away for long (working or studying
/// elsewhere): they are still listed, after those out for the day.
pub fn away_for_long(state: &State) -> bool {
    matches!(
        state,
        State::Absent {
            reason: AbsentReason::WorkingOrStudyingElsewhere | AbsentReason::AwayForAWhile
        }
    )
}

/// A candidate for today's list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Candidate<K> {
    /// Caller's key of the resident.
    pub key: K,
    /// Household (residents of one household are taken together).
    pub household: String,
    /// Walking-order key of the household ([`crate::store::walk_key`]).
    pub walk_key: Vec<u8>,
    /// Why they are a target.
    pub priority: Priority,
    /// Away for long (sorted after others of the same priority).
    pub away: bool,
}

/// Picks today's targets: households ranked by their best resident's
/// priority (then walking order), taken whole until `quota` residents are
/// reached; the result is in walking order, residents of a household
/// together, best priority first inside a household. Returns the indices
/// into `candidates`.
pub fn pick<K>(candidates: &[Candidate<K>], quota: u32) -> Vec<usize> {
    use std::collections::BTreeMap;
    let mut by_household: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (i, c) in candidates.iter().enumerate() {
        by_household
            .entry(c.household.as_str())
            .or_default()
            .push(i);
    }
    let rank = |i: usize| (candidates[i].priority, candidates[i].away);
    let mut households: Vec<(&str, Vec<usize>)> = by_household.into_iter().collect();
    for (_, members) in &mut households {
        members.sort_by_key(|&i| rank(i));
    }
    households.sort_by(|a, b| {
        rank(a.1[0])
            .cmp(&rank(b.1[0]))
            .then_with(|| {
                candidates[a.1[0]]
                    .walk_key
                    .cmp(&candidates[b.1[0]].walk_key)
            })
            .then_with(|| a.0.cmp(b.0))
    });
    let mut chosen = Vec::new();
    let mut taken = 0u32;
    for (_, members) in households {
        if taken >= quota {
            break;
        }
        taken += members.len() as u32;
        chosen.push(members);
    }
    chosen.sort_by(|a, b| {
        candidates[a[0]]
            .walk_key
            .cmp(&candidates[b[0]].walk_key)
            .then_with(|| candidates[a[0]].household.cmp(&candidates[b[0]].household))
    });
    chosen.into_iter().flatten().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn terms() -> Terms {
        Terms {
            campaign: "c".into(),
            name: "Cao điểm".into(),
            start_day: day_number(2026, 9, 10),
            end_day: day_number(2026, 10, 31),
            min_age: 14,
            daily_cap: 40,
            recheck_after_days: 14,
        }
    }

    #[test]
    fn dates_round_trip() {
        for d in -800_000..800_000 {
            let (y, m, dd) = civil_date(d);
            assert_eq!(day_number(y, m, dd), d);
        }
        assert_eq!(parse_date("2026-11-22"), Some(day_number(2026, 11, 22)));
        assert_eq!(parse_date("22/11/2026"), Some(day_number(2026, 11, 22)));
        assert_eq!(parse_date("31/02/2026"), None);
        assert_eq!(iso_date(day_number(2024, 2, 29)), "2024-02-29");
    }

    #[test]
    fn slots_follow_vietnam_time() {
        // 17:00 in Hà Nội on Sunday 2026-11-22 is 10:00 UTC.
        let vn = |y, m, d, hour: i64| {
            day_number(y, m, d) as i64 * DAY_MS + hour * 3_600_000 - VN_OFFSET_MS
        };
        assert_eq!(
            Slot::of_ms(vn(2026, 11, 22, 17)),
            Slot::new(DayKind::Weekend, DayPart::Evening)
        );
        assert_eq!(
            Slot::of_ms(vn(2026, 11, 23, 6)),
            Slot::new(DayKind::Weekday, DayPart::Morning)
        );
        assert_eq!(
            Slot::of_ms(vn(2026, 11, 21, 12)),
            Slot::new(DayKind::Weekend, DayPart::Midday)
        );
        assert_eq!(
            Slot::of_ms(vn(2026, 11, 20, 23)),
            Slot::new(DayKind::Weekday, DayPart::Evening)
        );
        assert_eq!(vn_day(vn(2026, 11, 22, 0)), day_number(2026, 11, 22));
        assert_eq!(vn_day(vn(2026, 11, 22, 23)), day_number(2026, 11, 22));
    }

    #[test]
    fn come_back_at_an_untried_time() {
        assert_eq!(come_back_slot(&[]), Slot::PREFERENCE[0]);
        // Out on a weekday evening: next suggestion is a weekend morning.
        let weekday_evening =
            day_number(2026, 11, 23) as i64 * DAY_MS + 19 * 3_600_000 - VN_OFFSET_MS;
        assert_eq!(
            Slot::of_ms(weekday_evening),
            Slot::new(DayKind::Weekday, DayPart::Evening)
        );
        assert_eq!(come_back_slot(&[weekday_evening]), Slot::PREFERENCE[1]);
    }

    #[test]
    fn priorities() {
        let t = terms();
        let now = day_number(2026, 10, 1) as i64 * DAY_MS;
        let f = |registry, state: &State| {
            priority(
                &Facts {
                    registry,
                    state,
                    decided_at_ms: Some(now - DAY_MS),
                    of_age: Some(true),
                },
                &t,
                now,
            )
        };
        use RegistryStatus as R;
        assert_eq!(
            f(R::ApprovedNotActivated, &State::NotVisited),
            Some(Priority::Approved)
        );
        assert_eq!(
            f(R::PendingApproval, &State::NotVisited),
            Some(Priority::FollowUp)
        );
        assert_eq!(
            f(R::NoAccount, &State::NotVisited),
            Some(Priority::NoApplication)
        );
        assert_eq!(f(R::Activated, &State::NotVisited), None);
        assert_eq!(f(R::NoAccount, &State::Activated), None);
        assert_eq!(f(R::NoAccount, &State::Conflict), None);
        let deceased = State::Ineligible {
            reason: IneligibleReason::Deceased,
        };
        assert_eq!(f(R::NoAccount, &deceased), None);
        let no_phone = State::Ineligible {
            reason: IneligibleReason::NoSmartphone,
        };
        assert_eq!(f(R::NoAccount, &no_phone), None, "inside its waiting time");
        let later = priority(
            &Facts {
                registry: R::NoAccount,
                state: &no_phone,
                decided_at_ms: Some(now - 15 * DAY_MS),
                of_age: None,
            },
            &t,
            now,
        );
        assert_eq!(later, Some(Priority::Recheck));
        let out = State::Absent {
            reason: AbsentReason::NotHomeNow,
        };
        assert_eq!(f(R::NoAccount, &out), Some(Priority::ComeBack));
        let young = Facts {
            registry: R::NoAccount,
            state: &State::NotVisited,
            decided_at_ms: None,
            of_age: Some(false),
        };
        assert_eq!(priority(&young, &t, now), None);
    }

    #[test]
    fn absurd_clocks_never_panic() {
        // Phone clocks in documents come from any peer; the caller's too.
        for ms in [i64::MIN, i64::MIN + 1, -1, 0, i64::MAX - 1, i64::MAX] {
            let _ = (vn_day(ms), Slot::of_ms(ms));
        }
        let _ = come_back_slot(&[i64::MIN, i64::MAX]);
        for d in [i32::MIN, i32::MAX] {
            let _ = (civil_date(d), iso_date(d));
        }
        let mut t = terms();
        (t.start_day, t.end_day) = (i32::MIN, i32::MAX);
        let _ = (t.days_left(i32::MAX), t.quota(u32::MAX, i32::MIN));
        let _ = t.of_age(Some(&crate::ids::BirthDate::parse("1990").unwrap()));
        let refused = Facts {
            registry: RegistryStatus::NoAccount,
            state: &State::Refused,
            decided_at_ms: Some(i64::MIN),
            of_age: None,
        };
        assert_eq!(
            priority(&refused, &terms(), i64::MAX),
            Some(Priority::Recheck)
        );
        let refused = Facts {
            decided_at_ms: Some(i64::MAX),
            ..refused
        };
        assert_eq!(priority(&refused, &terms(), i64::MIN), None);
    }

    #[test]
    fn age_on_the_first_day() {
        let t = terms(); // starts 2026-09-10, minimum 14
        let b = |s: &str| crate::ids::BirthDate::parse(s).unwrap();
        assert_eq!(t.of_age(None), None);
        assert_eq!(t.of_age(Some(&b("10/09/2012"))), Some(true));
        assert_eq!(t.of_age(Some(&b("11/09/2012"))), Some(false));
        // Month or year only: the earliest day, never wrongly under age.
        assert_eq!(t.of_age(Some(&b("09/2012"))), Some(true));
        assert_eq!(t.of_age(Some(&b("2012"))), Some(true));
        assert_eq!(t.of_age(Some(&b("2013"))), Some(false));
    }

    #[test]
    fn quota_spreads_work_over_days_left() {
        let t = terms();
        assert_eq!(t.days_left(t.end_day), 1);
        assert_eq!(t.days_left(t.end_day + 5), 1);
        assert_eq!(t.days_left(t.start_day - 3), 52);
        assert_eq!(daily_quota(100, 52, 40), 2);
        assert_eq!(daily_quota(1000, 2, 40), 40);
        assert_eq!(daily_quota(1000, 2, 0), 500);
        assert_eq!(daily_quota(0, 10, 40), 0);
    }

    #[test]
    fn pick_takes_whole_households_and_walks_in_order() {
        let c = |key: u32, hh: &str, walk: u8, p| Candidate {
            key,
            household: hh.into(),
            walk_key: vec![walk],
            priority: p,
            away: false,
        };
        let cands = vec![
            c(0, "h3", 3, Priority::NoApplication),
            c(1, "h1", 1, Priority::NoApplication),
            c(2, "h2", 2, Priority::Approved),
            c(3, "h2", 2, Priority::NoApplication),
            c(4, "h4", 4, Priority::Approved),
        ];
        // Quota 3: h2 (2 residents) and h4 first by priority, then stop.
        let picked: Vec<u32> = pick(&cands, 3).into_iter().map(|i| cands[i].key).collect();
        assert_eq!(picked, vec![2, 3, 4]);
        let all: Vec<u32> = pick(&cands, 100)
            .into_iter()
            .map(|i| cands[i].key)
            .collect();
        assert_eq!(all, vec![1, 2, 3, 0, 4]);
    }
}
