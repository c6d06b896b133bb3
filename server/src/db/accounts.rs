//! Users, their areas, devices and refresh tokens.

use super::{Db, now_ms};
use crate::auth::Area;
use crate::error::AppError;
use sqlx::{AssertSqlSafe, Row};
use std::collections::BTreeSet;
use sync_core::model::Role;

/// A user row.
#[derive(Clone, Debug)]
pub struct User {
    /// Id.
    pub id: String,
    /// Login name.
    pub username: String,
    /// Name shown to people.
    pub display_name: String,
    /// argon2id hash.
    pub password_hash: String,
    /// Role.
    pub role: Role,
    /// Province code (provincial admins).
    pub province: Option<String>,
    /// Commune code (everyone else).
    pub commune: Option<String>,
    /// Officer a volunteer works with.
    pub team_officer: Option<String>,
    /// Cut off.
    pub disabled: bool,
    /// Bumped when the user's hamlets change.
    pub area_version: i64,
}

fn user_from_row(r: &sqlx::any::AnyRow) -> Result<User, AppError> {
    let role: String = r.try_get("role").map_err(AppError::db)?;
    Ok(User {
        id: r.try_get("id").map_err(AppError::db)?,
        username: r.try_get("username").map_err(AppError::db)?,
        display_name: r.try_get("display_name").map_err(AppError::db)?,
        password_hash: r.try_get("password_hash").map_err(AppError::db)?,
        role: Role::from_code(&role)
            .ok_or_else(|| AppError::Internal("unknown role in database".into()))?,
        province: r.try_get("province").map_err(AppError::db)?,
        commune: r.try_get("commune").map_err(AppError::db)?,
        team_officer: r.try_get("team_officer").map_err(AppError::db)?,
        disabled: r.try_get::<i64, _>("disabled").map_err(AppError::db)? != 0,
        area_version: r.try_get("area_version").map_err(AppError::db)?,
    })
}

const USER_COLUMNS: &str = "id, username, display_name, password_hash, role, province, commune, team_officer, disabled, area_version";

/// Looks a user up by id.
pub async fn user_by_id(db: &Db, id: &str) -> Result<Option<User>, AppError> {
    let row = sqlx::query(AssertSqlSafe(format!(
        "SELECT {USER_COLUMNS} FROM users WHERE id = $1"
    )))
    .bind(id)
    .fetch_optional(&db.pool)
    .await
    .map_err(AppError::db)?;
    row.as_ref().map(user_from_row).transpose()
}

/// Looks a user up by login name.
pub async fn user_by_username(db: &Db, username: &str) -> Result<Option<User>, AppError> {
    let row = sqlx::query(AssertSqlSafe(format!(
        "SELECT {USER_COLUMNS} FROM users WHERE username = $1"
    )))
    .bind(username)
    .fetch_optional(&db.pool)
    .await
    .map_err(AppError::db)?;
    row.as_ref().map(user_from_row).transpose()
}

/// What a new user needs.
#[derive(Clone, Debug)]
pub struct NewUser<'a> {
    /// Login name.
    pub username: &'a str,
    /// Name shown.
    pub display_name: &'a str,
    /// Plain password (hashed here).
    pub password: &'a str,
    /// Role.
    pub role: Role,
    /// Province (provincial admins).
    pub province: Option<&'a str>,
    /// Commune (everyone else).
    pub commune: Option<&'a str>,
    /// Hamlets (officers, volunteers).
    pub hamlets: &'a [String],
    /// A volunteer's officer.
    pub team_officer: Option<&'a str>,
}

/// Creates a user; returns the id.
pub async fn create_user(db: &Db, new: &NewUser<'_>) -> Result<String, AppError> {
    match new.role {
        Role::ProvincialAdmin if new.province.is_none() => {
            return Err(AppError::bad_request(
                "user.province_required",
                "a provincial user needs a province",
                "Tài khoản cấp tỉnh cần mã tỉnh",
            ));
        }
        Role::Officer | Role::Volunteer | Role::Leader if new.commune.is_none() => {
            return Err(AppError::bad_request(
                "user.commune_required",
                "this role needs a commune",
                "Vai trò này cần mã xã/phường",
            ));
        }
        _ => {}
    }
    let id = uuid::Uuid::now_v7().to_string();
    let hash = crate::auth::hash_password(new.password)?;
    let _gate = db.write_gate().await;
    let mut tx = db.pool.begin().await.map_err(AppError::db)?;
    sqlx::query(
        "INSERT INTO users (id, username, display_name, password_hash, role, province, commune,
                            team_officer, disabled, area_version, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 0, 0, $9)",
    )
    .bind(&id)
    .bind(new.username)
    .bind(new.display_name)
    .bind(&hash)
    .bind(new.role.code())
    .bind(new.province)
    .bind(new.commune)
    .bind(new.team_officer)
    .bind(now_ms())
    .execute(&mut *tx)
    .await
    .map_err(|e| match e {
        sqlx::Error::Database(d) if d.is_unique_violation() => AppError::bad_request(
            "user.exists",
            "that username is taken",
            "Tên đăng nhập đã có",
        ),
        e => AppError::db(e),
    })?;
    for h in new.hamlets {
        sqlx::query("INSERT INTO user_hamlets (user_id, hamlet) VALUES ($1, $2)")
            .bind(&id)
            .bind(h)
            .execute(&mut *tx)
            .await
            .map_err(AppError::db)?;
    }
    tx.commit().await.map_err(AppError::db)?;
    Ok(id)
}

