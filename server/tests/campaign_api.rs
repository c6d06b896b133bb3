//! Campaign operations end to end over a real socket, on SQLite and
//! PostgreSQL: a leader creates a campaign and imports the police's list
//! (with bad rows of every kind), an officer's target list and quota, visits
//! recorded offline on phones and synced, the signed lists and the daily
//! report (JSON, and XLSX/CSV read back by openpyxl and Python's csv), a
//! re-import that updates statuses without losing field outcomes, the
//! review queue and a settlement reaching the phone, and the canaries of
//! another commune that never show up.

mod common;

use common::*;
use serde_json::{Value, json};
use sync_core::model::*;
use sync_core::status::State;

/// The police's list: 7 good rows (rows 2–8) and 6 bad ones (rows 9–14).
fn police_csv(be_activated: bool, newcomer: bool) -> Vec<u8> {
    let mut s = String::from(
        "STT,Họ và tên,Số định danh cá nhân,Ngày sinh,Giới tính,Số điện thoại,Số nhà,Ngõ/Hẻm,Đường/Phố,Thôn/Tổ dân phố,Mã hộ,Trạng thái tài khoản\r\n",
    );
    let be = if be_activated {
        "Đã kích hoạt"
    } else {
        "Chưa có tài khoản"
    };
    let good = [
        "1,Đặng Văn Ấn,001080000101,15/03/1980,Nam,0912000101,5,ngõ 4,Đội Cấn,Tổ dân phố 1,HK1,Đã phê duyệt".to_owned(),
        format!("2,Đặng Thị Bé,001185000102,02/02/1985,Nữ,,5,ngõ 4,Đội Cấn,Tổ dân phố 1,HK1,{be}"),
        "3,Bùi Văn Cường,001075000103,01/01/1975,Nam,,12,ngõ 4,Đội Cấn,Tổ dân phố 1,HK2,Đã kích hoạt".to_owned(),
        "4,Bùi Thị Dung,001178000104,20/10/1978,Nữ,,12,ngõ 4,Đội Cấn,Tổ dân phố 1,HK2,Mức 1".to_owned(),
        "5,Hồ Văn Em,001090000105,09/09/1990,Nam,,5A,ngõ 4,Đội Cấn,Tổ dân phố 1,HK3,Chờ phê duyệt".to_owned(),
        "6,Ngô Thị Gấm,001315000106,01/06/2015,Nữ,,12/3,ngõ 4,Đội Cấn,Tổ dân phố 1,HK4,Chưa có tài khoản".to_owned(),
        "7,Vũ Văn Hải,001070000107,07/07/1970,Nam,,7,ngõ 9,Kim Mã,Tổ dân phố 2,HK5,Chưa có tài khoản".to_owned(),
    ];
    for g in good {
        s.push_str(&g);
        s.push_str("\r\n");
    }
    let mut bytes = s.into_bytes();
    let bad: [&[u8]; 6] = [
        "8,Lý Văn Khoa,12345,01/01/1980,Nam,,9,ngõ 4,Đội Cấn,Tổ dân phố 1,HK6,Mức 1\r\n".as_bytes(),
        "9,Mai Thị Lan,001185000109,31/02/1985,Nữ,,9,ngõ 4,Đội Cấn,Tổ dân phố 1,HK6,Mức 1\r\n".as_bytes(),
        "10,Đặng Văn Ấn Trùng,001080000101,15/03/1980,Nam,,9,ngõ 4,Đội Cấn,Tổ dân phố 1,HK6,Mức 1\r\n".as_bytes(),
        "11,Tô Văn Minh,001080000111,01/01/1980,Nam,,9,ngõ 4,Đội Cấn,Tổ dân phố 99,HK7,Mức 1\r\n".as_bytes(),
        "12,,001090000112,01/01/1990,Nam,,9,ngõ 4,Đội Cấn,Tổ dân phố 1,HK6,Mức 1\r\n".as_bytes(),
        // Latin-1 bytes in a UTF-8 file: "Nguyễn" badly re-encoded.
        b"13,Nguy\xean V\xe3n Ngh\xe9a,001080000113,01/01/1980,Nam,,9,ng\xf5 4,\xd0\xf4i C\xe2n,T\xf4 1,HK6,M\xfcc 1\r\n",
    ];
    for b in bad {
        bytes.extend_from_slice(b);
    }
    if newcomer {
        bytes.extend_from_slice(
            "14,Bùi Văn Tí,001220000114,01/01/2020,Nam,,12,ngõ 4,Đội Cấn,Tổ dân phố 1,HK2,Chưa có tài khoản\r\n"
                .as_bytes(),
        );
    }
    bytes
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_millis() as i64
}

