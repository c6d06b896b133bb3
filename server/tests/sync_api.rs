//! The sync service over a real socket, on SQLite and on PostgreSQL: the
//! same tests, both backends.

mod common;

use common::*;
use sync_core::doc::DocPart;
use sync_core::model::*;
use sync_core::status::State;

async fn visits_merge_between_phones(backend: Backend) {
    let db = TestDb::new(backend).await;
    let server = TestServer::start(&db.url).await;
    let fx = seed(&server.state).await;
    let mut officer = Phone::login(&server, "officer-a1").await;
    let mut volunteer = Phone::login(&server, "volunteer-a1").await;
    assert!(officer.sync().await <= 3);
    volunteer.sync().await;
    assert_eq!(
        officer.store.household_ids().unwrap().len(),
        fx.households_a1.len()
    );

    // Both record at the same house while offline.
    let (h, residents) = fx.households_a1[1].clone();
    let v1 = officer.visit(
        Role::Officer,
        vec![(
            residents[0],
            Outcome::Activated {
                how: ActivationHow::OnTheSpot,
            },
        )],
    );
    let v2 = volunteer.visit(
        Role::Volunteer,
        vec![(
            residents[1],
            Outcome::Absent {
                reason: AbsentReason::NotHomeNow,
            },
        )],
    );
    officer.store.record_visit(h, &v1).unwrap();
    volunteer.store.record_visit(h, &v2).unwrap();
    assert_eq!(
        officer.sync().await,
        1,
        "an incremental sync is one round trip"
    );
    volunteer.sync().await;
    officer.sync().await;
    assert_eq!(officer.store.pending_changes().unwrap(), 0);
    assert_eq!(volunteer.store.pending_changes().unwrap(), 0);

    // Both visits are everywhere; the server's projection agrees.
    for phone in [&officer, &volunteer] {
        let ids = phone.store.household(h).unwrap().visit_ids();
        assert!(ids.contains(&v1.id) && ids.contains(&v2.id));
    }
    let mut a = officer.store.household(h).unwrap();
    let mut b = volunteer.store.household(h).unwrap();
    assert_eq!(a.heads(DocPart::Main), b.heads(DocPart::Main));
    let activated: Vec<serde_json::Value> = officer
        .get("/api/v1/lists/activated")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(activated.len(), 1);
    assert_eq!(activated[0]["full_name"], "Nguyễn Thị Thu Hà");
    let absent: Vec<serde_json::Value> = officer
        .get("/api/v1/lists/absent")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(absent.len(), 1);
    server.stop().await;
}
both_backends!(visits_merge, visits_merge_between_phones);

async fn canary_never_leaves_its_commune(backend: Backend) {
    let db = TestDb::new(backend).await;
    let server = TestServer::start(&db.url).await;
    let fx = seed(&server.state).await;
    for user in ["officer-a1", "volunteer-a1", "leader-a"] {
        let mut p = Phone::login(&server, user).await;
        p.sync().await;
        let ids = p.store.household_ids().unwrap();
        assert!(
            !ids.contains(&fx.canary_b),
            "{user} received commune B's canary"
        );
        assert_eq!(
            p.get(&format!("/api/v1/households/{}", fx.canary_b))
                .await
                .status(),
            404
        );
        for list in ["not_visited", "activated", "absent"] {
            let rows: Vec<serde_json::Value> = p
                .get(&format!("/api/v1/lists/{list}"))
                .await
                .json()
                .await
                .unwrap();
            assert!(
                rows.iter()
                    .all(|r| r["household"] != fx.canary_b.to_string()),
                "{user} list {list}"
            );
        }
    }
    let own = Phone::login(&server, "officer-a1").await;
    assert_eq!(
        own.get(&format!("/api/v1/households/{}", fx.canary_a))
            .await
            .status(),
        200
    );
    // Every list read and every delivery is audited, with counts, not names.
    let audit = gocua_server::db::audit::recent(&server.state.db, COMMUNE_A, 100)
        .await
        .unwrap();
    assert!(
        audit
            .iter()
            .any(|e| e.action == "list.read:not_visited" && e.residents > 0)
    );
    assert!(
        audit
            .iter()
            .any(|e| e.action == "sync.deliver" && e.residents > 0)
    );
    assert!(audit.iter().any(|e| e.action == "household.read"));
    let mut b = Phone::login(&server, "officer-b1").await;
    b.sync().await;
    assert!(!b.store.household_ids().unwrap().contains(&fx.canary_a));
    assert!(b.store.household_ids().unwrap().contains(&fx.canary_b));
    // Outside the area answers exactly like a missing id.
    let outside = b.get(&format!("/api/v1/households/{}", fx.canary_a)).await;
    let missing = b
        .get(&format!("/api/v1/households/{}", HouseholdId::new()))
        .await;
    assert_eq!(outside.status(), 404);
    assert_eq!(outside.text().await.unwrap(), missing.text().await.unwrap());
    server.stop().await;
}
both_backends!(canary, canary_never_leaves_its_commune);