/// Replaces a user's hamlets (a reassignment) and bumps the area version,
/// so the user's phone receives the new hamlets and purges the old ones.
pub async fn set_hamlets(db: &Db, user: &str, hamlets: &[String]) -> Result<(), AppError> {
    let _gate = db.write_gate().await;
    let mut tx = db.pool.begin().await.map_err(AppError::db)?;
    sqlx::query("DELETE FROM user_hamlets WHERE user_id = $1")
        .bind(user)
        .execute(&mut *tx)
        .await
        .map_err(AppError::db)?;
    for h in hamlets {
        sqlx::query("INSERT INTO user_hamlets (user_id, hamlet) VALUES ($1, $2)")
            .bind(user)
            .bind(h)
            .execute(&mut *tx)
            .await
            .map_err(AppError::db)?;
    }
    sqlx::query("UPDATE users SET area_version = area_version + 1 WHERE id = $1")
        .bind(user)
        .execute(&mut *tx)
        .await
        .map_err(AppError::db)?;
    tx.commit().await.map_err(AppError::db)?;
    Ok(())
}

/// Puts a volunteer in an officer's team (or takes them out).
pub async fn set_team(db: &Db, volunteer: &str, officer: Option<&str>) -> Result<(), AppError> {
    let _gate = db.write_gate().await;
    sqlx::query("UPDATE users SET team_officer = $1 WHERE id = $2")
        .bind(officer)
        .bind(volunteer)
        .execute(&db.pool)
        .await
        .map_err(AppError::db)?;
    Ok(())
}

impl User {
    /// The user's area, read now.
    pub async fn area(&self, db: &Db) -> Result<Area, AppError> {
        let missing = || AppError::Internal("user without area".into());
        Ok(match self.role {
            Role::ProvincialAdmin => Area::Province(self.province.clone().ok_or_else(missing)?),
            Role::Leader => Area::Commune(self.commune.clone().ok_or_else(missing)?),
            Role::Officer | Role::Volunteer => {
                let rows = sqlx::query("SELECT hamlet FROM user_hamlets WHERE user_id = $1")
                    .bind(&self.id)
                    .fetch_all(&db.pool)
                    .await
                    .map_err(AppError::db)?;
                let hamlets: BTreeSet<String> = rows
                    .iter()
                    .map(|r| r.try_get::<String, _>(0))
                    .collect::<Result<_, _>>()
                    .map_err(AppError::db)?;
                Area::Hamlets {
                    commune: self.commune.clone().ok_or_else(missing)?,
                    hamlets,
                }
            }
        })
    }
}

/// A device row.
#[derive(Clone, Debug)]
pub struct Device {
    /// Id (the phone store's device id).
    pub id: String,
    /// Owner.
    pub user_id: String,
    /// Revoked by a leader.
    pub revoked: bool,
}

/// Looks a device up.
pub async fn device(db: &Db, id: &str) -> Result<Option<Device>, AppError> {
    let row = sqlx::query("SELECT id, user_id, revoked_at FROM devices WHERE id = $1")
        .bind(id)
        .fetch_optional(&db.pool)
        .await
        .map_err(AppError::db)?;
    row.map(|r| {
        Ok(Device {
            id: r.try_get("id").map_err(AppError::db)?,
            user_id: r.try_get("user_id").map_err(AppError::db)?,
            revoked: r
                .try_get::<Option<i64>, _>("revoked_at")
                .map_err(AppError::db)?
                .is_some(),
        })
    })
    .transpose()
}

