//! The review pages in a real browser (Debian's Chromium driven by
//! Playwright, `tests/browser/pages.mjs`), on SQLite and PostgreSQL.
//!
//! This side prepares the data on a real server — two communes, an officer
//! and a volunteer of commune A recording conflicting outcomes offline, an
//! absent resident — runs the browser script as commune A's leader, then
//! checks what the browser cannot see: the settlement made by a click
//! reached the officer's phone on its next sync, the downloaded workbook
//! holds the absent resident, and every page that showed residents wrote
//! the audit log. Plain HTTP checks cover what needs no browser: sessions,
//! CSRF, roles, and a volunteer's refusal.

mod common;

use common::*;
use gocua_server::Settings;
use gocua_server::campaign::campaigns::{self, NewCampaign};
use gocua_server::campaign::review::outcome_vi;
use sqlx::Row;
use std::path::PathBuf;
use std::process::Command;
use sync_core::model::*;
use sync_core::status::State;

fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace")
        .to_owned()
}

/// Commune A's data: a campaign, a conflict, an absent and an activated
/// resident. Returns (officer's phone, conflict resident, its household).
async fn prepare(server: &TestServer, fx: &Fixture) -> (Phone, ResidentId, HouseholdId) {
    let today = sync_core::plan::vn_day(gocua_server::db::now_ms());
    campaigns::create(
        &server.state.db,
        COMMUNE_A,
        "test",
        &NewCampaign::new(
            "Cao điểm 50 ngày, đêm",
            &sync_core::plan::iso_date(today - 10),
            &sync_core::plan::iso_date(today + 20),
        ),
    )
    .await
    .expect("campaign");
    let mut officer = Phone::login(server, "officer-a1").await;
    let mut volunteer = Phone::login(server, "volunteer-a1").await;
    officer.sync().await;
    volunteer.sync().await;
    // Household 0: the officer activated Trần Văn An; the volunteer was
    // told he had died. Household 1: Nguyễn Thị Thu Hà is absent.
    let (h0, r0) = &fx.households_a1[0];
    let (h1, r1) = &fx.households_a1[1];
    let at = gocua_server::db::now_ms() - 3_600_000;
    let visit = |phone: &Phone, role, outcomes: Vec<(ResidentId, Outcome)>| {
        let mut v = phone.visit(role, outcomes);
        v.at_ms = at;
        v
    };
    let v = visit(
        &officer,
        Role::Officer,
        vec![(
            r0[1],
            Outcome::Activated {
                how: ActivationHow::OnTheSpot,
            },
        )],
    );
    officer.store.record_visit(*h0, &v).expect("visit");
    let v = visit(
        &officer,
        Role::Officer,
        vec![(
            r1[0],
            Outcome::Absent {
                reason: AbsentReason::WorkingOrStudyingElsewhere,
            },
        )],
    );
    officer.store.record_visit(*h1, &v).expect("visit");
    let v = visit(
        &volunteer,
        Role::Volunteer,
        vec![(
            r0[1],
            Outcome::Ineligible {
                reason: IneligibleReason::Deceased,
            },
        )],
    );
    volunteer.store.record_visit(*h0, &v).expect("visit");
    officer.sync().await;
    volunteer.sync().await;
    officer.sync().await;
    (officer, r0[1], *h0)
}

fn status_of(phone: &Phone, h: HouseholdId, r: ResidentId) -> State {
    phone
        .store
        .household(h)
        .expect("household")
        .statuses()
        .expect("statuses")
        .into_iter()
        .find(|(id, _)| *id == r)
        .expect("resident")
        .1
        .state
}

