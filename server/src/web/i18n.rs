//! The review pages' words in Vietnamese (the default) and English, and
//! numbers and dates written the way each language writes them.
//!
//! Data from the reports (reason labels, hamlet names, outcome wording) is
//! Vietnamese whatever the page language: it is what the commune signs.

/// A page language.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Lang {
    /// Tiếng Việt.
    #[default]
    Vi,
    /// English.
    En,
}

impl Lang {
    /// From a cookie or query value; anything unknown is Vietnamese.
    pub fn from_code(code: &str) -> Lang {
        if code == "en" { Lang::En } else { Lang::Vi }
    }

    /// `vi` or `en` (the `lang` attribute of the page).
    pub fn code(self) -> &'static str {
        match self {
            Lang::Vi => "vi",
            Lang::En => "en",
        }
    }
}

/// The translator a template calls: `{{ t.s("key") }}`.
#[derive(Clone, Copy, Debug)]
pub struct Tr(pub Lang);

impl Tr {
    /// The text of `key`; the key itself when missing (a unit test checks
    /// that every key the templates use is here).
    pub fn s<'a>(&self, key: &'a str) -> &'a str {
        match STRINGS.iter().find(|(k, _, _)| *k == key) {
            Some((_, vi, en)) => match self.0 {
                Lang::Vi => vi,
                Lang::En => en,
            },
            None => key,
        }
    }

    /// The page language code.
    pub fn code(&self) -> &'static str {
        self.0.code()
    }

    /// A whole number with the language's thousands separator.
    pub fn num(&self, n: i64) -> String {
        let sep = match self.0 {
            Lang::Vi => '.',
            Lang::En => ',',
        };
        group(n, sep)
    }

    /// A percentage with one decimal (`45,6 %` / `45.6%`).
    pub fn pct(&self, p: f64) -> String {
        match self.0 {
            Lang::Vi => format!("{:.1}\u{a0}%", p).replace('.', ","),
            Lang::En => format!("{:.1}%", p),
        }
    }

    /// `YYYY-MM-DD` as the language writes dates.
    pub fn date(&self, iso: &str) -> String {
        match self.0 {
            Lang::Vi => crate::campaign::targets::vi_date(iso),
            Lang::En => iso.to_owned(),
        }
    }

    /// Unix milliseconds as a Vietnam-time date and hour.
    pub fn when(&self, ms: i64) -> String {
        let day = sync_core::plan::vn_day(ms);
        let in_day = (ms + 7 * 3_600_000).rem_euclid(sync_core::plan::DAY_MS) / 60_000;
        format!(
            "{} {:02}:{:02}",
            self.date(&sync_core::plan::iso_date(day)),
            in_day / 60,
            in_day % 60
        )
    }
}

fn group(n: i64, sep: char) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(sep);
        }
        out.push(c);
    }
    if n < 0 { format!("-{out}") } else { out }
}

