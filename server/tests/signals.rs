//! Signals of possible fabrication and each officer's progress against the
//! campaign's per-officer target, in the daily report, on SQLite and
//! PostgreSQL: an officer who "visits" a house every 20 seconds and
//! activates everyone (a burst, and outcomes with no time at the door), a
//! colleague at a walking pace (no signal), and a volunteer whose phone
//! clock runs ahead of the server (a visit stamped after it arrived).

mod common;

use common::*;
use gocua_server::campaign::campaigns::{self, NewCampaign};
use serde_json::Value;
use sync_core::model::*;
use sync_core::plan;

fn activate_all(phone: &Phone, role: Role, residents: &[ResidentId], at_ms: i64) -> Visit {
    let mut v = phone.visit(
        role,
        residents
            .iter()
            .map(|r| {
                (
                    *r,
                    Outcome::Activated {
                        how: ActivationHow::OnTheSpot,
                    },
                )
            })
            .collect(),
    );
    v.at_ms = at_ms;
    v
}

async fn report(leader: &Phone, day: i32) -> Value {
    let resp = leader
        .get(&format!(
            "/api/v1/reports/daily?day={}",
            plan::iso_date(day)
        ))
        .await;
    assert_eq!(resp.status(), 200);
    resp.json().await.expect("report")
}

fn signals_of<'a>(r: &'a Value, user: &str) -> Vec<&'a str> {
    r["signals"]
        .as_array()
        .expect("signals")
        .iter()
        .filter(|s| s["user_id"] == user)
        .map(|s| s["kind"].as_str().expect("kind"))
        .collect()
}

fn user_of<'a>(r: &'a Value, user: &str) -> &'a Value {
    r["users"]
        .as_array()
        .expect("users")
        .iter()
        .find(|u| u["user_id"] == user)
        .expect("user in report")
}

async fn signals_and_officer_targets(backend: Backend) {
    let db = TestDb::new(backend).await;
    let server = TestServer::start(&db.url).await;
    let fx = seed(&server.state).await;
    let now = gocua_server::db::now_ms();
    let today = plan::vn_day(now);
    let mut campaign = NewCampaign::new(
        "Cao điểm 50 ngày, đêm",
        &plan::iso_date(today - 10),
        &plan::iso_date(today + 20),
    );
    campaign.officer_target = 10;
    campaigns::create(&server.state.db, COMMUNE_A, "test", &campaign)
        .await
        .expect("campaign");
    let mut fast = Phone::login(&server, "officer-a1").await;
    let mut steady = Phone::login(&server, "officer-a2").await;
    let mut early = Phone::login(&server, "volunteer-a1").await;
    let leader = Phone::login(&server, "leader-a").await;
    for p in [&mut fast, &mut steady, &mut early] {
        p.sync().await;
    }

    // Half an hour ago: six houses in 100 seconds, everyone activated.
    let base = now - 30 * 60_000;
    for i in 0..6 {
        let (h, residents) = &fx.households_a1[i % 3];
        let v = activate_all(&fast, Role::Officer, residents, base + 20_000 * i as i64);
        fast.store.record_visit(*h, &v).expect("visit");
    }
    // A colleague at a walking pace: two houses ten minutes apart.
    for (i, (h, residents)) in fx.households_a2.iter().enumerate() {
        let v = activate_all(
            &steady,
            Role::Officer,
            &residents[..1],
            base + 600_000 * i as i64,
        );
        steady.store.record_visit(*h, &v).expect("visit");
    }
    // A volunteer's phone 20 minutes ahead of the server's clock.
    let (h, residents) = &fx.households_a1[0];
    let mut v = early.visit(
        Role::Volunteer,
        vec![(
            residents[0],
            Outcome::Absent {
                reason: AbsentReason::NotHomeNow,
            },
        )],
    );
    v.at_ms = now + 20 * 60_000;
    early.store.record_visit(*h, &v).expect("visit");
    for p in [&mut fast, &mut steady, &mut early] {
        p.sync().await;
    }

    let r = report(&leader, plan::vn_day(base)).await;
    let mut fast_signals = signals_of(&r, &fast.user_id);
    fast_signals.sort_unstable();
    assert_eq!(fast_signals, ["burst", "no_time_at_door"], "{r}");
    let burst = r["signals"]
        .as_array()
        .expect("signals")
        .iter()
        .find(|s| s["kind"] == "burst")
        .expect("burst");
    assert_eq!(burst["count"], 12, "12 activations in 100 seconds");
    let door = r["signals"]
        .as_array()
        .expect("signals")
        .iter()
        .find(|s| s["kind"] == "no_time_at_door")
        .expect("door");
    assert_eq!(
        door["count"], 5,
        "every visit after the first came too fast"
    );
    assert!(
        door["message_vi"]
            .as_str()
            .expect("message")
            .contains("không đủ thời gian đến tận nhà")
    );
    assert!(signals_of(&r, &steady.user_id).is_empty(), "{r}");

    // Progress against the per-officer target.
    let f = user_of(&r, &fast.user_id);
    assert_eq!(
        (
            f["activations_total"].clone(),
            f["target"].clone(),
            f["target_percent_done"].clone()
        ),
        (12.into(), 10.into(), 120.0.into())
    );
    let s = user_of(&r, &steady.user_id);
    assert_eq!(
        (
            s["activations_total"].clone(),
            s["target_percent_done"].clone()
        ),
        (2.into(), 20.0.into())
    );
    assert_eq!(
        user_of(&r, &early.user_id)["target"],
        0,
        "volunteers have no target"
    );

    // The visit stamped after it reached the server, on its own day.
    let r = report(&leader, plan::vn_day(now + 20 * 60_000)).await;
    assert_eq!(signals_of(&r, &early.user_id), ["future_time"], "{r}");
    server.stop().await;
}

both_backends!(signals_and_officer_targets, signals_and_officer_targets);
