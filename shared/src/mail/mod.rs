//! Sending email through SESv2: every message is multipart text + HTML.

use aws_sdk_sesv2::types::{Body, Content, Destination, EmailContent, Message};

use crate::domain::Email;

/// A rendered email, ready to send.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Letter {
    pub subject: String,
    pub text: String,
    pub html: String,
}

#[derive(Debug, thiserror::Error)]
#[error("SES send failed: {0}")]
pub struct MailError(pub String);

#[derive(Clone)]
pub struct Mailer {
    client: aws_sdk_sesv2::Client,
    from: String,
}

impl Mailer {
    pub fn new(client: aws_sdk_sesv2::Client, from: impl Into<String>) -> Self {
        Self {
            client,
            from: from.into(),
        }
    }

    /// Sends one letter; returns SES's message id.
    pub async fn send(&self, to: &Email, letter: &Letter) -> Result<String, MailError> {
        let utf8 = |data: &str| {
            Content::builder()
                .data(data)
                .charset("UTF-8")
                .build()
                .map_err(|e| MailError(e.to_string()))
        };
        let message = Message::builder()
            .subject(utf8(&letter.subject)?)
            .body(
                Body::builder()
                    .text(utf8(&letter.text)?)
                    .html(utf8(&letter.html)?)
                    .build(),
            )
            .build();
        let out = self
            .client
            .send_email()
            .from_email_address(&self.from)
            .destination(Destination::builder().to_addresses(to.as_str()).build())
            .content(EmailContent::builder().simple(message).build())
            .send()
            .await
            .map_err(|e| {
                use aws_sdk_sesv2::error::ProvideErrorMetadata;
                MailError(format!(
                    "{}: {}",
                    e.code().unwrap_or("error"),
                    e.message().unwrap_or(&e.to_string())
                ))
            })?;
        Ok(out.message_id.unwrap_or_default())
    }
}

#[derive(askama::Template)]
#[template(path = "mail/notice.html")]
struct NoticeHtml<'a> {
    heading: &'a str,
    paragraphs: &'a [String],
    action: Option<(&'a str, &'a str)>,
}

#[derive(askama::Template)]
#[template(path = "mail/notice.txt")]
struct NoticeText<'a> {
    heading: &'a str,
    paragraphs: &'a [String],
    action: Option<(&'a str, &'a str)>,
}

/// A plain notification: a heading, some paragraphs, one button.
pub fn notice(subject: &str, heading: &str, paragraphs: &[String], action: Option<(&str, &str)>) -> Letter {
    use askama::Template;
    Letter {
        subject: subject.to_string(),
        text: NoticeText {
            heading,
            paragraphs,
            action,
        }
        .render()
        .unwrap_or_default(),
        html: NoticeHtml {
            heading,
            paragraphs,
            action,
        }
        .render()
        .unwrap_or_default(),
    }
}