/// Registers a device for a user at login. A device already bound to
/// another user, or revoked, is refused.
pub async fn register_device(db: &Db, id: &str, user: &str) -> Result<(), AppError> {
    match device(db, id).await? {
        Some(d) if d.revoked => Err(AppError::Unauthorized("auth.device_revoked")),
        Some(d) if d.user_id != user => Err(AppError::bad_request(
            "auth.device_taken",
            "this device is registered to another user",
            "Thiết bị này đã đăng ký cho người khác",
        )),
        Some(_) => Ok(()),
        None => {
            let _gate = db.write_gate().await;
            sqlx::query(
                "INSERT INTO devices (id, user_id, created_at) VALUES ($1, $2, $3)
                 ON CONFLICT (id) DO NOTHING",
            )
            .bind(id)
            .bind(user)
            .bind(now_ms())
            .execute(&db.pool)
            .await
            .map_err(AppError::db)?;
            Ok(())
        }
    }
}

/// Revokes a device and every refresh token issued to it.
pub async fn revoke_device(db: &Db, id: &str, by: &str) -> Result<bool, AppError> {
    let _gate = db.write_gate().await;
    let mut tx = db.pool.begin().await.map_err(AppError::db)?;
    let n = sqlx::query(
        "UPDATE devices SET revoked_at = $1, revoked_by = $2 WHERE id = $3 AND revoked_at IS NULL",
    )
    .bind(now_ms())
    .bind(by)
    .bind(id)
    .execute(&mut *tx)
    .await
    .map_err(AppError::db)?
    .rows_affected();
    sqlx::query("DELETE FROM refresh_tokens WHERE device_id = $1")
        .bind(id)
        .execute(&mut *tx)
        .await
        .map_err(AppError::db)?;
    tx.commit().await.map_err(AppError::db)?;
    Ok(n > 0)
}

