//! The pages themselves. Each handler gathers what it shows through the
//! same functions the JSON API uses, checks the viewer's role and area
//! there, writes the audit log for anything showing residents, and renders
//! a template of `server/templates/`.

use super::charts::{self, Bar, Progress};
use super::i18n::Tr;
use super::session::WebSession;
use super::{WebError, html};
use crate::AppState;
use crate::api::ApiQuery;
use crate::api::{ApiJson, HamletsRequest, storable};
use crate::auth::Area;
use crate::campaign::reports::{self, ListKind};
use crate::campaign::review::{self, SettleRequest};
use crate::campaign::routes::{self, ExportQuery, FileFormat, ProvinceQuery, ReportQuery};
use crate::db::{accounts, audit, now_ms};
use crate::error::AppError;
use askama::Template;
use axum::extract::{Form, Path, Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use sync_core::model::{Outcome, Role};
use sync_core::plan;

/// The header every page shares.
#[derive(Debug, Clone)]
pub struct Nav {
    /// Viewer's name.
    pub name: String,
    /// Viewer's role, in the page language.
    pub role: String,
    /// The form token.
    pub csrf: String,
    /// A commune leader (assignments, devices).
    pub leader: bool,
    /// The provincial office.
    pub province: bool,
    /// Which menu entry is current.
    pub active: &'static str,
    /// `?commune=…` when a provincial user looks at one commune, else empty.
    pub cq: String,
    /// This page's path and query (to come back after switching language).
    pub here: String,
}

fn nav(s: &WebSession, active: &'static str, commune: Option<&str>, here: String) -> Nav {
    let t = Tr(s.lang);
    Nav {
        name: s.user.display_name.clone(),
        role: t.s(&format!("role.{}", s.caller.role.code())).to_owned(),
        csrf: s.csrf.clone(),
        leader: s.caller.role == Role::Leader,
        province: s.caller.role == Role::ProvincialAdmin,
        active,
        cq: match (&s.caller.area, commune) {
            (Area::Province(_), Some(c)) => format!("?commune={c}"),
            _ => String::new(),
        },
        here: percent_encode(&here),
    }
}

/// Percent-encodes a query value (RFC 3986 unreserved kept).
fn percent_encode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~/".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The viewer's own commune, for pages of commune roles only.
fn own_commune(s: &WebSession, roles: &[Role]) -> Result<String, WebError> {
    s.caller.require(roles).map_err(WebError::of(s.lang))?;
    s.caller
        .area
        .commune()
        .map(str::to_owned)
        .ok_or(WebError::App(AppError::Forbidden, s.lang))
}

/// A hamlet's name from the commune's (id, name) pairs; the id if unknown.
fn hamlet_name(hamlets: &[(String, String)], id: &str) -> String {
    hamlets
        .iter()
        .find(|(h, _)| h == id)
        .map(|(_, n)| n.clone())
        .unwrap_or_else(|| id.to_owned())
}

fn commune_name(code: &str) -> String {
    sync_core::ids::CommuneCode::parse(code)
        .map(|c| c.commune_name().to_owned())
        .unwrap_or_else(|_| code.to_owned())
}

// ---------------------------------------------------------------------------
// Dashboard
// ---------------------------------------------------------------------------

/// A headline figure.
#[derive(Debug)]
pub struct Kpi {
    /// Stable id (tests read it).
    pub id: &'static str,
    /// Label.
    pub label: String,
    /// As shown.
    pub value: String,
    /// The number itself.
    pub raw: String,
}

/// A hamlet's row.
#[derive(Debug)]
pub struct HamletRow {
    /// Hamlet id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Eligible.
    pub eligible: String,
    /// Activated.
    pub activated: String,
    /// Activated (raw).
    pub activated_raw: i64,
    /// Percent.
    pub percent: String,
    /// Since yesterday.
    pub today: String,
    /// Still open.
    pub open: String,
}

/// A field user's row.
#[derive(Debug)]
pub struct UserRow {
    /// Name.
    pub name: String,
    /// Role.
    pub role: String,
    /// Visits today.
    pub visits: String,
    /// Outcomes today.
    pub outcomes: String,
    /// Activations today.
    pub activations: String,
    /// Attempts since the start.
    pub attempts: String,
    /// Today's quota.
    pub quota: String,
    /// Quota kept.
    pub kept: bool,
    /// Activations since the start against the per-officer target.
    pub target: String,
}

/// The commune dashboard.
#[derive(Template)]
#[template(path = "dashboard.html")]
pub struct DashboardPage {
    t: Tr,
    nav: Nav,
    commune_name: String,
    day: String,
    day_label: String,
    campaign: Option<String>,
    kpis: Vec<Kpi>,
    curve: String,
    hamlet_chart: String,
    reason_chart: String,
    hamlets: Vec<HamletRow>,
    users: Vec<UserRow>,
    reasons: Vec<(String, String)>,
    remaining: Vec<(String, String)>,
    signals: Vec<String>,
    downloads: Vec<(String, String)>,
    commune_param: String,
}

/// `?day=YYYY-MM-DD&commune=…`
#[derive(Debug, Deserialize)]
pub struct DashQuery {
    day: Option<String>,
    commune: Option<String>,
}

/// The commune's progress (or, for the provincial office without a commune
/// chosen, the communes ranked).
pub async fn dashboard(
    State(state): State<AppState>,
    s: WebSession,
    Query(q): Query<DashQuery>,
) -> Result<Response, WebError> {
    let err = WebError::of(s.lang);
    if matches!(s.caller.area, Area::Province(_)) && q.commune.is_none() {
        return province(state, s, q.day).await;
    }
    let t = Tr(s.lang);
    let commune = routes::commune_for(&s.caller, q.commune.as_ref()).map_err(&err)?;
    let day = routes::day_of(q.day.as_ref()).map_err(&err)?;
    let r = reports::daily(&state.db, &commune, day, now_ms())
        .await
        .map_err(&err)?;
    audit::record(
        &state.db,
        &s.caller.user_id,
        "report.daily:page",
        Some(&commune),
        &s.caller.area.describe(),
        r.totals.residents,
    )
    .await
    .map_err(&err)?;
    let c = &r.totals;
    let target_count = (c.eligible * i64::from(r.target_percent) + 99) / 100;
    let kpi = |id, key: &str, value: String, raw: String| Kpi {
        id,
        label: t.s(key).to_owned(),
        value,
        raw,
    };
    let kpis = vec![
        kpi(
            "eligible",
            "dash.eligible",
            t.num(c.eligible),
            c.eligible.to_string(),
        ),
        kpi(
            "activated",
            "dash.activated",
            t.num(c.activated),
            c.activated.to_string(),
        ),
        kpi(
            "percent",
            "dash.percent",
            t.pct(c.percent),
            format!("{:.1}", c.percent),
        ),
        kpi(
            "change",
            "dash.today",
            format!("+{}", t.num(c.change_since_yesterday)),
            c.change_since_yesterday.to_string(),
        ),
        kpi("open", "dash.open", t.num(c.open()), c.open().to_string()),
        kpi(
            "target",
            "dash.target",
            format!("{} %", r.target_percent),
            r.target_percent.to_string(),
        ),
    ];
    let fmt = |n: i64| t.num(n);
    let curve = match &r.campaign {
        Some(camp) => {
            let first = camp.start_day();
            let last = camp.end_day().max(first);
            let upto = day.clamp(first, last);
            let actual = reports::activated_by_day(&state.db, &commune, first, upto)
                .await
                .map_err(&err)?;
            charts::progress(&Progress {
                title: t.s("dash.curve"),
                actual: &actual,
                days: usize::try_from(last - first + 1).unwrap_or(1),
                target: target_count,
                first_label: &t.date(&camp.start),
                last_label: &t.date(&camp.end),
                actual_label: t.s("dash.curve.actual"),
                target_label: t.s("dash.curve.target"),
                fmt: &fmt,
            })
        }
        None => String::new(),
    };
    let hamlet_bars: Vec<Bar> = r
        .hamlets
        .iter()
        .map(|h| Bar {
            label: h.name.clone(),
            value: h.counts.percent,
            value_label: t.pct(h.counts.percent),
        })
        .collect();
    let hamlet_chart = charts::bars(
        t.s("dash.activation_by_hamlet"),
        &hamlet_bars,
        100.0,
        Some((
            f64::from(r.target_percent),
            &format!("{} %", r.target_percent),
        )),
        "hb",
    );
    let mut reasons: Vec<(String, i64)> = c
        .ineligible_by_reason
        .iter()
        .map(|(code, n)| {
            (
                sync_core::doc::parse_code::<sync_core::model::IneligibleReason>(code)
                    .map(|r| r.label_vi().to_owned())
                    .unwrap_or_else(|| code.clone()),
                *n,
            )
        })
        .collect();
    reasons.sort_by_key(|r| std::cmp::Reverse(r.1));
    let reason_max = reasons.iter().map(|r| r.1).max().unwrap_or(0) as f64;
    let reason_chart = if reasons.is_empty() {
        String::new()
    } else {
        charts::bars(
            t.s("dash.reasons"),
            &reasons
                .iter()
                .map(|(label, n)| Bar {
                    label: label.clone(),
                    value: *n as f64,
                    value_label: t.num(*n),
                })
                .collect::<Vec<_>>(),
            reason_max,
            None,
            "rb",
        )
    };
    let cq = match &s.caller.area {
        Area::Province(_) => format!("&commune={commune}"),
        _ => String::new(),
    };
    let page = DashboardPage {
        t,
        nav: nav(
            &s,
            "dashboard",
            Some(&commune),
            format!("/dashboard?day={}{cq}", r.day),
        ),
        commune_name: r.commune_name.clone(),
        day: r.day.clone(),
        day_label: t.date(&r.day),
        campaign: r
            .campaign
            .as_ref()
            .map(|c| format!("{} ({} – {})", c.name, t.date(&c.start), t.date(&c.end))),
        kpis,
        curve,
        hamlet_chart,
        reason_chart,
        hamlets: r
            .hamlets
            .iter()
            .map(|h| HamletRow {
                id: h.hamlet.clone(),
                name: h.name.clone(),
                eligible: t.num(h.counts.eligible),
                activated: t.num(h.counts.activated),
                activated_raw: h.counts.activated,
                percent: t.pct(h.counts.percent),
                today: format!("+{}", t.num(h.counts.change_since_yesterday)),
                open: t.num(h.counts.open()),
            })
            .collect(),
        users: r
            .users
            .iter()
            .map(|u| UserRow {
                name: u.name.clone(),
                role: t.s(&format!("role.{}", u.role)).to_owned(),
                visits: t.num(u.visits),
                outcomes: t.num(u.outcomes),
                activations: t.num(u.activations),
                attempts: t.num(u.attempts_total),
                quota: t.num(u.quota),
                kept: u.quota_kept,
                target: if u.target > 0 {
                    format!(
                        "{}/{} ({})",
                        t.num(u.activations_total),
                        t.num(u.target),
                        t.pct(u.target_percent_done)
                    )
                } else {
                    t.num(u.activations_total)
                },
            })
            .collect(),
        reasons: reasons
            .iter()
            .map(|(l, n)| (l.clone(), t.num(*n)))
            .collect(),
        remaining: c
            .remaining
            .iter()
            .map(|(k, n)| (t.s(&format!("cat.{k}")).to_owned(), t.num(*n)))
            .collect(),
        signals: r.signals.iter().map(|g| g.message_vi.clone()).collect(),
        downloads: [
            ("activated", "list.activated"),
            ("absent", "list.absent"),
            ("ineligible", "list.ineligible"),
            ("corrections", "list.corrections"),
        ]
        .iter()
        .map(|(kind, key)| {
            (
                format!("/lists/{kind}/download?format=xlsx{cq}"),
                format!("{} (Excel)", t.s(key)),
            )
        })
        .chain(std::iter::once((
            format!("/reports/daily/download?format=xlsx&day={}{cq}", r.day),
            t.s("dash.report_xlsx").to_owned(),
        )))
        .collect(),
        commune_param: if cq.is_empty() {
            String::new()
        } else {
            commune.clone()
        },
    };
    Ok(html(&page))
}

// ---------------------------------------------------------------------------
// Province
// ---------------------------------------------------------------------------

/// A commune's line.
#[derive(Debug)]
pub struct CommuneRow {
    /// Rank.
    pub rank: usize,
    /// Code.
    pub code: String,
    /// Name.
    pub name: String,
    /// Eligible.
    pub eligible: String,
    /// Activated.
    pub activated: String,
    /// Percent.
    pub percent: String,
    /// Activated this week.
    pub week: String,
}

/// The provincial office's page.
#[derive(Template)]
#[template(path = "province.html")]
pub struct ProvincePage {
    t: Tr,
    nav: Nav,
    province_name: String,
    week: String,
    totals: Vec<Kpi>,
    chart: String,
    communes: Vec<CommuneRow>,
    download: String,
}

async fn province(
    state: AppState,
    s: WebSession,
    day: Option<String>,
) -> Result<Response, WebError> {
    let err = WebError::of(s.lang);
    let t = Tr(s.lang);
    let Area::Province(code) = &s.caller.area else {
        return Err(WebError::App(AppError::Forbidden, s.lang));
    };
    let day = routes::day_of(day.as_ref()).map_err(&err)?;
    let r = reports::province_week(&state.db, code, day)
        .await
        .map_err(&err)?;
    audit::record(
        &state.db,
        &s.caller.user_id,
        "report.province:page",
        None,
        &s.caller.area.describe(),
        r.totals.residents,
    )
    .await
    .map_err(&err)?;
    let bars: Vec<Bar> = r
        .communes
        .iter()
        .take(30)
        .map(|c| Bar {
            label: c.name.clone(),
            value: c.counts.percent,
            value_label: t.pct(c.counts.percent),
        })
        .collect();
    let c = &r.totals;
    let page = ProvincePage {
        t,
        nav: nav(&s, "dashboard", None, "/dashboard".into()),
        province_name: r.province_name.clone(),
        week: format!("{} – {}", t.date(&r.week_start), t.date(&r.week_end)),
        totals: vec![
            Kpi {
                id: "eligible",
                label: t.s("dash.eligible").into(),
                value: t.num(c.eligible),
                raw: c.eligible.to_string(),
            },
            Kpi {
                id: "activated",
                label: t.s("dash.activated").into(),
                value: t.num(c.activated),
                raw: c.activated.to_string(),
            },
            Kpi {
                id: "percent",
                label: t.s("dash.percent").into(),
                value: t.pct(c.percent),
                raw: format!("{:.1}", c.percent),
            },
        ],
        chart: charts::bars(t.s("province.chart"), &bars, 100.0, None, "pb"),
        communes: r
            .communes
            .iter()
            .map(|l| CommuneRow {
                rank: l.rank,
                code: l.commune.clone(),
                name: l.name.clone(),
                eligible: t.num(l.counts.eligible),
                activated: t.num(l.counts.activated),
                percent: t.pct(l.counts.percent),
                week: format!("+{}", t.num(l.counts.change_since_yesterday)),
            })
            .collect(),
        download: format!(
            "/reports/province/download?format=xlsx&day={}",
            plan::iso_date(day)
        ),
    };
    Ok(html(&page))
}

// ---------------------------------------------------------------------------
// Lists
// ---------------------------------------------------------------------------

/// A person on a list page.
#[derive(Debug)]
pub struct ListRow {
    /// Row number.
    pub no: usize,
    /// Household id.
    pub household: String,
    /// Name.
    pub name: String,
    /// Birth date.
    pub birth: String,
    /// ID number.
    pub personal_id: String,
    /// Address.
    pub address: String,
    /// Hamlet name.
    pub hamlet: String,
    /// Reason.
    pub reason: String,
    /// Recorded on.
    pub recorded: String,
    /// Recorded by.
    pub by: String,
    /// Waits for an officer.
    pub awaiting: bool,
}

/// One of the lists.
#[derive(Template)]
#[template(path = "list.html")]
pub struct ListPage {
    t: Tr,
    nav: Nav,
    kind: &'static str,
    title: String,
    commune_name: String,
    q: String,
    hamlet: String,
    commune: String,
    hamlets: Vec<(String, String)>,
    rows: Vec<ListRow>,
    total: usize,
    page: usize,
    pages: usize,
    prev: Option<String>,
    next: Option<String>,
    downloads: Vec<(String, String)>,
}

/// `?q=&hamlet=&page=&commune=`
#[derive(Debug, Deserialize)]
pub struct ListQuery {
    q: Option<String>,
    hamlet: Option<String>,
    page: Option<usize>,
    commune: Option<String>,
}

const PAGE_ROWS: usize = 50;

/// A list with search (names typed with or without diacritics), a hamlet
/// filter and pages of 50. Audited: the number of people shown.
pub async fn list(
    State(state): State<AppState>,
    s: WebSession,
    Path(kind): Path<String>,
    Query(q): Query<ListQuery>,
) -> Result<Response, WebError> {
    let err = WebError::of(s.lang);
    let t = Tr(s.lang);
    s.caller
        .require(&[Role::Leader, Role::Officer, Role::ProvincialAdmin])
        .map_err(&err)?;
    let kind = ListKind::from_code(&kind).ok_or(WebError::App(AppError::NotFound, s.lang))?;
    let commune = routes::commune_for(&s.caller, q.commune.as_ref()).map_err(&err)?;
    let hamlet = q.hamlet.clone().filter(|h| !h.is_empty());
    let hamlets: Option<Vec<String>> = match (&s.caller.area, &hamlet) {
        (_, Some(h)) if !storable(h) || !s.caller.area.contains(&commune, h) => {
            return Err(WebError::App(AppError::NotFound, s.lang));
        }
        (_, Some(h)) => Some(vec![h.clone()]),
        (Area::Hamlets { hamlets, .. }, None) => Some(hamlets.iter().cloned().collect()),
        _ => None,
    };
    let entries = reports::list_entries(&state.db, &commune, hamlets.as_deref(), kind, false)
        .await
        .map_err(&err)?;
    let query = q.q.clone().unwrap_or_default();
    let digits: String = query.chars().filter(char::is_ascii_digit).collect();
    let found: Vec<_> = entries
        .iter()
        .filter(|e| {
            sync_core::text::matches(&query, &sync_core::text::fold(&e.full_name))
                || (digits.len() >= 4
                    && e.personal_id
                        .as_deref()
                        .is_some_and(|p| p.contains(&digits)))
        })
        .collect();
    let total = found.len();
    let pages = total.div_ceil(PAGE_ROWS).max(1);
    let page = q.page.unwrap_or(1).clamp(1, pages);
    let shown: Vec<ListRow> = found
        .iter()
        .enumerate()
        .skip((page - 1) * PAGE_ROWS)
        .take(PAGE_ROWS)
        .map(|(i, e)| ListRow {
            no: i + 1,
            household: e.household.clone(),
            name: e.full_name.clone(),
            birth: e.birth_date.clone().map(|d| t.date(&d)).unwrap_or_default(),
            personal_id: e.personal_id.clone().unwrap_or_default(),
            address: e.address.clone(),
            hamlet: e.hamlet_name.clone(),
            reason: [e.reason_vi.clone(), e.explanation.clone()]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join(" — "),
            recorded: e
                .recorded_on
                .clone()
                .map(|d| t.date(&d))
                .unwrap_or_default(),
            by: e.recorded_by.clone().unwrap_or_default(),
            awaiting: e.awaiting_confirmation,
        })
        .collect();
    audit::record(
        &state.db,
        &s.caller.user_id,
        &format!("list.read:page:{}", kind.code()),
        Some(&commune),
        &match &hamlet {
            Some(h) => format!("commune:{commune}/hamlet:{h}"),
            None => s.caller.area.describe(),
        },
        shown.len() as i64,
    )
    .await
    .map_err(&err)?;
    let all_hamlets = accounts::hamlets_of(&state.db, &commune)
        .await
        .map_err(&err)?
        .into_iter()
        .filter(|(id, _)| s.caller.area.contains(&commune, id))
        .collect();
    let province = matches!(s.caller.area, Area::Province(_));
    let mut keep = Vec::new();
    if province {
        keep.push(format!("commune={commune}"));
    }
    if let Some(h) = &hamlet {
        keep.push(format!("hamlet={}", percent_encode(h)));
    }
    let base = |extra: &[String]| {
        let parts: Vec<String> = keep.iter().chain(extra.iter()).cloned().collect();
        if parts.is_empty() {
            String::new()
        } else {
            format!("?{}", parts.join("&"))
        }
    };
    let with_q = |p: usize| {
        let mut extra = Vec::new();
        if !query.is_empty() {
            extra.push(format!("q={}", percent_encode(&query)));
        }
        extra.push(format!("page={p}"));
        format!("/lists/{}{}", kind.code(), base(&extra))
    };
    let dl = |format: &str| {
        let mut extra = keep.clone();
        extra.push(format!("format={format}"));
        format!("/lists/{}/download?{}", kind.code(), extra.join("&"))
    };
    let title = t.s(&format!("list.{}", kind.code())).to_owned();
    let page_view = ListPage {
        t,
        nav: nav(&s, kind.code(), Some(&commune), with_q(page)),
        kind: kind.code(),
        title,
        commune_name: commune_name(&commune),
        q: query.clone(),
        hamlet: hamlet.clone().unwrap_or_default(),
        commune: if province {
            commune.clone()
        } else {
            String::new()
        },
        hamlets: all_hamlets,
        rows: shown,
        total,
        page,
        pages,
        prev: (page > 1).then(|| with_q(page - 1)),
        next: (page < pages).then(|| with_q(page + 1)),
        downloads: vec![
            (dl("xlsx"), t.s("list.xlsx").to_owned()),
            (dl("csv"), t.s("list.csv").to_owned()),
        ],
    };
    Ok(html(&page_view))
}

/// `?format=xlsx|csv&hamlet=&commune=`
#[derive(Debug, Deserialize)]
pub struct DownloadQuery {
    format: Option<FileFormat>,
    hamlet: Option<String>,
    commune: Option<String>,
    day: Option<String>,
}

/// A list as a file: the API's export, with the same checks and audit.
pub async fn list_download(
    State(state): State<AppState>,
    s: WebSession,
    Path(kind): Path<String>,
    Query(q): Query<DownloadQuery>,
) -> Result<Response, WebError> {
    let format = match q.format {
        Some(FileFormat::Csv) => FileFormat::Csv,
        _ => FileFormat::Xlsx,
    };
    routes::export_list(
        State(state),
        s.caller.clone(),
        Path(kind),
        ApiQuery(ExportQuery {
            hamlet: q.hamlet.filter(|h| !h.is_empty()),
            commune: q.commune,
            format: Some(format),
        }),
    )
    .await
    .map_err(WebError::of(s.lang))
}

/// The daily report as a workbook: the API's, same checks and audit.
pub async fn report_download(
    State(state): State<AppState>,
    s: WebSession,
    Query(q): Query<DownloadQuery>,
) -> Result<Response, WebError> {
    routes::daily_report(
        State(state),
        s.caller.clone(),
        ApiQuery(ReportQuery {
            day: q.day,
            commune: q.commune,
            format: Some(FileFormat::Xlsx),
        }),
    )
    .await
    .map_err(WebError::of(s.lang))
}

/// The province ranking as a workbook.
pub async fn province_download(
    State(state): State<AppState>,
    s: WebSession,
    Query(q): Query<DownloadQuery>,
) -> Result<Response, WebError> {
    routes::province_report(
        State(state),
        s.caller.clone(),
        ApiQuery(ProvinceQuery {
            day: q.day,
            format: Some(FileFormat::Xlsx),
        }),
    )
    .await
    .map_err(WebError::of(s.lang))
}

// ---------------------------------------------------------------------------
// Review queue
// ---------------------------------------------------------------------------

/// One record of the evidence, with the form that keeps it.
#[derive(Debug)]
pub struct EvidenceView {
    /// Who.
    pub who: String,
    /// Their role.
    pub role: String,
    /// When.
    pub when: String,
    /// What.
    pub outcome: String,
    /// Their explanation.
    pub explanation: String,
    /// The outcome as the settle form posts it (JSON).
    pub decision: String,
}

/// A queue item.
#[derive(Debug)]
pub struct ItemView {
    /// Resident id.
    pub resident: String,
    /// Household id.
    pub household: String,
    /// Name.
    pub name: String,
    /// Hamlet name.
    pub hamlet: String,
    /// Kind code.
    pub kind: String,
    /// Kind, Vietnamese.
    pub kind_vi: String,
    /// What contradicts what.
    pub details: Vec<String>,
    /// The records side by side.
    pub evidence: Vec<EvidenceView>,
}

/// The queue page.
#[derive(Template)]
#[template(path = "review.html")]
pub struct ReviewPage {
    t: Tr,
    nav: Nav,
    settled: bool,
    items: Vec<ItemView>,
}

/// `?settled=1`
#[derive(Debug, Deserialize)]
pub struct ReviewQuery {
    settled: Option<u8>,
}

/// The review queue (audited by [`review::queue`]).
pub async fn review(
    State(state): State<AppState>,
    s: WebSession,
    Query(q): Query<ReviewQuery>,
) -> Result<Response, WebError> {
    let err = WebError::of(s.lang);
    let t = Tr(s.lang);
    let commune = own_commune(&s, &[Role::Leader, Role::Officer])?;
    let items = review::queue(&state.db, &s.caller, &commune)
        .await
        .map_err(&err)?;
    let hamlets = accounts::hamlets_of(&state.db, &commune)
        .await
        .map_err(&err)?;
    let page = ReviewPage {
        t,
        nav: nav(&s, "review", Some(&commune), "/review".into()),
        settled: q.settled.is_some(),
        items: items
            .into_iter()
            .map(|i| ItemView {
                hamlet: hamlet_name(&hamlets, &i.hamlet),
                resident: i.resident,
                household: i.household,
                name: i.full_name,
                kind: i.kind,
                kind_vi: i.kind_vi,
                details: i.details_vi,
                evidence: i
                    .evidence
                    .into_iter()
                    .map(|e| EvidenceView {
                        who: e.name,
                        role: t.s(&format!("role.{}", e.role)).to_owned(),
                        when: t.when(e.at_ms),
                        outcome: e.outcome_vi,
                        explanation: e.explanation.unwrap_or_default(),
                        decision: serde_json::to_string(&e.outcome).unwrap_or_default(),
                    })
                    .collect(),
            })
            .collect(),
    };
    Ok(html(&page))
}

/// The settle form.
#[derive(Debug, Deserialize)]
pub struct SettleForm {
    csrf: String,
    decision: String,
    note: Option<String>,
}

/// Keeps one outcome: a settlement in the household document, reaching the
/// phones on their next sync; the queue entry records who and why.
pub async fn settle(
    State(state): State<AppState>,
    s: WebSession,
    headers: HeaderMap,
    Path(resident): Path<String>,
    Form(form): Form<SettleForm>,
) -> Result<Response, WebError> {
    let err = WebError::of(s.lang);
    s.check_form(&headers, &form.csrf)?;
    s.caller
        .require(&[Role::Leader, Role::Officer])
        .map_err(&err)?;
    let decision: Outcome = serde_json::from_str(&form.decision).map_err(|_| {
        err(AppError::bad_request(
            "review.bad_decision",
            "unknown decision",
            "Quyết định không hợp lệ.",
        ))
    })?;
    let note = form.note.filter(|n| !n.trim().is_empty());
    if !storable(&resident) || note.as_deref().is_some_and(|n| !storable(n)) {
        return Err(err(AppError::NotFound));
    }
    review::settle(
        &state.db,
        &s.caller,
        &resident,
        &SettleRequest { decision, note },
    )
    .await
    .map_err(&err)?;
    Ok(Redirect::to("/review?settled=1").into_response())
}

// ---------------------------------------------------------------------------
// Household
// ---------------------------------------------------------------------------

/// A resident on the household page.
#[derive(Debug)]
pub struct ResidentView {
    /// Name.
    pub name: String,
    /// State.
    pub state: String,
    /// ID number (roles that see it).
    pub personal_id: String,
    /// Phone (roles that see it).
    pub phone: String,
}

/// One household.
#[derive(Template)]
#[template(path = "household.html")]
pub struct HouseholdPage {
    t: Tr,
    nav: Nav,
    address: String,
    hamlet: String,
    residents: Vec<ResidentView>,
}

/// A household of the viewer's area; anything else is the same "not found"
/// as a missing one. Audited (by the API's household read).
pub async fn household(
    State(state): State<AppState>,
    s: WebSession,
    Path(id): Path<String>,
) -> Result<Response, WebError> {
    let err = WebError::of(s.lang);
    let t = Tr(s.lang);
    let axum::Json(h) = crate::api::household(State(state.clone()), s.caller.clone(), Path(id))
        .await
        .map_err(&err)?;
    let hamlets = accounts::hamlets_of(&state.db, &h.commune)
        .await
        .map_err(&err)?;
    let hamlet = hamlet_name(&hamlets, &h.hamlet);
    let page = HouseholdPage {
        t,
        nav: nav(&s, "", Some(&h.commune), format!("/households/{}", h.id)),
        address: h.address.clone(),
        hamlet,
        residents: h
            .residents
            .into_iter()
            .map(|r| ResidentView {
                name: r.full_name,
                state: t.s(&format!("state.{}", r.state)).to_owned(),
                personal_id: r.personal_id.unwrap_or_default(),
                phone: r.phone.unwrap_or_default(),
            })
            .collect(),
    };
    Ok(html(&page))
}

// ---------------------------------------------------------------------------
// Assignments and devices
// ---------------------------------------------------------------------------

/// A field user on the team page.
#[derive(Debug)]
pub struct MemberView {
    /// User id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Login.
    pub username: String,
    /// Role.
    pub role: String,
    /// (hamlet id, name, assigned).
    pub hamlets: Vec<(String, String, bool)>,
    /// (device id, registered, last sync, revoked).
    pub devices: Vec<(String, String, String, bool)>,
}

/// Assignments and devices.
#[derive(Template)]
#[template(path = "team.html")]
pub struct TeamPage {
    t: Tr,
    nav: Nav,
    message: Option<String>,
    members: Vec<MemberView>,
}

/// `?done=saved|revoked`
#[derive(Debug, Deserialize)]
pub struct TeamQuery {
    done: Option<String>,
}

/// The leader's page for hamlets and phones.
pub async fn team(
    State(state): State<AppState>,
    s: WebSession,
    Query(q): Query<TeamQuery>,
) -> Result<Response, WebError> {
    let err = WebError::of(s.lang);
    let t = Tr(s.lang);
    let commune = own_commune(&s, &[Role::Leader])?;
    let hamlets = accounts::hamlets_of(&state.db, &commune)
        .await
        .map_err(&err)?;
    let users = accounts::field_users(&state.db, &commune)
        .await
        .map_err(&err)?;
    let devices = accounts::devices_of_commune(&state.db, &commune)
        .await
        .map_err(&err)?;
    let members = users
        .into_iter()
        .map(|(u, assigned)| MemberView {
            hamlets: hamlets
                .iter()
                .map(|(id, name)| (id.clone(), name.clone(), assigned.contains(id)))
                .collect(),
            devices: devices
                .iter()
                .filter(|d| d.user_id == u.id)
                .map(|d| {
                    (
                        d.id.clone(),
                        t.when(d.created_at),
                        d.last_sync_at
                            .map(|ms| t.when(ms))
                            .unwrap_or_else(|| t.s("team.never").to_owned()),
                        d.revoked,
                    )
                })
                .collect(),
            id: u.id,
            name: u.display_name,
            username: u.username,
            role: t.s(&format!("role.{}", u.role.code())).to_owned(),
        })
        .collect();
    let message = match q.done.as_deref() {
        Some("saved") => Some(t.s("team.saved").to_owned()),
        Some("revoked") => Some(t.s("team.revoked_ok").to_owned()),
        _ => None,
    };
    let page = TeamPage {
        t,
        nav: nav(&s, "team", Some(&commune), "/team".into()),
        message,
        members,
    };
    Ok(html(&page))
}

/// The hamlets form: repeated `hamlet` fields.
#[derive(Debug, Deserialize)]
pub struct HamletsForm {
    csrf: String,
    #[serde(default)]
    hamlet: Vec<String>,
}

/// Reassigns a user's hamlets (the API's rules: same commune, known
/// hamlets; open work moves, phones purge on their next sync).
pub async fn set_hamlets(
    State(state): State<AppState>,
    s: WebSession,
    headers: HeaderMap,
    Path(user): Path<String>,
    axum_extra::extract::Form(form): axum_extra::extract::Form<HamletsForm>,
) -> Result<Response, WebError> {
    s.check_form(&headers, &form.csrf)?;
    crate::api::set_hamlets(
        State(state),
        s.caller.clone(),
        Path(user),
        ApiJson(HamletsRequest {
            hamlets: form.hamlet,
        }),
    )
    .await
    .map_err(WebError::of(s.lang))?;
    Ok(Redirect::to("/team?done=saved").into_response())
}

/// Revokes a lost phone.
pub async fn revoke(
    State(state): State<AppState>,
    s: WebSession,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(form): Form<super::CsrfForm>,
) -> Result<Response, WebError> {
    s.check_form(&headers, &form.csrf)?;
    crate::api::revoke_device(State(state), s.caller.clone(), Path(id))
        .await
        .map_err(WebError::of(s.lang))?;
    Ok(Redirect::to("/team?done=revoked").into_response())
}

// ---------------------------------------------------------------------------
// Target lists (printable)
// ---------------------------------------------------------------------------

/// A resident on the printed list.
#[derive(Debug)]
pub struct TargetRow {
    /// Name.
    pub name: String,
    /// Why on the list.
    pub priority: String,
    /// When to come back, for someone out last time.
    pub come_back: String,
    /// Visits so far.
    pub attempts: i64,
}

/// A household on the printed list.
#[derive(Debug)]
pub struct TargetHouse {
    /// Walking-order number.
    pub no: usize,
    /// Household id.
    pub id: String,
    /// Address.
    pub address: String,
    /// Hamlet name.
    pub hamlet: String,
    /// Residents.
    pub residents: Vec<TargetRow>,
}

/// A field user's list of the day, printable (the browser's Print saves it
/// as PDF).
#[derive(Template)]
#[template(path = "targets.html")]
pub struct TargetsPage {
    t: Tr,
    nav: Nav,
    /// (user id, name, selected) of the field users the viewer may choose.
    users: Vec<(String, String, bool)>,
    who: String,
    day: String,
    day_label: String,
    campaign: String,
    quota: u32,
    count: u32,
    remaining: u32,
    houses: Vec<TargetHouse>,
    download: String,
}

/// `?user=&day=`
#[derive(Debug, Deserialize)]
pub struct TargetsQuery {
    user: Option<String>,
    day: Option<String>,
}

/// The target list page: the officer's own, a team volunteer's, or (for a
/// leader) any field user's of the commune. Audited like the API's.
pub async fn targets(
    State(state): State<AppState>,
    s: WebSession,
    Query(q): Query<TargetsQuery>,
) -> Result<Response, WebError> {
    let err = WebError::of(s.lang);
    let t = Tr(s.lang);
    let commune = own_commune(&s, &[Role::Leader, Role::Officer])?;
    let choosable: Vec<accounts::User> = accounts::field_users(&state.db, &commune)
        .await
        .map_err(&err)?
        .into_iter()
        .map(|(u, _)| u)
        .filter(|u| {
            s.caller.role == Role::Leader
                || u.id == s.caller.user_id
                || u.team_officer.as_deref() == Some(s.caller.user_id.as_str())
        })
        .collect();
    let user = q
        .user
        .filter(|u| !u.is_empty())
        .or_else(|| (s.caller.role == Role::Officer).then(|| s.caller.user_id.clone()))
        .or_else(|| choosable.first().map(|u| u.id.clone()));
    let Some(user) = user else {
        return Err(err(AppError::NotFound));
    };
    let day = q.day.filter(|d| !d.is_empty());
    let (list, who, _) = routes::target_list_for(&state, &s.caller, Some(user), day.as_ref())
        .await
        .map_err(&err)?;
    let hamlets = accounts::hamlets_of(&state.db, &commune)
        .await
        .map_err(&err)?;
    let page = TargetsPage {
        t,
        nav: nav(
            &s,
            "targets",
            Some(&commune),
            format!("/targets?user={}", who.id),
        ),
        users: choosable
            .iter()
            .map(|u| (u.id.clone(), u.display_name.clone(), u.id == who.id))
            .collect(),
        who: who.display_name.clone(),
        day: list.day.clone(),
        day_label: t.date(&list.day),
        campaign: list.campaign.clone().unwrap_or_default(),
        quota: list.quota,
        count: list.count,
        remaining: list.remaining,
        houses: list
            .households
            .iter()
            .enumerate()
            .map(|(i, h)| TargetHouse {
                no: i + 1,
                id: h.id.clone(),
                address: [&h.house_number, &h.alley, &h.street]
                    .iter()
                    .filter(|p| !p.is_empty())
                    .map(|p| p.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
                hamlet: hamlet_name(&hamlets, &h.hamlet),
                residents: h
                    .residents
                    .iter()
                    .map(|r| TargetRow {
                        name: r.full_name.clone(),
                        priority: r.priority_vi.clone(),
                        come_back: r.come_back_vi.clone().unwrap_or_default(),
                        attempts: r.attempts,
                    })
                    .collect(),
            })
            .collect(),
        download: format!("/targets/download?user={}&day={}", who.id, list.day),
    };
    Ok(html(&page))
}

/// The target list as a workbook (the API's, with the session).
pub async fn targets_download(
    State(state): State<AppState>,
    s: WebSession,
    Query(q): Query<TargetsQuery>,
) -> Result<Response, WebError> {
    routes::target_list(
        State(state),
        s.caller.clone(),
        ApiQuery(routes::TargetQuery {
            user: q.user,
            day: q.day,
            format: Some(FileFormat::Xlsx),
        }),
    )
    .await
    .map_err(WebError::of(s.lang))
}
