//! Charts drawn as SVG on the server: no script, no image request, a few
//! hundred bytes each, readable by screen readers (a `<title>` and a
//! `<desc>`; every chart also has a table beside it on the page).
//!
//! Colours meet WCAG AA contrast on white (text ≥ 4.5:1, marks ≥ 3:1).

use std::fmt::Write;

/// Ink for text and axes.
const INK: &str = "#1f2933";
/// The actual figures.
const BLUE: &str = "#1d4ed8";
/// The target.
const RED: &str = "#b91c1c";
/// Bars of reasons (neutral).
const SLATE: &str = "#475569";
/// Gridlines.
const GRID: &str = "#d0d7de";

/// Escapes text for SVG/XML.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The progress curve: activated residents day by day from the campaign's
/// first day to today, against the target line (from the first day's
/// figure to the target on the last day).
#[allow(missing_debug_implementations)]
pub struct Progress<'a> {
    /// Title (also the accessible name).
    pub title: &'a str,
    /// Cumulative activated, one value per day from the first day to today.
    pub actual: &'a [i64],
    /// Days in the campaign (first to last, inclusive).
    pub days: usize,
    /// Activated the campaign aims at by its last day.
    pub target: i64,
    /// Labels: first day, last day, legend for actual, legend for target.
    pub first_label: &'a str,
    /// Last day's label.
    pub last_label: &'a str,
    /// Legend of the actual line.
    pub actual_label: &'a str,
    /// Legend of the target line.
    pub target_label: &'a str,
    /// Numbers as the page writes them.
    pub fmt: &'a dyn Fn(i64) -> String,
}

/// Draws [`Progress`].
pub fn progress(p: &Progress<'_>) -> String {
    let (w, h) = (400.0, 220.0);
    let (left, right, top, bottom) = (46.0, 10.0, 28.0, 30.0);
    let pw = w - left - right;
    let ph = h - top - bottom;
    let start = p.actual.first().copied().unwrap_or(0);
    let top_value = p
        .target
        .max(p.actual.iter().copied().max().unwrap_or(0))
        .max(1);
    let span = (p.days.max(2) - 1) as f64;
    let x = |i: usize| left + pw * i as f64 / span;
    let y = |v: i64| top + ph * (1.0 - v as f64 / top_value as f64);
    let mut s = String::new();
    let _ = write!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {w} {h}" role="img" aria-labelledby="pc-t pc-d" class="chart"><title id="pc-t">{title}</title><desc id="pc-d">{actual_label}: {now}; {target_label}: {target}</desc>"#,
        title = esc(p.title),
        actual_label = esc(p.actual_label),
        target_label = esc(p.target_label),
        now = (p.fmt)(p.actual.last().copied().unwrap_or(0)),
        target = (p.fmt)(p.target),
    );
    // Gridlines at quarters, labelled.
    for q in 0..=4 {
        let v = top_value * q / 4;
        let gy = y(v);
        let _ = write!(
            s,
            r#"<line x1="{left}" y1="{gy:.1}" x2="{x2}" y2="{gy:.1}" stroke="{GRID}"/><text x="{tx}" y="{ty:.1}" font-size="12" text-anchor="end" fill="{INK}">{label}</text>"#,
            x2 = w - right,
            tx = left - 6.0,
            ty = gy + 4.0,
            label = esc(&(p.fmt)(v)),
        );
    }
    // Target line.
    let _ = write!(
        s,
        r#"<line x1="{x1:.1}" y1="{y1:.1}" x2="{x2:.1}" y2="{y2:.1}" stroke="{RED}" stroke-width="2" stroke-dasharray="6 4"/>"#,
        x1 = x(0),
        y1 = y(start),
        x2 = x(p.days.max(2) - 1),
        y2 = y(p.target),
    );
    // Actual line.
    if !p.actual.is_empty() {
        let points: Vec<String> = p
            .actual
            .iter()
            .enumerate()
            .map(|(i, v)| format!("{:.1},{:.1}", x(i), y(*v)))
            .collect();
        let _ = write!(
            s,
            r#"<polyline points="{}" fill="none" stroke="{BLUE}" stroke-width="3"/>"#,
            points.join(" ")
        );
        let last = p.actual.len() - 1;
        let _ = write!(
            s,
            r#"<circle cx="{:.1}" cy="{:.1}" r="4" fill="{BLUE}"/>"#,
            x(last),
            y(p.actual[last])
        );
    }
    // Axis labels and legend.
    let _ = write!(
        s,
        r#"<text x="{left}" y="{by}" font-size="12" fill="{INK}">{first}</text><text x="{rx}" y="{by}" font-size="12" text-anchor="end" fill="{INK}">{last}</text>"#,
        by = h - 10.0,
        rx = w - right,
        first = esc(p.first_label),
        last = esc(p.last_label),
    );
    let _ = write!(
        s,
        r#"<rect x="{left}" y="8" width="14" height="4" fill="{BLUE}"/><text x="{l1}" y="14" font-size="13" fill="{INK}">{a}</text><rect x="{l2}" y="8" width="14" height="4" fill="{RED}"/><text x="{l3}" y="14" font-size="13" fill="{INK}">{t}</text></svg>"#,
        l1 = left + 20.0,
        l2 = left + 150.0,
        l3 = left + 170.0,
        a = esc(p.actual_label),
        t = esc(p.target_label),
    );
    s
}