async fn post_json(p: &Phone, path: &str, body: Value) -> reqwest::Response {
    p.http
        .post(format!("{}{path}", p.base))
        .bearer_auth(&p.access)
        .json(&body)
        .send()
        .await
        .expect("post")
}

async fn json_of(resp: reqwest::Response) -> Value {
    let status = resp.status();
    let text = resp.text().await.expect("body");
    assert!(status.is_success(), "status {status}: {text}");
    serde_json::from_str(&text).expect("json")
}

fn names(rows: &Value) -> Vec<String> {
    rows.as_array()
        .expect("array")
        .iter()
        .map(|r| r["full_name"].as_str().expect("name").to_owned())
        .collect()
}

/// Reads a downloaded file with Python (openpyxl for XLSX, csv for CSV).
fn read_sheet(bytes: &[u8], ext: &str) -> Value {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join(format!("export.{ext}"));
    std::fs::write(&path, bytes).expect("write");
    let python = std::env::var("GOCUA_PYTHON").unwrap_or_else(|_| "python3".into());
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/read_sheet.py");
    let out = std::process::Command::new(&python)
        .arg(script)
        .arg(&path)
        .output()
        .expect("run python");
    assert!(
        out.status.success(),
        "{python} read_sheet.py failed (is openpyxl installed? the test command installs it): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("json from python")
}

fn cell(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Number(n) => n
            .as_f64()
            .map(|f| {
                if f.fract() == 0.0 {
                    format!("{}", f as i64)
                } else {
                    f.to_string()
                }
            })
            .unwrap_or_default(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

fn visit_now(p: &Phone, role: Role, outcomes: Vec<(ResidentId, Outcome, Option<&str>)>) -> Visit {
    Visit {
        id: VisitId::new(),
        at_ms: now_ms() - 60_000,
        by: Recorder {
            user: p.user_id.clone(),
            role,
            device: p.store.device_id().into(),
        },
        place: Place::Home,
        outcomes: outcomes
            .into_iter()
            .map(|(resident, outcome, explanation)| ResidentOutcome {
                resident,
                outcome,
                explanation: explanation.map(String::from),
            })
            .collect(),
        newcomers: vec![],
    }
}

/// Finds a resident on a phone by name: (household, resident).
fn on_phone(p: &Phone, name: &str) -> (HouseholdId, ResidentId) {
    let hits = p.store.search(name, 10).expect("search");
    let r = hits
        .iter()
        .find(|r| r.full_name == name)
        .unwrap_or_else(|| panic!("{name} not on the phone"));
    (r.household, r.id)
}

async fn campaign_end_to_end(backend: Backend) {
    let db = TestDb::new(backend).await;
    let server = TestServer::start(&db.url).await;
    let fx = seed(&server.state).await;
    let leader = Phone::login(&server, "leader-a").await;
    let today = sync_core::plan::vn_day(now_ms());
    let iso = sync_core::plan::iso_date;

    // A campaign: ten days in, two to go, at most 3 residents a day each.
    let resp = post_json(
        &leader,
        "/api/v1/campaigns",
        json!({"name": "Cao điểm 50 ngày, đêm", "start": iso(today - 10), "end": iso(today + 1),
               "daily_cap": 3}),
    )
    .await;
    assert_eq!(resp.status(), 201);
    let bad = post_json(
        &leader,
        "/api/v1/campaigns",
        json!({"name": "Sai", "start": "31/02/2026", "end": "2026-03-10"}),
    )
    .await;
    assert_eq!(bad.status(), 400);
    assert_eq!(json_of_err(bad).await["code"], "campaign.bad_date");

    // Import: every valid row in, every bad row reported with its number.
    let summary = json_of(
        leader
            .http
            .post(server.url("/api/v1/imports?file_name=danh-sach.csv"))
            .bearer_auth(&leader.access)
            .header("content-type", "text/csv")
            .body(police_csv(false, false))
            .send()
            .await
            .expect("import"),
    )
    .await;
    assert_eq!(summary["accepted"], 7, "{summary}");
    assert_eq!(summary["households_created"], 5);
    assert_eq!(summary["residents_created"], 7);
    let rejected: Vec<(u64, String)> = summary["rejected"]
        .as_array()
        .expect("rejected")
        .iter()
        .map(|r| {
            (
                r["row"].as_u64().expect("row"),
                r["code"].as_str().expect("code").to_owned(),
            )
        })
        .collect();
    assert_eq!(
        rejected,
        vec![
            (9, "import.bad_id".to_owned()),
            (10, "import.bad_date".to_owned()),
            (11, "import.duplicate_id".to_owned()),
            (12, "import.unknown_hamlet".to_owned()),
            (13, "import.empty_name".to_owned()),
            (14, "import.encoding".to_owned()),
        ],
        "{summary}"
    );
    // No personal data in the report.
    let report_text = summary.to_string();
    for secret in ["12345", "001185000109", "001080000101", "Lý Văn Khoa"] {
        assert!(
            !report_text.contains(secret),
            "{secret} leaked into the import report"
        );
    }
    // Volunteers and officers do not import.
    let volunteer = Phone::login(&server, "volunteer-a1").await;
    let resp = volunteer
        .http
        .post(server.url("/api/v1/imports"))
        .bearer_auth(&volunteer.access)
        .body(police_csv(false, false))
        .send()
        .await
        .expect("import");
    assert_eq!(resp.status(), 403);

    // The officer's target list: quota = min(cap 3, ⌈10 open / 2 days⌉);
    // the approved household first, then the pending application; whole
    // households, in walking order (5 before 5A).
    let mut officer = Phone::login(&server, "officer-a1").await;
    let targets = json_of(officer.get("/api/v1/targets").await).await;
    assert_eq!(targets["remaining"], 10, "{targets}");
    assert_eq!(targets["quota"], 3);
    let listed: Vec<(String, Vec<(String, String)>)> = targets["households"]
        .as_array()
        .expect("households")
        .iter()
        .map(|h| {
            (
                h["house_number"].as_str().expect("house").to_owned(),
                h["residents"]
                    .as_array()
                    .expect("residents")
                    .iter()
                    .map(|r| {
                        (
                            r["full_name"].as_str().expect("n").to_owned(),
                            r["priority"].as_str().expect("p").to_owned(),
                        )
                    })
                    .collect(),
            )
        })
        .collect();
    assert_eq!(
        listed,
        vec![
            (
                "5".to_owned(),
                vec![
                    ("Đặng Văn Ấn".to_owned(), "approved".to_owned()),
                    ("Đặng Thị Bé".to_owned(), "no_application".to_owned()),
                ]
            ),
            (
                "5A".to_owned(),
                vec![("Hồ Văn Em".to_owned(), "follow_up".to_owned())]
            ),
        ]
    );
    // Printable: the same list as XLSX, read back by openpyxl.
    let resp = officer.get("/api/v1/targets?format=xlsx").await;
    assert_eq!(resp.status(), 200);
    let sheet = read_sheet(&resp.bytes().await.expect("xlsx"), "xlsx");
    let rows = sheet["sheets"]["Danh sách đi gõ cửa"]
        .as_array()
        .expect("sheet")
        .clone();
    let header = rows
        .iter()
        .position(|r| cell(&r[0]) == "STT")
        .expect("header row");
    let printed: Vec<String> = rows[header + 1..].iter().map(|r| cell(&r[3])).collect();
    assert_eq!(printed, ["Đặng Văn Ấn", "Đặng Thị Bé", "Hồ Văn Em"]);
    // A leader may read an officer's list; another officer may not.
    let officer_a2 = Phone::login(&server, "officer-a2").await;
    let path = format!("/api/v1/targets?user={}", officer.user_id);
    assert_eq!(leader.get(&path).await.status(), 200);
    assert_eq!(officer_a2.get(&path).await.status(), 404);

    // The phones sync, visit offline, sync again.
    let mut volunteer = volunteer;
    let mut officer_a2 = officer_a2;
    for p in [&mut officer, &mut volunteer, &mut officer_a2] {
        p.sync().await;
    }
    // The phone, offline, lists the same people in the same order: the
    // campaign's terms came with the sync and the rules are shared.
    let on_phone_targets = officer.store.targets(now_ms()).expect("phone targets");
    assert_eq!(on_phone_targets.quota, 3);
    assert_eq!(on_phone_targets.remaining, 10);
    assert_eq!(
        on_phone_targets.terms.as_ref().map(|t| t.name.as_str()),
        Some("Cao điểm 50 ngày, đêm")
    );
    let phone_names: Vec<(String, String)> = on_phone_targets
        .rows
        .iter()
        .map(|r| (r.resident.full_name.clone(), r.priority.code().to_owned()))
        .collect();
    let server_names: Vec<(String, String)> =
        listed.iter().flat_map(|(_, rs)| rs.clone()).collect();
    assert_eq!(phone_names, server_names);
    let (h1, an) = on_phone(&officer, "Đặng Văn Ấn");
    let (_, be) = on_phone(&officer, "Đặng Thị Bé");
    let (h2, dung) = on_phone(&officer, "Bùi Thị Dung");
    let (h3, em) = on_phone(&officer, "Hồ Văn Em");
    let (h5, hai) = on_phone(&officer_a2, "Vũ Văn Hải");
    let v = visit_now(
        &officer,
        Role::Officer,
        vec![
            (
                an,
                Outcome::Activated {
                    how: ActivationHow::OnTheSpot,
                },
                None,
            ),
            (
                be,
                Outcome::Absent {
                    reason: AbsentReason::NotHomeNow,
                },
                None,
            ),
        ],
    );
    officer.store.record_visit(h1, &v).expect("visit");
    let v = visit_now(
        &officer,
        Role::Officer,
        vec![(
            em,
            Outcome::Ineligible {
                reason: IneligibleReason::NoChipIdCard,
            },
            Some("Chưa làm thẻ căn cước gắn chíp"),
        )],
    );
    officer.store.record_visit(h3, &v).expect("visit");
    let v = visit_now(
        &officer,
        Role::Officer,
        vec![(dung, Outcome::Refused, None)],
    );
    officer.store.record_visit(h2, &v).expect("visit");
    let v = visit_now(
        &volunteer,
        Role::Volunteer,
        vec![(
            dung,
            Outcome::Ineligible {
                reason: IneligibleReason::MovedAway,
            },
            Some("Hàng xóm cho biết đã chuyển vào TP HCM"),
        )],
    );
    volunteer.store.record_visit(h2, &v).expect("visit");
    let v = visit_now(
        &officer_a2,
        Role::Officer,
        vec![(
            hai,
            Outcome::Activated {
                how: ActivationHow::AlreadyActive,
            },
            None,
        )],
    );
    officer_a2.store.record_visit(h5, &v).expect("visit");
    // Commune B's canary is activated in B.
    let mut officer_b = Phone::login(&server, "officer-b1").await;
    officer_b.sync().await;
    let hb = fx.canary_b;
    let canary = officer_b
        .store
        .search("Phạm Canary Bê", 10)
        .expect("search")
        .into_iter()
        .find(|r| r.household == hb)
        .expect("canary on B's phone")
        .id;
    let v = visit_now(
        &officer_b,
        Role::Officer,
        vec![(
            canary,
            Outcome::Activated {
                how: ActivationHow::OnTheSpot,
            },
            None,
        )],
    );
    officer_b.store.record_visit(hb, &v).expect("visit");
    for p in [
        &mut officer,
        &mut volunteer,
        &mut officer_a2,
        &mut officer_b,
    ] {
        p.sync().await;
    }

    // The signed lists hold exactly the expected people, in Vietnamese order.
    let list = |p: &Phone, kind: &str| {
        let path = format!("/api/v1/exports/{kind}");
        let p = p.clone_view();
        async move { json_of(p.get(&path).await).await }
    };
    assert_eq!(
        names(&list(&leader, "activated").await),
        ["Đặng Văn Ấn", "Bùi Văn Cường", "Vũ Văn Hải"]
    );
    assert_eq!(names(&list(&leader, "absent").await), ["Đặng Thị Bé"]);
    let ineligible = list(&leader, "ineligible").await;
    assert_eq!(names(&ineligible), ["Bùi Thị Dung", "Hồ Văn Em"]);
    assert_eq!(ineligible[0]["reason"], "moved_away");
    assert_eq!(ineligible[0]["awaiting_confirmation"], true);
    assert_eq!(ineligible[1]["reason"], "no_chip_id_card");
    assert_eq!(
        ineligible[1]["explanation"],
        "Chưa làm thẻ căn cước gắn chíp"
    );
    let corrections = list(&leader, "corrections").await;
    assert_eq!(names(&corrections), ["Bùi Thị Dung"]);
    // An officer's lists hold their hamlets only.
    assert_eq!(
        names(&list(&officer, "activated").await),
        ["Đặng Văn Ấn", "Bùi Văn Cường"]
    );
    assert_eq!(
        officer
            .get("/api/v1/exports/activated?hamlet=b1")
            .await
            .status(),
        404
    );
    assert_eq!(
        officer
            .get("/api/v1/exports/activated?hamlet=a2")
            .await
            .status(),
        404
    );
    assert_eq!(
        volunteer.get("/api/v1/exports/activated").await.status(),
        403
    );
    // Canaries: B's never in A's lists, A's never in B's.
    let leader_b = Phone::login(&server, "leader-b").await;
    let b_activated = list(&leader_b, "activated").await;
    assert_eq!(names(&b_activated), ["Phạm Canary Bê"]);
    for kind in ["activated", "absent", "ineligible", "corrections"] {
        let a = list(&leader, kind).await.to_string();
        assert!(!a.contains("Canary") && !a.contains(&fx.canary_b.to_string()));
        let b = list(&leader_b, kind).await.to_string();
        assert!(!b.contains(&fx.canary_a.to_string()) && !b.contains("Đặng"));
        for fmt in ["xlsx", "csv"] {
            let resp = leader_b
                .get(&format!("/api/v1/exports/{kind}?format={fmt}"))
                .await;
            assert_eq!(resp.status(), 200);
            let read = read_sheet(&resp.bytes().await.expect("file"), fmt).to_string();
            assert!(!read.contains("Đặng") && !read.contains("Bùi") && !read.contains("Vũ Văn"));
        }
    }

    // The activated list as XLSX, read by openpyxl, cell by cell.
    let resp = leader.get("/api/v1/exports/activated?format=xlsx").await;
    assert_eq!(resp.status(), 200);
    assert!(
        resp.headers()["content-disposition"]
            .to_str()
            .expect("header")
            .contains("filename*=UTF-8''")
    );
    let book = read_sheet(&resp.bytes().await.expect("xlsx"), "xlsx");
    let whole = book["sheets"]["Toàn xã"].as_array().expect("commune sheet");
    assert!(cell(&whole[0][0]).starts_with("DANH SÁCH CÔNG DÂN ĐÃ KÍCH HOẠT"));
    let header = whole
        .iter()
        .position(|r| cell(&r[0]) == "STT")
        .expect("header");
    let headers: Vec<String> = whole[header]
        .as_array()
        .expect("h")
        .iter()
        .map(cell)
        .collect();
    assert_eq!(
        headers,
        [
            "STT",
            "Họ và tên",
            "Ngày sinh",
            "Số định danh cá nhân",
            "Thôn/Tổ dân phố",
            "Địa chỉ",
            "Nguồn xác nhận",
            "Ngày ghi nhận",
            "Người ghi nhận"
        ]
    );
    let data: Vec<Vec<String>> = whole[header + 1..header + 4]
        .iter()
        .map(|r| r.as_array().expect("row").iter().map(cell).collect())
        .collect();
    let today_vi = {
        let (y, m, d) = sync_core::plan::civil_date(today);
        format!("{d:02}/{m:02}/{y:04}")
    };
    assert_eq!(
        data[0],
        [
            "1",
            "Đặng Văn Ấn",
            "15/03/1980",
            "001080000101",
            "Tổ dân phố 1",
            "5, ngõ 4, Đội Cấn",
            "Xác nhận tại nhà",
            today_vi.as_str(),
            "officer-a1"
        ]
    );
    assert_eq!(
        data[1][..7],
        [
            "2",
            "Bùi Văn Cường",
            "01/01/1975",
            "001075000103",
            "Tổ dân phố 1",
            "12, ngõ 4, Đội Cấn",
            "Theo dữ liệu dân cư"
        ]
    );
    assert_eq!(data[2][1], "Vũ Văn Hải");
    assert!(
        whole.iter().any(|r| cell(&r[0]) == "NGƯỜI LẬP BIỂU"),
        "signature block"
    );
    // One sheet per hamlet too; printed landscape on A4.
    assert!(
        book["sheets"]["Tổ dân phố 2"]
            .as_array()
            .expect("hamlet")
            .len()
            > header + 1
    );
    assert_eq!(book["print"]["Toàn xã"]["landscape"], true);
    assert_eq!(book["print"]["Toàn xã"]["paper"], 9);
    // The ineligible list's workbook carries the explanation the commune
    // sends up: per reason, how many and who, with the recorders' words.
    let resp = leader.get("/api/v1/exports/ineligible?format=xlsx").await;
    assert_eq!(resp.status(), 200);
    let book = read_sheet(&resp.bytes().await.expect("xlsx"), "xlsx");
    let expl = book["sheets"]["Giải trình"]
        .as_array()
        .expect("explanation sheet");
    assert!(cell(&expl[0][0]).starts_with("BẢN GIẢI TRÌNH"));
    let header = expl
        .iter()
        .position(|r| cell(&r[0]) == "STT")
        .expect("header");
    let lines: Vec<Vec<String>> = expl[header + 1..header + 3]
        .iter()
        .map(|r| r.as_array().expect("row").iter().map(cell).collect())
        .collect();
    assert_eq!(lines[0][1..3], ["Đã chuyển đi nơi khác", "1"]);
    assert_eq!(
        lines[0][3],
        "Bùi Thị Dung (Tổ dân phố 1): Hàng xóm cho biết đã chuyển vào TP HCM"
    );
    assert_eq!(lines[1][1..3], ["Chưa có thẻ căn cước/CCCD gắn chíp", "1"]);
    assert_eq!(
        lines[1][3],
        "Hồ Văn Em (Tổ dân phố 1): Chưa làm thẻ căn cước gắn chíp"
    );
    // CSV that Excel opens: BOM, same rows.
    let resp = leader.get("/api/v1/exports/ineligible?format=csv").await;
    assert_eq!(resp.status(), 200);
    let csv = read_sheet(&resp.bytes().await.expect("csv"), "csv");
    assert_eq!(csv["bom"], true);
    let rows = csv["sheets"]["csv"].as_array().expect("rows");
    let header = rows.iter().position(|r| r[0] == "STT").expect("header");
    assert_eq!(rows[header + 1][1], "Bùi Thị Dung");
    assert_eq!(rows[header + 1][6], "Đã chuyển đi nơi khác");
    assert_eq!(rows[header + 2][7], "Chưa làm thẻ căn cước gắn chíp");
    assert_eq!(rows.len(), header + 3);

    // The daily report.
    let report = json_of(leader.get("/api/v1/reports/daily").await).await;
    let t = &report["totals"];
    assert_eq!(t["residents"], 15, "{report}");
    assert_eq!(t["activated"], 3);
    assert_eq!(t["ineligible"], 2);
    assert_eq!(t["under_age"], 1);
    assert_eq!(t["eligible"], 12);
    assert_eq!(t["percent"], 25.0);
    // Today's two field activations; Bùi Văn Cường was already activated
    // when the police's list first named him: not today's work.
    assert_eq!(t["change_since_yesterday"], 2);
    assert_eq!(t["remaining"]["no_application"], 8);
    assert_eq!(t["remaining"]["absent"], 1);
    assert_eq!(t["ineligible_by_reason"]["moved_away"], 1);
    assert_eq!(t["ineligible_by_reason"]["no_chip_id_card"], 1);
    let users = report["users"].as_array().expect("users");
    let day_of = |name: &str| {
        users
            .iter()
            .find(|u| u["name"] == name)
            .unwrap_or_else(|| panic!("{name} in report"))
            .clone()
    };
    let o1 = day_of("officer-a1");
    assert_eq!(
        (
            o1["visits"].clone(),
            o1["outcomes"].clone(),
            o1["activations"].clone()
        ),
        (json!(3), json!(4), json!(1))
    );
    assert_eq!(day_of("volunteer-a1")["outcomes"], 1);
    assert_eq!(day_of("officer-a2")["activations"], 1);
    // The same figures in the XLSX report.
    let resp = leader.get("/api/v1/reports/daily?format=xlsx").await;
    let book = read_sheet(&resp.bytes().await.expect("xlsx"), "xlsx");
    let summary_rows = book["sheets"]["Tổng hợp"].as_array().expect("summary");
    let total = summary_rows
        .iter()
        .find(|r| cell(&r[0]) == "TỔNG CỘNG")
        .expect("total row");
    assert_eq!(
        total.as_array().expect("row")[1..5]
            .iter()
            .map(cell)
            .collect::<Vec<_>>(),
        ["15", "12", "3", "25"]
    );
    assert_eq!(volunteer.get("/api/v1/reports/daily").await.status(), 403);
    // The provincial office sees both communes ranked.
    let province = Phone::login(&server, "province-01").await;
    let week = json_of(province.get("/api/v1/reports/province").await).await;
    let ranked: Vec<&str> = week["communes"]
        .as_array()
        .expect("communes")
        .iter()
        .map(|c| c["commune"].as_str().expect("code"))
        .collect();
    assert_eq!(ranked, [COMMUNE_B, COMMUNE_A], "{week}");
    assert_eq!(leader.get("/api/v1/reports/province").await.status(), 403);

    // A newer export: Bé is now activated in the registry, a newborn joins
    // household HK2. Field outcomes are kept; no household is duplicated.
    let summary = json_of(
        leader
            .http
            .post(server.url("/api/v1/imports?file_name=danh-sach-moi.csv"))
            .bearer_auth(&leader.access)
            .body(police_csv(true, true))
            .send()
            .await
            .expect("import"),
    )
    .await;
    assert_eq!(summary["households_created"], 0, "{summary}");
    assert_eq!(summary["residents_created"], 1);
    assert_eq!(summary["residents_updated"], 1);
    assert_eq!(summary["targets_closed"], 1);
    assert_eq!(
        names(&list(&leader, "activated").await),
        ["Đặng Văn Ấn", "Đặng Thị Bé", "Bùi Văn Cường", "Vũ Văn Hải"]
    );
    assert!(names(&list(&leader, "absent").await).is_empty());
    let household = json_of(leader.get(&format!("/api/v1/households/{h1}")).await).await;
    let be_row = household["residents"]
        .as_array()
        .expect("residents")
        .iter()
        .find(|r| r["full_name"] == "Đặng Thị Bé")
        .expect("Bé")
        .clone();
    assert_eq!(be_row["state"], "absent", "the field's outcome is kept");
    let h2_out = json_of(leader.get(&format!("/api/v1/households/{h2}")).await).await;
    assert_eq!(
        h2_out["residents"].as_array().expect("r").len(),
        3,
        "newborn added to HK2"
    );

    // The review queue: the volunteer's "moved away" waits for the officer.
    let queue = json_of(officer.get("/api/v1/review").await).await;
    let items = queue.as_array().expect("queue");
    assert_eq!(items.len(), 1, "{queue}");
    assert_eq!(items[0]["kind"], "awaiting_confirmation");
    assert_eq!(items[0]["full_name"], "Bùi Thị Dung");
    let evidence: Vec<(String, String)> = items[0]["evidence"]
        .as_array()
        .expect("evidence")
        .iter()
        .map(|e| {
            (
                e["role"].as_str().expect("role").to_owned(),
                e["outcome"]["outcome"].as_str().expect("o").to_owned(),
            )
        })
        .collect();
    assert!(evidence.contains(&("volunteer".into(), "ineligible".into())));
    assert!(evidence.contains(&("officer".into(), "refused".into())));
    assert_eq!(volunteer.get("/api/v1/review").await.status(), 403);
    let path = format!("/api/v1/review/{dung}/settle");
    let resp = post_json(
        &volunteer,
        &path,
        json!({"decision": {"outcome": "ineligible", "reason": "moved_away"}}),
    )
    .await;
    assert_eq!(resp.status(), 403);
    let resp = post_json(
        &officer,
        &path,
        json!({"decision": {"outcome": "ineligible", "reason": "moved_away"},
               "note": "Đã xác minh với tổ trưởng"}),
    )
    .await;
    assert_eq!(resp.status(), 200);
    assert!(
        json_of(officer.get("/api/v1/review").await)
            .await
            .as_array()
            .expect("q")
            .is_empty()
    );
    // The settlement reaches the phone on its next sync.
    officer.sync().await;
    let doc = officer.store.household(h2).expect("household");
    let status = doc
        .statuses()
        .expect("statuses")
        .into_iter()
        .find(|(id, _)| *id == dung)
        .expect("Dung")
        .1;
    assert_eq!(
        status.state,
        State::Ineligible {
            reason: IneligibleReason::MovedAway
        }
    );
    assert!(!status.awaiting_confirmation);

    server.stop().await;
}

async fn json_of_err(resp: reqwest::Response) -> Value {
    resp.json().await.expect("json error body")
}

trait CloneView {
    fn clone_view(&self) -> Viewer;
}

/// A read-only handle on a phone's session (for concurrent reads).
struct Viewer {
    http: reqwest::Client,
    access: String,
    base: String,
}

impl Viewer {
    async fn get(&self, path: &str) -> reqwest::Response {
        self.http
            .get(format!("{}{path}", self.base))
            .bearer_auth(&self.access)
            .send()
            .await
            .expect("get")
    }
}

impl CloneView for Phone {
    fn clone_view(&self) -> Viewer {
        Viewer {
            http: self.http.clone(),
            access: self.access.clone(),
            base: self.base.clone(),
        }
    }
}

both_backends!(campaign, campaign_end_to_end);