async fn review_pages_in_a_browser(backend: Backend) {
    let db = TestDb::new(backend).await;
    let server = TestServer::start_with(Settings {
        db: db.url.clone(),
        ..Settings::default()
    })
    .await;
    let fx = seed(&server.state).await;
    let (mut officer, conflict, household) = prepare(&server, &fx).await;
    assert_eq!(status_of(&officer, household, conflict), State::Conflict);

    let browser_dir = repo_root().join("tests/browser");
    assert!(
        browser_dir.join("node_modules/playwright-core").is_dir(),
        "playwright-core is not installed: run `npm ci --prefix tests/browser` \
         (tests/run-all.sh does it)"
    );
    let out = repo_root().join(format!(
        "target/browser-tests/{}",
        match backend {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    ));
    let _ = std::fs::remove_dir_all(&out);
    let keep = outcome_vi(&Outcome::Activated {
        how: ActivationHow::OnTheSpot,
    });
    let run = tokio::task::spawn_blocking({
        let base = server.base.clone();
        let out = out.clone();
        let conflict = conflict.to_string();
        let other = fx.canary_b.to_string();
        let own = fx.households_a1[2].0.to_string();
        move || {
            Command::new("node")
                .arg(browser_dir.join("pages.mjs"))
                .current_dir(&browser_dir)
                .env("GOCUA_BASE", base)
                .env("GOCUA_USER", "leader-a")
                .env("GOCUA_PASSWORD", PASSWORD)
                .env("GOCUA_CONFLICT", conflict)
                .env("GOCUA_KEEP", keep)
                .env("GOCUA_SEARCH", "nguyen thu ha")
                .env("GOCUA_FOUND", "Nguyễn Thị Thu Hà")
                .env("GOCUA_OTHER_HH", other)
                .env("GOCUA_OWN_HH", own)
                .env("GOCUA_OFFICER", "officer-a1")
                .env("GOCUA_OUT", &out)
                .output()
                .expect("run node (Node.js 20 is needed)")
        }
    })
    .await
    .expect("join");
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(
        run.status.success(),
        "browser script failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let result: serde_json::Value =
        serde_json::from_str(stdout.lines().last().expect("result line")).expect("result json");
    assert_eq!(result["ok"], true, "{result}");

    // The click's settlement reaches the officer's phone on its next sync.
    officer.sync().await;
    assert_eq!(status_of(&officer, household, conflict), State::Activated);

    // The downloaded workbook, opened here: the absent resident is on it.
    let file = PathBuf::from(result["download"].as_str().expect("download path"));
    let mut book: calamine::Xlsx<_> = calamine::open_workbook(&file).expect("open xlsx");
    use calamine::Reader;
    let first = book.sheet_names()[0].clone();
    let range = book.worksheet_range(&first).expect("sheet");
    let text: Vec<String> = range.rows().flatten().map(|c| c.to_string()).collect();
    assert!(text.iter().any(|c| c == "Nguyễn Thị Thu Hà"), "{text:?}");
    assert!(!text.iter().any(|c| c.contains("Canary")));

    // Pages that showed residents, and the export, are in the audit log.
    let rows = sqlx::query(
        "SELECT a.action FROM audit_log a JOIN users u ON u.id = a.user_id
         WHERE u.username = 'leader-a'",
    )
    .fetch_all(&server.state.db.pool)
    .await
    .expect("audit");
    let actions: Vec<String> = rows.iter().map(|r| r.get::<String, _>(0)).collect();
    for wanted in [
        "report.daily:page",
        "list.read:page:absent",
        "export:absent:xlsx",
        "review.read",
        "household.read",
    ] {
        assert!(
            actions.iter().any(|a| a == wanted),
            "{wanted} in {actions:?}"
        );
    }
    server.stop().await;
}

both_backends!(review_pages_in_a_browser, review_pages_in_a_browser);

/// Sessions without a browser: the cookie's attributes, a volunteer sent
/// to the phone app, a wrong password, roles on pages, a forged form, and
/// a session that ends.
async fn sessions_and_forms(backend: Backend) {
    let db = TestDb::new(backend).await;
    let server = TestServer::start(&db.url).await;
    let fx = seed(&server.state).await;
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    // The login form sets its double-submit cookie.
    let page = http
        .get(server.url("/login"))
        .send()
        .await
        .expect("login page");
    assert_eq!(page.status(), 200);
    let login_cookie = page
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().expect("ascii").to_owned())
        .find(|c| c.starts_with("gocua_login="))
        .expect("login cookie");
    let token = login_cookie["gocua_login=".len()..]
        .split(';')
        .next()
        .expect("value")
        .to_owned();
    let body = page.text().await.expect("html");
    assert!(body.contains(&format!("value=\"{token}\"")));
    let sign_in = |user: &'static str, password: &'static str, csrf: String| {
        let http = http.clone();
        let url = server.url("/login");
        let token = token.clone();
        async move {
            http.post(url)
                .header("cookie", format!("gocua_login={token}"))
                .form(&[("username", user), ("password", password), ("csrf", &csrf)])
                .send()
                .await
                .expect("post login")
        }
    };
    // Without the matching token: refused, nothing set.
    let r = sign_in("leader-a", PASSWORD, "forged".into()).await;
    assert_eq!(r.status(), 403);
    assert!(
        r.headers()
            .get_all("set-cookie")
            .iter()
            .all(|c| !c.to_str().unwrap_or("").starts_with("gocua_session="))
    );
    // Wrong password: the same words whatever was wrong.
    let r = sign_in("leader-a", "sai", token.clone()).await;
    assert_eq!(r.status(), 401);
    assert!(
        r.text()
            .await
            .expect("html")
            .contains("Sai tên đăng nhập hoặc mật khẩu")
    );
    // A volunteer is sent to the phone app.
    let r = sign_in("volunteer-a1", PASSWORD, token.clone()).await;
    assert_eq!(r.status(), 403);
    assert!(
        r.text()
            .await
            .expect("html")
            .contains("ứng dụng Gõ Cửa trên điện thoại")
    );
    // Over plain HTTP from another machine a `Secure` cookie would never
    // come back: the page says so instead of looping back to the login.
    let r = http
        .post(server.url("/login"))
        .header("host", "192.168.1.10:8080")
        .header("cookie", format!("gocua_login={token}"))
        .form(&[
            ("username", "leader-a"),
            ("password", PASSWORD),
            ("csrf", &token),
        ])
        .send()
        .await
        .expect("post login");
    assert_eq!(r.status(), 400);
    let body = r.text().await.expect("html");
    assert!(body.contains("GOCUA_SECURE_COOKIES"), "{body}");
    // The leader: a session cookie with every protection.
    let r = sign_in("leader-a", PASSWORD, token.clone()).await;
    assert_eq!(r.status(), 303);
    let set = r
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().expect("ascii").to_owned())
        .find(|c| c.starts_with("gocua_session="))
        .expect("session cookie");
    for attr in ["HttpOnly", "SameSite=Strict", "Secure", "Path=/"] {
        assert!(set.contains(attr), "{attr} in {set}");
    }
    let session = set["gocua_session=".len()..]
        .split(';')
        .next()
        .expect("value")
        .to_owned();
    let get = |path: &str| {
        http.get(server.url(path))
            .header("cookie", format!("gocua_session={session}"))
            .send()
    };
    let dash = get("/dashboard").await.expect("dashboard");
    assert_eq!(dash.status(), 200);
    assert_eq!(
        dash.headers()["cache-control"],
        "no-store",
        "pages with personal data are not cached"
    );
    assert!(
        dash.headers()["content-security-policy"]
            .to_str()
            .expect("csp")
            .contains("default-src 'none'")
    );
    // The session's CSRF token is in the page's forms; a forged one fails.
    let html = dash.text().await.expect("html");
    let csrf = html
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .expect("csrf in page")
        .to_owned();
    let device = "phone-of-officer-a1";
    let r = http
        .post(server.url("/api/v1/auth/login"))
        .json(&serde_json::json!({"username": "officer-a1", "password": PASSWORD, "device_id": device}))
        .send()
        .await
        .expect("phone login");
    assert_eq!(r.status(), 200);
    let revoke = |csrf: String, origin: Option<&'static str>| {
        let mut req = http
            .post(server.url(&format!("/team/devices/{device}/revoke")))
            .header("cookie", format!("gocua_session={session}"))
            .form(&[("csrf", csrf)]);
        if let Some(o) = origin {
            req = req.header("origin", o);
        }
        req.send()
    };
    assert_eq!(
        revoke("forged".into(), None).await.expect("post").status(),
        403
    );
    assert_eq!(
        revoke(csrf.clone(), Some("http://evil.example"))
            .await
            .expect("post")
            .status(),
        403,
        "a form posted from another site"
    );
    let r = revoke(csrf.clone(), None).await.expect("post");
    assert_eq!(r.status(), 303);
    assert_eq!(r.headers()["location"], "/team?done=revoked");
    assert!(
        gocua_server::db::accounts::device(&server.state.db, device)
            .await
            .expect("device")
            .expect("exists")
            .revoked
    );
    // Pages outside the area or role: the same answers as the API.
    assert_eq!(
        get(&format!("/households/{}", fx.canary_b))
            .await
            .expect("get")
            .status(),
        404
    );
    assert_eq!(get("/lists/nope").await.expect("get").status(), 404);
    // Reassigning a hamlet from the team page: the API's rules, the API's
    // effect.
    let officer_a2 = gocua_server::db::accounts::user_by_username(&server.state.db, "officer-a2")
        .await
        .expect("user")
        .expect("exists");
    let r = http
        .post(server.url(&format!("/team/{}/hamlets", officer_a2.id)))
        .header("cookie", format!("gocua_session={session}"))
        .form(&[("csrf", csrf.as_str()), ("hamlet", "a1"), ("hamlet", "a2")])
        .send()
        .await
        .expect("reassign");
    assert_eq!(r.status(), 303);
    assert_eq!(r.headers()["location"], "/team?done=saved");
    match officer_a2.area(&server.state.db).await.expect("area") {
        gocua_server::auth::Area::Hamlets { hamlets, .. } => {
            assert_eq!(hamlets.into_iter().collect::<Vec<_>>(), ["a1", "a2"]);
        }
        other => panic!("{other:?}"),
    }
    let r = http
        .post(server.url(&format!("/team/{}/hamlets", officer_a2.id)))
        .header("cookie", format!("gocua_session={session}"))
        .form(&[("csrf", csrf.as_str()), ("hamlet", "b1")])
        .send()
        .await
        .expect("reassign");
    assert_eq!(r.status(), 400, "another commune's hamlet");
    // Signed out: the cookie no longer opens anything.
    let r = http
        .post(server.url("/logout"))
        .header("cookie", format!("gocua_session={session}"))
        .form(&[("csrf", csrf)])
        .send()
        .await
        .expect("logout");
    assert_eq!(r.status(), 303);
    let r = get("/dashboard").await.expect("get");
    assert_eq!(r.status(), 303);
    assert_eq!(r.headers()["location"], "/login");
    // An officer signs in too, but the team page is the leader's.
    let r = sign_in("officer-a1", PASSWORD, token.clone()).await;
    assert_eq!(r.status(), 303);
    let officer_session = session_of(&r);
    let r = http
        .get(server.url("/team"))
        .header("cookie", format!("gocua_session={officer_session}"))
        .send()
        .await
        .expect("team");
    assert_eq!(r.status(), 403);
    // The provincial office: its communes ranked, any of them opened, one
    // outside the province not found, no review queue.
    let r = sign_in("province-01", PASSWORD, token.clone()).await;
    assert_eq!(r.status(), 303);
    let province = session_of(&r);
    let get_as = |path: &str| {
        http.get(server.url(path))
            .header("cookie", format!("gocua_session={province}"))
            .send()
    };
    let ranked = get_as("/dashboard").await.expect("ranking");
    assert_eq!(ranked.status(), 200);
    let html = ranked.text().await.expect("html");
    for commune in [COMMUNE_A, COMMUNE_B] {
        assert!(
            html.contains(&format!("/dashboard?commune={commune}")),
            "{commune}"
        );
    }
    assert_eq!(
        get_as(&format!("/dashboard?commune={COMMUNE_A}"))
            .await
            .expect("commune")
            .status(),
        200
    );
    assert_eq!(
        get_as(&format!("/lists/absent?commune={COMMUNE_B}"))
            .await
            .expect("list")
            .status(),
        200
    );
    // Thành phố Hồ Chí Minh's Phường Sài Gòn: not this province's.
    assert_eq!(
        get_as("/dashboard?commune=26740")
            .await
            .expect("other")
            .status(),
        404
    );
    assert_eq!(get_as("/review").await.expect("review").status(), 403);
    server.stop().await;
}

fn session_of(r: &reqwest::Response) -> String {
    r.headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().expect("ascii").to_owned())
        .find(|c| c.starts_with("gocua_session="))
        .expect("session cookie")["gocua_session=".len()..]
        .split(';')
        .next()
        .expect("value")
        .to_owned()
}

both_backends!(sessions_and_forms, sessions_and_forms);
