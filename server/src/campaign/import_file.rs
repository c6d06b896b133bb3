//! Reading the commune police's per-hamlet resident export (CSV or XLSX).
//!
//! This module is pure: bytes in, validated rows and a rejection report out,
//! no database. [`parse`] finds the header row (police files often carry
//! title rows above it), maps the Vietnamese column headers to [`Field`]s,
//! validates every row with the `sync_core::ids` newtypes and groups rows
//! into households. A bad row never holds back a good one: it is reported in
//! [`ParsedFile::rejected`] with its row number, a stable code and a
//! Vietnamese message, and every other row is returned. The accepted schema
//! and the rules are written down in `docs/IMPORT.md`.
//!
//! Personal data never appears in a message: rejections name the row and the
//! column, never the value (hamlet and status texts, which are not personal,
//! may be quoted).
//!
//! ```
//! use gocua_server::campaign::import_file::{parse, Format, HamletRef, ImportOptions};
//!
//! let csv = "DANH SÁCH CÔNG DÂN THÔN ĐÔNG\n\
//!            STT,Họ và tên,Số định danh cá nhân,Ngày sinh,Địa chỉ,Trạng thái tài khoản\n\
//!            1,Nguyễn Văn An,001090012345,15/03/1990,\"Số 12, ngõ 4, thôn Đông\",Đã kích hoạt\n\
//!            2,Trần Thị Bình,,1992,\"Số 12, ngõ 4, thôn Đông\",Chưa có tài khoản\n";
//! let hamlets = [HamletRef { id: "h1".into(), name: "Thôn Đông".into() }];
//! let opts = ImportOptions { hamlets: &hamlets, default_hamlet: Some("h1") };
//! let parsed = parse(csv.as_bytes(), Format::sniff(csv.as_bytes()), &opts, &mut |_, _| {})
//!     .expect("a readable file");
//! assert_eq!(parsed.rows.len(), 2);
//! assert_eq!(parsed.rows[0].row, 3);
//! assert_eq!(parsed.rows[0].address.alley, "ngõ 4");
//! assert_eq!(parsed.rows[0].household_key, parsed.rows[1].household_key);
//! assert!(parsed.rejected.is_empty());
//! ```

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::fmt;
use std::io::Cursor;
use std::sync::LazyLock;

use calamine::{Data, Reader, SheetType, Xlsx};
use sync_core::ids::{BirthDate, IdDataFlag, PersonName, PersonalId, PhoneNumber, Sex};
use sync_core::model::{Address, RegistryStatus};
use sync_core::text::fold;

/// How many rows from the top are searched for the header row.
pub const HEADER_SCAN_ROWS: usize = 20;
/// `progress` is called after every this many data rows (and at the end).
pub const PROGRESS_EVERY: usize = 1000;
/// Longest hamlet or status text quoted in a message, in characters.
const QUOTE_MAX_CHARS: usize = 60;

// ---------------------------------------------------------------------------
// Public types
// ---------------------------------------------------------------------------

/// The container format of an uploaded file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    /// Delimited text (`,`, `;` or tab), UTF-8 or UTF-16 with a BOM.
    Csv,
    /// Excel 2007+ workbook.
    Xlsx,
}

impl Format {
    /// Guesses the format from the first bytes: a ZIP archive (`PK\x03\x04`)
    /// is an XLSX workbook, anything else is read as CSV.
    pub fn sniff(bytes: &[u8]) -> Format {
        if bytes.starts_with(b"PK\x03\x04") {
            Format::Xlsx
        } else {
            Format::Csv
        }
    }
}

/// One of the commune's hamlets (thôn, tổ dân phố, ấp, bản…).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HamletRef {
    /// Stable id.
    pub id: String,
    /// Name as the commune writes it ("Thôn Đông", "Tổ dân phố 5").
    pub name: String,
}

/// What the import needs to know besides the file.
#[derive(Debug, Clone, Copy)]
pub struct ImportOptions<'a> {
    /// The commune's hamlets; hamlet values in the file are matched against them.
    pub hamlets: &'a [HamletRef],
    /// Hamlet for rows without a hamlet column/value (a per-hamlet export):
    /// an id of `hamlets` (or, failing that, a name matching one).
    pub default_hamlet: Option<&'a str>,
}

/// A valid resident row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportRow {
    /// Row number as the user sees it in Excel or the CSV (the header is its
    /// own row number, the first data row the one after it).
    pub row: usize,
    /// Hamlet id (matched against [`ImportOptions::hamlets`]).
    pub hamlet: String,
    /// Grouping key of the household: the household column's value when
    /// present, else the normalised address; always prefixed with the hamlet
    /// id (see `docs/IMPORT.md`).
    pub household_key: String,
    /// Address inside the hamlet, in the normal form of `docs/IMPORT.md`.
    pub address: Address,
    /// Full name as validated by [`PersonName`] (NFC, spaces collapsed).
    pub full_name: String,
    /// Số định danh cá nhân, when given.
    pub personal_id: Option<PersonalId>,
    /// Ngày sinh, when given (may be year-only).
    pub birth_date: Option<BirthDate>,
    /// Giới tính, when given.
    pub sex: Option<Sex>,
    /// Số điện thoại, when given.
    pub phone: Option<PhoneNumber>,
    /// Account status from the export (no status column: [`RegistryStatus::NoAccount`]).
    pub registry: RegistryStatus,
    /// Disagreements between the ID number and the birth date or sex: data
    /// errors to report to the commune police, not a reason to reject.
    pub id_flags: Vec<IdDataFlag>,
}

/// One problem of a rejected row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowProblem {
    /// Stable code, e.g. `"import.bad_id"`.
    pub code: String,
    /// The column's header as written in the file, when one column is at fault.
    pub column: Option<String>,
    /// Vietnamese message (never contains personal data).
    pub message_vi: String,
}

/// A row that was not imported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RejectedRow {
    /// Row number as the user sees it (same numbering as [`ImportRow::row`]).
    pub row: usize,
    /// Stable code of the first problem, e.g. `"import.bad_id"`.
    pub code: String,
    /// Header as written of the column at fault, when there is one.
    pub column: Option<String>,
    /// Vietnamese message of the first problem (never contains personal data).
    pub message_vi: String,
    /// Further problems of the same row, in column order.
    pub others: Vec<RowProblem>,
}

/// The result of reading a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedFile {
    /// Valid rows, in file order.
    pub rows: Vec<ImportRow>,
    /// Rejected rows, in file order, one entry per row.
    pub rejected: Vec<RejectedRow>,
    /// Recognised columns: header as written and the field it was read as.
    pub columns: Vec<(String, Field)>,
    /// Headers not recognised (or a second column for an already matched field).
    pub ignored_columns: Vec<String>,
    /// Row number of the header row.
    pub header_row: usize,
    /// For XLSX, the worksheet read.
    pub sheet: Option<String>,
}

/// What a column holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Field {
    /// Họ và tên (or only "Tên" when [`Field::FamilyMiddleName`] is also present).
    FullName,
    /// Họ và chữ đệm, in files that split the name; joined before "Tên".
    FamilyMiddleName,
    /// Số định danh cá nhân.
    PersonalId,
    /// Ngày sinh.
    BirthDate,
    /// Giới tính.
    Sex,
    /// Số điện thoại.
    Phone,
    /// Địa chỉ (one column, split into parts).
    Address,
    /// Số nhà.
    HouseNumber,
    /// Ngõ / ngách / hẻm / kiệt.
    Alley,
    /// Đường / phố.
    Street,
    /// Thôn / tổ dân phố.
    Hamlet,
    /// Số hộ / mã hộ.
    Household,
    /// Trạng thái tài khoản.
    RegistryStatus,
    /// STT (row counter, ignored).
    SerialNumber,
}

impl Field {
    /// Every field, in the order of the schema table.
    pub const ALL: [Field; 14] = [
        Field::FullName,
        Field::FamilyMiddleName,
        Field::PersonalId,
        Field::BirthDate,
        Field::Sex,
        Field::Phone,
        Field::Address,
        Field::HouseNumber,
        Field::Alley,
        Field::Street,
        Field::Hamlet,
        Field::Household,
        Field::RegistryStatus,
        Field::SerialNumber,
    ];

    /// A stable code.
    pub fn code(self) -> &'static str {
        match self {
            Field::FullName => "full_name",
            Field::FamilyMiddleName => "family_middle_name",
            Field::PersonalId => "personal_id",
            Field::BirthDate => "birth_date",
            Field::Sex => "sex",
            Field::Phone => "phone",
            Field::Address => "address",
            Field::HouseNumber => "house_number",
            Field::Alley => "alley",
            Field::Street => "street",
            Field::Hamlet => "hamlet",
            Field::Household => "household",
            Field::RegistryStatus => "registry_status",
            Field::SerialNumber => "serial_number",
        }
    }

    /// The usual Vietnamese header.
    pub fn label_vi(self) -> &'static str {
        match self {
            Field::FullName => "Họ và tên",
            Field::FamilyMiddleName => "Họ và chữ đệm",
            Field::PersonalId => "Số định danh cá nhân",
            Field::BirthDate => "Ngày sinh",
            Field::Sex => "Giới tính",
            Field::Phone => "Số điện thoại",
            Field::Address => "Địa chỉ",
            Field::HouseNumber => "Số nhà",
            Field::Alley => "Ngõ/Hẻm",
            Field::Street => "Đường/Phố",
            Field::Hamlet => "Thôn/Tổ dân phố",
            Field::Household => "Số hộ",
            Field::RegistryStatus => "Trạng thái tài khoản",
            Field::SerialNumber => "STT",
        }
    }

    /// Accepted headers, in normalised form (see [`normalize_header`]).
    pub fn synonyms(self) -> &'static [&'static str] {
        match self {
            Field::FullName => &[
                "ho va ten",
                "ho ten",
                "ten",
                "ho chu dem va ten",
                "ho chu dem ten",
                "ho va ten cong dan",
                "ho ten cong dan",
                "ten cong dan",
                "ho va ten nhan khau",
                "ho ten nhan khau",
            ],
            Field::FamilyMiddleName => &[
                "ho va chu dem",
                "ho chu dem",
                "ho dem",
                "ho va ten dem",
                "ho va dem",
            ],
            Field::PersonalId => &[
                "so dinh danh ca nhan",
                "so dinh danh",
                "dinh danh ca nhan",
                "ma dinh danh",
                "so ddcn",
                "ddcn",
                "so cccd",
                "cccd",
                "so can cuoc",
                "so can cuoc cong dan",
                "can cuoc cong dan",
                "can cuoc",
                "so the can cuoc",
                "so cccd cmnd",
                "so cmnd cccd",
                "cccd cmnd",
                "cmnd cccd",
                "so dinh danh cccd",
                "so dinh danh ca nhan cccd",
            ],
            Field::BirthDate => &[
                "ngay sinh",
                "ngay thang nam sinh",
                "sinh ngay",
                "nam sinh",
                "ngay sinh nam sinh",
            ],
            Field::Sex => &["gioi tinh", "gt", "phai", "nam nu"],
            Field::Phone => &[
                "so dien thoai",
                "sdt",
                "so dt",
                "dien thoai",
                "dt",
                "so dien thoai lien he",
                "dien thoai lien he",
                "sdt lien he",
                "so thue bao",
                "so dien thoai di dong",
                "dien thoai di dong",
                "so dien thoai dang ky",
            ],
            Field::Address => &[
                "dia chi",
                "noi o hien tai",
                "noi o hien nay",
                "cho o hien nay",
                "cho o hien tai",
                "noi o",
                "dia chi thuong tru",
                "noi thuong tru",
                "thuong tru",
                "dia chi cu tru",
                "noi cu tru",
                "dia chi noi o",
                "dia chi hien tai",
            ],
            Field::HouseNumber => &["so nha", "sn", "so nha can ho"],
            Field::Alley => &[
                "ngo",
                "ngach",
                "hem",
                "kiet",
                "ngo hem",
                "hem ngo",
                "ngo ngach",
                "ngo ngach hem",
                "ngo hem kiet",
                "kiet hem",
            ],
            Field::Street => &["duong", "pho", "duong pho", "ten duong"],
            Field::Hamlet => &[
                "thon to dan pho",
                "thon",
                "to dan pho",
                "ap",
                "ban",
                "khu pho",
                "xom",
                "thon xom",
                "thon ap",
                "thon ban",
                "thon to",
                "to",
                "tdp",
                "thon tdp",
                "khu",
                "khom",
                "thon xom ap ban",
                "thon ban to dan pho",
                "thon ap ban to dan pho",
                "ap khu pho",
                "ten thon",
                "dia ban",
            ],
            Field::Household => &[
                "so ho",
                "ma ho",
                "so ho khau",
                "ho so",
                "ma ho gia dinh",
                "ma so ho",
                "so so ho khau",
                "so hgd",
                "ma hgd",
                "ho gia dinh",
                "ho so ho",
            ],
            Field::RegistryStatus => &[
                "trang thai tai khoan",
                "trang thai",
                "tai khoan dinh danh",
                "tai khoan dinh danh dien tu",
                "trang thai tai khoan dinh danh",
                "trang thai tai khoan dinh danh dien tu",
                "tinh trang tai khoan",
                "tinh trang",
                "trang thai vneid",
                "tai khoan vneid",
                "trang thai kich hoat",
                "tinh trang kich hoat",
                "muc do tai khoan",
                "tai khoan",
            ],
            Field::SerialNumber => &["stt", "tt", "so thu tu"],
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label_vi())
    }
}

/// A problem with the whole file; nothing was imported.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ImportError {
    /// Neither a readable XLSX workbook nor delimited text.
    #[error("the file is not a spreadsheet that can be read (CSV or XLSX)")]
    NotSpreadsheet,
    /// An Excel 97–2003 (`.xls`) workbook.
    #[error("Excel 97-2003 (.xls) workbooks are not supported; save as .xlsx or CSV UTF-8")]
    LegacyXls,
    /// No row among the first [`HEADER_SCAN_ROWS`] looks like a header.
    #[error("no header row found in the first {HEADER_SCAN_ROWS} rows")]
    NoHeader,
    /// A header row was found but a required column is missing.
    #[error("required column missing: {}", .field.code())]
    MissingColumn {
        /// The missing field.
        field: Field,
    },
    /// The file has no hamlet column and no default hamlet was given.
    #[error("the file has no hamlet column and no hamlet was chosen for it")]
    NoHamlet,
    /// The default hamlet is not one of the commune's hamlets.
    #[error("the chosen hamlet is not one of the commune's hamlets")]
    UnknownDefaultHamlet,
    /// The text is not UTF-8 (the header row, or more than half the rows).
    #[error("the file is not UTF-8 text")]
    NotUtf8,
    /// The file starts with a UTF-16 byte order mark but is not valid UTF-16.
    #[error("the file is not valid UTF-16 text")]
    BadUtf16,
}

