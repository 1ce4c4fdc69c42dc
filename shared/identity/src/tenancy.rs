//! Organizations and who may act in them: creation, invitations with seat
//! limits, members and roles (the last owner stays), agency grants, API keys
//! and the audit log.
//!
//! Reads authorize with the access token ([`crate::scope::require`], which tells a
//! member whose token is scoped elsewhere to switch organization). Writes
//! that manage members, invitations, keys and grants decide on the caller's
//! role, so they re-read it ([`crate::scope::require_current`]): a token's role can
//! be 15 minutes old.

use nexus_core::events::DomainEvent;
use nexus_core::ids::{ApiKeyId, InvitationId, OrgId, UserId};
use nexus_core::org::{
    self, check_role_change, Membership, NewOrganization, OrgKind, Organization,
};
use nexus_core::plans::{Level, Limit};
use nexus_core::principal::{role_allows, Permission, Principal, Role};
use nexus_core::user::Email;
use nexus_core::{Error, FieldError};
use nexus_store::repos::apikeys::{self, ApiKey};
use nexus_store::repos::audit::{self, AuditEntry};
use nexus_store::repos::orgs::{self, AgencyGrant, Invitation};
use nexus_store::repos::tokens::{self, Purpose};
use nexus_store::repos::users;
use nexus_store::{Page, Tx, Write};
use serde::Serialize;

use crate::scope::{require, require_current};
use crate::Deps;

pub const INVITATION_TTL_SECS: i64 = 7 * 24 * 3600;

async fn org_or_404(d: &Deps<'_>, org: &OrgId) -> Result<Organization, Error> {
    orgs::get(d.store, org).await?.ok_or(Error::NotFound {
        resource: "organization",
    })
}

fn event(
    kind: &str,
    org: &OrgId,
    caller: &Principal,
    now: nexus_core::Timestamp,
    data: serde_json::Value,
) -> DomainEvent {
    DomainEvent::new(
        "orgs",
        kind,
        Some(org.clone()),
        caller.id.clone(),
        now,
        data,
    )
}

/// Create an organization; the caller (a brand-side user) becomes its owner.
pub async fn create_org(
    d: &Deps<'_>,
    caller: &Principal,
    input: NewOrganization,
) -> Result<Organization, Error> {
    let user_id = caller.user_id()?;
    let user = users::get(d.store, &user_id)
        .await?
        .ok_or_else(|| Error::Unauthenticated("unknown user".into()))?;
    if user.account_type == nexus_core::user::AccountType::Creator {
        return Err(Error::Forbidden(
            "creator accounts don't own organizations; creators join campaigns".into(),
        ));
    }
    let created = org::create_for(
        input,
        user_id,
        user.email.to_string(),
        user.name.clone(),
        d.clock.now(),
    );
    orgs::create(d.store, &created).await?;
    Ok(created.org)
}