/// (key, Vietnamese, English).
pub const STRINGS: &[(&str, &str, &str)] = &[
    ("app", "Gõ Cửa", "Gõ Cửa"),
    ("skip", "Bỏ qua, đến nội dung chính", "Skip to main content"),
    ("nav.dashboard", "Tổng quan", "Overview"),
    ("nav.province", "Xếp hạng xã, phường", "Communes ranked"),
    ("nav.lists", "Danh sách", "Lists"),
    ("nav.review", "Cần xử lý", "Review queue"),
    ("nav.targets", "Danh sách cần đến", "Target lists"),
    ("targets.title", "Danh sách cần đến", "Households to visit"),
    ("targets.who", "Người đi", "Field user"),
    ("targets.quota", "Định mức hôm nay", "Today's quota"),
    ("targets.on_list", "Trên danh sách", "On the list"),
    (
        "targets.remaining",
        "Còn lại trong địa bàn",
        "Still open in the area",
    ),
    (
        "targets.print",
        "Muốn in hoặc lưu PDF: dùng lệnh In của trình duyệt (Ctrl+P), chọn khổ A4.",
        "To print or save as PDF, use the browser's Print (Ctrl+P), A4.",
    ),
    ("targets.xlsx", "Tải Excel", "Download Excel"),
    ("targets.house", "Hộ", "Household"),
    ("targets.priority", "Việc cần làm", "What to do"),
    ("targets.come_back", "Nên quay lại", "Come back"),
    ("targets.result", "Kết quả (ghi tay)", "Outcome (by hand)"),
    (
        "targets.empty",
        "Không còn ai cần đến trong ngày.",
        "Nobody to visit this day.",
    ),
    ("nav.team", "Phân công, thiết bị", "Assignments, devices"),
    ("nav.logout", "Đăng xuất", "Sign out"),
    ("nav.main", "Điều hướng chính", "Main navigation"),
    ("lang.other", "English", "Tiếng Việt"),
    ("lang.other.code", "en", "vi"),
    ("login.title", "Đăng nhập", "Sign in"),
    (
        "login.lead",
        "Trang theo dõi đợt cao điểm cho lãnh đạo xã, phường, công an và Ban chỉ đạo tỉnh. Tình nguyện viên dùng ứng dụng trên điện thoại.",
        "Campaign pages for commune leaders, police officers and the provincial office. Volunteers use the phone app.",
    ),
    ("login.username", "Tên đăng nhập", "Username"),
    ("login.password", "Mật khẩu", "Password"),
    ("login.submit", "Đăng nhập", "Sign in"),
    (
        "login.bad",
        "Sai tên đăng nhập hoặc mật khẩu.",
        "Wrong username or password.",
    ),
    (
        "login.volunteer",
        "Tài khoản tình nguyện viên dùng ứng dụng Gõ Cửa trên điện thoại, không dùng trang này.",
        "Volunteer accounts use the Gõ Cửa phone app, not these pages.",
    ),
    (
        "login.expired",
        "Biểu mẫu đã hết hạn, hãy đăng nhập lại.",
        "The form expired; please sign in again.",
    ),
    (
        "login.never",
        "Gõ Cửa không bao giờ hỏi mật khẩu VNeID, mã OTP hay ảnh CCCD.",
        "Gõ Cửa never asks for VNeID passwords, one-time codes or photos of ID cards.",
    ),
    (
        "login.needs_https",
        "Máy chủ này chỉ giữ phiên đăng nhập qua HTTPS. Hãy mở trang bằng địa chỉ https://, hoặc (chỉ trong mạng nội bộ tin cậy) chạy máy chủ với GOCUA_SECURE_COOKIES=false.",
        "This server keeps sign-in sessions over HTTPS only. Open the page with an https:// address, or (on a trusted local network only) run the server with GOCUA_SECURE_COOKIES=false.",
    ),
    ("dash.title", "Tiến độ đợt cao điểm", "Campaign progress"),
    (
        "dash.no_campaign",
        "Chưa có đợt cao điểm nào đang diễn ra.",
        "No campaign is running.",
    ),
    ("dash.day", "Ngày", "Day"),
    ("dash.show", "Xem", "Show"),
    ("dash.eligible", "Đủ điều kiện", "Eligible"),
    ("dash.activated", "Đã kích hoạt", "Activated"),
    ("dash.percent", "Tỷ lệ", "Share"),
    ("dash.today", "Tăng trong ngày", "Since yesterday"),
    ("dash.open", "Còn phải làm", "Still open"),
    ("dash.target", "Chỉ tiêu", "Target"),
    ("dash.ineligible", "Không đủ điều kiện", "Ineligible"),
    ("dash.under_age", "Chưa đủ tuổi", "Under age"),
    (
        "dash.curve",
        "Số đã kích hoạt theo ngày và đường chỉ tiêu",
        "Activated by day against the target line",
    ),
    ("dash.curve.actual", "Đã kích hoạt", "Activated"),
    ("dash.curve.target", "Chỉ tiêu", "Target"),
    ("dash.by_hamlet", "Theo thôn, tổ dân phố", "By hamlet"),
    (
        "dash.by_user",
        "Theo cán bộ, tình nguyện viên (hôm nay)",
        "By officer and volunteer (today)",
    ),
    (
        "dash.reasons",
        "Không đủ điều kiện theo lý do",
        "Ineligible by reason",
    ),
    (
        "dash.remaining",
        "Còn phải làm theo nhóm",
        "Still open by category",
    ),
    ("dash.signals", "Dấu hiệu cần kiểm tra", "Signs to check"),
    ("dash.none", "Chưa có ai.", "Nobody yet."),
    (
        "dash.no_signals",
        "Không có dấu hiệu bất thường.",
        "Nothing unusual.",
    ),
    ("dash.downloads", "Tải về để ký", "Download to sign"),
    (
        "dash.report_xlsx",
        "Báo cáo ngày (Excel)",
        "Daily report (Excel)",
    ),
    (
        "dash.activation_by_hamlet",
        "Tỷ lệ kích hoạt theo thôn, tổ dân phố",
        "Activation by hamlet",
    ),
    ("col.hamlet", "Thôn, tổ dân phố", "Hamlet"),
    ("col.name", "Họ và tên", "Full name"),
    ("col.role", "Vai trò", "Role"),
    ("col.visits", "Lượt đến", "Visits"),
    ("col.outcomes", "Kết quả ghi", "Outcomes"),
    ("col.activations", "Kích hoạt", "Activations"),
    (
        "col.attempts",
        "Tổng lượt từ đầu đợt",
        "Attempts since start",
    ),
    ("col.quota", "Chỉ tiêu ngày", "Daily quota"),
    ("col.kept", "Đạt", "Kept"),
    (
        "col.target",
        "Kích hoạt từ đầu đợt / chỉ tiêu",
        "Activated since start / target",
    ),
    ("col.no", "STT", "No."),
    ("col.birth", "Ngày sinh", "Birth date"),
    ("col.id", "Số định danh", "Personal ID"),
    ("col.phone", "Số điện thoại", "Phone"),
    ("col.address", "Địa chỉ", "Address"),
    ("col.reason", "Lý do, ghi chú", "Reason, note"),
    ("col.recorded", "Ghi nhận", "Recorded"),
    ("col.by", "Người ghi", "Recorded by"),
    ("col.state", "Tình trạng", "Status"),
    ("col.count", "Số người", "People"),
    ("col.commune", "Xã, phường", "Commune"),
    ("col.rank", "Hạng", "Rank"),
    ("col.week", "Tăng trong tuần", "This week"),
    ("yes", "Có", "Yes"),
    ("no", "Chưa", "No"),
    ("list.activated", "Danh sách đã kích hoạt", "Activated"),
    ("list.absent", "Danh sách vắng mặt", "Absent"),
    (
        "list.ineligible",
        "Danh sách không đủ điều kiện",
        "Ineligible",
    ),
    (
        "list.corrections",
        "Danh sách điều chỉnh dữ liệu dân cư",
        "Corrections",
    ),
    (
        "list.search",
        "Tìm theo tên (gõ có dấu hay không dấu đều được)",
        "Search by name (with or without diacritics)",
    ),
    ("list.search.button", "Tìm", "Search"),
    ("list.all_hamlets", "Tất cả thôn, tổ", "All hamlets"),
    ("list.found", "Số người", "People"),
    (
        "list.none",
        "Không có ai trong danh sách này.",
        "Nobody on this list.",
    ),
    ("list.xlsx", "Tải Excel", "Download Excel"),
    ("list.csv", "Tải CSV", "Download CSV"),
    ("list.print", "Bản in", "Print"),
    (
        "list.awaiting",
        "chờ cán bộ xác nhận",
        "awaiting an officer",
    ),
    ("list.prev", "Trang trước", "Previous page"),
    ("list.next", "Trang sau", "Next page"),
    ("list.page", "Trang", "Page"),
    ("review.title", "Cần xử lý", "Review queue"),
    (
        "review.lead",
        "Kết quả mâu thuẫn, kết quả của tình nguyện viên chờ cán bộ xác nhận, và kích hoạt mà dữ liệu dân cư chưa ghi nhận. Chọn kết quả đúng; quyết định được gửi tới điện thoại ở lần đồng bộ sau.",
        "Conflicting outcomes, volunteers' outcomes awaiting an officer, and activations the registry does not show. Choose the outcome that stands; the decision reaches the phones on their next sync.",
    ),
    (
        "review.empty",
        "Không còn việc cần xử lý.",
        "Nothing left to review.",
    ),
    (
        "review.settled",
        "Đã ghi quyết định. Điện thoại sẽ nhận ở lần đồng bộ sau.",
        "Decision recorded. Phones receive it on their next sync.",
    ),
    ("review.keep", "Giữ kết quả này", "Keep this outcome"),
    (
        "review.note",
        "Lý do quyết định (không bắt buộc)",
        "Why (optional)",
    ),
    ("review.who", "Người ghi", "Recorded by"),
    ("review.when", "Lúc", "When"),
    ("review.registry", "Dữ liệu dân cư", "Registry"),
    ("review.household", "Xem hộ", "Open household"),
    ("hh.title", "Hộ gia đình", "Household"),
    ("hh.residents", "Nhân khẩu", "Residents"),
    (
        "team.title",
        "Phân công và thiết bị",
        "Assignments and devices",
    ),
    (
        "team.lead",
        "Đổi thôn, tổ của cán bộ, tình nguyện viên: việc còn lại chuyển theo thôn, tổ; điện thoại nhận thôn mới và xoá thôn cũ ở lần đồng bộ sau. Thu hồi điện thoại bị mất: lần kết nối sau nó tự xoá dữ liệu.",
        "Reassign hamlets: open work moves with the hamlet; phones receive new hamlets and purge old ones on their next sync. Revoke a lost phone: it wipes its data the next time it connects.",
    ),
    ("team.hamlets", "Thôn, tổ phụ trách", "Hamlets"),
    ("team.save", "Lưu phân công", "Save"),
    ("team.saved", "Đã lưu phân công.", "Assignment saved."),
    ("team.devices", "Điện thoại", "Phones"),
    ("team.revoke", "Thu hồi", "Revoke"),
    ("team.revoked", "Đã thu hồi", "Revoked"),
    (
        "team.revoke_why",
        "Chỉ thu hồi điện thoại bị mất hoặc không còn dùng: lần kết nối sau, dữ liệu trên máy bị xoá; việc chưa đồng bộ trên máy đó sẽ mất.",
        "Only for a lost or retired phone: its data is wiped the next time it connects; anything it has not synced is lost.",
    ),
    (
        "team.revoke_confirm",
        "Xác nhận thu hồi",
        "Confirm revocation",
    ),
    (
        "team.revoked_ok",
        "Đã thu hồi thiết bị. Lần kết nối sau nó sẽ xoá dữ liệu.",
        "Device revoked. It wipes its data the next time it connects.",
    ),
    ("team.last_sync", "Đồng bộ lần cuối", "Last sync"),
    ("team.never", "chưa đồng bộ", "never synced"),
    ("team.no_devices", "Chưa có điện thoại.", "No phones yet."),
    (
        "province.title",
        "Xếp hạng xã, phường trong tuần",
        "Communes ranked this week",
    ),
    (
        "province.chart",
        "Tỷ lệ kích hoạt theo xã, phường",
        "Activation by commune",
    ),
    ("province.week", "Tuần từ", "Week from"),
    ("province.xlsx", "Bảng xếp hạng (Excel)", "Ranking (Excel)"),
    ("province.total", "Toàn tỉnh", "Whole province"),
    ("err.title", "Không thực hiện được", "Could not do that"),
    ("err.back", "Về trang tổng quan", "Back to the overview"),
    (
        "err.csrf",
        "Biểu mẫu đã hết hạn hoặc không đến từ trang này. Hãy tải lại trang và thử lại.",
        "The form expired or did not come from this site. Reload the page and try again.",
    ),
    ("role.officer", "Công an khu vực", "Ward police officer"),
    ("role.volunteer", "Tình nguyện viên", "Volunteer"),
    ("role.leader", "Lãnh đạo xã, phường", "Commune leader"),
    (
        "role.provincial_admin",
        "Ban chỉ đạo tỉnh",
        "Provincial office",
    ),
    ("state.not_visited", "Chưa đến", "Not visited"),
    ("state.activated", "Đã kích hoạt", "Activated"),
    (
        "state.application_collected",
        "Đã thu nhận hồ sơ",
        "Application collected",
    ),
    ("state.absent", "Không có mặt", "Absent"),
    ("state.ineligible", "Không đủ điều kiện", "Ineligible"),
    ("state.needs_support", "Cần hỗ trợ", "Needs support"),
    ("state.refused", "Từ chối", "Refused"),
    (
        "state.conflict",
        "Kết quả mâu thuẫn",
        "Conflicting outcomes",
    ),
    (
        "cat.approved",
        "Đã duyệt, chưa kích hoạt",
        "Approved, not activated",
    ),
    (
        "cat.follow_up",
        "Đã thu hồ sơ, chờ duyệt",
        "Application to follow up",
    ),
    ("cat.no_application", "Chưa có hồ sơ", "No application"),
    ("cat.absent", "Vắng mặt", "Absent"),
    ("cat.refused", "Từ chối", "Refused"),
    ("cat.needs_support", "Cần hỗ trợ", "Needs support"),
    ("cat.conflict", "Kết quả mâu thuẫn", "Conflicting outcomes"),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_and_dates_follow_the_language() {
        let vi = Tr(Lang::Vi);
        let en = Tr(Lang::En);
        assert_eq!(vi.num(1_234_567), "1.234.567");
        assert_eq!(en.num(1_234_567), "1,234,567");
        assert_eq!(vi.num(-12), "-12");
        assert_eq!(vi.num(999), "999");
        assert_eq!(vi.pct(45.61), "45,6\u{a0}%");
        assert_eq!(en.pct(45.61), "45.6%");
        assert_eq!(vi.date("2026-11-22"), "22/11/2026");
        // 2026-11-22 00:30 UTC is 07:30 in Vietnam.
        assert_eq!(vi.when(1_795_307_400_000), "22/11/2026 07:30");
    }

    #[test]
    fn keys_are_unique_and_every_template_key_exists() {
        let mut keys: Vec<&str> = STRINGS.iter().map(|(k, _, _)| *k).collect();
        keys.sort_unstable();
        let before = keys.len();
        keys.dedup();
        assert_eq!(before, keys.len(), "a key appears twice");
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("templates");
        let mut checked = 0;
        for entry in std::fs::read_dir(&dir).expect("templates") {
            let path = entry.expect("entry").path();
            let text = std::fs::read_to_string(&path).expect("template");
            for part in text.split("t.s(\"").skip(1) {
                let key = &part[..part.find('"').expect("closing quote")];
                assert!(
                    keys.binary_search(&key).is_ok(),
                    "{}: missing key {key}",
                    path.display()
                );
                checked += 1;
            }
        }
        assert!(checked > 50, "only {checked} keys found in templates");
    }
}