impl ImportError {
    /// A stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            ImportError::NotSpreadsheet => "import.not_spreadsheet",
            ImportError::LegacyXls => "import.xls_unsupported",
            ImportError::NoHeader => "import.no_header",
            ImportError::MissingColumn { .. } => "import.missing_column",
            ImportError::NoHamlet => "import.no_hamlet_column",
            ImportError::UnknownDefaultHamlet => "import.unknown_default_hamlet",
            ImportError::NotUtf8 => "import.not_utf8",
            ImportError::BadUtf16 => "import.bad_utf16",
        }
    }

    /// The message in Vietnamese.
    pub fn message_vi(&self) -> String {
        match self {
            ImportError::NotSpreadsheet => "Không đọc được tệp: tệp phải là bảng tính Excel \
                                            (.xlsx) hoặc tệp CSV"
                .to_owned(),
            ImportError::LegacyXls => "Tệp Excel 97-2003 (.xls) chưa được hỗ trợ: hãy mở tệp \
                                       bằng Excel và lưu lại dưới dạng \"Excel Workbook (.xlsx)\" \
                                       hoặc \"CSV UTF-8\""
                .to_owned(),
            ImportError::NoHeader => format!(
                "Không tìm thấy dòng tiêu đề cột trong {HEADER_SCAN_ROWS} dòng đầu: cần có cột \
                 \"Họ và tên\" và ít nhất một cột khác như \"Số định danh cá nhân\", \"Ngày sinh\" \
                 hoặc \"Địa chỉ\""
            ),
            ImportError::MissingColumn { field } => {
                format!("Tệp thiếu cột bắt buộc \"{}\"", field.label_vi())
            }
            ImportError::NoHamlet => "Tệp không có cột \"Thôn/Tổ dân phố\": hãy chọn thôn, tổ \
                                      dân phố của danh sách này trước khi nhập"
                .to_owned(),
            ImportError::UnknownDefaultHamlet => {
                "Thôn, tổ dân phố đã chọn không thuộc danh sách của xã".to_owned()
            }
            ImportError::NotUtf8 => "Tệp không dùng bảng mã Unicode UTF-8 (có thể là TCVN3, VNI \
                                     hoặc Windows-1258): hãy mở tệp bằng Excel và chọn Lưu thành \
                                     (Save As) \"CSV UTF-8 (Comma delimited)\", hoặc gửi tệp .xlsx"
                .to_owned(),
            ImportError::BadUtf16 => "Tệp văn bản Unicode (UTF-16) bị hỏng: hãy lưu lại dưới \
                                      dạng \"CSV UTF-8\" hoặc gửi tệp .xlsx"
                .to_owned(),
        }
    }
}

// ---------------------------------------------------------------------------
// Entry point
// ---------------------------------------------------------------------------

/// Reads a resident export.
///
/// `progress(done, total)` is called every [`PROGRESS_EVERY`] data rows and
/// once at the end with `done == total` (rows after the header, empty ones
/// included).
pub fn parse(
    bytes: &[u8],
    format: Format,
    opts: &ImportOptions<'_>,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<ParsedFile, ImportError> {
    if bytes.starts_with(&[0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1]) {
        return Err(ImportError::LegacyXls);
    }
    match format {
        Format::Csv => parse_csv(bytes, opts, progress),
        Format::Xlsx => parse_xlsx(bytes, opts, progress),
    }
}

// ---------------------------------------------------------------------------
// Cells and row sources
// ---------------------------------------------------------------------------

/// One cell, as read from either format.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Cell<'a> {
    Empty,
    /// Trimmed, non-empty text.
    Text(&'a str),
    Int(i64),
    Float(f64),
    /// A date-formatted XLSX cell.
    Date(i32, u32, u32),
    /// CSV bytes that are not UTF-8.
    BadUtf8,
    /// An XLSX formula error (`#N/A`, `#REF!`…).
    Error,
}

impl<'a> Cell<'a> {
    fn text(s: &'a str) -> Cell<'a> {
        let t = s.trim();
        if t.is_empty() {
            Cell::Empty
        } else {
            Cell::Text(t)
        }
    }

    fn from_bytes(b: &'a [u8]) -> Cell<'a> {
        match std::str::from_utf8(b) {
            Ok(s) => Cell::text(s),
            Err(_) => Cell::BadUtf8,
        }
    }

    fn from_data(d: &'a Data) -> Cell<'a> {
        match d {
            Data::Empty => Cell::Empty,
            Data::String(s) | Data::DateTimeIso(s) | Data::DurationIso(s) => Cell::text(s),
            Data::Int(i) => Cell::Int(*i),
            Data::Float(f) => float_cell(*f),
            Data::Bool(b) => Cell::Text(if *b { "TRUE" } else { "FALSE" }),
            Data::DateTime(dt) if dt.is_datetime() => {
                let (y, m, d, ..) = dt.to_ymd_hms_milli();
                Cell::Date(i32::from(y), u32::from(m), u32::from(d))
            }
            Data::DateTime(dt) => float_cell(dt.as_f64()),
            Data::Error(_) => Cell::Error,
        }
    }

    fn is_empty(&self) -> bool {
        matches!(self, Cell::Empty)
    }

    /// The value as text (numbers without a fraction as integers, dates as
    /// dd/mm/yyyy); `None` for empty, undecodable and error cells.
    fn as_text(&self) -> Option<Cow<'a, str>> {
        match *self {
            Cell::Text(s) => Some(Cow::Borrowed(s)),
            Cell::Int(i) => Some(Cow::Owned(i.to_string())),
            Cell::Float(f) => Some(Cow::Owned(f.to_string())),
            Cell::Date(y, m, d) => Some(Cow::Owned(format!("{d:02}/{m:02}/{y:04}"))),
            Cell::Empty | Cell::BadUtf8 | Cell::Error => None,
        }
    }
}

fn float_cell(f: f64) -> Cell<'static> {
    if f.fract() == 0.0 && f.abs() < 1e15 {
        // Exact: whole and well inside i64's range.
        Cell::Int(f as i64)
    } else {
        Cell::Float(f)
    }
}

/// Rows of a sheet, addressed by index.
trait RowSource {
    fn len(&self) -> usize;
    /// The row number the user sees for row `i`.
    fn row_number(&self, i: usize) -> usize;
    /// Fills `out` with the cells of row `i`.
    fn cells<'s>(&'s self, i: usize, out: &mut Vec<Cell<'s>>);
}

struct CsvRows {
    records: Vec<(usize, csv::ByteRecord)>,
}

impl RowSource for CsvRows {
    fn len(&self) -> usize {
        self.records.len()
    }

    fn row_number(&self, i: usize) -> usize {
        self.records[i].0
    }

    fn cells<'s>(&'s self, i: usize, out: &mut Vec<Cell<'s>>) {
        out.clear();
        out.extend(self.records[i].1.iter().map(Cell::from_bytes));
    }
}

struct SheetRows<'r> {
    range: &'r calamine::Range<Data>,
    first_row: usize,
    width: usize,
}

impl RowSource for SheetRows<'_> {
    fn len(&self) -> usize {
        self.range.height()
    }

    fn row_number(&self, i: usize) -> usize {
        self.first_row + i
    }

    fn cells<'s>(&'s self, i: usize, out: &mut Vec<Cell<'s>>) {
        out.clear();
        out.extend(
            (0..self.width).map(|j| self.range.get((i, j)).map_or(Cell::Empty, Cell::from_data)),
        );
    }
}

// ---------------------------------------------------------------------------
// CSV
// ---------------------------------------------------------------------------

fn parse_csv(
    bytes: &[u8],
    opts: &ImportOptions<'_>,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<ParsedFile, ImportError> {
    let text = decode_text(bytes)?;
    let (explicit_delimiter, body) = strip_sep_line(&text);
    let candidates: &[u8] = match explicit_delimiter {
        Some(d) => &[d],
        None => b",;\t",
    };
    // Choose the delimiter under which the header row is found with the most
    // fields (ties: the earlier candidate).
    let mut best: Option<(HeaderScore, u8)> = None;
    for &d in candidates {
        let head = CsvRows {
            records: read_csv(body, d, Some(HEADER_SCAN_ROWS))?,
        };
        let score = best_header_score(&head);
        if best.is_none_or(|(s, _)| score > s) {
            best = Some((score, d));
        }
    }
    let delimiter = best.map_or(b',', |(_, d)| d);
    let rows = CsvRows {
        records: read_csv(body, delimiter, None)?,
    };
    let layout = match find_header(&rows) {
        HeaderSearch::Found(layout) => layout,
        HeaderSearch::NameMissing if any_bad_utf8(&rows) => {
            return Err(ImportError::NotUtf8);
        }
        HeaderSearch::NameMissing => {
            return Err(ImportError::MissingColumn {
                field: Field::FullName,
            });
        }
        HeaderSearch::None if any_bad_utf8(&rows) => return Err(ImportError::NotUtf8),
        HeaderSearch::None => return Err(ImportError::NoHeader),
    };
    if layout.header_has_bad_utf8 {
        return Err(ImportError::NotUtf8);
    }
    let parsed = Importer::new(opts, *layout)?.run(&rows, None, progress);
    if parsed.bad_utf8_rows * 2 > parsed.nonempty_rows {
        return Err(ImportError::NotUtf8);
    }
    Ok(parsed.file)
}

/// Strips a BOM and decodes UTF-16 to UTF-8; refuses binary data.
fn decode_text(bytes: &[u8]) -> Result<Cow<'_, [u8]>, ImportError> {
    let utf16 = |enc: &'static encoding_rs::Encoding, body: &[u8]| {
        enc.decode_without_bom_handling_and_without_replacement(body)
            .map(|s| Cow::Owned(s.into_owned().into_bytes()))
            .ok_or(ImportError::BadUtf16)
    };
    if let Some(rest) = bytes.strip_prefix(b"\xEF\xBB\xBF") {
        return Ok(Cow::Borrowed(rest));
    }
    if let Some(rest) = bytes.strip_prefix(b"\xFF\xFE") {
        return utf16(encoding_rs::UTF_16LE, rest);
    }
    if let Some(rest) = bytes.strip_prefix(b"\xFE\xFF") {
        return utf16(encoding_rs::UTF_16BE, rest);
    }
    // UTF-16 without a BOM: text whose every other byte is zero.
    let probe = &bytes[..bytes.len().min(512) & !1];
    let zeros_at = |parity: usize| {
        probe
            .iter()
            .skip(parity)
            .step_by(2)
            .filter(|&&b| b == 0)
            .count()
    };
    let pairs = probe.len() / 2;
    if pairs >= 4 {
        let (even, odd) = (zeros_at(0), zeros_at(1));
        if odd * 10 >= pairs * 7 && even == 0 {
            return utf16(encoding_rs::UTF_16LE, bytes);
        }
        if even * 10 >= pairs * 7 && odd == 0 {
            return utf16(encoding_rs::UTF_16BE, bytes);
        }
    }
    if bytes[..bytes.len().min(8192)].contains(&0) {
        return Err(ImportError::NotSpreadsheet);
    }
    Ok(Cow::Borrowed(bytes))
}

/// Excel's `sep=;` first line: the delimiter, and the text after that line
/// (Excel does not show the line, so rows are numbered without it).
fn strip_sep_line(text: &[u8]) -> (Option<u8>, &[u8]) {
    let line_end = text.iter().position(|&b| b == b'\n').unwrap_or(text.len());
    let line = text[..line_end].trim_ascii();
    if line.len() == 5 && line[..4].eq_ignore_ascii_case(b"sep=") {
        let d = line[4];
        if matches!(d, b',' | b';' | b'\t' | b'|') {
            let rest = text.get(line_end + 1..).unwrap_or_default();
            return (Some(d), rest);
        }
    }
    (None, text)
}

/// Reads records with the row number Excel would show for each: blank lines
/// count as rows, line breaks inside quoted cells do not.
fn read_csv(
    data: &[u8],
    delimiter: u8,
    limit: Option<usize>,
) -> Result<Vec<(usize, csv::ByteRecord)>, ImportError> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(delimiter)
        .from_reader(data);
    let mut out = Vec::new();
    // Rows completed before `cursor`, the byte where the previous record ended.
    let mut rows_before = 0usize;
    let mut cursor = 0usize;
    loop {
        let mut record = csv::ByteRecord::new();
        match reader.read_byte_record(&mut record) {
            Ok(true) => {}
            Ok(false) => break,
            Err(_) => return Err(ImportError::NotSpreadsheet),
        }
        let end = usize::try_from(reader.position().byte())
            .unwrap_or(data.len())
            .min(data.len());
        let slice = data.get(cursor..end).unwrap_or_default();
        // Blank lines skipped before the record; the `\n` of a `\r\n` whose
        // `\r` ended the previous record is not a line of its own.
        let mut i =
            usize::from(cursor > 0 && data[cursor - 1] == b'\r' && slice.first() == Some(&b'\n'));
        while let Some(&b) = slice.get(i) {
            if b != b'\r' && b != b'\n' {
                break;
            }
            i += if b == b'\r' && slice.get(i + 1) == Some(&b'\n') {
                2
            } else {
                1
            };
            rows_before += 1;
        }
        rows_before += 1;
        cursor = end;
        out.push((rows_before, record));
        if limit.is_some_and(|l| out.len() >= l) {
            break;
        }
    }
    Ok(out)
}

fn any_bad_utf8(rows: &CsvRows) -> bool {
    rows.records
        .iter()
        .take(HEADER_SCAN_ROWS)
        .any(|(_, r)| r.iter().any(|f| std::str::from_utf8(f).is_err()))
}

// ---------------------------------------------------------------------------
// XLSX
// ---------------------------------------------------------------------------

fn parse_xlsx(
    bytes: &[u8],
    opts: &ImportOptions<'_>,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<ParsedFile, ImportError> {
    let mut workbook: Xlsx<_> = calamine::open_workbook_from_rs(Cursor::new(bytes))
        .map_err(|_| ImportError::NotSpreadsheet)?;
    let names: Vec<String> = workbook
        .sheets_metadata()
        .iter()
        .filter(|s| s.typ == SheetType::WorkSheet)
        .map(|s| s.name.clone())
        .collect();
    let mut name_missing = false;
    let mut readable = false;
    for name in names {
        let Ok(range) = workbook.worksheet_range(&name) else {
            continue;
        };
        readable = true;
        let Some((first_row, _)) = range.start() else {
            continue;
        };
        let rows = SheetRows {
            range: &range,
            first_row: usize::try_from(first_row).unwrap_or(usize::MAX - 1) + 1,
            width: range.width(),
        };
        match find_header(&rows) {
            HeaderSearch::Found(layout) => {
                let importer = Importer::new(opts, *layout)?;
                return Ok(importer.run(&rows, Some(name), progress).file);
            }
            HeaderSearch::NameMissing => name_missing = true,
            HeaderSearch::None => {}
        }
    }
    if !readable {
        Err(ImportError::NotSpreadsheet)
    } else if name_missing {
        Err(ImportError::MissingColumn {
            field: Field::FullName,
        })
    } else {
        Err(ImportError::NoHeader)
    }
}