async fn volunteers_never_receive_protected_data(backend: Backend) {
    let db = TestDb::new(backend).await;
    let server = TestServer::start(&db.url).await;
    let fx = seed(&server.state).await;
    let mut officer = Phone::login(&server, "officer-a1").await;
    let mut volunteer = Phone::login(&server, "volunteer-a1").await;
    officer.sync().await;
    volunteer.sync().await;
    let (h, residents) = fx.households_a1[0].clone();
    let v = officer.visit(
        Role::Officer,
        vec![(
            residents[0],
            Outcome::Ineligible {
                reason: IneligibleReason::OldIllOrDisabled,
            },
        )],
    );
    officer.store.record_visit(h, &v).unwrap();
    officer.sync().await;
    volunteer.sync().await;
    let doc = volunteer.store.household(h).unwrap();
    let view = doc.view().unwrap();
    assert!(
        view.residents
            .iter()
            .all(|r| r.protected.personal_id.is_none() && r.protected.phone.is_none())
    );
    let st = doc.statuses().unwrap();
    assert_eq!(
        st[0].1.state,
        State::Ineligible {
            reason: IneligibleReason::RestrictedFinal
        }
    );
    // The officer's phone holds the protected data and the real reason.
    let odoc = officer.store.household(h).unwrap();
    assert!(
        odoc.view()
            .unwrap()
            .residents
            .iter()
            .all(|r| r.protected.personal_id.is_some())
    );
    assert_eq!(
        odoc.statuses().unwrap()[0].1.state,
        State::Ineligible {
            reason: IneligibleReason::OldIllOrDisabled
        }
    );
    // Over the API too.
    let json: serde_json::Value = volunteer
        .get(&format!("/api/v1/households/{h}"))
        .await
        .json()
        .await
        .unwrap();
    assert!(
        json["residents"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r.get("personal_id").is_none())
    );
    let rows: Vec<serde_json::Value> = volunteer
        .get("/api/v1/lists/ineligible")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(rows[0]["detail"], "restricted_final");
    let rows: Vec<serde_json::Value> = officer
        .get("/api/v1/lists/ineligible")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(rows[0]["detail"], "old_ill_or_disabled");
    server.stop().await;
}
both_backends!(minimisation, volunteers_never_receive_protected_data);

