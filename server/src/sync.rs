//! The server's side of sync-core's protocol (`docs/PROTOCOL.md`) over SQL.
//!
//! 1. Decode the frame with limits; the token's device must be the frame's.
//! 2. A revoked device gets a `wipe` answer.
//! 3. Incoming changes are applied in one transaction (idempotent, logged,
//!    projected) — only then is `acked_through` sent.
//! 4. The answer: whole documents for a missing cursor, an unfinished
//!    initial sync or a changed area (with a purge list); otherwise the
//!    changes after the cursor made by other devices, in the caller's area.
//!    Volunteers never receive the protected part. Every answer but a wipe
//!    carries the planning terms of the commune's campaign (or `None`).

use crate::AppState;
use crate::auth::{Area, Caller};
use crate::db::docs::{self, Place, Scope, WriteCheck};
use crate::db::{accounts, audit, now_ms};
use crate::error::AppError;
use std::collections::BTreeMap;
use sync_core::doc::{DocId, DocPart};
use sync_core::model::Role;
use sync_core::plan::Terms;
use sync_core::protocol::{self, DocChanges, DocSnapshot, ServerCursor, SyncResponse};

/// Households per initial-sync page are bounded by this many bytes of
/// (uncompressed) documents.
pub const PAGE_BYTES: usize = 8 << 20;
/// A household with more new changes than this is sent whole.
pub const WHOLE_DOC_AFTER: usize = 64;
/// Most changes sent in one answer.
pub const MAX_CHANGES_OUT: i64 = 10_000;

struct AreaCheck<'a>(&'a Area);

impl WriteCheck for AreaCheck<'_> {
    fn check(&self, place: &Place) -> Result<bool, AppError> {
        // Inside the commune: accepted; outside the caller's hamlets it is
        // tagged (made offline before a reassignment).
        Ok(!self.0.contains(&place.commune, &place.hamlet))
    }
}

/// Handles one sync frame from an authenticated caller. `terms` are the
/// planning terms of the campaign in force in the caller's commune, sent
/// with the answer (`None`: no campaign; the phone then forgets the terms
/// it had).
pub async fn handle(
    state: &AppState,
    caller: &Caller,
    body: &[u8],
    terms: Option<Terms>,
) -> Result<Vec<u8>, AppError> {
    let req = protocol::decode_request(body, &state.settings.limits())?;
    if req.device != caller.device {
        return Err(AppError::Unauthorized("auth.device_mismatch"));
    }
    let device = accounts::device(&state.db, &req.device).await?;
    if device
        .as_ref()
        .is_none_or(|d| d.revoked || d.user_id != caller.user_id)
    {
        tracing::info!(device = %req.device, "sync from a revoked device: wipe");
        return Ok(protocol::encode_response(&SyncResponse {
            request_id: req.request_id,
            wipe: true,
            ..Default::default()
        })?);
    }
    if !matches!(caller.role, Role::Officer | Role::Volunteer | Role::Leader) {
        return Err(AppError::Forbidden);
    }
    let commune = caller.area.commune().ok_or(AppError::Forbidden)?.to_owned();
    if req.change_count() > state.settings.max_changes_per_sync {
        return Err(AppError::Protocol(protocol::ProtocolError::TooLarge(
            "change count",
        )));
    }

    // Apply: all or nothing.
    let mut incoming = Vec::with_capacity(req.changes.len());
    for dc in &req.changes {
        incoming.push((dc.doc, protocol::parse_changes(&dc.changes)?));
    }
    let applied = if incoming.is_empty() {
        0
    } else {
        docs::apply_incoming(
            &state.db,
            &state.actor,
            &req.device,
            &AreaCheck(&caller.area),
            &commune,
            incoming,
        )
        .await?
    };
    state
        .metrics
        .changes_in
        .fetch_add(applied as u64, std::sync::atomic::Ordering::Relaxed);

    // Answer.
    let scope = match &caller.area {
        Area::Hamlets { .. } => Scope::UserHamlets {
            commune: &commune,
            user: &caller.user_id,
        },
        _ => Scope::Commune(&commune),
    };
    let protected = caller.role.sees_protected();
    let mut resp = SyncResponse {
        request_id: req.request_id,
        acked_through: req.outbox_through,
        terms,
        ..Default::default()
    };
    let cursor = req.cursor.as_deref().and_then(ServerCursor::from_bytes);
    let area_version = caller.area_version as u64;
    let delivered = match cursor {
        Some(c) if !c.in_snapshot && c.area_version == area_version => {
            incremental(state, &scope, &req.device, protected, c, &mut resp).await?
        }
        Some(c) if c.in_snapshot && c.area_version == area_version => {
            snapshot_page(state, &scope, protected, c, &mut resp).await?
        }
        other => {
            // First sync, or the area changed: start over with whole
            // documents, and purge what left the area.
            if other.is_some() {
                resp.purge = docs::households_outside(&state.db, &scope).await?;
            }
            let start = ServerCursor {
                seq: docs::current_seq(&state.db, &commune).await? as u64,
                snapshot_after: None,
                in_snapshot: true,
                area_version,
            };
            snapshot_page(state, &scope, protected, start, &mut resp).await?
        }
    };
    if delivered > 0 {
        audit::record(
            &state.db,
            &caller.user_id,
            "sync.deliver",
            Some(&commune),
            &caller.area.describe(),
            delivered as i64,
        )
        .await?;
    }
    sqlx::query("UPDATE devices SET last_sync_at = $1 WHERE id = $2")
        .bind(now_ms())
        .bind(&req.device)
        .execute(&state.db.pool)
        .await
        .map_err(AppError::db)?;
    Ok(protocol::encode_response(&resp)?)
}