// ---------------------------------------------------------------------------
// Header
// ---------------------------------------------------------------------------

static SYNONYMS: LazyLock<HashMap<&'static str, Field>> = LazyLock::new(|| {
    let mut map = HashMap::new();
    for field in Field::ALL {
        for s in field.synonyms() {
            map.entry(*s).or_insert(field);
        }
    }
    map
});

/// Folds text (lowercase, no diacritics, `đ` → `d`) and turns every run of
/// characters other than letters and digits into one space.
pub fn normalize_key(s: &str) -> String {
    let folded = fold(s);
    let mut out = String::with_capacity(folded.len());
    let mut at_space = true;
    for c in folded.chars() {
        if c.is_alphanumeric() {
            out.push(c);
            at_space = false;
        } else if !at_space {
            out.push(' ');
            at_space = true;
        }
    }
    if out.ends_with(' ') {
        out.pop();
    }
    out
}

/// The form in which headers are matched: text in parentheses or brackets
/// dropped ("Ngày sinh (dd/mm/yyyy)", "Họ và tên (*)"), then
/// [`normalize_key`]: "Thôn/Tổ dân phố" → "thon to dan pho".
pub fn normalize_header(s: &str) -> String {
    let mut kept = String::with_capacity(s.len());
    let mut depth = 0usize;
    for c in s.chars() {
        match c {
            '(' | '[' => depth += 1,
            ')' | ']' => depth = depth.saturating_sub(1),
            _ if depth == 0 => kept.push(c),
            _ => {}
        }
    }
    let key = normalize_key(&kept);
    if key.is_empty() {
        normalize_key(s)
    } else {
        key
    }
}

/// The field a header names, if any.
pub fn header_field(header: &str) -> Option<Field> {
    SYNONYMS.get(normalize_header(header).as_str()).copied()
}

/// How well a row works as a header: (has the name, distinct fields).
type HeaderScore = (bool, usize);