/// One organization, for a caller acting in it.
pub async fn get_org(d: &Deps<'_>, caller: &Principal, org: &OrgId) -> Result<Organization, Error> {
    require(d, caller, org, Permission::OrgRead, "organization").await?;
    org_or_404(d, org).await
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct InvitationSent {
    #[schema(value_type = String)]
    pub id: InvitationId,
    pub email: String,
    pub role: Role,
    #[schema(value_type = String, format = DateTime)]
    pub expires_at: jiff::Timestamp,
}

/// Invite someone by e-mail. Seats in use plus pending invitations may not
/// exceed the plan's seats. Inviting an address again replaces its pending
/// invitation: the new role holds and the earlier link stops working.
pub async fn invite(
    d: &Deps<'_>,
    caller: &Principal,
    org_id: &OrgId,
    email: Option<String>,
    role: Option<String>,
) -> Result<InvitationSent, Error> {
    require_current(d, caller, org_id, Permission::MembersManage).await?;
    let mut v = nexus_core::validation::Validator::new();
    let email = v.parse("/email", email.as_deref(), "invalid_format", Email::parse);
    let role_result = org::parse_grantable_role("/role", role.as_deref());
    if let Err(Error::Validation(errs)) = &role_result {
        errs.iter().cloned().for_each(|e| v.push(e));
    }
    v.finish()?;
    let (email, role) = (
        email.ok_or_else(|| Error::internal("no email"))?,
        role_result?,
    );
    let now = d.clock.now();
    let org = org_or_404(d, org_id).await?;
    let pending = orgs::pending_invitations(d.store, org_id, now).await?;
    let already_pending = pending.iter().any(|i| i.email == email.as_str());
    let in_use = org.member_count + pending.len() as u64 - u64::from(already_pending);
    org.plan.check(Limit::Seats, in_use, 1)?;
    let previous = orgs::invitation(d.store, org_id, email.as_str()).await?;
    let expires_at = now.as_second() + INVITATION_TTL_SECS;
    // The link's token is made and mailed by the account-mail worker (off
    // the request path); until then the invitation has no token at all.
    let invitation = Invitation {
        id: InvitationId::new(),
        org_id: org_id.clone(),
        email: email.to_string(),
        role,
        invited_by: caller.user_id()?,
        created_at: now,
        expires_at,
        token_hash: String::new(),
        version: 0,
    };
    let e = event(
        crate::mail::INVITATION_CREATED,
        org_id,
        caller,
        now,
        serde_json::json!({
            "invitationId": invitation.id,
            "email": email.as_str(),
            "role": role,
            "replaces": previous.as_ref().map(|p| &p.id),
        }),
    );
    orgs::put_invitation(d.store, &invitation, previous.as_ref(), Tx::new().event(e)).await?;
    Ok(InvitationSent {
        id: invitation.id,
        email: email.to_string(),
        role,
        expires_at: jiff::Timestamp::from_second(expires_at).unwrap_or(now),
    })
}

/// Pending invitations (never their tokens), in e-mail order.
pub async fn list_invitations(
    d: &Deps<'_>,
    caller: &Principal,
    org: &OrgId,
    limit: u32,
    cursor: Option<String>,
) -> Result<Page<Invitation>, Error> {
    require(d, caller, org, Permission::MembersManage, "organization").await?;
    let mut page = orgs::invitations_page(d.store, org, d.clock.now(), limit, cursor).await?;
    page.items.iter_mut().for_each(|i| i.token_hash.clear());
    Ok(page)
}

/// Cancel a pending invitation: its link stops working and its seat is free.
pub async fn cancel_invitation(
    d: &Deps<'_>,
    caller: &Principal,
    org: &OrgId,
    id: &InvitationId,
) -> Result<(), Error> {
    require_current(d, caller, org, Permission::MembersManage).await?;
    let now = d.clock.now();
    let invitation = orgs::pending_invitations(d.store, org, now)
        .await?
        .into_iter()
        .find(|i| &i.id == id)
        .ok_or(Error::NotFound {
            resource: "invitation",
        })?;
    let e = event(
        "InvitationCancelled",
        org,
        caller,
        now,
        serde_json::json!({"invitationId": id, "email": invitation.email, "role": invitation.role}),
    );
    orgs::cancel_invitation(d.store, &invitation, Tx::new().event(e)).await
}

/// Accept an invitation as the logged-in user it was sent to.
pub async fn accept_invitation(
    d: &Deps<'_>,
    caller: &Principal,
    token: &str,
) -> Result<Membership, Error> {
    let now = d.clock.now();
    let user_id = caller.user_id()?;
    let invalid = || Error::NotFound {
        resource: "invitation",
    };
    let hash = nexus_auth::secrets::token_hash(token);
    let pending = tokens::peek(d.store, &hash, Purpose::Invitation, now)
        .await?
        .ok_or_else(invalid)?;
    let user = users::get(d.store, &user_id)
        .await?
        .ok_or_else(|| Error::Unauthenticated("unknown user".into()))?;
    if user.email.as_str() != pending.subject {
        return Err(Error::Forbidden(
            "this invitation was sent to another e-mail address".into(),
        ));
    }
    let org_id: OrgId = pending
        .data
        .get("orgId")
        .and_then(|v| serde_json::from_value(v.clone()).ok())
        .ok_or_else(invalid)?;
    let role: Role = pending
        .data
        .get("role")
        .and_then(|v| serde_json::from_value(v.clone()).ok())
        .ok_or_else(invalid)?;
    let org = org_or_404(d, &org_id).await?;
    if orgs::membership(d.store, &org_id, &user_id)
        .await?
        .is_some()
    {
        return Err(Error::conflict(
            "already-member",
            "you are already a member of this organization",
        ));
    }
    let membership = Membership {
        org_id: org_id.clone(),
        user_id: user_id.clone(),
        role,
        org_name: org.name.clone(),
        org_kind: org.kind,
        joined_at: now,
        user_email: user.email.to_string(),
        user_name: user.name.clone(),
    };
    let max = org.plan.max(Limit::Seats);
    let accepted = DomainEvent::new(
        "orgs",
        "InvitationAccepted",
        Some(org_id.clone()),
        user_id.to_string(),
        now,
        serde_json::json!({"userId": user_id, "role": role}),
    );
    let tx = Tx::new()
        .write(Write::Update {
            key: tokens::token_key(&hash),
            update: "SET usedAt = :now".into(),
            condition: Some("attribute_not_exists(usedAt)".into()),
            names: vec![],
            values: vec![(
                ":now".into(),
                nexus_store::aws_sdk_dynamodb::types::AttributeValue::S(now.to_string()),
            )],
            label: "invitation".into(),
        })
        // Only the current invitation's token: a replaced or cancelled one fails here.
        .write(orgs::accept_invitation_write(
            &org_id,
            &pending.subject,
            &hash,
        ))
        .event(accepted);
    match orgs::add_member(d.store, &membership, max, tx).await {
        Err(Error::Conflict {
            code: "seats-changed",
            ..
        }) => Err(Error::LimitReached {
            limit: Limit::Seats.name(),
            plan: org.plan.name().into(),
            max: max.unwrap_or(0),
        }),
        Err(Error::Conflict {
            code: "conflict", ..
        }) => Err(invalid()),
        other => other.map(|_| membership),
    }
}

pub async fn list_members(
    d: &Deps<'_>,
    caller: &Principal,
    org: &OrgId,
    limit: u32,
    cursor: Option<String>,
) -> Result<Page<Membership>, Error> {
    require(d, caller, org, Permission::MembersRead, "organization").await?;
    orgs::list_members(d.store, org, limit, cursor).await
}

/// Change a member's role; an owner giving `owner` to someone shares (and so can transfer) ownership.
pub async fn change_role(
    d: &Deps<'_>,
    caller: &Principal,
    org: &OrgId,
    user: &UserId,
    role: Option<String>,
) -> Result<Membership, Error> {
    let actor = require_current(d, caller, org, Permission::MembersManage).await?;
    let mut v = nexus_core::validation::Validator::new();
    let to = v.parse("/role", role.as_deref(), "unknown_value", |r| {
        nexus_core::validation::one_of(
            r,
            &[
                ("owner", Role::Owner),
                ("admin", Role::Admin),
                ("manager", Role::Manager),
                ("analyst", Role::Analyst),
                ("viewer", Role::Viewer),
            ],
        )
    });
    v.finish()?;
    let to = to.ok_or_else(|| Error::internal("no role"))?;
    let m = orgs::membership(d.store, org, user)
        .await?
        .ok_or(Error::NotFound { resource: "member" })?;
    check_role_change(actor_role(actor), m.role, to)?;
    if m.role == to {
        return Ok(m);
    }
    let now = d.clock.now();
    let e = event(
        "MemberRoleChanged",
        org,
        caller,
        now,
        serde_json::json!({"userId": user, "from": m.role, "to": to}),
    );
    orgs::change_role(d.store, &m, to, Tx::new().event(e)).await
}

/// Remove a member (or leave, when `user` is the caller). The last owner can't leave.
pub async fn remove_member(
    d: &Deps<'_>,
    caller: &Principal,
    org: &OrgId,
    user: &UserId,
) -> Result<(), Error> {
    let leaving = caller.user_id().ok().as_ref() == Some(user);
    let actor = if leaving {
        require(d, caller, org, Permission::OrgRead, "organization").await?;
        None
    } else {
        require_current(d, caller, org, Permission::MembersManage).await?
    };
    let m = orgs::membership(d.store, org, user)
        .await?
        .ok_or(Error::NotFound { resource: "member" })?;
    if !leaving {
        check_role_change(actor_role(actor), m.role, Role::Viewer)?;
    }
    let now = d.clock.now();
    let kind = if leaving {
        "MemberLeft"
    } else {
        "MemberRemoved"
    };
    orgs::remove_member(
        d.store,
        &m,
        Tx::new().event(event(
            kind,
            org,
            caller,
            now,
            serde_json::json!({"userId": user, "role": m.role}),
        )),
    )
    .await
}

/// The role to decide member changes with: the one read just now (API
/// keys, which hold no role, change no one's role).
fn actor_role(current: Option<Role>) -> Role {
    current.unwrap_or(Role::Viewer)
}

/// Let an agency act in this brand with `role` (brand owners only; granting
/// again changes the role). Each agency member acts with the lower of `role`
/// and their own agency role.
pub async fn grant_agency(
    d: &Deps<'_>,
    caller: &Principal,
    brand: &OrgId,
    agency: Option<String>,
    role: Option<String>,
) -> Result<AgencyGrant, Error> {
    let actor = require_current(d, caller, brand, Permission::OrgUpdate).await?;
    caller.user_id()?;
    org::check_grant_agency(actor.unwrap_or(Role::Viewer))?;
    let mut v = nexus_core::validation::Validator::new();
    let agency_id: Option<OrgId> =
        v.parse("/agencyOrgId", agency.as_deref(), "invalid_format", |s| {
            s.parse::<OrgId>()
        });
    let role_result = org::parse_grantable_role("/role", role.as_deref());
    if let Err(Error::Validation(errs)) = &role_result {
        errs.iter().cloned().for_each(|e| v.push(e));
    }
    v.finish()?;
    let (agency_id, role) = (
        agency_id.ok_or_else(|| Error::internal("no agency"))?,
        role_result?,
    );
    let brand_org = org_or_404(d, brand).await?;
    if brand_org.kind != OrgKind::Brand {
        return Err(Error::conflict(
            "not-a-brand",
            "only brand organizations grant agency access",
        ));
    }
    let agency_org = orgs::get(d.store, &agency_id)
        .await?
        .filter(|o| o.kind == OrgKind::Agency)
        .ok_or_else(|| {
            Error::Validation(vec![FieldError::new(
                "/agencyOrgId",
                "unknown_value",
                "no agency organization with this id",
            )])
        })?;
    let now = d.clock.now();
    let grant = AgencyGrant {
        brand_org_id: brand.clone(),
        agency_org_id: agency_id.clone(),
        agency_name: agency_org.name,
        role,
        granted_by: caller.user_id()?,
        granted_at: now,
    };
    let e = event(
        "AgencyGrantCreated",
        brand,
        caller,
        now,
        serde_json::json!({"agencyOrgId": agency_id, "role": role}),
    );
    d.store
        .commit(Tx::new().write(Write::put(&grant)?).event(e))
        .await?;
    Ok(grant)
}

/// End an agency's access to this brand (brand owners and admins). It takes
/// effect at once: the agency's members can't switch into the brand or
/// refresh into it, and their tokens already scoped to it can no longer write.
pub async fn revoke_grant(
    d: &Deps<'_>,
    caller: &Principal,
    brand: &OrgId,
    agency: &OrgId,
) -> Result<(), Error> {
    require_current(d, caller, brand, Permission::OrgUpdate).await?;
    let grant = orgs::grant(d.store, brand, agency)
        .await?
        .ok_or(Error::NotFound {
            resource: "agency grant",
        })?;
    let now = d.clock.now();
    let e = event(
        "AgencyGrantRevoked",
        brand,
        caller,
        now,
        serde_json::json!({"agencyOrgId": agency, "role": grant.role}),
    );
    orgs::revoke_grant(d.store, brand, agency, Tx::new().event(e)).await
}

pub async fn list_grants(
    d: &Deps<'_>,
    caller: &Principal,
    brand: &OrgId,
    limit: u32,
    cursor: Option<String>,
) -> Result<Page<AgencyGrant>, Error> {
    require(d, caller, brand, Permission::OrgRead, "organization").await?;
    orgs::grants_page(d.store, brand, limit, cursor).await
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CreatedKey {
    #[schema(value_type = String)]
    pub id: ApiKeyId,
    /// The key. Shown once: store it now.
    pub key: String,
    pub name: String,
    pub scopes: Vec<String>,
}

/// Create an API key (plans with API access only).
pub async fn create_api_key(
    d: &Deps<'_>,
    caller: &Principal,
    org_id: &OrgId,
    name: Option<String>,
    scopes: Option<Vec<String>>,
) -> Result<CreatedKey, Error> {
    let actor = require_current(d, caller, org_id, Permission::ApiKeysManage).await?;
    let created_by = caller.user_id()?;
    let mut v = nexus_core::validation::Validator::new();
    let name = v.text("/name", name, 1, 100);
    let scopes = match org::parse_scopes(scopes) {
        Ok(s) => Some(s),
        Err(Error::Validation(errs)) => {
            errs.into_iter().for_each(|e| v.push(e));
            None
        }
        Err(e) => return Err(e),
    };
    v.finish()?;
    let (name, scopes) = (name.unwrap_or_default(), scopes.unwrap_or_default());
    // A key never holds more than its creator holds now.
    let role = actor.ok_or_else(|| Error::internal("a user acts with a role"))?;
    org::check_scopes_within(
        &scopes,
        |p| role_allows(role, p),
        &format!("your role ({})", role.as_str()),
    )?;
    let org = org_or_404(d, org_id).await?;
    if org.plan.limits().api_access == Level::None {
        return Err(Error::LimitReached {
            limit: "API keys (API access)",
            plan: org.plan.name().into(),
            max: 0,
        });
    }
    let secret = nexus_auth::secrets::new_token("s");
    let (id, text) = apikeys::mint(org_id, secret.trim_start_matches("s_"));
    let now = d.clock.now();
    let key = ApiKey {
        id: id.clone(),
        org_id: org_id.clone(),
        name: name.clone(),
        scopes: scopes.clone(),
        prefix: text.chars().take(16).collect(),
        hash: nexus_auth::secrets::token_hash(&text),
        created_by,
        created_at: now,
        last_used_at: None,
        revoked_at: None,
    };
    let e = event(
        "ApiKeyCreated",
        org_id,
        caller,
        now,
        serde_json::json!({"keyId": id, "name": name, "scopes": scopes}),
    );
    apikeys::create(d.store, &key, Tx::new().event(e)).await?;
    Ok(CreatedKey {
        id,
        key: text,
        name,
        scopes,
    })
}

pub async fn list_api_keys(
    d: &Deps<'_>,
    caller: &Principal,
    org: &OrgId,
    limit: u32,
    cursor: Option<String>,
) -> Result<Page<ApiKey>, Error> {
    require(d, caller, org, Permission::ApiKeysManage, "organization").await?;
    let mut page = apikeys::list(d.store, org, limit, cursor).await?;
    page.items.iter_mut().for_each(|k| k.hash.clear());
    Ok(page)
}

pub async fn get_api_key(
    d: &Deps<'_>,
    caller: &Principal,
    org: &OrgId,
    id: &ApiKeyId,
) -> Result<ApiKey, Error> {
    require(d, caller, org, Permission::ApiKeysManage, "organization").await?;
    let mut k = apikeys::get(d.store, org, id)
        .await?
        .ok_or(Error::NotFound {
            resource: "API key",
        })?;
    k.hash.clear();
    Ok(k)
}

pub async fn revoke_api_key(
    d: &Deps<'_>,
    caller: &Principal,
    org: &OrgId,
    id: &ApiKeyId,
) -> Result<(), Error> {
    require_current(d, caller, org, Permission::ApiKeysManage).await?;
    let now = d.clock.now();
    apikeys::revoke(
        d.store,
        org,
        id,
        now,
        Tx::new().event(event(
            "ApiKeyRevoked",
            org,
            caller,
            now,
            serde_json::json!({"keyId": id}),
        )),
    )
    .await
}

pub async fn audit_log(
    d: &Deps<'_>,
    caller: &Principal,
    org: &OrgId,
    limit: u32,
    cursor: Option<String>,
) -> Result<Page<AuditEntry>, Error> {
    require(d, caller, org, Permission::AuditRead, "organization").await?;
    audit::list(d.store, org, limit, cursor).await
}