/// One bar of [`bars`].
#[derive(Debug, Clone)]
pub struct Bar {
    /// Label on the left.
    pub label: String,
    /// Length.
    pub value: f64,
    /// Text at the end of the bar.
    pub value_label: String,
}

/// Horizontal bars (hamlets, reasons, communes): each label on its own
/// line above its bar, so that long Vietnamese names stay whole and the
/// picture reads on a 360-px phone as on a desktop. `max` is the full
/// length; `marker` draws a dashed line (the target) across the bars.
pub fn bars(title: &str, rows: &[Bar], max: f64, marker: Option<(f64, &str)>, id: &str) -> String {
    let row_h = 40.0;
    let (w, left, right) = (400.0, 4.0, 64.0);
    let top = if marker.is_some() { 18.0 } else { 2.0 };
    let h = top + row_h * rows.len().max(1) as f64 + 4.0;
    let pw = w - left - right;
    let max = if max > 0.0 { max } else { 1.0 };
    let colour = if marker.is_some() { BLUE } else { SLATE };
    let mut s = String::new();
    let _ = write!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {w} {h}" role="img" aria-labelledby="{id}-t" class="chart"><title id="{id}-t">{title}</title>"#,
        title = esc(title),
    );
    for (i, r) in rows.iter().enumerate() {
        let y = top + row_h * i as f64;
        let len = (pw * (r.value / max).clamp(0.0, 1.0)).max(1.0);
        let _ = write!(
            s,
            r#"<text x="{left}" y="{ty:.1}" font-size="13" fill="{INK}">{label}</text><rect x="{left}" y="{ry:.1}" width="{len:.1}" height="14" fill="{colour}"/><text x="{vx:.1}" y="{vy:.1}" font-size="13" fill="{INK}">{value}</text>"#,
            ty = y + 14.0,
            label = esc(&r.label),
            ry = y + 19.0,
            vx = left + len + 5.0,
            vy = y + 31.0,
            value = esc(&r.value_label),
        );
    }
    if let Some((at, label)) = marker {
        let mx = left + pw * (at / max).clamp(0.0, 1.0);
        let _ = write!(
            s,
            r#"<line x1="{mx:.1}" y1="{y1}" x2="{mx:.1}" y2="{y2:.1}" stroke="{RED}" stroke-width="2" stroke-dasharray="4 3"/><text x="{mx:.1}" y="12" font-size="12" text-anchor="end" fill="{RED}">{label}</text>"#,
            y1 = top - 2.0,
            y2 = h - 2.0,
            label = esc(label),
        );
    }
    s.push_str("</svg>");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn charts_are_well_formed_and_escape_labels() {
        let fmt = |n: i64| n.to_string();
        let svg = progress(&Progress {
            title: "Tiến độ <đợt>",
            actual: &[10, 12, 20],
            days: 10,
            target: 80,
            first_label: "01/11",
            last_label: "10/11",
            actual_label: "Đã kích hoạt",
            target_label: "Chỉ tiêu",
            fmt: &fmt,
        });
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
        assert!(svg.contains("Tiến độ &lt;đợt&gt;"));
        assert_eq!(svg.matches("<polyline").count(), 1);
        let svg = bars(
            "Lý do",
            &[Bar {
                label: "Đã chết & <mất>".into(),
                value: 3.0,
                value_label: "3".into(),
            }],
            3.0,
            Some((2.0, "80 %")),
            "r",
        );
        assert!(svg.contains("Đã chết &amp; &lt;mất&gt;"));
        assert!(svg.contains("stroke-dasharray"));
        // Nothing to draw is still a valid picture.
        assert!(bars("x", &[], 0.0, None, "e").ends_with("</svg>"));
    }
}
