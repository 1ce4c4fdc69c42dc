//! EventBridge rule target: marketplace events (`nexus.campaigns`,
//! `nexus.contracts`, `nexus.creators`) become in-app notifications for the
//! creator and the brand's owners, admins and managers, each also e-mailed.
//!
//! EventBridge delivers at least once. A notification's id is the event's, so
//! a redelivered event stores nothing new and sends no second e-mail. An
//! e-mail that fails is logged and not retried (the notification is stored).

use std::sync::Arc;

use aws_lambda_events::eventbridge::EventBridgeEvent;
use lambda_runtime::{Diagnostic, LambdaEvent};
use nexus_core::events::DomainEvent;
use nexus_core::ids::{OrgId, UserId};
use nexus_core::Error;
use nexus_market::notify::{self, Recipient, BRAND_ROLES};
use nexus_market::repo;
use nexus_ports::mail::{Email, Mailer};
use nexus_store::repos::{orgs, users};

/// The platform plus the Mailer (SES in AWS, the local outbox locally).
#[derive(Clone)]
pub struct State {
    pub platform: nexus_ports::Platform,
    pub mailer: Arc<dyn Mailer>,
}

/// The ports this function calls (the table with paging, e-mail): `main.rs`
/// wires them from AWS (SES, `MAIL_FROM`), the local platform from its
/// stand-ins.
pub async fn state(
    w: &(impl nexus_ports::WirePaging + nexus_ports::WireMail),
) -> Result<State, String> {
    Ok(State {
        platform: nexus_ports::Platform::new(w)?.paging(w)?,
        mailer: w.mailer()?,
    })
}

pub async fn handler(
    state: &State,
    event: LambdaEvent<EventBridgeEvent<serde_json::Value>>,
) -> Result<(), Diagnostic> {
    let e = &event.payload;
    let Some(domain) = DomainEvent::from_envelope(&e.source, &e.detail_type, &e.detail) else {
        // Not retryable: after Lambda's async retries it lands in the on-failure queue.
        return Err(Error::field("/detail", "invalid_format", "not a NEXUS domain event").into());
    };
    let Some(plan) = notify::plan(&domain)? else {
        tracing::debug!(event.id = %domain.id, event.kind = %domain.detail_type, "notifies no one");
        return Ok(());
    };
    let mut stored = 0;
    let mut duplicates = 0;
    for message in &plan.messages {
        let users = match message.to {
            Recipient::Creator => vec![plan.creator_id.clone()],
            Recipient::Brand => match &plan.org_id {
                Some(org) => brand_people(state, org).await?,
                None => vec![],
            },
        };
        for user in users {
            let n = plan.notification(&domain, message, user);
            if repo::notify(&state.platform.store, &n).await? {
                stored += 1;
                mail(state, &n).await?;
            } else {
                duplicates += 1;
            }
        }
    }
    tracing::info!(event.id = %domain.id, event.kind = %domain.detail_type, stored, duplicates, "notified");
    Ok(())
}

/// The brand's members who hear about the marketplace (all pages).
async fn brand_people(state: &State, org: &OrgId) -> Result<Vec<UserId>, Error> {
    let mut people = vec![];
    let mut cursor = None;
    loop {
        let page = orgs::list_members(&state.platform.store, org, 100, cursor).await?;
        people.extend(
            page.items
                .into_iter()
                .filter(|m| BRAND_ROLES.contains(&m.role))
                .map(|m| m.user_id),
        );
        cursor = page.next_cursor;
        if cursor.is_none() {
            return Ok(people);
        }
    }
}

/// E-mail a newly stored notification to its user (if the user still exists).
async fn mail(state: &State, n: &nexus_market::notification::Notification) -> Result<(), Error> {
    let Some(user) = users::get(&state.platform.store, &n.user_id).await? else {
        tracing::warn!(user.id = %n.user_id, "notified user not found; no e-mail");
        return Ok(());
    };
    let email = Email {
        to: user.email.as_str().to_owned(),
        template: "notification",
        subject: n.title.clone(),
        text: format!("{}\n\nOpen NEXUS to see it.", n.body),
        token: None,
        link: n.link.clone(),
    };
    if let Err(e) = state.mailer.send(&email).await {
        tracing::warn!(user.id = %n.user_id, notification.id = %n.id, error.message = %e, "notification e-mail not sent");
    }
    Ok(())
}
