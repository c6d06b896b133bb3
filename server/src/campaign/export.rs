//! Spreadsheets a commune signs and sends up: XLSX (rust_xlsxwriter) laid
//! out for printing on A4, and CSV that Excel opens correctly (UTF-8 with a
//! byte-order mark, CRLF, every field quoted where needed).

use crate::error::AppError;
use rust_xlsxwriter::{Format, FormatAlign, FormatBorder, Workbook};

/// One cell.
#[derive(Clone, Debug, PartialEq)]
pub enum Cell {
    /// Text.
    Text(String),
    /// A whole number.
    Int(i64),
    /// A percentage (0.0–100.0), shown with one decimal.
    Percent(f64),
}

impl From<&str> for Cell {
    fn from(s: &str) -> Cell {
        Cell::Text(s.to_owned())
    }
}
impl From<String> for Cell {
    fn from(s: String) -> Cell {
        Cell::Text(s)
    }
}
impl From<Option<String>> for Cell {
    fn from(s: Option<String>) -> Cell {
        Cell::Text(s.unwrap_or_default())
    }
}
impl From<i64> for Cell {
    fn from(n: i64) -> Cell {
        Cell::Int(n)
    }
}

impl Cell {
    fn as_text(&self) -> String {
        match self {
            Cell::Text(s) => s.clone(),
            Cell::Int(n) => n.to_string(),
            Cell::Percent(p) => format!("{p:.1}"),
        }
    }
}

/// A table with a title, ready to print and sign.
#[derive(Clone, Debug, Default)]
pub struct Sheet {
    /// Worksheet name (≤ 31 characters, no `[]:*?/\`).
    pub name: String,
    /// Title line ("DANH SÁCH CÔNG DÂN ĐÃ KÍCH HOẠT …").
    pub title: String,
    /// Lines under the title (commune, hamlet, date, campaign).
    pub subtitle: Vec<String>,
    /// Column headers.
    pub headers: Vec<String>,
    /// Column widths in characters (missing: 14).
    pub widths: Vec<f64>,
    /// Rows.
    pub rows: Vec<Vec<Cell>>,
    /// Signature block under the table ("NGƯỜI LẬP BIỂU", "TRƯỞNG CÔNG AN XÃ" …).
    pub signatures: Vec<String>,
}

fn xlsx_err(e: rust_xlsxwriter::XlsxError) -> AppError {
    AppError::Internal(format!("xlsx: {e}"))
}

/// The sheets as one XLSX workbook.
pub fn to_xlsx(sheets: &[Sheet]) -> Result<Vec<u8>, AppError> {
    let mut wb = Workbook::new();
    let title = Format::new()
        .set_bold()
        .set_font_size(13)
        .set_align(FormatAlign::Center);
    let sub = Format::new().set_italic().set_align(FormatAlign::Center);
    let head = Format::new()
        .set_bold()
        .set_text_wrap()
        .set_align(FormatAlign::Center)
        .set_align(FormatAlign::VerticalCenter)
        .set_background_color(0xDDEBF7)
        .set_border(FormatBorder::Thin);
    let cell = Format::new()
        .set_border(FormatBorder::Thin)
        .set_text_wrap()
        .set_align(FormatAlign::Top);
    let pct = Format::new()
        .set_border(FormatBorder::Thin)
        .set_num_format("0.0");
    let sign = Format::new().set_bold().set_align(FormatAlign::Center);
    for s in sheets {
        let ws = wb.add_worksheet();
        ws.set_name(&s.name).map_err(xlsx_err)?;
        let cols = s.headers.len().max(1) as u16;
        let last_col = cols - 1;
        let mut row: u32 = 0;
        if last_col > 0 {
            ws.merge_range(row, 0, row, last_col, &s.title, &title)
                .map_err(xlsx_err)?;
        } else {
            ws.write_string_with_format(row, 0, &s.title, &title)
                .map_err(xlsx_err)?;
        }
        row += 1;
        for line in &s.subtitle {
            if last_col > 0 {
                ws.merge_range(row, 0, row, last_col, line, &sub)
                    .map_err(xlsx_err)?;
            } else {
                ws.write_string_with_format(row, 0, line, &sub)
                    .map_err(xlsx_err)?;
            }
            row += 1;
        }
        row += 1;
        let header_row = row;
        for (c, h) in s.headers.iter().enumerate() {
            ws.write_string_with_format(row, c as u16, h, &head)
                .map_err(xlsx_err)?;
            ws.set_column_width(c as u16, s.widths.get(c).copied().unwrap_or(14.0))
                .map_err(xlsx_err)?;
        }
        for r in &s.rows {
            row += 1;
            for (c, v) in r.iter().enumerate() {
                let c = c as u16;
                match v {
                    Cell::Text(t) => ws.write_string_with_format(row, c, t, &cell),
                    Cell::Int(n) => ws.write_number_with_format(row, c, *n as f64, &cell),
                    Cell::Percent(p) => ws.write_number_with_format(row, c, *p, &pct),
                }
                .map_err(xlsx_err)?;
            }
        }
        if !s.rows.is_empty() {
            ws.autofilter(header_row, 0, row, last_col)
                .map_err(xlsx_err)?;
        }
        ws.set_freeze_panes(header_row + 1, 0).map_err(xlsx_err)?;
        ws.set_repeat_rows(header_row, header_row)
            .map_err(xlsx_err)?;
        ws.set_paper_size(9); // A4
        if cols > 6 {
            ws.set_landscape();
        }
        ws.set_print_fit_to_pages(1, 0);
        if !s.signatures.is_empty() {
            row += 2;
            let n = s.signatures.len() as u16;
            let span = (cols / n).max(1);
            for (i, who) in s.signatures.iter().enumerate() {
                let first = i as u16 * span;
                let last = if i as u16 == n - 1 {
                    last_col.max(first)
                } else {
                    first + span - 1
                };
                if last > first {
                    ws.merge_range(row, first, row, last, who, &sign)
                        .map_err(xlsx_err)?;
                    ws.merge_range(row + 1, first, row + 1, last, "(Ký, ghi rõ họ tên)", &sub)
                        .map_err(xlsx_err)?;
                } else {
                    ws.write_string_with_format(row, first, who, &sign)
                        .map_err(xlsx_err)?;
                    ws.write_string_with_format(row + 1, first, "(Ký, ghi rõ họ tên)", &sub)
                        .map_err(xlsx_err)?;
                }
            }
        }
    }
    wb.save_to_buffer().map_err(xlsx_err)
}

