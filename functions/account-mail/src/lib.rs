//! EventBridge rule target: account e-mails for `nexus.identity` events
//! (registration, password reset, sign-in codes, e-mail OTP setup, new-login
//! notices), sent off the request path so that no request's answer or timing
//! depends on whether an account exists or on the mail provider. The rules
//! (what each event mails, one secret per e-mail, once per event) are in
//! `nexus_identity::mail`.

use std::sync::Arc;

use aws_lambda_events::eventbridge::EventBridgeEvent;
use lambda_runtime::{Diagnostic, LambdaEvent};
use nexus_core::events::DomainEvent;
use nexus_core::Error;
use nexus_identity::mail::{self, MailDeps};
use nexus_ports::mail::Mailer;

/// The platform, the Mailer (SES in AWS, the local outbox locally) and the
/// app URL links point to.
#[derive(Clone)]
pub struct State {
    pub platform: nexus_ports::Platform,
    pub mailer: Arc<dyn Mailer>,
    pub app_url: String,
}

/// The ports this function calls (the table, e-mail) and `APP_URL`:
/// `main.rs` wires them from AWS (DynamoDB, SES with `MAIL_FROM`), the local
/// platform from its stand-ins.
pub async fn state(w: &impl nexus_ports::WireMail) -> Result<State, String> {
    Ok(State {
        platform: nexus_ports::Platform::new(w)?,
        mailer: w.mailer()?,
        app_url: nexus_ports::Config::required(
            &w.config().app_url,
            "APP_URL",
            "links in account e-mails",
        )?,
    })
}

impl State {
    fn deps(&self) -> MailDeps<'_> {
        MailDeps {
            store: &self.platform.store,
            mailer: self.mailer.as_ref(),
            clock: self.platform.clock.as_ref(),
            app_url: &self.app_url,
        }
    }
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
    mail::handle(&state.deps(), &domain).await.map_err(|err| {
        tracing::error!(event.id = %domain.id, event.kind = %domain.detail_type, error.cause = %err, "account e-mail failed");
        Diagnostic::from(err)
    })
}
