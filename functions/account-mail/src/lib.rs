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

impl State {
    /// Production wiring: Platform from the environment, SES (`MAIL_FROM`), `APP_URL`.
    pub async fn from_env() -> Result<Self, String> {
        let var =
            |k: &str| std::env::var(k).map_err(|_| format!("environment variable {k} is required"));
        let sdk =
            nexus_ports::aws_config::load_defaults(nexus_ports::BehaviorVersion::latest()).await;
        Ok(Self {
            platform: nexus_ports::Platform::from_sdk(nexus_ports::Config::from_env()?, &sdk, None),
            mailer: Arc::new(nexus_ports::mail::SesMailer::new(
                nexus_ports::aws_sdk_sesv2::Client::new(&sdk),
                var("MAIL_FROM")?,
            )),
            app_url: var("APP_URL")?,
        })
    }

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