/// One sheet as CSV for Excel: UTF-8 with a byte-order mark (so Excel reads
/// Vietnamese correctly), title lines first, then the header and rows.
pub fn to_csv(sheet: &Sheet) -> Result<Vec<u8>, AppError> {
    let mut out = Vec::with_capacity(64 * (sheet.rows.len() + 8));
    out.extend_from_slice(b"\xEF\xBB\xBF");
    {
        let mut w = csv::WriterBuilder::new()
            .terminator(csv::Terminator::CRLF)
            .flexible(true)
            .from_writer(&mut out);
        let csv_err = |e: csv::Error| AppError::Internal(format!("csv: {e}"));
        w.write_record([sheet.title.as_str()]).map_err(csv_err)?;
        for line in &sheet.subtitle {
            w.write_record([line.as_str()]).map_err(csv_err)?;
        }
        w.write_record(&sheet.headers).map_err(csv_err)?;
        for r in &sheet.rows {
            w.write_record(r.iter().map(|c| neutralise(&c.as_text())))
                .map_err(csv_err)?;
        }
        w.flush()
            .map_err(|e| AppError::Internal(format!("csv: {e}")))?;
    }
    Ok(out)
}

/// A text starting with `=`, `+`, `-` or `@` would be run as a formula by
/// a spreadsheet (CSV injection); a leading apostrophe keeps it text.
/// Numbers with a sign are left alone.
fn neutralise(s: &str) -> String {
    let risky = s.starts_with(['=', '+', '-', '@', '\t', '\r']);
    if risky && s.parse::<f64>().is_err() {
        format!("'{s}")
    } else {
        s.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sheet() -> Sheet {
        Sheet {
            name: "Đã kích hoạt".into(),
            title: "DANH SÁCH".into(),
            subtitle: vec!["Xã Ba Đình".into()],
            headers: vec!["STT".into(), "Họ và tên".into()],
            widths: vec![5.0, 30.0],
            rows: vec![
                vec![Cell::Int(1), "Nguyễn Thị Ánh".into()],
                vec![Cell::Int(2), "=HYPERLINK(\"x\")".into()],
            ],
            signatures: vec!["NGƯỜI LẬP BIỂU".into(), "TRƯỞNG CÔNG AN XÃ".into()],
        }
    }

    #[test]
    fn csv_has_bom_crlf_and_no_formulas() {
        let bytes = to_csv(&sheet()).unwrap();
        assert!(bytes.starts_with(b"\xEF\xBB\xBF"));
        let text = String::from_utf8(bytes[3..].to_vec()).unwrap();
        assert!(text.contains("\r\n"));
        assert!(text.contains("Nguyễn Thị Ánh"));
        assert!(text.contains("'=HYPERLINK"));
        assert_eq!(neutralise("-5"), "-5");
    }

    #[test]
    fn xlsx_is_a_zip() {
        let bytes = to_xlsx(&[sheet()]).unwrap();
        assert!(bytes.starts_with(b"PK\x03\x04"));
    }
}