async fn revoked_device_is_wiped(backend: Backend) {
    let db = TestDb::new(backend).await;
    let server = TestServer::start(&db.url).await;
    let fx = seed(&server.state).await;
    let mut officer = Phone::login(&server, "officer-a1").await;
    officer.sync().await;
    assert!(!officer.store.household_ids().unwrap().is_empty());
    let leader = Phone::login(&server, "leader-a").await;
    let r = leader
        .http
        .post(server.url(&format!(
            "/api/v1/devices/{}/revoke",
            officer.store.device_id()
        )))
        .bearer_auth(&leader.access)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    // Its still-valid access token opens nothing else…
    let r = officer.get("/api/v1/lists/not_visited").await;
    assert_eq!(r.status(), 401);
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["code"], "auth.device_revoked");
    // …and its next sync wipes it.
    let (status, applied) = officer.sync_once().await;
    assert_eq!(status, 200);
    assert!(applied.unwrap().wiped);
    assert!(officer.store.household_ids().unwrap().is_empty());
    assert!(
        officer
            .store
            .residents_by_state("not_visited", None)
            .unwrap()
            .is_empty()
    );
    // The refresh token is dead too.
    let r = officer
        .http
        .post(server.url("/api/v1/auth/refresh"))
        .json(&serde_json::json!({ "refresh_token": officer.refresh }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let _ = fx;
    server.stop().await;
}
both_backends!(revocation, revoked_device_is_wiped);

async fn reassignment_purges_and_keeps_offline_work(backend: Backend) {
    let db = TestDb::new(backend).await;
    let server = TestServer::start(&db.url).await;
    let fx = seed(&server.state).await;
    let mut officer = Phone::login(&server, "officer-a1").await;
    officer.sync().await;
    // Offline work in a1, then the leader moves the officer to a2.
    let (h, residents) = fx.households_a1[2].clone();
    let v = officer.visit(Role::Officer, vec![(residents[0], Outcome::Refused)]);
    officer.store.record_visit(h, &v).unwrap();
    let leader = Phone::login(&server, "leader-a").await;
    let r = leader
        .http
        .put(server.url(&format!("/api/v1/users/{}/hamlets", officer.user_id)))
        .bearer_auth(&leader.access)
        .json(&serde_json::json!({ "hamlets": ["a2"] }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    officer.sync().await;
    let ids = officer.store.household_ids().unwrap();
    assert!(
        fx.households_a2.iter().all(|(h, _)| ids.contains(h)),
        "new hamlet received"
    );
    assert!(
        fx.households_a1.iter().all(|(h, _)| !ids.contains(h)),
        "old hamlet purged"
    );
    // The offline visit was accepted, and tagged.
    let rows: Vec<serde_json::Value> = leader
        .get("/api/v1/lists/refused")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(rows.len(), 1);
    let tagged: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM changes WHERE out_of_area = 1")
        .fetch_one(&server.state.db.pool)
        .await
        .unwrap();
    assert!(tagged >= 1);
    server.stop().await;
}
both_backends!(reassignment, reassignment_purges_and_keeps_offline_work);

async fn two_instances_behave_as_one(backend: Backend) {
    let db = TestDb::new(backend).await;
    let one = TestServer::start(&db.url).await;
    let two = TestServer::start(&db.url).await;
    let fx = seed(&one.state).await;
    let mut phones = Vec::new();
    for (i, user) in ["officer-a1", "volunteer-a1", "leader-a"]
        .iter()
        .enumerate()
    {
        let server = if i % 2 == 0 { &one } else { &two };
        let mut p = Phone::login(server, user).await;
        p.sync().await;
        phones.push(p);
    }
    let mut expected = Vec::new();
    for round in 0..4 {
        for (i, p) in phones.iter_mut().enumerate() {
            let role = [Role::Officer, Role::Volunteer, Role::Leader][i];
            let (h, residents) = fx.households_a1[(round + i) % fx.households_a1.len()].clone();
            let v = p.visit(
                role,
                vec![(
                    residents[round % residents.len()],
                    Outcome::Absent {
                        reason: AbsentReason::NotHomeNow,
                    },
                )],
            );
            p.store.record_visit(h, &v).unwrap();
            expected.push((h, v.id));
            // Phones alternate between the instances.
            p.base = if (round + i) % 2 == 0 {
                one.base.clone()
            } else {
                two.base.clone()
            };
        }
        // Concurrent syncs through both instances.
        let futs = phones.iter_mut().map(|p| p.sync());
        futures::future::join_all(futs).await;
    }
    for p in phones.iter_mut() {
        p.sync().await;
    }
    for (h, v) in &expected {
        for p in &phones {
            assert!(
                p.store.household(*h).unwrap().visit_ids().contains(v),
                "visit missing on a phone"
            );
        }
    }
    let mut first = phones[0].store.household(fx.households_a1[0].0).unwrap();
    for p in &phones[1..] {
        let mut d = p.store.household(fx.households_a1[0].0).unwrap();
        assert_eq!(d.heads(DocPart::Main), first.heads(DocPart::Main));
    }
    one.stop().await;
    two.stop().await;
}
both_backends!(two_instances, two_instances_behave_as_one);

async fn hostile_frames_change_nothing(backend: Backend) {
    let db = TestDb::new(backend).await;
    let server = TestServer::start(&db.url).await;
    let fx = seed(&server.state).await;
    let mut officer = Phone::login(&server, "officer-a1").await;
    officer.sync().await;
    let (h, residents) = fx.households_a1[0].clone();
    let v = officer.visit(Role::Officer, vec![(residents[0], Outcome::Refused)]);
    officer.store.record_visit(h, &v).unwrap();
    let good = officer.store.sync_request().unwrap();
    let before: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM changes")
        .fetch_one(&server.state.db.pool)
        .await
        .unwrap();
    let mut flipped = good.clone();
    let last = flipped.len() - 3;
    flipped[last] ^= 0xff;
    for (what, body) in [
        ("truncated", good[..good.len() / 2].to_vec()),
        ("flipped", flipped),
        ("garbage", b"\x00\x01hello, not a frame".to_vec()),
        ("empty", Vec::new()),
    ] {
        let r = officer
            .http
            .post(server.url("/api/v1/sync"))
            .bearer_auth(&officer.access)
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 400, "{what}");
        let json: serde_json::Value = r.json().await.unwrap();
        assert!(
            json["code"].as_str().unwrap().starts_with("sync."),
            "{what}: {json}"
        );
        assert!(!json["message_vi"].as_str().unwrap().is_empty());
    }
    let after: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM changes")
        .fetch_one(&server.state.db.pool)
        .await
        .unwrap();
    assert_eq!(before, after, "nothing applied");
    // The phone still has its visit and sends it fine.
    officer.sync().await;
    assert_eq!(officer.store.pending_changes().unwrap(), 0);
    server.stop().await;
}
both_backends!(hostile_frames, hostile_frames_change_nothing);

async fn provincial_users_read_but_do_not_sync(backend: Backend) {
    let db = TestDb::new(backend).await;
    let server = TestServer::start(&db.url).await;
    let fx = seed(&server.state).await;
    let mut province = Phone::login(&server, "province-01").await;
    // Lists of any commune of the province (Hà Nội, 01), by commune code.
    let rows: Vec<serde_json::Value> = province
        .get(&format!("/api/v1/lists/not_visited?commune={COMMUNE_A}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(rows.len(), 3 * 2 + 2, "every resident of commune A");
    let rows: Vec<serde_json::Value> = province
        .get(&format!("/api/v1/lists/not_visited?commune={COMMUNE_B}"))
        .await
        .json()
        .await
        .unwrap();
    assert!(
        rows.iter()
            .any(|r| r["household"] == fx.canary_b.to_string())
    );
    // A commune of another province is outside: 404, like a missing one.
    assert_eq!(
        province
            .get("/api/v1/lists/not_visited?commune=26734")
            .await
            .status(),
        404
    );
    // Provincial users do not carry households on a phone.
    let (status, _) = province.sync_once().await;
    assert_eq!(status, 403);
    server.stop().await;
}
both_backends!(provincial, provincial_users_read_but_do_not_sync);

async fn volunteers_sensitive_reasons_reach_officers(backend: Backend) {
    let db = TestDb::new(backend).await;
    let server = TestServer::start(&db.url).await;
    let fx = seed(&server.state).await;
    let mut officer = Phone::login(&server, "officer-a1").await;
    let mut volunteer = Phone::login(&server, "volunteer-a1").await;
    officer.sync().await;
    volunteer.sync().await;
    let (h, residents) = fx.households_a1[2].clone();
    let mut v = volunteer.visit(
        Role::Volunteer,
        vec![(
            residents[1],
            Outcome::Ineligible {
                reason: IneligibleReason::MilitaryServiceOrDetention,
            },
        )],
    );
    v.outcomes[0].explanation = Some("Đang thực hiện nghĩa vụ quân sự đến 2027".into());
    volunteer.store.record_visit(h, &v).unwrap();
    volunteer.sync().await;
    officer.sync().await;
    let doc = officer.store.household(h).unwrap();
    let st = doc.statuses().unwrap();
    assert_eq!(
        st[1].1.state,
        State::Ineligible {
            reason: IneligibleReason::MilitaryServiceOrDetention
        }
    );
    assert!(!st[1].1.awaiting_confirmation);
    assert_eq!(
        doc.explanation(v.id, residents[1]).as_deref(),
        Some("Đang thực hiện nghĩa vụ quân sự đến 2027")
    );
    // The other volunteer phones never see it: only the stand-in.
    let mut other = Phone::login_with(
        &server,
        "volunteer-a1",
        sync_core::store::PhoneStore::open_in_memory().unwrap(),
    )
    .await;
    other.sync().await;
    let d = other.store.household(h).unwrap();
    assert_eq!(
        d.statuses().unwrap()[1].1.state,
        State::Ineligible {
            reason: IneligibleReason::RestrictedTemporary
        }
    );
    assert_eq!(d.explanation(v.id, residents[1]), None);
    server.stop().await;
}
both_backends!(
    volunteer_protected_writes,
    volunteers_sensitive_reasons_reach_officers
);

/// More first syncs at once than the database pool has connections (8 on
/// SQLite, 16 on PostgreSQL): each must be answered. (A sync once held a
/// connection while asking the pool for a second one, and this many at
/// once waited on each other until the pool's timeout.)
async fn many_first_syncs_at_once(backend: Backend) {
    let db = TestDb::new(backend).await;
    let server = TestServer::start(&db.url).await;
    let fx = seed(&server.state).await;
    let mut phones = Vec::new();
    for _ in 0..24 {
        phones.push(Phone::login(&server, "officer-a1").await);
    }
    let results = futures::future::join_all(phones.iter_mut().map(|p| async move {
        let (status, applied) = p.sync_once().await;
        (status, applied.is_ok())
    }))
    .await;
    for (status, ok) in &results {
        assert_eq!(*status, 200);
        assert!(ok);
    }
    for p in &phones {
        assert_eq!(
            p.store.household_ids().unwrap().len(),
            fx.households_a1.len()
        );
    }
    server.stop().await;
}
both_backends!(first_syncs_at_once, many_first_syncs_at_once);

/// The server's rows for a household against its documents loaded from the
/// database (not from any cache): every resident's state and every visit.
async fn assert_projection_matches_log(state: &gocua_server::AppState, h: HouseholdId) {
    use sqlx::Row;
    let doc = gocua_server::db::docs::load(&state.db, &state.actor, h)
        .await
        .unwrap()
        .expect("household");
    let mut want: Vec<(String, String)> = doc
        .statuses()
        .unwrap()
        .into_iter()
        .map(|(r, s)| (r.to_string(), s.state.code().to_owned()))
        .collect();
    want.sort();
    let mut got: Vec<(String, String)> =
        sqlx::query("SELECT id, state FROM residents WHERE household = $1 ORDER BY id")
            .bind(h.to_string())
            .fetch_all(&state.db.pool)
            .await
            .unwrap()
            .iter()
            .map(|r| (r.get(0), r.get(1)))
            .collect();
    got.sort();
    assert_eq!(got, want, "residents rows differ from the documents");
    let visits: i64 = sqlx::query("SELECT COUNT(*) FROM visits WHERE household = $1")
        .bind(h.to_string())
        .fetch_one(&state.db.pool)
        .await
        .unwrap()
        .get(0);
    assert_eq!(visits as usize, doc.visit_ids().len(), "visits rows");
}

/// The documents a server instance keeps in memory between writes never
/// hide another writer's changes: a household written through instance
/// two, then again through instance one (which still holds the older
/// document), keeps both; and phones writing one household at the same
/// moment (prepared outside the lock, caught up under it) lose nothing.
async fn cached_documents_never_hide_other_writes(backend: Backend) {
    let db = TestDb::new(backend).await;
    let one = TestServer::start(&db.url).await;
    let two = TestServer::start(&db.url).await;
    let fx = seed(&one.state).await;
    let (h, residents) = fx.households_a1[0].clone();
    let mut officer = Phone::login(&one, "officer-a1").await;
    let mut volunteer = Phone::login(&two, "volunteer-a1").await;
    let mut leader = Phone::login(&one, "leader-a").await;
    for p in [&mut officer, &mut volunteer, &mut leader] {
        p.sync().await;
    }
    let absent = Outcome::Absent {
        reason: AbsentReason::NotHomeNow,
    };
    let activated = Outcome::Activated {
        how: ActivationHow::OnTheSpot,
    };
    // Instance one writes (and keeps the document), instance two writes,
    // instance one writes again.
    let v = officer.visit(Role::Officer, vec![(residents[0], absent)]);
    officer.store.record_visit(h, &v).unwrap();
    officer.sync().await;
    let v = volunteer.visit(Role::Volunteer, vec![(residents[1], activated)]);
    volunteer.store.record_visit(h, &v).unwrap();
    volunteer.sync().await;
    let v = officer.visit(Role::Officer, vec![(residents[0], activated)]);
    officer.store.record_visit(h, &v).unwrap();
    officer.sync().await;
    assert_projection_matches_log(&one.state, h).await;
    let states: Vec<String> = {
        use sqlx::Row;
        sqlx::query("SELECT state FROM residents WHERE id = $1")
            .bind(residents[1].to_string())
            .fetch_all(&one.state.db.pool)
            .await
            .unwrap()
            .iter()
            .map(|r| r.get(0))
            .collect()
    };
    assert_eq!(states, ["activated"], "instance two's write was kept");

    // Three phones on one instance write the same household at once, five
    // times over.
    volunteer.base = one.base.clone();
    let mut expected = Vec::new();
    for round in 0..5 {
        for (i, p) in [&mut officer, &mut volunteer, &mut leader]
            .into_iter()
            .enumerate()
        {
            let role = [Role::Officer, Role::Volunteer, Role::Leader][i];
            let outcome = if (round + i) % 2 == 0 {
                absent
            } else {
                activated
            };
            let v = p.visit(
                role,
                vec![(residents[(round + i) % residents.len()], outcome)],
            );
            p.store.record_visit(h, &v).unwrap();
            expected.push(v.id);
        }
        let futs = [&mut officer, &mut volunteer, &mut leader].map(|p| p.sync());
        futures::future::join_all(futs).await;
    }
    let doc = gocua_server::db::docs::load(&one.state.db, &one.state.actor, h)
        .await
        .unwrap()
        .unwrap();
    let ids = doc.visit_ids();
    for v in &expected {
        assert!(
            ids.contains(v),
            "a visit written at the same moment is missing"
        );
    }
    assert_projection_matches_log(&one.state, h).await;
    one.stop().await;
    two.stop().await;
}
both_backends!(cached_documents, cached_documents_never_hide_other_writes);

/// A household with many changes is compacted into a snapshot (counted in
/// the document cache between writes, and in the database after a
/// restart), and loads the same from it.
async fn busy_households_are_compacted(backend: Backend) {
    use sqlx::Row;
    let db = TestDb::new(backend).await;
    let server = TestServer::start(&db.url).await;
    let fx = seed(&server.state).await;
    let (h, residents) = fx.households_a1[0].clone();
    let mut officer = Phone::login(&server, "officer-a1").await;
    officer.sync().await;
    let snapshots = |state: gocua_server::AppState| async move {
        sqlx::query("SELECT COALESCE(MAX(snapshot_seq), 0) FROM doc_snapshots WHERE household = $1")
            .bind(h.to_string())
            .fetch_one(&state.db.pool)
            .await
            .unwrap()
            .get::<i64, _>(0)
    };
    let before = snapshots(server.state.clone()).await;
    let mut ids = Vec::new();
    for round in 0..(gocua_server::db::docs::SNAPSHOT_AFTER as usize + 6) {
        let v = officer.visit(
            Role::Officer,
            vec![(
                residents[round % residents.len()],
                Outcome::Absent {
                    reason: AbsentReason::NotHomeNow,
                },
            )],
        );
        officer.store.record_visit(h, &v).unwrap();
        ids.push(v.id);
        if round % 10 == 9 {
            officer.sync().await;
        }
    }
    officer.sync().await;
    assert!(
        snapshots(server.state.clone()).await > before,
        "a snapshot was written"
    );
    assert_projection_matches_log(&server.state, h).await;
    let doc = gocua_server::db::docs::load(&server.state.db, &server.state.actor, h)
        .await
        .unwrap()
        .unwrap();
    let stored = doc.visit_ids();
    assert!(ids.iter().all(|v| stored.contains(v)));
    server.stop().await;
}
both_backends!(compaction, busy_households_are_compacted);
