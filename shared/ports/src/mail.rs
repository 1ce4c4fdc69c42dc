//! The Mailer port: SES in AWS; locally, an outbox the local platform lists
//! at `GET /_local/outbox?to=<email>` (a local-only route, never deployed).

use std::sync::Mutex;

use async_trait::async_trait;
use serde::Serialize;

/// One message. `token`/`link` are the machine-usable parts of the text
/// (the local outbox shows them; SES sends only subject and bodies).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Email {
    pub to: String,
    /// What kind of message (`verify-email`, `password-reset`, `login-code`, `new-login`, `invitation`, …).
    pub template: &'static str,
    pub subject: String,
    pub text: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub link: Option<String>,
}

#[async_trait]
pub trait Mailer: Send + Sync {
    async fn send(&self, email: &Email) -> Result<(), String>;
}

/// Amazon SES v2 `SendEmail` (simple content, UTF-8; feature `ses`).
#[cfg(feature = "ses")]
pub struct SesMailer {
    client: aws_sdk_sesv2::Client,
    from: String,
}

#[cfg(feature = "ses")]
impl SesMailer {
    pub fn new(client: aws_sdk_sesv2::Client, from: String) -> Self {
        Self { client, from }
    }
}

#[cfg(feature = "ses")]
#[async_trait]
impl Mailer for SesMailer {
    async fn send(&self, email: &Email) -> Result<(), String> {
        use aws_sdk_sesv2::types::{Body, Content, Destination, EmailContent, Message};
        let content = |s: &str| {
            Content::builder()
                .data(s)
                .charset("UTF-8")
                .build()
                .map_err(|e| e.to_string())
        };
        let message = Message::builder()
            .subject(content(&email.subject)?)
            .body(Body::builder().text(content(&email.text)?).build())
            .build();
        self.client
            .send_email()
            .from_email_address(&self.from)
            .destination(Destination::builder().to_addresses(&email.to).build())
            .content(EmailContent::builder().simple(message).build())
            .email_tags(
                aws_sdk_sesv2::types::MessageTag::builder()
                    .name("template")
                    .value(email.template)
                    .build()
                    .map_err(|e| e.to_string())?,
            )
            .send()
            .await
            .map_err(|e| {
                use aws_sdk_sesv2::error::ProvideErrorMetadata;
                format!(
                    "SES SendEmail: {}",
                    e.code().or(e.message()).unwrap_or("request failed")
                )
            })?;
        Ok(())
    }
}

/// Local stand-in: keeps every message in memory, newest last.
#[derive(Default)]
pub struct LocalOutbox {
    messages: Mutex<Vec<(jiff::Timestamp, Email)>>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OutboxMessage {
    pub sent_at: jiff::Timestamp,
    #[serde(flatten)]
    pub email: Email,
}

impl LocalOutbox {
    /// Messages to `to` (all when `None`), newest first.
    pub fn list(&self, to: Option<&str>) -> Vec<OutboxMessage> {
        let to = to.map(|t| t.trim().to_lowercase());
        let guard = self.messages.lock().unwrap_or_else(|e| e.into_inner());
        guard
            .iter()
            .rev()
            .filter(|(_, e)| to.as_deref().is_none_or(|t| e.to == t))
            .map(|(at, e)| OutboxMessage {
                sent_at: *at,
                email: e.clone(),
            })
            .collect()
    }
}

#[async_trait]
impl Mailer for LocalOutbox {
    async fn send(&self, email: &Email) -> Result<(), String> {
        tracing::info!(
            mail.template = email.template,
            "local outbox: message stored"
        );
        self.messages
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push((jiff::Timestamp::now(), email.clone()));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wiremock::matchers::{method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    fn email() -> Email {
        Email {
            to: "jane@example.com".into(),
            template: "verify-email",
            subject: "Verify your e-mail".into(),
            text: "Open https://app/verify?token=t".into(),
            token: Some("t".into()),
            link: Some("https://app/verify?token=t".into()),
        }
    }

    #[tokio::test]
    async fn ses_adapter_sends_simple_content() {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path("/v2/email/outbound-emails"))
            .respond_with(
                ResponseTemplate::new(200).set_body_json(serde_json::json!({"MessageId": "m-1"})),
            )
            .expect(1)
            .mount(&server)
            .await;
        let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .region(aws_config::Region::new("us-east-1"))
            .credentials_provider(aws_sdk_sesv2::config::Credentials::new(
                "a", "b", None, None, "t",
            ))
            .endpoint_url(server.uri())
            .load()
            .await;
        SesMailer::new(
            aws_sdk_sesv2::Client::new(&sdk),
            "NEXUS <no-reply@nexus.dev>".into(),
        )
        .send(&email())
        .await
        .unwrap();
        let req = &server.received_requests().await.unwrap()[0];
        let body: serde_json::Value = serde_json::from_slice(&req.body).unwrap();
        assert_eq!(body["Destination"]["ToAddresses"][0], "jane@example.com");
        assert_eq!(
            body["Content"]["Simple"]["Subject"]["Data"],
            "Verify your e-mail"
        );
    }

    #[tokio::test]
    async fn ses_rejections_surface() {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .respond_with(
                ResponseTemplate::new(400)
                    .insert_header("x-amzn-ErrorType", "MessageRejected")
                    .set_body_json(
                        serde_json::json!({"message": "Email address is not verified."}),
                    ),
            )
            .mount(&server)
            .await;
        let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .region(aws_config::Region::new("us-east-1"))
            .credentials_provider(aws_sdk_sesv2::config::Credentials::new(
                "a", "b", None, None, "t",
            ))
            .endpoint_url(server.uri())
            .load()
            .await;
        let err = SesMailer::new(aws_sdk_sesv2::Client::new(&sdk), "x@y.z".into())
            .send(&email())
            .await
            .unwrap_err();
        assert!(err.contains("MessageRejected"), "{err}");
    }

    #[tokio::test]
    async fn local_outbox_lists_newest_first_per_recipient() {
        let o = LocalOutbox::default();
        o.send(&email()).await.unwrap();
        let mut second = email();
        second.subject = "second".into();
        o.send(&second).await.unwrap();
        let mut other = email();
        other.to = "bob@example.com".into();
        o.send(&other).await.unwrap();
        let list = o.list(Some("Jane@Example.com"));
        assert_eq!(list.len(), 2);
        assert_eq!(list[0].email.subject, "second");
        assert_eq!(o.list(None).len(), 3);
    }
}
