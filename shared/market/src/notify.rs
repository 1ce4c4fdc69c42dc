//! Which marketplace events notify whom, and what the notification says.
//!
//! Pure: [`plan`] reads a [`DomainEvent`] and answers the recipients (the
//! creator, the brand's owners/admins/managers) with a title, a body and an
//! API link. The `notifier` function resolves "brand" to people, stores one
//! [`Notification`] per person and e-mails it.

use nexus_core::events::DomainEvent;
use nexus_core::ids::{NotificationId, OrgId, UserId};
use nexus_core::principal::Role;
use nexus_core::Error;
use serde::Deserialize;

use crate::contract::DeliverableStatus;
use crate::events::kind;
use crate::notification::Notification;

/// Who a message is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recipient {
    /// The creator of the event (`creatorId`).
    Creator,
    /// The brand (`orgId`): its members with a role in [`BRAND_ROLES`].
    Brand,
}

/// Brand members who hear about the marketplace.
pub const BRAND_ROLES: [Role; 3] = [Role::Owner, Role::Admin, Role::Manager];

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub to: Recipient,
    pub title: String,
    pub body: String,
    /// API path of what it is about.
    pub link: String,
}

/// The messages of one event and the parties they resolve against.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    pub creator_id: UserId,
    /// The brand tenant (`None` for creator-only events such as verification).
    pub org_id: Option<OrgId>,
    pub messages: Vec<Message>,
}

impl Plan {
    /// The stored notification of this plan's `message` for `user` (the id
    /// comes from the event, so a redelivered event is recognised).
    pub fn notification(
        &self,
        event: &DomainEvent,
        message: &Message,
        user: UserId,
    ) -> Notification {
        Notification {
            id: NotificationId::from_ulid(event.id.ulid()),
            user_id: user,
            kind: event.detail_type.clone(),
            title: message.title.clone(),
            body: message.body.clone(),
            link: Some(message.link.clone()),
            read: false,
            created_at: event.occurred_at,
            event_id: event.id.to_string(),
        }
    }
}

/// The `data` fields notifications read (all event kinds; each kind requires its own).
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Data {
    creator_id: Option<UserId>,
    org_id: Option<OrgId>,
    campaign_id: Option<String>,
    campaign_title: Option<String>,
    application_id: Option<String>,
    contract_id: Option<String>,
    decision: Option<String>,
    reason: Option<String>,
    n: Option<u32>,
    to: Option<DeliverableStatus>,
    #[serde(default)]
    late: bool,
    note: Option<String>,
    due_at: Option<String>,
    request_id: Option<String>,
    kind: Option<String>,
    status: Option<String>,
}

fn required<'a, T>(v: &'a Option<T>, field: &str) -> Result<&'a T, Error> {
    v.as_ref().ok_or_else(|| {
        Error::field(
            format!("/detail/data/{field}"),
            "required",
            format!("{field} is required"),
        )
    })
}

fn with_reason(text: String, label: &str, reason: &Option<String>) -> String {
    match reason.as_deref().map(str::trim).filter(|r| !r.is_empty()) {
        Some(r) => format!("{text} {label}: {r}"),
        None => text,
    }
}

