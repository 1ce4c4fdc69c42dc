//! Issuing session tokens: a short-lived access JWT plus an opaque refresh
//! token in a family (one family per login).

use nexus_auth::AccessClaims;
use nexus_core::ids::{OrgId, UserId};
use nexus_core::principal::Role;
use nexus_core::{Error, Timestamp};
use nexus_store::repos::sessions::{self, Family, RefreshToken, REFRESH_TTL_SECS};
use nexus_store::Tx;
use serde::Serialize;

use crate::Deps;

/// What login, MFA verification, refresh and org switching return.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TokenPair {
    /// EdDSA JWT, valid for `expiresIn` seconds.
    pub access_token: String,
    /// Opaque; single use (every refresh returns a new one).
    pub refresh_token: String,
    pub expires_in: i64,
    /// Always `Bearer`.
    pub token_type: &'static str,
    /// The organization the tokens are scoped to, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub org_id: Option<OrgId>,
}

/// The claims of an access token for `user` scoped to `org` with `role`.
pub fn access_token(
    d: &Deps<'_>,
    user: &UserId,
    account: &str,
    staff: bool,
    scope: Option<(&OrgId, Role)>,
    session: &str,
    now: Timestamp,
) -> Result<String, Error> {
    let mut claims = AccessClaims::for_user(d.issuer, user.as_str(), None, now.as_second());
    claims.org = scope.map(|(o, _)| o.to_string());
    claims.role = scope.map(|(_, r)| r.as_str().to_owned());
    claims.acct = Some(account.to_owned());
    claims.staff = staff;
    claims.sid = Some(session.to_owned());
    d.keys.issue(&claims).map_err(Error::internal)
}

pub fn pair(access: String, refresh: String, org: Option<OrgId>) -> TokenPair {
    TokenPair {
        access_token: access,
        refresh_token: refresh,
        expires_in: nexus_auth::ACCESS_TOKEN_TTL_SECS,
        token_type: "Bearer",
        org_id: org,
    }
}

/// A new session (login): family + first refresh token + access token.
pub async fn start_session(
    d: &Deps<'_>,
    user: &UserId,
    account: &str,
    staff: bool,
    scope: Option<(&OrgId, Role)>,
    extra: Tx,
) -> Result<TokenPair, Error> {
    let now = d.clock.now();
    let family = Family {
        id: ulid::Ulid::new().to_string(),
        user_id: user.clone(),
        created_at: now,
        expires_at: now.as_second() + REFRESH_TTL_SECS,
        reauthenticated_at: None,
    };
    let refresh = nexus_auth::secrets::new_token("nxr");
    let record = RefreshToken {
        hash: nexus_auth::secrets::token_hash(&refresh),
        family: family.id.clone(),
        user_id: user.clone(),
        org: scope.map(|(o, _)| o.clone()),
        issued_at: now,
        expires_at: now.as_second() + REFRESH_TTL_SECS,
        rotated_at: None,
    };
    sessions::start(d.store, &family, &record, extra).await?;
    let access = access_token(d, user, account, staff, scope, &family.id, now)?;
    Ok(pair(access, refresh, scope.map(|(o, _)| o.clone())))
}

/// A rotated refresh token in an existing family.
pub fn next_refresh(d: &Deps<'_>, user: &UserId, org: Option<&OrgId>) -> (String, RefreshToken) {
    let now = d.clock.now();
    let refresh = nexus_auth::secrets::new_token("nxr");
    let record = RefreshToken {
        hash: nexus_auth::secrets::token_hash(&refresh),
        family: String::new(),
        user_id: user.clone(),
        org: org.cloned(),
        issued_at: now,
        expires_at: now.as_second() + REFRESH_TTL_SECS,
        rotated_at: None,
    };
    (refresh, record)
}