fn header_score(cells: &[Cell<'_>]) -> (HeaderScore, Vec<Option<Field>>) {
    let fields: Vec<Option<Field>> = cells
        .iter()
        .map(|c| match c {
            Cell::Text(t) => header_field(t),
            _ => None,
        })
        .collect();
    let mut seen = HashSet::new();
    for f in fields.iter().flatten() {
        if *f != Field::SerialNumber {
            seen.insert(*f);
        }
    }
    let has_name = seen.contains(&Field::FullName);
    ((has_name, seen.len()), fields)
}

fn best_header_score(rows: &impl RowSource) -> HeaderScore {
    let mut cells = Vec::new();
    let mut best = (false, 0);
    for i in 0..rows.len().min(HEADER_SCAN_ROWS) {
        rows.cells(i, &mut cells);
        best = best.max(header_score(&cells).0);
    }
    best
}

/// Where each field is, from the header row.
#[derive(Debug)]
struct Layout {
    /// Index of the (last) header row in its source.
    index: usize,
    /// Row number of the (first) header row.
    row_number: usize,
    /// Header as written (trimmed, spaces collapsed), per column.
    headers: Vec<String>,
    /// The column of each field (the first one, when repeated).
    col: [Option<usize>; Field::ALL.len()],
    /// The field of each column (`None` for ignored ones).
    field_of: Vec<Option<Field>>,
    columns: Vec<(String, Field)>,
    ignored: Vec<String>,
    header_has_bad_utf8: bool,
}

impl Layout {
    fn col(&self, f: Field) -> Option<usize> {
        self.col[f.index()]
    }

    fn header(&self, col: usize) -> String {
        self.headers.get(col).cloned().unwrap_or_default()
    }
}

enum HeaderSearch {
    Found(Box<Layout>),
    /// A row names two or more fields but not the name.
    NameMissing,
    None,
}

fn find_header(rows: &impl RowSource) -> HeaderSearch {
    let mut cells = Vec::new();
    let mut name_missing = false;
    for i in 0..rows.len().min(HEADER_SCAN_ROWS) {
        rows.cells(i, &mut cells);
        let ((has_name, count), mut fields) = header_score(&cells);
        if has_name && count >= 2 {
            let mut headers: Vec<String> = cells.iter().map(header_text).collect();
            let mut bad_utf8 = cells.iter().any(|c| matches!(c, Cell::BadUtf8));
            // A second header row under cells merged over several columns
            // ("Địa chỉ" over "Số nhà | Ngõ | Đường").
            let mut last = i;
            if i + 1 < rows.len() {
                let mut next = Vec::new();
                rows.cells(i + 1, &mut next);
                if merge_sub_header(&mut headers, &mut fields, &next) {
                    last = i + 1;
                    bad_utf8 |= next.iter().any(|c| matches!(c, Cell::BadUtf8));
                }
            }
            return HeaderSearch::Found(Box::new(build_layout(
                last,
                rows.row_number(i),
                headers,
                fields,
                bad_utf8,
            )));
        }
        if count >= 2 {
            name_missing = true;
        }
    }
    if name_missing {
        HeaderSearch::NameMissing
    } else {
        HeaderSearch::None
    }
}

/// A header cell as written: trimmed, whitespace (line breaks) collapsed.
fn header_text(cell: &Cell<'_>) -> String {
    cell.as_text()
        .map(|t| t.split_whitespace().collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

/// Takes `next` as a second header row when every filled cell of it names a
/// field and sits under an empty, unknown or "Địa chỉ" header cell; its
/// fields then replace those of the first row.
fn merge_sub_header(
    headers: &mut Vec<String>,
    fields: &mut Vec<Option<Field>>,
    next: &[Cell<'_>],
) -> bool {
    let mut subs = Vec::new();
    for (j, c) in next.iter().enumerate() {
        match c {
            Cell::Empty => {}
            Cell::Text(t) => match header_field(t) {
                Some(f) if matches!(fields.get(j), None | Some(None | Some(Field::Address))) => {
                    subs.push((j, f));
                }
                _ => return false,
            },
            _ => return false,
        }
    }
    if subs.is_empty() {
        return false;
    }
    if headers.len() < next.len() {
        headers.resize(next.len(), String::new());
        fields.resize(next.len(), None);
    }
    for (j, f) in subs {
        headers[j] = header_text(&next[j]);
        fields[j] = Some(f);
    }
    true
}

/// `index`: the (last) header row's index; `row_number`: the (first) header
/// row's number.
fn build_layout(
    index: usize,
    row_number: usize,
    headers: Vec<String>,
    fields: Vec<Option<Field>>,
    header_has_bad_utf8: bool,
) -> Layout {
    let mut col = [None; Field::ALL.len()];
    let mut field_of = vec![None; headers.len()];
    let mut columns = Vec::new();
    let mut ignored = Vec::new();
    for (i, f) in fields.iter().enumerate() {
        match f {
            Some(f) if col[f.index()].is_none() => {
                col[f.index()] = Some(i);
                field_of[i] = Some(*f);
                columns.push((headers[i].clone(), *f));
            }
            _ if !headers[i].is_empty() => ignored.push(headers[i].clone()),
            _ => {}
        }
    }
    Layout {
        index,
        row_number,
        headers,
        col,
        field_of,
        columns,
        ignored,
        header_has_bad_utf8,
    }
}

// ---------------------------------------------------------------------------
// Value parsing
// ---------------------------------------------------------------------------

/// A personal ID as text; numbers that lost their leading zeros get them
/// back (every province code starts with 0, so an ID read as a number has
/// 10 or 11 digits).
fn personal_id_text(cell: &Cell<'_>) -> Option<String> {
    let text = cell.as_text()?;
    let t = text.trim_start_matches('\'').trim();
    if (t.len() == 10 || t.len() == 11)
        && t.bytes().all(|b| b.is_ascii_digit())
        && !t.starts_with('0')
    {
        Some(format!("{t:0>12}"))
    } else {
        Some(t.to_owned())
    }
}

/// What Excel makes of a long number in a General cell: "1.09001E+11".
/// The digits are lost; only re-exporting the column as text helps.
fn is_scientific(text: &str) -> bool {
    let t = text.trim();
    let Some((mantissa, exponent)) = t.split_once(['E', 'e']) else {
        return false;
    };
    let exponent = exponent.strip_prefix('+').unwrap_or(exponent);
    !mantissa.is_empty()
        && mantissa
            .bytes()
            .all(|b| b.is_ascii_digit() || b == b'.' || b == b',')
        && !exponent.is_empty()
        && exponent.bytes().all(|b| b.is_ascii_digit())
}

const SCIENTIFIC_VI: &str = "Số đã bị Excel đổi sang dạng số mũ (ví dụ 1,09E+11) nên mất chữ \
                             số: hãy định dạng cột là Văn bản (Text), nhập lại số và xuất lại tệp";

/// A birth date from a date cell, a year or Excel date serial, or text.
fn birth_date(cell: &Cell<'_>) -> Option<Result<BirthDate, sync_core::ids::ValidationError>> {
    use sync_core::ids::{MAX_BIRTH_YEAR, MIN_BIRTH_YEAR};
    let serial = |v: f64| {
        let dt = calamine::ExcelDateTime::new(v, calamine::ExcelDateTimeType::DateTime, false);
        let (y, m, d, ..) = dt.to_ymd_hms_milli();
        BirthDate::from_parts(i32::from(y), Some(u32::from(m)), Some(u32::from(d)))
    };
    Some(match *cell {
        Cell::Empty | Cell::BadUtf8 | Cell::Error => return None,
        Cell::Date(y, m, d) => BirthDate::from_parts(y, Some(m), Some(d)),
        Cell::Int(i) if (i64::from(MIN_BIRTH_YEAR)..=i64::from(MAX_BIRTH_YEAR)).contains(&i) => {
            BirthDate::from_parts(i32::try_from(i).unwrap_or(0), None, None)
        }
        // 1 = 1900-01-01 … 73415 = 2100-12-31 in Excel's 1900 date system.
        Cell::Int(i) if (1..=73_415).contains(&i) => serial(i as f64),
        Cell::Float(f) if (1.0..73_416.0).contains(&f) => serial(f),
        Cell::Int(_) | Cell::Float(_) => Err(sync_core::ids::ValidationError::BirthDateFormat),
        Cell::Text(t) => BirthDate::parse(t).or_else(|e| {
            // "1990-03-15 00:00:00", "1990-03-15T00:00:00": drop the time.
            match t.split([' ', 'T']).next() {
                Some(date) if date.len() < t.len() => BirthDate::parse(date),
                _ => Err(e),
            }
        }),
    })
}

fn parse_sex(text: &str) -> Option<Sex> {
    match normalize_key(text).as_str() {
        "nam" | "m" | "male" | "trai" => Some(Sex::Male),
        "nu" | "f" | "female" | "gai" => Some(Sex::Female),
        _ => None,
    }
}

/// The first number of a cell holding several ("09… / 03…").
fn first_phone(text: &str) -> &str {
    text.split([',', ';', '/', '\n'])
        .map(str::trim)
        .find(|s| !s.is_empty())
        .unwrap_or(text)
}

/// Maps an account status text to a status, `None` when not understood.
pub fn parse_registry_status(text: &str) -> Option<RegistryStatus> {
    let key = normalize_key(text);
    if let Some(s) = RegistryStatus::from_code(&key.replace(' ', "_")) {
        return Some(s);
    }
    let words: Vec<&str> = key.split(' ').filter(|w| !w.is_empty()).collect();
    // Words that do not change the meaning: "tài khoản", "VNeID", "định danh
    // điện tử", "thành công", "được", "nhưng"; "mức độ" is "mức".
    const NOISE: &[&[&str]] = &[
        &["dinh", "danh", "dien", "tu"],
        &["dinh", "danh"],
        &["tai", "khoan"],
        &["thanh", "cong"],
        &["tk"],
        &["vneid"],
        &["dddt"],
        &["ddt"],
        &["duoc"],
        &["nhung"],
    ];
    let mut kept: Vec<&str> = Vec::with_capacity(words.len());
    let mut i = 0;
    'outer: while i < words.len() {
        for phrase in NOISE {
            if words[i..].starts_with(phrase) {
                i += phrase.len();
                continue 'outer;
            }
        }
        if words[i] == "do" && kept.last() == Some(&"muc") {
            i += 1;
            continue;
        }
        kept.push(words[i]);
        i += 1;
    }
    use RegistryStatus as S;
    Some(match kept.join(" ").as_str() {
        "da kich hoat" | "kich hoat" | "da kich hoat muc 2" | "muc 2 da kich hoat" | "muc 2"
        | "da co muc 2" | "co muc 2" => S::Activated,
        "muc 1" | "da kich hoat muc 1" | "muc 1 da kich hoat" | "da co muc 1" | "co muc 1"
        | "da dang ky muc 1" | "level 1" => S::Level1,
        "da phe duyet"
        | "da duyet"
        | "phe duyet"
        | "cho kich hoat"
        | "chua kich hoat"
        | "da phe duyet chua kich hoat"
        | "da duyet chua kich hoat"
        | "da cap chua kich hoat"
        | "da phe duyet cho kich hoat"
        | "da cap" => S::ApprovedNotActivated,
        "cho phe duyet" | "cho duyet" | "dang cho phe duyet" | "dang cho duyet"
        | "chua phe duyet" | "chua duyet" | "dang phe duyet" => S::PendingApproval,
        "da thu nhan"
        | "da thu nhan ho so"
        | "thu nhan"
        | "da thu nhan muc 2"
        | "da thu nhan ho so muc 2"
        | "da nop ho so" => S::Collected,
        ""
        | "chua co"
        | "chua dang ky"
        | "khong co"
        | "khong"
        | "chua"
        | "chua cap"
        | "chua thu nhan"
        | "chua thu nhan ho so"
        | "chua lam" => S::NoAccount,
        _ => return None,
    })
}

/// At most [`QUOTE_MAX_CHARS`] characters of a non-personal text, for a message.
fn quote(text: &str) -> String {
    let mut s: String = text.chars().take(QUOTE_MAX_CHARS).collect();
    if text.chars().nth(QUOTE_MAX_CHARS).is_some() {
        s.push('…');
    }
    s
}

// ---------------------------------------------------------------------------
// Hamlets
// ---------------------------------------------------------------------------

/// Words that name a kind of hamlet, dropped for the loose match.
const HAMLET_KINDS: &[&str] = &[
    "to dan pho",
    "khu pho",
    "thon",
    "xom",
    "ap",
    "ban",
    "buon",
    "lang",
    "to",
    "khu",
    "tdp",
    "kp",
    "doi",
    "plei",
    "soc",
    "khom",
    "khoi",
    "cum",
];

/// A hamlet name without its kind word and with numbers unpadded:
/// "Tổ dân phố 05" → "5", "Thôn Đông" → "dong".
fn hamlet_core(key: &str) -> String {
    let mut rest = key;
    for kind in HAMLET_KINDS {
        if let Some(r) = rest.strip_prefix(kind)
            && let Some(r) = r.strip_prefix(' ')
        {
            rest = r;
            break;
        }
    }
    rest.split(' ')
        .map(|w| {
            if w.bytes().all(|b| b.is_ascii_digit()) {
                let t = w.trim_start_matches('0');
                if t.is_empty() { "0" } else { t }
            } else {
                w
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

struct HamletMatcher<'a> {
    hamlets: &'a [HamletRef],
    exact: HashMap<String, usize>,
    /// Core name → hamlet, `None` when two hamlets share it.
    loose: HashMap<String, Option<usize>>,
    cache: HashMap<String, Option<usize>>,
}

impl<'a> HamletMatcher<'a> {
    fn new(hamlets: &'a [HamletRef]) -> Self {
        let mut exact = HashMap::new();
        let mut loose: HashMap<String, Option<usize>> = HashMap::new();
        for (i, h) in hamlets.iter().enumerate() {
            for key in [normalize_key(&h.name), normalize_key(&h.id)] {
                if !key.is_empty() {
                    exact.entry(key).or_insert(i);
                }
            }
            let core = hamlet_core(&normalize_key(&h.name));
            if !core.is_empty() {
                loose
                    .entry(core)
                    .and_modify(|e| {
                        if *e != Some(i) {
                            *e = None;
                        }
                    })
                    .or_insert(Some(i));
            }
        }
        HamletMatcher {
            hamlets,
            exact,
            loose,
            cache: HashMap::new(),
        }
    }

    fn lookup_key(&self, key: &str) -> Option<usize> {
        if let Some(&i) = self.exact.get(key) {
            return Some(i);
        }
        self.loose.get(&hamlet_core(key)).copied().flatten()
    }

    /// The hamlet a text names: exact (folded) name or id, else the same
    /// name without its kind word ("Đông" for "Thôn Đông", "TDP 05" for
    /// "Tổ dân phố 5") when only one hamlet has it; for "Thôn Đông, xã …"
    /// the first part.
    fn find(&mut self, text: &str) -> Option<usize> {
        if let Some(&hit) = self.cache.get(text) {
            return hit;
        }
        let mut hit = self.lookup_key(&normalize_key(text));
        if hit.is_none()
            && let Some((first, _)) = text.split_once([',', '-', ';'])
        {
            hit = self.lookup_key(&normalize_key(first));
        }
        self.cache.insert(text.to_owned(), hit);
        hit
    }

    /// Whether a (normalised) address part is one of the hamlet names.
    fn names_a_hamlet(&self, key: &str) -> bool {
        self.exact.contains_key(key) || self.loose.contains_key(&hamlet_core(key))
    }

    fn id(&self, i: usize) -> &'a str {
        &self.hamlets[i].id
    }
}

// ---------------------------------------------------------------------------
// Addresses
// ---------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kw {
    /// "số nhà", "số", "SN": dropped, the next word is the house number.
    House,
    /// "ngõ", "ngách", "hẻm", "kiệt": kept, lowercased.
    Alley,
    /// "đường", "phố": dropped, the rest is the street.
    Street,
    /// "quốc lộ", "tỉnh lộ", "đại lộ": part of the street's name.
    Road,
    /// Hamlet, commune, district, province: the part is dropped.
    Admin,
}

struct Keyword {
    kind: Kw,
    /// Lowercase words with diacritics.
    words: Vec<String>,
    /// The same, folded.
    folded: Vec<String>,
}

static KEYWORDS: LazyLock<Vec<Keyword>> = LazyLock::new(|| {
    let table: &[(Kw, &[&str])] = &[
        (Kw::House, &["số nhà", "số", "sn"]),
        (Kw::Alley, &["ngõ", "ngách", "hẻm", "kiệt"]),
        (Kw::Street, &["đường phố", "đường", "phố"]),
        (Kw::Road, &["quốc lộ", "tỉnh lộ", "đại lộ", "ql", "tl"]),
        (
            Kw::Admin,
            &[
                "tổ dân phố",
                "khu phố",
                "thị trấn",
                "đặc khu",
                "thị xã",
                "thành phố",
                "việt nam",
                "thôn",
                "xóm",
                "ấp",
                "bản",
                "buôn",
                "làng",
                "sóc",
                "khóm",
                "khối",
                "tổ",
                "khu",
                "cụm",
                "xã",
                "phường",
                "huyện",
                "quận",
                "tỉnh",
                "tp",
                "tdp",
                "kp",
                "tx",
                "tt",
            ],
        ),
    ];
    let mut out: Vec<Keyword> = table
        .iter()
        .flat_map(|(kind, list)| {
            list.iter().map(|kw| Keyword {
                kind: *kind,
                words: kw.split(' ').map(str::to_owned).collect(),
                folded: kw.split(' ').map(fold).collect(),
            })
        })
        .collect();
    // Longest first, so "tổ dân phố" wins over "tổ" and "số nhà" over "số".
    out.sort_by_key(|k| std::cmp::Reverse(k.words.len()));
    out
});

/// Abbreviations glued to a name: "TP.HCM", "Q.1", "P.Bến Nghé", "X.Tân Tiến".
const ADMIN_ABBREVIATIONS: &[&str] = &["tp.", "tx.", "tt.", "q.", "p.", "x.", "h.", "t."];

/// A word as compared with keywords: lowercase, trailing `.`/`:` dropped,
/// folded when the part is plain ASCII or written with combining marks
/// (where diacritics cannot be compared reliably).
fn keyword_form(word: &str, folded: bool) -> String {
    let w = word.trim_end_matches(['.', ':']);
    if folded { fold(w) } else { w.to_lowercase() }
}

fn is_house_token(word: &str) -> bool {
    let w = word.trim_end_matches(['.', ':']);
    let letters = w.bytes().take_while(u8::is_ascii_alphabetic).count();
    letters <= 2
        && w.as_bytes().get(letters).is_some_and(u8::is_ascii_digit)
        && w.chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '/' | '-' | '.'))
}

/// The keyword starting at `words[i]`: its kind and how many words it takes.
/// A keyword must be followed by at least one word; "số" only by a house number.
fn keyword_at(forms: &[String], words: &[&str], i: usize, folded: bool) -> Option<(Kw, usize)> {
    let lower = words[i].to_lowercase();
    if ADMIN_ABBREVIATIONS
        .iter()
        .any(|a| lower.starts_with(a) && lower.len() > a.len())
    {
        // The abbreviation is the whole word: it takes no word of its own.
        return Some((Kw::Admin, 0));
    }
    for kw in KEYWORDS.iter() {
        let want = if folded { &kw.folded } else { &kw.words };
        let n = want.len();
        if i + n < words.len() && forms[i..i + n] == want[..] {
            if kw.kind == Kw::House && !is_house_token(words[i + n]) {
                continue;
            }
            return Some((kw.kind, n));
        }
    }
    None
}

/// Splits a one-column address into house number, alley and street.
///
/// Comma- or semicolon-separated parts, and within a part the words from one
/// keyword to the next, are read in turn: see `docs/IMPORT.md`.
fn parse_address(text: &str, hamlets: &HamletMatcher<'_>) -> Address {
    let mut house = String::new();
    let mut alleys: Vec<String> = Vec::new();
    let mut street = String::new();
    let mut past_admin = false;
    for part in text.split([',', ';', '\n']) {
        let words: Vec<&str> = part.split_whitespace().collect();
        if words.is_empty() {
            continue;
        }
        let folded = part.is_ascii() || part.chars().any(|c| ('\u{300}'..='\u{36f}').contains(&c));
        let forms: Vec<String> = words.iter().map(|w| keyword_form(w, folded)).collect();
        let mut i = 0;
        while i < words.len() {
            let kw = keyword_at(&forms, &words, i, folded);
            let body_start = i + kw.map_or(0, |(_, n)| n);
            if matches!(kw, Some((Kw::House, _))) || (kw.is_none() && is_house_token(words[i])) {
                // One word of house number; what follows starts a new segment.
                if house.is_empty() {
                    house = words[body_start].trim_end_matches(['.', ':']).to_owned();
                }
                i = body_start + 1;
                continue;
            }
            // The segment runs to the next keyword that follows some content.
            let mut end = body_start + 1;
            while end < words.len() && keyword_at(&forms, &words, end, folded).is_none() {
                end += 1;
            }
            let body = words[body_start..end].join(" ");
            match kw {
                Some((Kw::Alley, n)) => {
                    let word = words[i..i + n].join(" ").to_lowercase();
                    alleys.push(format!("{word} {body}"));
                }
                Some((Kw::Street, _)) => {
                    if street.is_empty() {
                        street = body;
                    }
                }
                Some((Kw::Road, _)) => {
                    if street.is_empty() {
                        street = words[i..end].join(" ");
                    }
                }
                Some((Kw::Admin, _)) => past_admin = true,
                Some((Kw::House, _)) => {}
                None => {
                    let whole = words[i..end].join(" ");
                    if hamlets.names_a_hamlet(&normalize_key(&whole)) {
                        past_admin = true;
                    } else if street.is_empty() && !past_admin {
                        street = whole;
                    }
                    // Otherwise a larger unit (commune, province) without its kind word.
                }
            }
            i = end;
        }
    }
    Address {
        house_number: house,
        alley: alleys.join(", "),
        street,
    }
}

/// A house number from its own column: "Số 12" → "12".
fn house_from_column(text: &str) -> String {
    let words: Vec<&str> = text.split_whitespace().collect();
    let folded = text.is_ascii();
    let forms: Vec<String> = words.iter().map(|w| keyword_form(w, folded)).collect();
    match keyword_at(&forms, &words, 0, folded) {
        Some((Kw::House, n)) => words[n..].join(" "),
        _ => words.join(" "),
    }
}

/// An alley from its own column: "4" under "Ngõ" → "ngõ 4"; "Hẻm 12" → "hẻm 12".
fn alley_from_column(text: &str, header: &str) -> String {
    let words: Vec<&str> = text.split_whitespace().collect();
    let folded = text.is_ascii();
    let forms: Vec<String> = words.iter().map(|w| keyword_form(w, folded)).collect();
    if let Some((Kw::Alley, n)) = keyword_at(&forms, &words, 0, folded) {
        let word = words[..n].join(" ").to_lowercase();
        return format!("{word} {}", words[n..].join(" "));
    }
    let header_lower = header.to_lowercase();
    let word = header_lower
        .split(|c: char| !c.is_alphanumeric())
        .find(|w| {
            KEYWORDS
                .iter()
                .any(|k| k.kind == Kw::Alley && (k.words == [*w] || k.folded == [*w]))
        })
        .unwrap_or("ngõ");
    format!("{word} {}", words.join(" "))
}

/// A street from its own column: "Đường Lê Lợi" → "Lê Lợi".
fn street_from_column(text: &str) -> String {
    let words: Vec<&str> = text.split_whitespace().collect();
    let folded = text.is_ascii();
    let forms: Vec<String> = words.iter().map(|w| keyword_form(w, folded)).collect();
    match keyword_at(&forms, &words, 0, folded) {
        Some((Kw::Street, n)) => words[n..].join(" "),
        _ => words.join(" "),
    }
}

// ---------------------------------------------------------------------------
// Rows
// ---------------------------------------------------------------------------

/// Beginnings of the text of footer rows (totals, signatures, place and date).
const FOOTER_STARTS: &[&str] = &[
    "nguoi lap",
    "nguoi ky",
    "nguoi thong ke",
    "truong cong an",
    "pho truong cong an",
    "truong thon",
    "truong ban",
    "to truong",
    "tong cong",
    "tong so",
    "xac nhan",
    "ky ten",
    "ky ghi ro",
    "can bo",
    "thu truong",
    "chu tich",
    "cong an xa",
    "cong an phuong",
    "ubnd",
    "uy ban nhan dan",
    "danh sach nay",
    "lanh dao",
];

fn is_footer_text(text: &str) -> bool {
    let key = normalize_key(text);
    if FOOTER_STARTS
        .iter()
        .any(|s| key.starts_with(s) && key[s.len()..].chars().next().is_none_or(|c| c == ' '))
    {
        return true;
    }
    // "Đông Hưng, ngày 10 tháng 9 năm 2025"
    let words: Vec<&str> = key.split(' ').collect();
    let at = |w: &str| words.iter().position(|x| *x == w);
    matches!((at("ngay"), at("thang"), at("nam")), (Some(a), Some(b), Some(c)) if a < b && b < c)
}

/// Whether an ID, birth date or phone cell holds something like one (a
/// number, a date, or text with a digit that is not a footer line).
fn holds_digits(cell: &Cell<'_>) -> bool {
    match cell {
        Cell::Int(_) | Cell::Float(_) | Cell::Date(..) => true,
        Cell::Text(t) => t.bytes().any(|b| b.is_ascii_digit()) && !is_footer_text(t),
        Cell::Empty | Cell::BadUtf8 | Cell::Error => false,
    }
}

/// A row of column numbers under the header: "(1) (2) (3)…" or "A B C…".
fn is_column_number_row(cells: &[Cell<'_>]) -> bool {
    let mut n = 0;
    for c in cells {
        let ok = match c {
            Cell::Empty => continue,
            Cell::Int(i) => (0..100).contains(i),
            Cell::Text(t) => {
                let t = t.trim_start_matches('(').trim_end_matches(')');
                (!t.is_empty() && t.len() <= 2 && t.bytes().all(|b| b.is_ascii_digit()))
                    || (t.len() == 1 && t.bytes().all(|b| b.is_ascii_uppercase()))
            }
            _ => false,
        };
        if !ok {
            return false;
        }
        n += 1;
    }
    n >= 2
}

struct Problem {
    code: &'static str,
    col: Option<usize>,
    message_vi: String,
}

struct Outcome {
    file: ParsedFile,
    bad_utf8_rows: usize,
    nonempty_rows: usize,
}

struct Importer<'o> {
    layout: Layout,
    hamlets: HamletMatcher<'o>,
    default_hamlet: Option<usize>,
    status_cache: HashMap<String, Option<RegistryStatus>>,
    address_cache: HashMap<String, Address>,
    /// Personal ID → row number of the first accepted row with it.
    seen_ids: HashMap<String, usize>,
}

impl<'o> Importer<'o> {
    fn new(opts: &ImportOptions<'o>, layout: Layout) -> Result<Self, ImportError> {
        let mut hamlets = HamletMatcher::new(opts.hamlets);
        let default_hamlet = match opts.default_hamlet {
            Some(d) => Some(
                opts.hamlets
                    .iter()
                    .position(|h| h.id == d)
                    .or_else(|| hamlets.find(d))
                    .ok_or(ImportError::UnknownDefaultHamlet)?,
            ),
            None if layout.col(Field::Hamlet).is_some() => None,
            None if opts.hamlets.len() == 1 => Some(0),
            None => return Err(ImportError::NoHamlet),
        };
        Ok(Importer {
            layout,
            hamlets,
            default_hamlet,
            status_cache: HashMap::new(),
            address_cache: HashMap::new(),
            seen_ids: HashMap::new(),
        })
    }

    fn run(
        mut self,
        rows: &impl RowSource,
        sheet: Option<String>,
        progress: &mut dyn FnMut(usize, usize),
    ) -> Outcome {
        let first = self.layout.index + 1;
        let total = rows.len().saturating_sub(first);
        let mut out = ParsedFile {
            rows: Vec::with_capacity(total),
            rejected: Vec::new(),
            columns: std::mem::take(&mut self.layout.columns),
            ignored_columns: std::mem::take(&mut self.layout.ignored),
            header_row: self.layout.row_number,
            sheet,
        };
        let mut bad_utf8_rows = 0;
        let mut nonempty_rows = 0;
        let mut in_footer = false;
        let mut cells = Vec::new();
        for (done, i) in (first..rows.len()).enumerate() {
            if done > 0 && done % PROGRESS_EVERY == 0 {
                progress(done, total);
            }
            rows.cells(i, &mut cells);
            if cells.iter().all(Cell::is_empty) {
                continue;
            }
            nonempty_rows += 1;
            let row = rows.row_number(i);
            if (i == first && is_column_number_row(&cells)) || self.is_repeated_header(&cells) {
                continue;
            }
            if let Some(col) = cells.iter().position(|c| matches!(c, Cell::BadUtf8)) {
                bad_utf8_rows += 1;
                let problem = Problem {
                    code: "import.encoding",
                    col: Some(col),
                    message_vi: format!(
                        "Dòng có ký tự không đọc được ở cột \"{}\" (không phải bảng mã UTF-8): \
                         hãy lưu tệp dưới dạng \"CSV UTF-8\" và nhập lại dòng này",
                        self.layout.header(col)
                    ),
                };
                out.rejected.push(self.reject(row, vec![problem]));
                continue;
            }
            let has_person_data = [Field::PersonalId, Field::BirthDate, Field::Phone]
                .iter()
                .any(|f| self.cell(&cells, *f).is_some_and(holds_digits));
            if !has_person_data
                && (in_footer
                    || cells
                        .iter()
                        .any(|c| matches!(c, Cell::Text(t) if is_footer_text(t))))
            {
                in_footer = true;
                let problem = Problem {
                    code: "import.not_a_resident",
                    col: None,
                    message_vi: "Dòng không phải thông tin công dân (dòng tổng cộng, chữ ký hoặc \
                                 ghi chú cuối danh sách): đã bỏ qua"
                        .to_owned(),
                };
                out.rejected.push(self.reject(row, vec![problem]));
                continue;
            }
            match self.validate(row, &cells) {
                Ok(r) => {
                    if let Some(id) = &r.personal_id {
                        self.seen_ids.insert(id.as_str().to_owned(), row);
                    }
                    out.rows.push(r);
                }
                Err(problems) => out.rejected.push(self.reject(row, problems)),
            }
        }
        progress(total, total);
        Outcome {
            file: out,
            bad_utf8_rows,
            nonempty_rows,
        }
    }

    fn cell<'c, 's>(&self, cells: &'c [Cell<'s>], f: Field) -> Option<&'c Cell<'s>> {
        self.layout.col(f).and_then(|i| cells.get(i))
    }

    /// A copy of the header (page breaks in long exports repeat it).
    fn is_repeated_header(&self, cells: &[Cell<'_>]) -> bool {
        let same = cells
            .iter()
            .enumerate()
            .filter(|(i, c)| match c {
                Cell::Text(t) => {
                    let f = self.layout.field_of.get(*i).copied().flatten();
                    f.is_some() && header_field(t) == f
                }
                _ => false,
            })
            .count();
        same >= 2
    }

    fn reject(&self, row: usize, problems: Vec<Problem>) -> RejectedRow {
        let mut problems = problems.into_iter().map(|p| RowProblem {
            code: p.code.to_owned(),
            column: p.col.map(|c| self.layout.header(c)),
            message_vi: p.message_vi,
        });
        let first = problems.next().unwrap_or_else(|| RowProblem {
            code: "import.invalid".to_owned(),
            column: None,
            message_vi: "Dòng không hợp lệ".to_owned(),
        });
        RejectedRow {
            row,
            code: first.code,
            column: first.column,
            message_vi: first.message_vi,
            others: problems.collect(),
        }
    }

    fn validate(&mut self, row: usize, cells: &[Cell<'_>]) -> Result<ImportRow, Vec<Problem>> {
        let mut problems = Vec::new();
        let layout = &self.layout;
        let col = |f: Field| layout.col(f);
        let cell = |f: Field| layout.col(f).and_then(|i| cells.get(i));
        let check_error = |f: Field, problems: &mut Vec<Problem>| -> bool {
            if matches!(cell(f), Some(Cell::Error)) {
                problems.push(Problem {
                    code: "import.cell_error",
                    col: col(f),
                    message_vi: "Ô có lỗi công thức (#N/A, #REF!…)".to_owned(),
                });
                true
            } else {
                false
            }
        };

        // Name.
        let name_col = col(Field::FullName);
        let mut full_name = None;
        if !check_error(Field::FullName, &mut problems)
            && !check_error(Field::FamilyMiddleName, &mut problems)
        {
            let given = cell(Field::FullName).and_then(Cell::as_text);
            let family = cell(Field::FamilyMiddleName).and_then(Cell::as_text);
            let text = match (family, given) {
                (Some(f), Some(g)) => Some(Cow::Owned(format!("{f} {g}"))),
                (None, g) => g,
                (f, None) => f,
            };
            match text.as_deref().map(PersonName::parse) {
                None | Some(Err(sync_core::ids::ValidationError::NameEmpty)) => {
                    problems.push(Problem {
                        code: "import.empty_name",
                        col: name_col,
                        message_vi: "Họ và tên không được để trống".to_owned(),
                    });
                }
                Some(Err(e)) => problems.push(Problem {
                    code: "import.bad_name",
                    col: name_col,
                    message_vi: e.message_vi(),
                }),
                Some(Ok(n)) => full_name = Some(n.as_str().to_owned()),
            }
        }

        // Personal ID.
        let mut personal_id = None;
        if !check_error(Field::PersonalId, &mut problems)
            && let Some(text) = cell(Field::PersonalId).and_then(personal_id_text)
        {
            match PersonalId::parse(&text) {
                Ok(id) => personal_id = Some(id),
                Err(e) => problems.push(Problem {
                    code: "import.bad_id",
                    col: col(Field::PersonalId),
                    message_vi: if is_scientific(&text) {
                        SCIENTIFIC_VI.to_owned()
                    } else {
                        e.message_vi()
                    },
                }),
            }
        }

        // Birth date.
        let mut birth = None;
        if !check_error(Field::BirthDate, &mut problems)
            && let Some(parsed) = cell(Field::BirthDate).and_then(birth_date)
        {
            match parsed {
                Ok(d) => birth = Some(d),
                Err(e) => problems.push(Problem {
                    code: "import.bad_date",
                    col: col(Field::BirthDate),
                    message_vi: e.message_vi(),
                }),
            }
        }

        // Sex.
        let mut sex = None;
        if !check_error(Field::Sex, &mut problems)
            && let Some(text) = cell(Field::Sex).and_then(Cell::as_text)
        {
            match parse_sex(&text) {
                Some(s) => sex = Some(s),
                None => problems.push(Problem {
                    code: "import.bad_sex",
                    col: col(Field::Sex),
                    message_vi: "Giới tính phải là \"Nam\" hoặc \"Nữ\"".to_owned(),
                }),
            }
        }

        // Phone.
        let mut phone = None;
        if !check_error(Field::Phone, &mut problems)
            && let Some(text) = cell(Field::Phone).and_then(Cell::as_text)
        {
            match PhoneNumber::parse(first_phone(&text)) {
                Ok(p) => phone = Some(p),
                Err(e) => problems.push(Problem {
                    code: "import.bad_phone",
                    col: col(Field::Phone),
                    message_vi: if is_scientific(&text) {
                        SCIENTIFIC_VI.to_owned()
                    } else {
                        e.message_vi()
                    },
                }),
            }
        }

        // Hamlet.
        let mut hamlet = None;
        if !check_error(Field::Hamlet, &mut problems) {
            match cell(Field::Hamlet).and_then(Cell::as_text) {
                Some(text) => match self.hamlets.find(&text) {
                    Some(h) => hamlet = Some(h),
                    None => problems.push(Problem {
                        code: "import.unknown_hamlet",
                        col: col(Field::Hamlet),
                        message_vi: format!(
                            "Không tìm thấy thôn, tổ dân phố \"{}\" trong danh sách của xã",
                            quote(&text)
                        ),
                    }),
                },
                None => match self.default_hamlet {
                    Some(h) => hamlet = Some(h),
                    None => problems.push(Problem {
                        code: "import.missing_hamlet",
                        col: col(Field::Hamlet),
                        message_vi: "Dòng không ghi thôn, tổ dân phố".to_owned(),
                    }),
                },
            }
        }

        // Account status.
        let mut registry = RegistryStatus::NoAccount;
        if !check_error(Field::RegistryStatus, &mut problems)
            && let Some(text) = cell(Field::RegistryStatus).and_then(Cell::as_text)
        {
            let status = *self
                .status_cache
                .entry(text.clone().into_owned())
                .or_insert_with(|| parse_registry_status(&text));
            match status {
                Some(s) => registry = s,
                None => problems.push(Problem {
                    code: "import.bad_status",
                    col: col(Field::RegistryStatus),
                    message_vi: format!(
                        "Không hiểu trạng thái tài khoản \"{}\" (ví dụ hợp lệ: Đã kích hoạt, Đã \
                         phê duyệt, Chờ phê duyệt, Đã thu nhận, Mức 1, Chưa có tài khoản)",
                        quote(&text)
                    ),
                }),
            }
        }

        // Duplicate ID: reported even when the row has other problems.
        if let Some(id) = &personal_id
            && let Some(first) = self.seen_ids.get(id.as_str())
        {
            problems.push(Problem {
                code: "import.duplicate_id",
                col: col(Field::PersonalId),
                message_vi: format!(
                    "Số định danh cá nhân trùng với dòng {first}: chỉ nhập dòng {first}"
                ),
            });
        }

        if !problems.is_empty() {
            return Err(problems);
        }
        let (Some(full_name), Some(hamlet)) = (full_name, hamlet) else {
            return Err(problems);
        };

        let address = self.address(cells);
        let hamlet_id = self.hamlets.id(hamlet).to_owned();
        let household = self
            .cell(cells, Field::Household)
            .and_then(Cell::as_text)
            .map(|t| fold(&t).replace(' ', ""))
            .filter(|t| !t.is_empty());
        let household_key = match household {
            Some(h) => format!("{hamlet_id}|h|{h}"),
            None if address == Address::default() => format!("{hamlet_id}|r|{row}"),
            None => format!(
                "{hamlet_id}|a|{}|{}|{}",
                fold(&address.house_number).replace(' ', ""),
                fold(&address.alley),
                fold(&address.street)
            ),
        };
        let id_flags = personal_id
            .as_ref()
            .map(|id| id.check_against(birth.as_ref(), sex))
            .unwrap_or_default();
        Ok(ImportRow {
            row,
            hamlet: hamlet_id,
            household_key,
            address,
            full_name,
            personal_id,
            birth_date: birth,
            sex,
            phone,
            registry,
            id_flags,
        })
    }

    /// The address from the one "Địa chỉ" column, each part overridden by
    /// its own column when that is filled.
    fn address(&mut self, cells: &[Cell<'_>]) -> Address {
        let mut address = match self.cell(cells, Field::Address).and_then(Cell::as_text) {
            Some(text) => match self.address_cache.get(text.as_ref()) {
                Some(a) => a.clone(),
                None => {
                    let a = parse_address(&text, &self.hamlets);
                    self.address_cache.insert(text.into_owned(), a.clone());
                    a
                }
            },
            None => Address::default(),
        };
        if let Some(t) = self.cell(cells, Field::HouseNumber).and_then(Cell::as_text) {
            address.house_number = house_from_column(&t);
        }
        if let Some(t) = self.cell(cells, Field::Alley).and_then(Cell::as_text) {
            let header = self
                .layout
                .col(Field::Alley)
                .map(|c| self.layout.header(c))
                .unwrap_or_default();
            address.alley = alley_from_column(&t, &header);
        }
        if let Some(t) = self.cell(cells, Field::Street).and_then(Cell::as_text) {
            address.street = street_from_column(&t);
        }
        address
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hamlets() -> Vec<HamletRef> {
        [
            ("h-dong", "Thôn Đông"),
            ("h-tay", "Thôn Tây"),
            ("h-5", "Tổ dân phố 5"),
        ]
        .into_iter()
        .map(|(id, name)| HamletRef {
            id: id.to_owned(),
            name: name.to_owned(),
        })
        .collect()
    }

    fn parse_with(
        bytes: &[u8],
        hamlets: &[HamletRef],
        default_hamlet: Option<&str>,
    ) -> Result<ParsedFile, ImportError> {
        let opts = ImportOptions {
            hamlets,
            default_hamlet,
        };
        parse(bytes, Format::sniff(bytes), &opts, &mut |_, _| {})
    }

    fn ok(bytes: &[u8], default_hamlet: Option<&str>) -> ParsedFile {
        match parse_with(bytes, &hamlets(), default_hamlet) {
            Ok(p) => p,
            Err(e) => panic!("file-level error {}: {e}", e.code()),
        }
    }

    /// (row, code) of every rejection, in order.
    fn rejections(p: &ParsedFile) -> Vec<(usize, &str)> {
        p.rejected
            .iter()
            .map(|r| (r.row, r.code.as_str()))
            .collect()
    }

    fn row(p: &ParsedFile, n: usize) -> &ImportRow {
        p.rows
            .iter()
            .find(|r| r.row == n)
            .unwrap_or_else(|| panic!("row {n} missing; got {:?}", rows_of(p)))
    }

    fn rows_of(p: &ParsedFile) -> Vec<usize> {
        p.rows.iter().map(|r| r.row).collect()
    }

    fn id(s: &str) -> Option<PersonalId> {
        Some(PersonalId::parse(s).expect("test ID is valid"))
    }

    fn date(s: &str) -> Option<BirthDate> {
        Some(BirthDate::parse(s).expect("test date is valid"))
    }

    fn phone(s: &str) -> Option<PhoneNumber> {
        Some(PhoneNumber::parse(s).expect("test phone is valid"))
    }

    fn addr(house: &str, alley: &str, street: &str) -> Address {
        Address {
            house_number: house.to_owned(),
            alley: alley.to_owned(),
            street: street.to_owned(),
        }
    }

    /// Personal data used in the test files: none may appear in a message.
    const PERSONAL: &[&str] = &[
        "001090012345",
        "001190012346",
        "00109001234X",
        "033185000001",
        "034080000003",
        "034080000004",
        "034180000005",
        "0212345678",
        "0912345678",
        "Nguyễn",
        "Hoàng",
        "Phạm",
        "Bùi",
        "Giang",
        "31/02/1985",
    ];

    fn assert_no_personal_data(p: &ParsedFile) {
        for r in &p.rejected {
            let texts = std::iter::once(r.message_vi.as_str())
                .chain(r.others.iter().map(|o| o.message_vi.as_str()));
            for t in texts {
                for s in PERSONAL {
                    assert!(
                        !t.contains(s),
                        "row {}: message quotes personal data",
                        r.row
                    );
                }
            }
        }
    }

    /// A police export with title rows and a bad row of every kind.
    fn police_csv() -> Vec<u8> {
        let mut f: Vec<u8> = Vec::new();
        let lines: &[&str] = &[
            // 1–3: title rows and a blank line
            "DANH SÁCH CÔNG DÂN CHƯA KÍCH HOẠT TÀI KHOẢN ĐỊNH DANH ĐIỆN TỬ,,,,,,,,,,",
            "\"Xã Tân Tiến, tỉnh Hưng Yên\",,,,,,,,,,",
            "",
            // 4: header
            "STT,Họ và tên,Số định danh cá nhân,Ngày sinh,Giới tính,Số điện thoại,Địa chỉ,Thôn/Tổ dân phố,Số hộ,Trạng thái tài khoản,Ghi chú",
            // 5: good
            "1,Nguyễn  Văn An,001090012345,15/03/1990,Nam,0912345678,\"Số 12, ngõ 4, đường Lê Lợi, thôn Đông\",Thôn Đông,H01,Đã kích hoạt,",
            // 6: good, same household, folded hamlet, year-only date
            "2,Trần Thị Bình,001190012346,1990,Nữ,,\"Số 12, ngõ 4, đường Lê Lợi, thôn Đông\",thon dong,H01,Chưa có tài khoản,ghi chú",
            // 7: bad ID
            "3,Lê Văn Cường,00109001234X,01/01/1980,Nam,,,Thôn Đông,H02,Đã phê duyệt,",
            // 8: bad date
            "4,Phạm Thị Dung,033185000001,31/02/1985,Nữ,,,Thôn Đông,H02,Đã phê duyệt,",
            // 9: duplicate of row 5
            "5,Hoàng Văn Em,001090012345,15/03/1990,Nam,,,Thôn Đông,H03,Đã kích hoạt,",
            // 10: unknown hamlet
            "6,Vũ Thị Phương,033185000009,1985,Nữ,,,Thôn Bắc,,Chờ phê duyệt,",
            // 11: empty name
            "7,,034080000003,1980,Nam,,,Thôn Tây,,Đã thu nhận,",
            // 12: bad status
            "8,Đỗ Văn Giang,034080000004,1980,Nam,,,Thôn Tây,,Đang xử lý,",
            // 13: bad phone
            "9,Bùi Thị Hoa,034180000005,1980,Nữ,0212345678,,Thôn Tây,,Mức 1,",
        ];
        for l in lines {
            f.extend_from_slice(l.as_bytes());
            f.extend_from_slice(b"\r\n");
        }
        // 14: a row typed in Latin-1 / Windows-1258 bytes (wrong encoding)
        f.extend_from_slice(
            b"10,Tr\xe2\xf2n V\xe3n M\xe1,034080000008,1980,Nam,,,Th\xf4n T\xe2y,,,\r\n",
        );
        let lines: &[&str] = &[
            // 15: good, hamlet by loose match ("Tổ 05" = "Tổ dân phố 5"), household by address
            "11,Ngô Văn Ích,037095000006,1995,Nam,+84 987 654 321,\"Số 7, ngõ 9, phố Huế\",Tổ 05,,Chờ phê duyệt,",
            // 16: good, no ID/date/phone, same address and hamlet as row 15
            "12,Đặng Thị Kim,,,Nữ,,\"số 7, Ngõ 9, Phố Huế, phường Hai Bà Trưng\",Tổ dân phố 5,,mức 1,",
            // 17: an empty row
            ",,,,,,,,,,",
            // 18: good, a quoted cell over two lines
            "13,Lý Văn Long,037200000007,2000,Nam,,\"Số 3\nđường Trần Phú\",h-tay,,Đã thu nhận hồ sơ,",
            // 19: good, sex mismatch with the ID flagged, not rejected
            "14,Mai Văn Nam,037200000008,2000,Nữ,,,Thôn Tây,,Đã phê duyệt nhưng chưa kích hoạt,",
            "",
            // 21–22: footer
            ",Người lập biểu,,,,,,,,,",
            ",Nguyễn Cán Bộ,,,,,,,,,",
        ];
        for l in lines {
            f.extend_from_slice(l.as_bytes());
            f.extend_from_slice(b"\r\n");
        }
        f
    }

    #[test]
    fn csv_every_bad_row_rejected_and_nothing_valid_lost() {
        let p = ok(&police_csv(), None);
        assert_eq!(p.header_row, 4);
        assert_eq!(
            rejections(&p),
            [
                (7, "import.bad_id"),
                (8, "import.bad_date"),
                (9, "import.duplicate_id"),
                (10, "import.unknown_hamlet"),
                (11, "import.empty_name"),
                (12, "import.bad_status"),
                (13, "import.bad_phone"),
                (14, "import.encoding"),
                (21, "import.not_a_resident"),
                (22, "import.not_a_resident"),
            ]
        );
        // Every valid row, with every field.
        assert_eq!(rows_of(&p), [5, 6, 15, 16, 18, 19]);
        let r5 = row(&p, 5);
        assert_eq!(
            r5,
            &ImportRow {
                row: 5,
                hamlet: "h-dong".to_owned(),
                household_key: "h-dong|h|h01".to_owned(),
                address: addr("12", "ngõ 4", "Lê Lợi"),
                full_name: "Nguyễn Văn An".to_owned(),
                personal_id: id("001090012345"),
                birth_date: date("15/03/1990"),
                sex: Some(Sex::Male),
                phone: phone("0912345678"),
                registry: RegistryStatus::Activated,
                id_flags: vec![],
            }
        );
        let r6 = row(&p, 6);
        assert_eq!(r6.full_name, "Trần Thị Bình");
        assert_eq!(r6.hamlet, "h-dong");
        assert_eq!(r6.household_key, r5.household_key);
        assert_eq!(r6.personal_id, id("001190012346"));
        assert_eq!(r6.birth_date, date("1990"));
        assert_eq!(r6.sex, Some(Sex::Female));
        assert_eq!(r6.phone, None);
        assert_eq!(r6.registry, RegistryStatus::NoAccount);
        let r15 = row(&p, 15);
        assert_eq!(r15.hamlet, "h-5");
        assert_eq!(r15.address, addr("7", "ngõ 9", "Huế"));
        assert_eq!(r15.household_key, "h-5|a|7|ngo 9|hue");
        assert_eq!(r15.phone, phone("0987654321"));
        assert_eq!(r15.registry, RegistryStatus::PendingApproval);
        let r16 = row(&p, 16);
        assert_eq!(
            (r16.personal_id.as_ref(), r16.birth_date, r16.phone.as_ref()),
            (None, None, None)
        );
        assert_eq!(r16.household_key, r15.household_key);
        assert_eq!(r16.registry, RegistryStatus::Level1);
        let r18 = row(&p, 18);
        assert_eq!(r18.hamlet, "h-tay");
        assert_eq!(r18.address, addr("3", "", "Trần Phú"));
        assert_eq!(r18.registry, RegistryStatus::Collected);
        let r19 = row(&p, 19);
        assert_eq!(r19.registry, RegistryStatus::ApprovedNotActivated);
        assert_eq!(r19.id_flags, vec![IdDataFlag::SexMismatch]);

        // Details of the rejections.
        let rej = |n: usize| {
            p.rejected
                .iter()
                .find(|r| r.row == n)
                .unwrap_or_else(|| panic!("no rejection for row {n}"))
        };
        assert_eq!(rej(7).column.as_deref(), Some("Số định danh cá nhân"));
        assert_eq!(rej(8).column.as_deref(), Some("Ngày sinh"));
        assert!(
            rej(9).message_vi.contains("dòng 5"),
            "{}",
            rej(9).message_vi
        );
        assert!(rej(10).message_vi.contains("Thôn Bắc"));
        assert_eq!(rej(11).column.as_deref(), Some("Họ và tên"));
        assert!(rej(12).message_vi.contains("Đang xử lý"));
        assert_eq!(rej(13).column.as_deref(), Some("Số điện thoại"));
        assert_eq!(rej(14).column.as_deref(), Some("Họ và tên"));
        assert_no_personal_data(&p);
        assert_eq!(p.ignored_columns, ["Ghi chú"]);
        let fields: Vec<Field> = p.columns.iter().map(|(_, f)| *f).collect();
        assert_eq!(
            fields,
            [
                Field::SerialNumber,
                Field::FullName,
                Field::PersonalId,
                Field::BirthDate,
                Field::Sex,
                Field::Phone,
                Field::Address,
                Field::Hamlet,
                Field::Household,
                Field::RegistryStatus,
            ]
        );
    }

    #[test]
    fn a_row_with_several_problems_lists_them_all() {
        let csv = "Họ và tên,Số định danh cá nhân,Ngày sinh,Thôn\n\
                   Nguyễn Văn An,001090012345,1990,Thôn Đông\n\
                   Lê Văn Bình,001090012345,1990-13-01,Thôn Nam\n";
        let p = ok(csv.as_bytes(), None);
        assert_eq!(rejections(&p), [(3, "import.bad_date")]);
        let others: Vec<&str> = p.rejected[0]
            .others
            .iter()
            .map(|o| o.code.as_str())
            .collect();
        assert_eq!(others, ["import.unknown_hamlet", "import.duplicate_id"]);
        assert_eq!(rows_of(&p), [2]);
    }

    #[test]
    fn a_rejected_row_does_not_claim_its_id() {
        // Row 2 has the ID but a bad date; row 3 with the same ID is the first valid one.
        let csv = "Họ và tên,Số định danh cá nhân,Ngày sinh\n\
                   Nguyễn Văn An,001090012345,32/01/1990\n\
                   Nguyễn Văn An,001090012345,01/01/1990\n";
        let p = ok(csv.as_bytes(), Some("h-dong"));
        assert_eq!(rejections(&p), [(2, "import.bad_date")]);
        assert_eq!(rows_of(&p), [3]);
    }

    fn xlsx_police_file() -> Vec<u8> {
        use rust_xlsxwriter::{ExcelDateTime, Format as XFormat, Workbook};
        let mut wb = Workbook::new();
        let notes = wb.add_worksheet();
        notes.set_name("Hướng dẫn").expect("name");
        notes
            .write_string(0, 0, "Danh sách ở trang sau")
            .expect("write");
        let ws = wb.add_worksheet();
        ws.set_name("Danh sách").expect("name");
        let date_fmt = XFormat::new().set_num_format("dd/mm/yyyy");
        let title = XFormat::new();
        ws.merge_range(0, 0, 0, 8, "DANH SÁCH CÔNG DÂN THÔN ĐÔNG", &title)
            .expect("merge");
        ws.write_string(1, 0, "(Kèm theo Kế hoạch số 12/KH-CAX)")
            .expect("write");
        let header = [
            "STT",
            "Họ tên",
            "Số CCCD",
            "Ngày, tháng, năm sinh",
            "Giới tính",
            "SĐT",
            "Nơi ở hiện tại",
            "Thôn/TDP",
            "Tình trạng tài khoản",
        ];
        for (c, h) in header.iter().enumerate() {
            ws.write_string(2, c as u16, *h).expect("write");
            ws.write_string(3, c as u16, format!("({})", c + 1))
                .expect("write");
        }
        // Excel rows 5.. (index 4..)
        fn text_row(ws: &mut rust_xlsxwriter::Worksheet, r: u32, cells: [&str; 9]) {
            for (c, v) in cells.iter().enumerate() {
                if !v.is_empty() {
                    ws.write_string(r, c as u16, *v).expect("write");
                }
            }
        }
        // Row 5: numeric ID (Hà Nội, 10 digits once the zeros are gone),
        // date cell, numeric phone.
        ws.write_number(4, 0, 1).expect("write");
        ws.write_string(4, 1, "Nguyễn Văn An").expect("write");
        ws.write_number(4, 2, 1_090_012_345_f64).expect("write");
        ws.write_datetime_with_format(
            4,
            3,
            ExcelDateTime::from_ymd(1990, 3, 15).expect("date"),
            &date_fmt,
        )
        .expect("write");
        ws.write_string(4, 4, "Nam").expect("write");
        ws.write_number(4, 5, 912_345_678_f64).expect("write");
        ws.write_string(4, 6, "Số 12, ngõ 4, đường Lê Lợi")
            .expect("write");
        ws.write_string(4, 7, "Thôn Đông").expect("write");
        ws.write_string(4, 8, "Đã kích hoạt").expect("write");
        // Row 6: numeric ID with 11 digits, year as a number.
        ws.write_number(5, 0, 2).expect("write");
        ws.write_string(5, 1, "Phạm Thị Dung").expect("write");
        ws.write_number(5, 2, 33_185_000_001_f64).expect("write");
        ws.write_number(5, 3, 1985).expect("write");
        ws.write_string(5, 4, "nu").expect("write");
        ws.write_string(5, 6, "Số 12, ngõ 4, đường Lê Lợi")
            .expect("write");
        ws.write_string(5, 7, "Thôn Đông").expect("write");
        ws.write_string(5, 8, "Tài khoản mức 1").expect("write");
        // Row 7: everything as text.
        text_row(
            ws,
            6,
            [
                "3",
                "Trần Thị Bình",
                "079303004567",
                "05/06/2003",
                "Nữ",
                "0987654321",
                "Số 7, ngõ 9, phố Huế",
                "Tổ dân phố 5",
                "Chờ phê duyệt",
            ],
        );
        // Row 8: bad ID (a number far too short).
        ws.write_string(7, 1, "Lê Văn Cường").expect("write");
        ws.write_number(7, 2, 123).expect("write");
        ws.write_string(7, 7, "Thôn Đông").expect("write");
        // Row 9: bad date. Row 10: duplicate of row 5. Row 11: unknown hamlet.
        text_row(
            ws,
            8,
            [
                "",
                "Hoàng Văn Em",
                "",
                "32/01/1990",
                "",
                "",
                "",
                "Thôn Đông",
                "",
            ],
        );
        text_row(
            ws,
            9,
            [
                "",
                "Vũ Văn Phú",
                "001090012345",
                "",
                "",
                "",
                "",
                "Thôn Đông",
                "",
            ],
        );
        text_row(
            ws,
            10,
            ["", "Đỗ Văn Giang", "", "", "", "", "", "Ấp Mới", ""],
        );
        // Row 12: empty, skipped. Row 13: empty name. Row 14: bad status.
        text_row(
            ws,
            12,
            ["", "", "034080000003", "1980", "", "", "", "Thôn Tây", ""],
        );
        text_row(
            ws,
            13,
            [
                "",
                "Bùi Văn Hải",
                "",
                "",
                "",
                "",
                "",
                "Thôn Tây",
                "Không rõ",
            ],
        );
        // Row 15: bad phone. Row 16: bad sex.
        text_row(
            ws,
            14,
            ["", "Ngô Thị Lan", "", "", "", "12345", "", "Thôn Tây", ""],
        );
        text_row(
            ws,
            15,
            ["", "Đinh Văn Minh", "", "", "X", "", "", "Thôn Tây", ""],
        );
        // Row 17: good, ISO date text with a time.
        text_row(
            ws,
            16,
            [
                "",
                "Lò Văn Nam",
                "",
                "1975-07-20 00:00:00",
                "",
                "",
                "",
                "Thôn Tây",
                "",
            ],
        );
        wb.save_to_buffer().expect("xlsx")
    }

    #[test]
    fn xlsx_every_bad_row_rejected_and_nothing_valid_lost() {
        let bytes = xlsx_police_file();
        assert_eq!(Format::sniff(&bytes), Format::Xlsx);
        let p = ok(&bytes, None);
        assert_eq!(p.sheet.as_deref(), Some("Danh sách"));
        assert_eq!(p.header_row, 3);
        assert_eq!(
            rejections(&p),
            [
                (8, "import.bad_id"),
                (9, "import.bad_date"),
                (10, "import.duplicate_id"),
                (11, "import.unknown_hamlet"),
                (13, "import.empty_name"),
                (14, "import.bad_status"),
                (15, "import.bad_phone"),
                (16, "import.bad_sex"),
            ]
        );
        assert_eq!(rows_of(&p), [5, 6, 7, 17]);
        assert_eq!(
            row(&p, 5),
            &ImportRow {
                row: 5,
                hamlet: "h-dong".to_owned(),
                household_key: "h-dong|a|12|ngo 4|le loi".to_owned(),
                address: addr("12", "ngõ 4", "Lê Lợi"),
                full_name: "Nguyễn Văn An".to_owned(),
                personal_id: id("001090012345"),
                birth_date: date("15/03/1990"),
                sex: Some(Sex::Male),
                phone: phone("0912345678"),
                registry: RegistryStatus::Activated,
                id_flags: vec![],
            }
        );
        let r6 = row(&p, 6);
        assert_eq!(r6.personal_id, id("033185000001"));
        assert_eq!(r6.birth_date, date("1985"));
        assert_eq!(r6.sex, Some(Sex::Female));
        assert_eq!(r6.registry, RegistryStatus::Level1);
        assert_eq!(r6.household_key, row(&p, 5).household_key);
        let r7 = row(&p, 7);
        assert_eq!(r7.personal_id, id("079303004567"));
        assert_eq!(r7.birth_date, date("05/06/2003"));
        assert_eq!(r7.hamlet, "h-5");
        assert_eq!(r7.phone, phone("0987654321"));
        assert_eq!(r7.address, addr("7", "ngõ 9", "Huế"));
        let r17 = row(&p, 17);
        assert_eq!(r17.birth_date, date("20/07/1975"));
        assert_eq!(r17.household_key, "h-tay|r|17");
        assert_no_personal_data(&p);
        assert!(p.ignored_columns.is_empty());
    }

    #[test]
    fn xlsx_per_hamlet_export_uses_the_default_hamlet() {
        use rust_xlsxwriter::Workbook;
        let mut wb = Workbook::new();
        let ws = wb.add_worksheet();
        let rows = [
            ["Họ và tên", "Ngày sinh", "Số nhà", "Ngõ/Hẻm", "Đường/Phố"],
            ["Nguyễn Văn An", "1990", "Số 12", "4", "Đường Lê Lợi"],
            ["Trần Thị Bình", "1991", "12", "Ngõ 4", "Lê Lợi"],
            ["Lê Văn Cường", "1992", "14", "", "Lê Lợi"],
        ];
        for (r, cells) in rows.iter().enumerate() {
            for (c, v) in cells.iter().enumerate() {
                if !v.is_empty() {
                    ws.write_string(r as u32, c as u16, *v).expect("write");
                }
            }
        }
        let bytes = wb.save_to_buffer().expect("xlsx");
        let p = ok(&bytes, Some("h-tay"));
        assert!(p.rejected.is_empty(), "{:?}", p.rejected);
        assert_eq!(rows_of(&p), [2, 3, 4]);
        assert!(p.rows.iter().all(|r| r.hamlet == "h-tay"));
        assert_eq!(p.rows[0].address, addr("12", "ngõ 4", "Lê Lợi"));
        assert_eq!(p.rows[1].address, addr("12", "ngõ 4", "Lê Lợi"));
        assert_eq!(p.rows[0].household_key, p.rows[1].household_key);
        assert_ne!(p.rows[0].household_key, p.rows[2].household_key);
        // A per-hamlet export without a hamlet column needs a hamlet.
        assert_eq!(
            parse_with(&bytes, &hamlets(), None),
            Err(ImportError::NoHamlet)
        );
        assert_eq!(
            parse_with(&bytes, &hamlets(), Some("h-bac")),
            Err(ImportError::UnknownDefaultHamlet)
        );
        // A commune with one hamlet needs no choice; a name works as well as an id.
        assert!(parse_with(&bytes, &hamlets()[..1], None).is_ok());
        assert!(parse_with(&bytes, &hamlets(), Some("thôn tây")).is_ok());
    }

    #[test]
    fn household_grouping_by_column_and_by_address() {
        let csv = "Họ và tên,Ngày sinh,Số hộ,Địa chỉ,Thôn\n\
                   An,1990,H-01,\"Số 1, ngõ 2, đường Lê Lợi\",Thôn Đông\n\
                   Bình,1990,h-01,\"Số 9, ngõ 9, đường Khác\",Thôn Đông\n\
                   Cường,1990,H-01,\"Số 1, ngõ 2, đường Lê Lợi\",Thôn Tây\n\
                   Dung,1990,,\"số 1, Ngõ 2, Lê Lợi, thôn Đông, xã Tân Tiến\",Thôn Đông\n\
                   Em,1990,,\"Số 1, ngõ 2, đường Lê Lợi, Thôn Đông, xã Tân Tiến, tỉnh Hưng Yên\",Thôn Đông\n\
                   Phú,1990,,,Thôn Đông\n\
                   Giang,1990,,,Thôn Đông\n";
        let p = ok(csv.as_bytes(), None);
        assert!(p.rejected.is_empty(), "{:?}", p.rejected);
        let keys: Vec<&str> = p.rows.iter().map(|r| r.household_key.as_str()).collect();
        assert_eq!(
            keys,
            [
                "h-dong|h|h-01",
                "h-dong|h|h-01",
                "h-tay|h|h-01",
                "h-dong|a|1|ngo 2|le loi",
                "h-dong|a|1|ngo 2|le loi",
                "h-dong|r|7",
                "h-dong|r|8",
            ]
        );
    }

    #[test]
    fn address_forms() {
        let m = HamletMatcher::new(&[]);
        let hs = hamlets();
        let named = HamletMatcher::new(&hs);
        let cases: &[(&str, (&str, &str, &str))] = &[
            (
                "Số 12, ngõ 4, đường Lê Lợi, thôn Đông, xã Tân Tiến, tỉnh Hưng Yên",
                ("12", "ngõ 4", "Lê Lợi"),
            ),
            (
                "12A Ngõ 4 Phố Huế, Phường Hai Bà Trưng, Hà Nội",
                ("12A", "ngõ 4", "Huế"),
            ),
            (
                "12/3 Lê Lợi, Phường Bến Thành, TP.HCM",
                ("12/3", "", "Lê Lợi"),
            ),
            (
                "Số nhà 5, ngách 2, ngõ 10, phố Ngô Quyền",
                ("5", "ngách 2, ngõ 10", "Ngô Quyền"),
            ),
            (
                "Hẻm 45/12 đường Nguyễn Trãi, khu phố 3",
                ("", "hẻm 45/12", "Nguyễn Trãi"),
            ),
            ("Thôn Đông, xã Tân Tiến", ("", "", "")),
            ("Đường Xã Đàn, Đống Đa", ("", "", "Xã Đàn")),
            ("Đường số 5, phường An Lạc", ("", "", "số 5")),
            ("Quốc lộ 1A, thôn Đông", ("", "", "Quốc lộ 1A")),
            ("SN 8 Tô Hiến Thành, Quận 10", ("8", "", "Tô Hiến Thành")),
            ("K12/3 Dương Quảng Hàm", ("K12/3", "", "Dương Quảng Hàm")),
            (
                "So 12, ngo 4, duong Le Loi, thon Dong",
                ("12", "ngo 4", "Le Loi"),
            ),
        ];
        for (text, (h, a, s)) in cases {
            assert_eq!(parse_address(text, &m), addr(h, a, s), "{text}");
        }
        // A bare hamlet name is dropped when the commune has that hamlet.
        assert_eq!(
            parse_address("Số 3, Đông, Tân Tiến", &named),
            addr("3", "", "")
        );
        assert_eq!(house_from_column("Số nhà 12A"), "12A");
        assert!(is_scientific("1.09001E+11") && is_scientific("1,09E+11"));
        assert!(!is_scientific("001090012345") && !is_scientific("E+11"));
        assert_eq!(alley_from_column("12", "Hẻm"), "hẻm 12");
        assert_eq!(alley_from_column("Ngách 4/2", "Ngõ/Ngách"), "ngách 4/2");
        assert_eq!(street_from_column("Phố Huế"), "Huế");
    }

    #[test]
    fn header_synonyms() {
        let cases: &[(&str, Option<Field>)] = &[
            ("Họ và tên", Some(Field::FullName)),
            ("HỌ TÊN", Some(Field::FullName)),
            ("Họ, chữ đệm và tên", Some(Field::FullName)),
            ("Họ và tên (*)", Some(Field::FullName)),
            ("Số định danh\ncá nhân", Some(Field::PersonalId)),
            ("Số CCCD", Some(Field::PersonalId)),
            ("Số CCCD/CMND", Some(Field::PersonalId)),
            ("Số căn cước", Some(Field::PersonalId)),
            ("Ngày sinh (dd/mm/yyyy)", Some(Field::BirthDate)),
            ("Ngày, tháng, năm sinh", Some(Field::BirthDate)),
            ("Giới tính", Some(Field::Sex)),
            ("SĐT", Some(Field::Phone)),
            ("Điện thoại", Some(Field::Phone)),
            ("Số điện thoại (nếu có)", Some(Field::Phone)),
            ("Địa chỉ", Some(Field::Address)),
            ("Nơi ở hiện tại", Some(Field::Address)),
            ("Địa chỉ thường trú", Some(Field::Address)),
            ("Số nhà", Some(Field::HouseNumber)),
            ("Ngõ/Hẻm", Some(Field::Alley)),
            ("Đường/Phố", Some(Field::Street)),
            ("Thôn/Tổ dân phố", Some(Field::Hamlet)),
            ("Ấp", Some(Field::Hamlet)),
            ("Bản", Some(Field::Hamlet)),
            ("Khu phố", Some(Field::Hamlet)),
            ("Số hộ", Some(Field::Household)),
            ("Mã hộ", Some(Field::Household)),
            ("Số hộ khẩu", Some(Field::Household)),
            ("Trạng thái tài khoản", Some(Field::RegistryStatus)),
            ("Trạng thái", Some(Field::RegistryStatus)),
            ("Tài khoản định danh", Some(Field::RegistryStatus)),
            ("STT", Some(Field::SerialNumber)),
            ("Ghi chú", None),
            ("Quan hệ với chủ hộ", None),
        ];
        for (h, f) in cases {
            assert_eq!(header_field(h), *f, "{h:?}");
        }
        // Every synonym is already in normal form and names one field only.
        let mut seen = HashMap::new();
        for f in Field::ALL {
            for s in f.synonyms() {
                assert_eq!(normalize_header(s), *s);
                assert_eq!(seen.insert(*s, f), None, "{s} twice");
            }
        }
    }

    #[test]
    fn semicolon_file_with_other_headers_and_split_name() {
        let csv = "sep=;\n\
                   TT;Họ và chữ đệm;Tên;Số CCCD;Năm sinh;Phái;SĐT;Ấp;Tình trạng\n\
                   1;Nguyễn Thị Thu;Hà;001190012346;1990;Nữ;091.234.5678;Thôn Đông;Đã được phê duyệt\n";
        let p = ok(csv.as_bytes(), None);
        assert!(p.rejected.is_empty(), "{:?}", p.rejected);
        assert_eq!(p.header_row, 1, "Excel hides the sep= line");
        let r = row(&p, 2);
        assert_eq!(r.full_name, "Nguyễn Thị Thu Hà");
        assert_eq!(r.phone, phone("0912345678"));
        assert_eq!(r.registry, RegistryStatus::ApprovedNotActivated);

        // Sniffed delimiters: semicolon and tab.
        let csv = "Họ tên;Ngày sinh;Địa chỉ\nAn;1990;\"Số 1, ngõ 2\"\n";
        let p = ok(csv.as_bytes(), Some("h-dong"));
        assert_eq!(row(&p, 2).address, addr("1", "ngõ 2", ""));
        let tsv = "Họ tên\tNgày sinh\tĐịa chỉ\nAn\t1990\tSố 1, ngõ 2\n";
        let p = ok(tsv.as_bytes(), Some("h-dong"));
        assert_eq!(row(&p, 2).address, addr("1", "ngõ 2", ""));
    }

    fn utf16(text: &str, big_endian: bool, bom: bool) -> Vec<u8> {
        let mut out = Vec::new();
        if bom {
            out.extend_from_slice(if big_endian { b"\xFE\xFF" } else { b"\xFF\xFE" });
        }
        for u in text.encode_utf16() {
            out.extend_from_slice(&if big_endian {
                u.to_be_bytes()
            } else {
                u.to_le_bytes()
            });
        }
        out
    }

    #[test]
    fn utf16_and_bom_files() {
        // Excel's "Unicode Text": UTF-16 LE with a BOM, tab-separated.
        let text =
            "Họ và tên\tSố định danh cá nhân\tThôn\r\nNguyễn Văn An\t001090012345\tThôn Đông\r\n";
        for (be, bom) in [(false, true), (true, true), (false, false)] {
            let p = ok(&utf16(text, be, bom), None);
            assert!(p.rejected.is_empty());
            assert_eq!(row(&p, 2).full_name, "Nguyễn Văn An");
            assert_eq!(row(&p, 2).personal_id, id("001090012345"));
        }
        // UTF-8 with a BOM.
        let mut bytes = b"\xEF\xBB\xBF".to_vec();
        bytes.extend_from_slice(text.replace('\t', ",").as_bytes());
        let p = ok(&bytes, None);
        assert_eq!(p.columns[0].0, "Họ và tên");
        assert_eq!(row(&p, 2).hamlet, "h-dong");
        // A broken UTF-16 file.
        let mut bad = utf16(text, false, true);
        bad.extend_from_slice(&[0x00, 0xD8, 0x41, 0x00]); // lone high surrogate
        assert_eq!(
            parse_with(&bad, &hamlets(), None),
            Err(ImportError::BadUtf16)
        );
    }

    #[test]
    fn windows_1258_file_is_a_file_level_error() {
        // "Họ và tên;Ngày sinh" and rows in Windows-1258 (ọ = o + 0xF2, à = 0xE0…).
        let mut f = b"STT;Ho\xf2 va\xcc t\xean;Nga\xccy sinh;Th\xf4n\r\n".to_vec();
        for i in 0..5 {
            f.extend_from_slice(format!("{i};").as_bytes());
            f.extend_from_slice(b"Nguy\xea\xdeN V\xe3n An;1990;Th\xf4n \xd0\xf4ng\r\n");
        }
        let e = parse_with(&f, &hamlets(), None).expect_err("not UTF-8");
        assert_eq!(e, ImportError::NotUtf8);
        assert_eq!(e.code(), "import.not_utf8");
        assert!(e.message_vi().contains("CSV UTF-8"));
        // Plain ASCII headers but most rows in Windows-1258: still the file's fault.
        let mut f = b"Ho va ten,Ngay sinh,Thon\r\nAn,1990,h-dong\r\n".to_vec();
        for _ in 0..3 {
            f.extend_from_slice(b"Nguy\xea\xdeN V\xe3n An,1990,h-dong\r\n");
        }
        assert_eq!(parse_with(&f, &hamlets(), None), Err(ImportError::NotUtf8));
    }

    #[test]
    fn file_level_errors() {
        let h = hamlets();
        let e = |bytes: &[u8]| parse_with(bytes, &h, Some("h-dong")).expect_err("error");
        assert_eq!(e(b""), ImportError::NoHeader);
        assert_eq!(
            e("Ghi chú\nkhông có gì\n".as_bytes()),
            ImportError::NoHeader
        );
        assert_eq!(
            e("Số định danh,Ngày sinh,Thôn\n001090012345,1990,Thôn Đông\n".as_bytes()),
            ImportError::MissingColumn {
                field: Field::FullName
            }
        );
        assert_eq!(
            e(b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1rest of an xls"),
            ImportError::LegacyXls
        );
        assert_eq!(
            e(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR"),
            ImportError::NotSpreadsheet
        );
        assert_eq!(
            e(b"PK\x03\x04not really a zip"),
            ImportError::NotSpreadsheet
        );
        let all = [
            ImportError::NotSpreadsheet,
            ImportError::LegacyXls,
            ImportError::NoHeader,
            ImportError::MissingColumn {
                field: Field::FullName,
            },
            ImportError::NoHamlet,
            ImportError::UnknownDefaultHamlet,
            ImportError::NotUtf8,
            ImportError::BadUtf16,
        ];
        let codes: HashSet<&str> = all.iter().map(ImportError::code).collect();
        assert_eq!(codes.len(), all.len());
        for e in all {
            assert!(e.code().starts_with("import."));
            assert!(!e.message_vi().is_empty() && !e.to_string().is_empty());
        }
    }

    #[test]
    fn status_texts() {
        use RegistryStatus as S;
        let cases: &[(&str, Option<S>)] = &[
            ("Đã kích hoạt", Some(S::Activated)),
            ("ĐÃ KÍCH HOẠT THÀNH CÔNG", Some(S::Activated)),
            ("Đã kích hoạt tài khoản VNeID mức 2", Some(S::Activated)),
            ("Mức 2", Some(S::Activated)),
            ("Đã phê duyệt", Some(S::ApprovedNotActivated)),
            ("Đã được phê duyệt", Some(S::ApprovedNotActivated)),
            (
                "Đã phê duyệt nhưng chưa kích hoạt",
                Some(S::ApprovedNotActivated),
            ),
            ("Chờ kích hoạt", Some(S::ApprovedNotActivated)),
            ("Chưa kích hoạt", Some(S::ApprovedNotActivated)),
            ("Chờ phê duyệt", Some(S::PendingApproval)),
            ("Đang chờ phê duyệt", Some(S::PendingApproval)),
            ("Chờ duyệt", Some(S::PendingApproval)),
            ("Đã thu nhận", Some(S::Collected)),
            ("Đã thu nhận hồ sơ", Some(S::Collected)),
            ("Mức 1", Some(S::Level1)),
            ("Tài khoản mức độ 1", Some(S::Level1)),
            ("", Some(S::NoAccount)),
            ("Chưa có", Some(S::NoAccount)),
            ("Chưa có tài khoản", Some(S::NoAccount)),
            ("Chưa đăng ký", Some(S::NoAccount)),
            ("approved_not_activated", Some(S::ApprovedNotActivated)),
            ("Đang xử lý", None),
            ("Không rõ", None),
            ("Đã đăng ký", None),
        ];
        for (t, s) in cases {
            assert_eq!(parse_registry_status(t), *s, "{t:?}");
        }
    }

    #[test]
    fn csv_row_numbers_follow_excel() {
        // Blank lines count as rows; a line break inside quotes does not;
        // CRLF, LF and CR line ends.
        let csv = "\r\nHọ và tên,Ngày sinh\r\n\r\n\"An\",1990\r\n\"Bình\nThị\",1991\n\nCường,1992\rDung,1993";
        let p = ok(csv.as_bytes(), Some("h-dong"));
        assert_eq!(p.header_row, 2);
        assert_eq!(rows_of(&p), [4, 5, 7, 8]);
        assert_eq!(row(&p, 5).full_name, "Bình Thị");
    }

    #[test]
    fn repeated_headers_and_column_number_rows_are_skipped() {
        let csv = "Họ và tên,Ngày sinh\n(1),(2)\nAn,1990\nHọ và tên,Ngày sinh\nBình,1991\n";
        let p = ok(csv.as_bytes(), Some("h-dong"));
        assert!(p.rejected.is_empty(), "{:?}", p.rejected);
        assert_eq!(rows_of(&p), [3, 5]);
    }

    #[test]
    fn two_row_header_under_a_merged_address_cell() {
        let csv = "STT,Họ và tên,Ngày sinh,Địa chỉ,,,Thôn,Ghi chú\n\
                   ,,,Số nhà,Ngõ,Đường,,\n\
                   (1),(2),(3),(4),(5),(6),(7),(8)\n\
                   1,Nguyễn Văn An,1990,12,4,Lê Lợi,Thôn Đông,\n";
        let p = ok(csv.as_bytes(), None);
        assert!(p.rejected.is_empty(), "{:?}", p.rejected);
        assert_eq!(p.header_row, 1);
        assert_eq!(rows_of(&p), [4]);
        assert_eq!(row(&p, 4).address, addr("12", "ngõ 4", "Lê Lợi"));
        let fields: Vec<(&str, Field)> = p.columns.iter().map(|(h, f)| (h.as_str(), *f)).collect();
        assert_eq!(
            fields,
            [
                ("STT", Field::SerialNumber),
                ("Họ và tên", Field::FullName),
                ("Ngày sinh", Field::BirthDate),
                ("Số nhà", Field::HouseNumber),
                ("Ngõ", Field::Alley),
                ("Đường", Field::Street),
                ("Thôn", Field::Hamlet),
            ]
        );
        assert_eq!(p.ignored_columns, ["Ghi chú"]);
    }

    #[test]
    fn cell_errors_footers_and_missing_hamlets() {
        use calamine::{CellErrorType, Data, Range};
        let mut range: Range<Data> = Range::new((0, 0), (6, 2));
        let text = |s: &str| Data::String(s.to_owned());
        let cells = [
            ((0, 0), text("Họ và tên")),
            ((0, 1), text("Ngày sinh")),
            ((0, 2), text("Thôn")),
            ((1, 0), text("Nguyễn Văn An")),
            ((1, 1), Data::Error(CellErrorType::NA)),
            ((1, 2), text("Thôn Đông")),
            ((2, 0), text("Trần Thị Bình")),
            ((2, 1), Data::Int(1990)),
            ((3, 0), text("Lê Văn Cường")),
            ((3, 1), Data::Float(32_874.0)), // an undated serial: 01/01/1990
            ((3, 2), text("Thôn Tây")),
            ((5, 1), text("Đông Hưng, ngày 10 tháng 9 năm 2025")),
            ((6, 1), text("Nguyễn Văn Trưởng")),
        ];
        for (at, v) in cells {
            range.set_value(at, v);
        }
        let rows = SheetRows {
            range: &range,
            first_row: 1,
            width: 3,
        };
        let HeaderSearch::Found(layout) = find_header(&rows) else {
            panic!("no header");
        };
        let h = hamlets();
        let opts = ImportOptions {
            hamlets: &h,
            default_hamlet: None,
        };
        let importer = Importer::new(&opts, *layout).expect("importer");
        let p = importer.run(&rows, None, &mut |_, _| {}).file;
        assert_eq!(
            rejections(&p),
            [
                (2, "import.cell_error"),
                (3, "import.missing_hamlet"),
                (6, "import.not_a_resident"),
                (7, "import.not_a_resident"),
            ]
        );
        assert_eq!(rows_of(&p), [4]);
        assert_eq!(row(&p, 4).birth_date, date("01/01/1990"));
        // With a default hamlet, a row without one takes it.
        let opts = ImportOptions {
            hamlets: &h,
            default_hamlet: Some("h-5"),
        };
        let HeaderSearch::Found(layout) = find_header(&rows) else {
            panic!("no header");
        };
        let p = Importer::new(&opts, *layout)
            .expect("importer")
            .run(&rows, None, &mut |_, _| {})
            .file;
        assert_eq!(rows_of(&p), [3, 4]);
        assert_eq!(row(&p, 3).hamlet, "h-5");
    }

    #[test]
    fn progress_is_reported() {
        let mut csv = String::from("Họ và tên,Ngày sinh\n");
        for i in 0..2500 {
            csv.push_str(&format!("Người Thứ,{}\n", 1950 + i % 50));
        }
        let h = hamlets();
        let opts = ImportOptions {
            hamlets: &h,
            default_hamlet: Some("h-dong"),
        };
        let mut calls = Vec::new();
        let p = parse(csv.as_bytes(), Format::Csv, &opts, &mut |d, t| {
            calls.push((d, t))
        })
        .expect("parses");
        assert_eq!(p.rows.len(), 2500);
        assert_eq!(calls, [(1000, 2500), (2000, 2500), (2500, 2500)]);
    }

    /// A commune of 60,000 residents, as CSV. Run in release mode:
    /// `cargo test --release -p gocua-server --lib campaign::import_file::tests::sixty_thousand -- --ignored --nocapture`
    #[test]
    #[ignore = "timing; run in release mode"]
    fn sixty_thousand_rows() {
        let hamlets: Vec<HamletRef> = (1..=30)
            .map(|i| HamletRef {
                id: format!("h{i}"),
                name: format!("Thôn {i}"),
            })
            .collect();
        let given = ["An", "Bình", "Cường", "Dung", "Hà", "Hải", "Lan", "Minh"];
        let statuses = [
            "Đã kích hoạt",
            "Đã phê duyệt",
            "Chờ phê duyệt",
            "Chưa có tài khoản",
        ];
        let mut csv = String::from(
            "DANH SÁCH CÔNG DÂN\nSTT,Họ và tên,Số định danh cá nhân,Ngày sinh,Giới tính,Số điện thoại,Địa chỉ,Thôn/Tổ dân phố,Trạng thái tài khoản\n",
        );
        for i in 0..60_000u32 {
            let year = 1940 + i % 60;
            let sex = i % 2;
            csv.push_str(&format!(
                "{},Nguyễn Văn {},033{}{:02}{:06},{:02}/{:02}/{year},{},09{:08},\"Số {}, ngõ {}, đường Lê Lợi\",Thôn {},{}\n",
                i + 1,
                given[i as usize % given.len()],
                sex,
                year % 100,
                i,
                1 + i % 28,
                1 + i % 12,
                if sex == 0 { "Nam" } else { "Nữ" },
                i,
                i / 4,
                i % 50,
                1 + i / 2000,
                statuses[i as usize % statuses.len()],
            ));
        }
        let opts = ImportOptions {
            hamlets: &hamlets,
            default_hamlet: None,
        };
        let started = std::time::Instant::now();
        let p = parse(csv.as_bytes(), Format::Csv, &opts, &mut |_, _| {}).expect("parses");
        let elapsed = started.elapsed();
        println!("60,000 rows ({} bytes) parsed in {elapsed:?}", csv.len());
        assert_eq!(p.rows.len(), 60_000, "{:?}", p.rejected.first());
        assert!(elapsed.as_secs_f64() < 5.0);

        // The same rows as an XLSX workbook.
        let mut wb = rust_xlsxwriter::Workbook::new();
        let ws = wb.add_worksheet();
        for (r, line) in csv.lines().skip(1).enumerate() {
            let mut rdr = csv::ReaderBuilder::new()
                .has_headers(false)
                .from_reader(line.as_bytes());
            let record = rdr.records().next().expect("a line").expect("a record");
            for (c, v) in record.iter().enumerate() {
                ws.write_string(r as u32, c as u16, v).expect("write");
            }
        }
        let bytes = wb.save_to_buffer().expect("xlsx");
        let started = std::time::Instant::now();
        let p = parse(&bytes, Format::Xlsx, &opts, &mut |_, _| {}).expect("parses");
        let elapsed = started.elapsed();
        println!(
            "60,000 rows as XLSX ({} bytes) parsed in {elapsed:?}",
            bytes.len()
        );
        assert_eq!(p.rows.len(), 60_000);
        assert!(elapsed.as_secs_f64() < 10.0);
    }
}