/// Stores a refresh token's hash.
pub async fn store_refresh(
    db: &Db,
    hash: &str,
    family: &str,
    device: &str,
    user: &str,
    ttl_secs: u64,
) -> Result<(), AppError> {
    let now = now_ms();
    let _gate = db.write_gate().await;
    sqlx::query(
        "INSERT INTO refresh_tokens (token_hash, family, device_id, user_id, created_at, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(hash)
    .bind(family)
    .bind(device)
    .bind(user)
    .bind(now)
    .bind(now + ttl_secs as i64 * 1000)
    .execute(&db.pool)
    .await
    .map_err(AppError::db)?;
    Ok(())
}

/// Spends a refresh token: returns (user, device, family) once. A token
/// used twice means it was stolen: its whole family is revoked.
pub async fn spend_refresh(db: &Db, hash: &str) -> Result<(String, String, String), AppError> {
    let _gate = db.write_gate().await;
    let mut tx = db.pool.begin().await.map_err(AppError::db)?;
    let row = sqlx::query(
        "SELECT family, device_id, user_id, expires_at, used_at FROM refresh_tokens WHERE token_hash = $1",
    )
    .bind(hash)
    .fetch_optional(&mut *tx)
    .await
    .map_err(AppError::db)?
    .ok_or(AppError::Unauthorized("auth.invalid_refresh"))?;
    let family: String = row.try_get("family").map_err(AppError::db)?;
    let device: String = row.try_get("device_id").map_err(AppError::db)?;
    let user: String = row.try_get("user_id").map_err(AppError::db)?;
    let expires: i64 = row.try_get("expires_at").map_err(AppError::db)?;
    let used: Option<i64> = row.try_get("used_at").map_err(AppError::db)?;
    if used.is_some() {
        sqlx::query("DELETE FROM refresh_tokens WHERE family = $1")
            .bind(&family)
            .execute(&mut *tx)
            .await
            .map_err(AppError::db)?;
        tx.commit().await.map_err(AppError::db)?;
        return Err(AppError::Unauthorized("auth.refresh_reused"));
    }
    if expires < now_ms() {
        return Err(AppError::Unauthorized("auth.expired"));
    }
    // Compare-and-set: of two concurrent spends, one wins.
    let n = sqlx::query(
        "UPDATE refresh_tokens SET used_at = $1 WHERE token_hash = $2 AND used_at IS NULL",
    )
    .bind(now_ms())
    .bind(hash)
    .execute(&mut *tx)
    .await
    .map_err(AppError::db)?
    .rows_affected();
    tx.commit().await.map_err(AppError::db)?;
    if n != 1 {
        return Err(AppError::Unauthorized("auth.refresh_reused"));
    }
    Ok((user, device, family))
}

/// The JWT secret shared by every instance: generated on first start.
pub async fn shared_secret(db: &Db) -> Result<String, AppError> {
    let candidate = format!(
        "{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    );
    let _gate = db.write_gate().await;
    sqlx::query(
        "INSERT INTO server_secrets (name, value) VALUES ('jwt', $1) ON CONFLICT (name) DO NOTHING",
    )
    .bind(&candidate)
    .execute(&db.pool)
    .await
    .map_err(AppError::db)?;
    sqlx::query("SELECT value FROM server_secrets WHERE name = 'jwt'")
        .fetch_one(&db.pool)
        .await
        .and_then(|r| r.try_get(0))
        .map_err(AppError::db)
}

/// Hamlets of a commune: (id, name).
pub async fn hamlets_of(db: &Db, commune: &str) -> Result<Vec<(String, String)>, AppError> {
    let rows = sqlx::query("SELECT id, name FROM hamlets WHERE commune = $1 ORDER BY sort_key")
        .bind(commune)
        .fetch_all(&db.pool)
        .await
        .map_err(AppError::db)?;
    rows.iter()
        .map(|r| {
            Ok((
                r.try_get(0).map_err(AppError::db)?,
                r.try_get(1).map_err(AppError::db)?,
            ))
        })
        .collect()
}

/// Defines a hamlet of a commune.
pub async fn create_hamlet(db: &Db, commune: &str, id: &str, name: &str) -> Result<(), AppError> {
    let _gate = db.write_gate().await;
    sqlx::query(
        "INSERT INTO hamlets (id, commune, name, sort_key) VALUES ($1, $2, $3, $4)
         ON CONFLICT (id) DO UPDATE SET name = excluded.name, sort_key = excluded.sort_key",
    )
    .bind(id)
    .bind(commune)
    .bind(name)
    .bind(sync_core::text::collator().sort_key(name))
    .execute(&db.pool)
    .await
    .map_err(AppError::db)?;
    Ok(())
}

/// The officers and volunteers of a commune with their hamlets, by name.
pub async fn field_users(db: &Db, commune: &str) -> Result<Vec<(User, Vec<String>)>, AppError> {
    let rows = sqlx::query(AssertSqlSafe(format!(
        "SELECT {USER_COLUMNS} FROM users WHERE commune = $1 AND role IN ('officer', 'volunteer')"
    )))
    .bind(commune)
    .fetch_all(&db.pool)
    .await
    .map_err(AppError::db)?;
    let mut users = rows
        .iter()
        .map(user_from_row)
        .collect::<Result<Vec<_>, _>>()?;
    let collator = sync_core::text::collator();
    users.sort_by_key(|u| collator.sort_key(&u.display_name));
    let links = sqlx::query(
        "SELECT uh.user_id, uh.hamlet FROM user_hamlets uh JOIN users u ON u.id = uh.user_id
         WHERE u.commune = $1",
    )
    .bind(commune)
    .fetch_all(&db.pool)
    .await
    .map_err(AppError::db)?;
    let mut out: Vec<(User, Vec<String>)> = users.into_iter().map(|u| (u, Vec::new())).collect();
    for l in links {
        let user: String = l.try_get(0).map_err(AppError::db)?;
        let hamlet: String = l.try_get(1).map_err(AppError::db)?;
        if let Some((_, hs)) = out.iter_mut().find(|(u, _)| u.id == user) {
            hs.push(hamlet);
        }
    }
    Ok(out)
}

/// A device as the leader's page lists it.
#[derive(Clone, Debug)]
pub struct DeviceLine {
    /// Device id.
    pub id: String,
    /// Owner.
    pub user_id: String,
    /// Registered (first login), ms.
    pub created_at: i64,
    /// Last sync, ms.
    pub last_sync_at: Option<i64>,
    /// Revoked.
    pub revoked: bool,
}

/// The devices of a commune's users, newest first.
pub async fn devices_of_commune(db: &Db, commune: &str) -> Result<Vec<DeviceLine>, AppError> {
    let rows = sqlx::query(
        "SELECT d.id, d.user_id, d.created_at, d.last_sync_at, d.revoked_at FROM devices d
         JOIN users u ON u.id = d.user_id WHERE u.commune = $1 ORDER BY d.created_at DESC",
    )
    .bind(commune)
    .fetch_all(&db.pool)
    .await
    .map_err(AppError::db)?;
    rows.iter()
        .map(|r| {
            Ok(DeviceLine {
                id: r.try_get(0).map_err(AppError::db)?,
                user_id: r.try_get(1).map_err(AppError::db)?,
                created_at: r.try_get(2).map_err(AppError::db)?,
                last_sync_at: r.try_get(3).map_err(AppError::db)?,
                revoked: r
                    .try_get::<Option<i64>, _>(4)
                    .map_err(AppError::db)?
                    .is_some(),
            })
        })
        .collect()
}