/// The notifications `event` causes: `Ok(None)` for kinds that notify no one;
/// an error when a notifying event lacks what it needs (it never will have it).
pub fn plan(event: &DomainEvent) -> Result<Option<Plan>, Error> {
    let t = event.detail_type.as_str();
    let notifying = [
        kind::CREATOR_INVITED,
        kind::APPLICATION_SUBMITTED,
        kind::APPLICATION_DECIDED,
        kind::CONTRACT_CREATED,
        kind::CONTRACT_SIGNED,
        kind::CONTRACT_CANCELLATION_REQUESTED,
        kind::CONTRACT_CANCELLED,
        kind::CONTRACT_COMPLETED,
        kind::DELIVERABLE_TRANSITIONED,
        kind::DELIVERABLE_DUE_SOON,
        kind::DELIVERABLE_OVERDUE,
        kind::VERIFICATION_REVIEWED,
    ];
    if !notifying.contains(&t) {
        return Ok(None);
    }
    let d: Data = serde_json::from_value(event.data.clone())
        .map_err(|e| Error::field("/detail/data", "invalid_format", e.to_string()))?;
    let creator_id = required(&d.creator_id, "creatorId")?.clone();
    let msg = |to, title: &str, body: String, link: &str| Message {
        to,
        title: title.to_owned(),
        body,
        link: link.to_owned(),
    };
    let title_of = |d: &Data| {
        d.campaign_title
            .clone()
            .unwrap_or_else(|| "a campaign".into())
    };
    let mut org_id = d.org_id.clone();
    let messages = match t {
        kind::CREATOR_INVITED | kind::APPLICATION_SUBMITTED | kind::APPLICATION_DECIDED => {
            org_id = Some(required(&d.org_id, "orgId")?.clone());
            let cmp = required(&d.campaign_id, "campaignId")?;
            let app = required(&d.application_id, "applicationId")?;
            let title = title_of(&d);
            let app_link = format!("/v1/campaigns/{cmp}/applications/{app}");
            match t {
                kind::CREATOR_INVITED => vec![msg(
                    Recipient::Creator,
                    "You're invited to a campaign",
                    format!("A brand invited you to apply to \u{201c}{title}\u{201d}."),
                    &format!("/v1/campaigns/{cmp}"),
                )],
                kind::APPLICATION_SUBMITTED => vec![msg(
                    Recipient::Brand,
                    "New application",
                    format!("A creator applied to \u{201c}{title}\u{201d}."),
                    &app_link,
                )],
                _ => {
                    let (head, text) = match required(&d.decision, "decision")?.as_str() {
                        "shortlist" => ("You're shortlisted", "shortlisted your application"),
                        "reject" => ("Application declined", "declined your application"),
                        "counter" => (
                            "Counter-offer received",
                            "made a counter-offer on your application",
                        ),
                        "accept" => ("Application accepted", "accepted your application"),
                        other => {
                            return Err(Error::field(
                                "/detail/data/decision",
                                "unknown_value",
                                format!("unknown decision {other:?}"),
                            ))
                        }
                    };
                    let body = format!("The brand {text} to \u{201c}{title}\u{201d}.");
                    vec![msg(
                        Recipient::Creator,
                        head,
                        with_reason(body, "Reason", &d.reason),
                        &app_link,
                    )]
                }
            }
        }
        kind::CONTRACT_CREATED
        | kind::CONTRACT_SIGNED
        | kind::CONTRACT_CANCELLATION_REQUESTED
        | kind::CONTRACT_CANCELLED
        | kind::CONTRACT_COMPLETED => {
            org_id = Some(required(&d.org_id, "orgId")?.clone());
            let ctr = required(&d.contract_id, "contractId")?;
            let title = title_of(&d);
            let (head, what) = match t {
                kind::CONTRACT_CREATED => ("New contract", "is ready to be signed"),
                kind::CONTRACT_SIGNED => ("Contract signed", "was signed"),
                kind::CONTRACT_CANCELLATION_REQUESTED => {
                    ("Cancellation requested", "has a cancellation request")
                }
                kind::CONTRACT_CANCELLED => ("Contract cancelled", "was cancelled"),
                _ => ("Contract completed", "is complete"),
            };
            let body = with_reason(
                format!("The contract for \u{201c}{title}\u{201d} {what}."),
                "Reason",
                &d.reason,
            );
            let link = format!("/v1/contracts/{ctr}");
            vec![
                msg(Recipient::Creator, head, body.clone(), &link),
                msg(Recipient::Brand, head, body, &link),
            ]
        }
        kind::DELIVERABLE_TRANSITIONED | kind::DELIVERABLE_DUE_SOON | kind::DELIVERABLE_OVERDUE => {
            org_id = Some(required(&d.org_id, "orgId")?.clone());
            let ctr = required(&d.contract_id, "contractId")?;
            let n = *required(&d.n, "n")?;
            let link = format!("/v1/contracts/{ctr}/deliverables/{n}");
            match t {
                kind::DELIVERABLE_TRANSITIONED => {
                    let late = if d.late { " (late)" } else { "" };
                    match required(&d.to, "to")? {
                        DeliverableStatus::Submitted => vec![msg(
                            Recipient::Brand,
                            "Deliverable submitted",
                            format!("Deliverable #{n} was submitted{late} and awaits your review."),
                            &link,
                        )],
                        DeliverableStatus::ChangesRequested => vec![msg(
                            Recipient::Creator,
                            "Changes requested",
                            with_reason(
                                format!("The brand asked for changes to deliverable #{n}."),
                                "Note",
                                &d.note,
                            ),
                            &link,
                        )],
                        DeliverableStatus::Approved => vec![msg(
                            Recipient::Creator,
                            "Deliverable approved",
                            with_reason(
                                format!("The brand approved deliverable #{n}."),
                                "Note",
                                &d.note,
                            ),
                            &link,
                        )],
                        DeliverableStatus::Rejected => vec![msg(
                            Recipient::Creator,
                            "Deliverable rejected",
                            with_reason(
                                format!("The brand rejected deliverable #{n}."),
                                "Note",
                                &d.note,
                            ),
                            &link,
                        )],
                        DeliverableStatus::Pending | DeliverableStatus::Cancelled => vec![],
                    }
                }
                kind::DELIVERABLE_DUE_SOON => {
                    let due = required(&d.due_at, "dueAt")?;
                    vec![msg(
                        Recipient::Creator,
                        "Deliverable due soon",
                        format!("Deliverable #{n} is due {due}."),
                        &link,
                    )]
                }
                _ => {
                    let due = required(&d.due_at, "dueAt")?;
                    let body = format!("Deliverable #{n} was due {due} and is overdue.");
                    vec![
                        msg(Recipient::Brand, "Deliverable overdue", body.clone(), &link),
                        msg(Recipient::Creator, "Deliverable overdue", body, &link),
                    ]
                }
            }
        }
        _ => {
            // VerificationReviewed
            required(&d.request_id, "requestId")?;
            let what = required(&d.kind, "kind")?;
            let (head, text) = match required(&d.status, "status")?.as_str() {
                "approved" => ("Verification approved", "was approved"),
                "rejected" => ("Verification rejected", "was rejected"),
                other => {
                    return Err(Error::field(
                        "/detail/data/status",
                        "unknown_value",
                        format!("unknown review status {other:?}"),
                    ))
                }
            };
            let body = with_reason(
                format!("Your {what} verification {text}."),
                "Reason",
                &d.reason,
            );
            vec![msg(Recipient::Creator, head, body, "/v1/creators/me")]
        }
    };
    Ok(Some(Plan {
        creator_id,
        org_id,
        messages,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use nexus_core::Timestamp;
    use serde_json::{json, Value};

    const USR: &str = "usr_01JDQ8M3ZP6T0N7W4C5B2X9Y8K";
    const ORG: &str = "org_01JDQ8M3ZP6T0N7W4C5B2X9Y8M";

    fn event(kind: &str, data: Value) -> DomainEvent {
        crate::events::event(
            crate::events::CAMPAIGNS,
            kind,
            None,
            "system",
            Timestamp::now(),
            data,
        )
    }

    fn recipients(kind: &str, data: Value) -> Vec<Recipient> {
        plan(&event(kind, data))
            .unwrap()
            .unwrap()
            .messages
            .iter()
            .map(|m| m.to)
            .collect()
    }

    fn app(extra: Value) -> Value {
        let mut v = json!({"campaignId": "cmp_1", "campaignTitle": "Glow", "applicationId": "app_1", "creatorId": USR, "orgId": ORG});
        v.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        v
    }

    fn contract(extra: Value) -> Value {
        let mut v = json!({"contractId": "ctr_1", "campaignId": "cmp_1", "campaignTitle": "Glow", "creatorId": USR, "orgId": ORG, "n": 2, "dueAt": "2026-12-01T00:00:00Z"});
        v.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        v
    }

    #[test]
    fn each_kind_reaches_its_recipients() {
        use Recipient::{Brand, Creator};
        let cases: Vec<(&str, Value, Vec<Recipient>)> = vec![
            (kind::CREATOR_INVITED, app(json!({})), vec![Creator]),
            (kind::APPLICATION_SUBMITTED, app(json!({})), vec![Brand]),
            (
                kind::APPLICATION_DECIDED,
                app(json!({"decision": "accept"})),
                vec![Creator],
            ),
            (
                kind::CONTRACT_CREATED,
                contract(json!({})),
                vec![Creator, Brand],
            ),
            (
                kind::CONTRACT_SIGNED,
                contract(json!({})),
                vec![Creator, Brand],
            ),
            (
                kind::CONTRACT_CANCELLATION_REQUESTED,
                contract(json!({})),
                vec![Creator, Brand],
            ),
            (
                kind::CONTRACT_CANCELLED,
                contract(json!({})),
                vec![Creator, Brand],
            ),
            (
                kind::CONTRACT_COMPLETED,
                contract(json!({})),
                vec![Creator, Brand],
            ),
            (
                kind::DELIVERABLE_TRANSITIONED,
                contract(json!({"from": "PENDING", "to": "SUBMITTED", "late": true})),
                vec![Brand],
            ),
            (
                kind::DELIVERABLE_TRANSITIONED,
                contract(json!({"from": "SUBMITTED", "to": "CHANGES_REQUESTED", "late": false})),
                vec![Creator],
            ),
            (
                kind::DELIVERABLE_TRANSITIONED,
                contract(json!({"from": "SUBMITTED", "to": "APPROVED", "late": false})),
                vec![Creator],
            ),
            (
                kind::DELIVERABLE_TRANSITIONED,
                contract(json!({"from": "SUBMITTED", "to": "REJECTED", "late": false})),
                vec![Creator],
            ),
            (
                kind::DELIVERABLE_TRANSITIONED,
                contract(json!({"from": "PENDING", "to": "CANCELLED", "late": false})),
                vec![],
            ),
            (
                kind::DELIVERABLE_DUE_SOON,
                contract(json!({})),
                vec![Creator],
            ),
            (
                kind::DELIVERABLE_OVERDUE,
                contract(json!({})),
                vec![Brand, Creator],
            ),
            (
                kind::VERIFICATION_REVIEWED,
                json!({"requestId": "vrq_1", "creatorId": USR, "kind": "social", "status": "approved"}),
                vec![Creator],
            ),
        ];
        for (k, data, want) in cases {
            assert_eq!(recipients(k, data.clone()), want, "{k} {data}");
        }
    }

    #[test]
    fn texts_carry_the_campaign_reason_and_link() {
        let p = plan(&event(
            kind::APPLICATION_DECIDED,
            app(json!({"decision": "reject", "reason": "budget"})),
        ))
        .unwrap()
        .unwrap();
        let m = &p.messages[0];
        assert_eq!(m.title, "Application declined");
        assert!(
            m.body.contains("Glow") && m.body.ends_with("Reason: budget"),
            "{}",
            m.body
        );
        assert_eq!(m.link, "/v1/campaigns/cmp_1/applications/app_1");
        assert_eq!(p.creator_id.to_string(), USR);
        assert_eq!(
            p.org_id.as_ref().map(ToString::to_string).as_deref(),
            Some(ORG)
        );

        let p = plan(&event(
            kind::DELIVERABLE_TRANSITIONED,
            contract(json!({"to": "SUBMITTED", "late": true})),
        ))
        .unwrap()
        .unwrap();
        assert!(
            p.messages[0].body.contains("#2 was submitted (late)"),
            "{}",
            p.messages[0].body
        );
        assert_eq!(p.messages[0].link, "/v1/contracts/ctr_1/deliverables/2");

        let v = plan(&event(
            kind::VERIFICATION_REVIEWED,
            json!({"requestId": "vrq_1", "creatorId": USR, "kind": "phone", "status": "rejected", "reason": "blurry"}),
        ))
        .unwrap()
        .unwrap();
        assert_eq!(v.org_id, None);
        assert_eq!(
            v.messages[0].body,
            "Your phone verification was rejected. Reason: blurry"
        );
    }

    #[test]
    fn notification_id_comes_from_the_event() {
        let e = event(kind::CREATOR_INVITED, app(json!({})));
        let p = plan(&e).unwrap().unwrap();
        let user: UserId = USR.parse().unwrap();
        let a = p.notification(&e, &p.messages[0], user.clone());
        let b = p.notification(&e, &p.messages[0], user);
        assert_eq!(a, b);
        assert_eq!(a.id.ulid(), e.id.ulid());
        assert!(a.id.to_string().starts_with("ntf_"));
        assert_eq!(a.kind, "CreatorInvited");
        assert!(!a.read);
    }

    #[test]
    fn other_kinds_notify_no_one() {
        assert_eq!(
            plan(&event(kind::CAMPAIGN_CREATED, json!({}))).unwrap(),
            None
        );
        assert_eq!(plan(&event("SomethingNew", json!(null))).unwrap(), None);
    }

    #[test]
    fn a_notifying_event_without_its_fields_is_an_error() {
        for (k, data) in [
            (kind::CREATOR_INVITED, json!({"creatorId": USR})),
            (kind::APPLICATION_SUBMITTED, json!({"campaignId": "cmp_1"})),
            (kind::APPLICATION_DECIDED, app(json!({"decision": "maybe"}))),
            (
                kind::CONTRACT_SIGNED,
                json!({"creatorId": USR, "orgId": ORG}),
            ),
            (
                kind::DELIVERABLE_TRANSITIONED,
                contract(json!({"to": "SOMEWHERE"})),
            ),
            (
                kind::VERIFICATION_REVIEWED,
                json!({"requestId": "vrq_1", "creatorId": USR, "kind": "social", "status": "pending"}),
            ),
            (kind::CONTRACT_CREATED, json!("not an object")),
        ] {
            let err = plan(&event(k, data.clone())).unwrap_err();
            assert!(matches!(err, Error::Validation(_)), "{k} {data}: {err:?}");
        }
    }
}