async fn snapshot_page(
    state: &AppState,
    scope: &Scope<'_>,
    protected: bool,
    cursor: ServerCursor,
    resp: &mut SyncResponse,
) -> Result<usize, AppError> {
    let parts: &[DocPart] = if protected {
        &DocPart::ALL
    } else {
        &[DocPart::Main]
    };
    let mut budget = PAGE_BYTES;
    let mut after = cursor.snapshot_after;
    let mut done = false;
    let mut count = 0;
    'pages: while budget > 0 {
        let ids = docs::households_in_scope(&state.db, scope, after, 500).await?;
        if ids.is_empty() {
            done = true;
            break;
        }
        // One connection at a time per request: holding this one while
        // asking the pool for another (the scope query above) deadlocks
        // once as many first syncs run at once as the pool has connections.
        let mut conn = state.db.pool.acquire().await.map_err(AppError::db)?;
        for h in ids {
            for part in parts {
                let bytes = docs::doc_bytes(&mut conn, h, *part).await?;
                if bytes.is_empty() {
                    continue;
                }
                budget = budget.saturating_sub(bytes.len());
                resp.docs.push(DocSnapshot {
                    doc: DocId {
                        household: h,
                        part: *part,
                    },
                    bytes,
                });
            }
            count += 1;
            after = Some(h);
            if budget == 0 {
                break 'pages;
            }
        }
    }
    resp.more = !done;
    resp.cursor = ServerCursor {
        seq: cursor.seq,
        snapshot_after: if done { None } else { after },
        in_snapshot: !done,
        area_version: cursor.area_version,
    }
    .to_bytes();
    Ok(count)
}

async fn incremental(
    state: &AppState,
    scope: &Scope<'_>,
    device: &str,
    protected: bool,
    cursor: ServerCursor,
    resp: &mut SyncResponse,
) -> Result<usize, AppError> {
    let commune = match scope {
        Scope::Commune(c) | Scope::UserHamlets { commune: c, .. } => *c,
    };
    // Read the commune's number first: every change up to it is committed
    // (numbers are handed out in commit order), so the query below sees them.
    let upto = docs::current_seq(&state.db, commune).await? as u64;
    let logged = docs::changes_since(
        &state.db,
        scope,
        cursor.seq as i64,
        device,
        protected,
        MAX_CHANGES_OUT,
    )
    .await?;
    resp.more = logged.len() as i64 == MAX_CHANGES_OUT;
    let mut seq = cursor.seq;
    let mut per_doc: BTreeMap<DocId, Vec<Vec<u8>>> = BTreeMap::new();
    for c in logged {
        seq = seq.max(c.seq as u64);
        per_doc.entry(c.doc).or_default().push(c.bytes);
    }
    if !resp.more {
        // Everything for this caller up to `upto` is in this answer: move
        // the cursor there, so changes outside the area are not re-read.
        seq = seq.max(upto);
    }
    let households: std::collections::BTreeSet<_> = per_doc.keys().map(|d| d.household).collect();
    let mut conn = state.db.pool.acquire().await.map_err(AppError::db)?;
    for (doc, changes) in per_doc {
        if changes.len() > WHOLE_DOC_AFTER {
            let bytes = docs::doc_bytes(&mut conn, doc.household, doc.part).await?;
            resp.docs.push(DocSnapshot { doc, bytes });
        } else {
            resp.changes.push(DocChanges { doc, changes });
        }
    }
    resp.cursor = ServerCursor {
        seq,
        area_version: cursor.area_version,
        ..Default::default()
    }
    .to_bytes();
    Ok(households.len())
}
