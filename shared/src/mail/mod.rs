//! Sending email through SESv2: every message is multipart text + HTML,
//! with custom headers (`List-Unsubscribe`, see `unsubscribe`).

pub mod unsubscribe;

use aws_sdk_sesv2::types::{Body, Content, Destination, EmailContent, Message, MessageHeader};

use crate::domain::Email;

/// A rendered email, ready to send.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Letter {
    pub subject: String,
    pub text: String,
    pub html: String,
    /// Extra headers, e.g. `unsubscribe::headers` (SES allows 15).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub headers: Vec<(String, String)>,
}

impl Letter {
    pub fn with_headers(mut self, headers: Vec<(String, String)>) -> Self {
        self.headers.extend(headers);
        self
    }
}

/// Why SES did not take a letter. The two call for opposite handling: a
/// rejection is final for this letter and address (retrying sends nothing),
/// a transient failure is worth retrying later.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MailError {
    /// Refused for good: the address, the sender identity or the content.
    #[error("SES rejected the letter: {0}")]
    Rejected(String),
    /// Throttling, an SES-side failure, a timeout or a lost connection.
    #[error("SES send failed: {0}")]
    Transient(String),
}

impl MailError {
    pub fn is_permanent(&self) -> bool {
        matches!(self, MailError::Rejected(_))
    }

    /// From SESv2's error code (`SendEmail`'s documented errors); `None`
    /// when the call never got an answer (timeout, connection).
    pub fn classify(code: Option<&str>, detail: String) -> Self {
        match code {
            // The letter or its address is at fault.
            Some(
                "MessageRejected"
                | "MailFromDomainNotVerifiedException"
                | "BadRequestException"
                | "InvalidParameterValue"
                | "NotFoundException",
            ) => MailError::Rejected(detail),
            // Throttling, a paused or suspended account (an operator fixes
            // it: the queue's retries and DLQ alarm surface it), 5xx, and
            // anything not understood: retry rather than lose the letter.
            _ => MailError::Transient(detail),
        }
    }
}

#[derive(Clone)]
pub struct Mailer {
    client: aws_sdk_sesv2::Client,
    from: String,
    /// SES configuration set: routes bounce and complaint events (docs/digests.md).
    configuration_set: Option<String>,
    reply_to: Option<String>,
}

impl Mailer {
    pub fn new(client: aws_sdk_sesv2::Client, from: impl Into<String>) -> Self {
        Self {
            client,
            from: from.into(),
            configuration_set: None,
            reply_to: None,
        }
    }

    /// `LODGE_MAIL_FROM`, and when set `LODGE_MAIL_CONFIGURATION_SET` and `LODGE_MAIL_REPLY_TO`.
    pub fn from_env(env: &crate::Env, aws: &crate::aws::SdkConfig) -> Result<Self, crate::ConfigError> {
        let reply_to = env
            .optional("LODGE_MAIL_REPLY_TO")
            .map(|raw| {
                Email::parse(raw)
                    .map(|e| e.to_string())
                    .map_err(|e| crate::ConfigError::new("LODGE_MAIL_REPLY_TO", e.to_string()))
            })
            .transpose()?;
        let mut m = Self::new(crate::aws::sesv2(aws), env.required("LODGE_MAIL_FROM")?);
        m.configuration_set = env.optional("LODGE_MAIL_CONFIGURATION_SET").map(str::to_string);
        m.reply_to = reply_to;
        Ok(m)
    }

    /// Sends one letter; returns SES's message id.
    pub async fn send(&self, to: &Email, letter: &Letter) -> Result<String, MailError> {
        let utf8 = |data: &str| {
            Content::builder()
                .data(data)
                .charset("UTF-8")
                .build()
                .map_err(|e| MailError::Rejected(e.to_string()))
        };
        let headers = letter
            .headers
            .iter()
            .map(|(name, value)| {
                MessageHeader::builder()
                    .name(name)
                    .value(value)
                    .build()
                    .map_err(|e| MailError::Rejected(e.to_string()))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let message = Message::builder()
            .subject(utf8(&letter.subject)?)
            .body(
                Body::builder()
                    .text(utf8(&letter.text)?)
                    .html(utf8(&letter.html)?)
                    .build(),
            )
            .set_headers((!headers.is_empty()).then_some(headers))
            .build();
        let out = self
            .client
            .send_email()
            .from_email_address(&self.from)
            .set_configuration_set_name(self.configuration_set.clone())
            .set_reply_to_addresses(self.reply_to.clone().map(|r| vec![r]))
            .destination(Destination::builder().to_addresses(to.as_str()).build())
            .content(EmailContent::builder().simple(message).build())
            .send()
            .await
            .map_err(|e| {
                use aws_sdk_sesv2::error::ProvideErrorMetadata;
                let detail = format!(
                    "{}: {}",
                    e.code().unwrap_or("error"),
                    e.message().unwrap_or(&e.to_string())
                );
                MailError::classify(e.code(), detail)
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
        headers: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejections_are_told_apart_from_transient_failures() {
        for code in [
            "MessageRejected",
            "MailFromDomainNotVerifiedException",
            "BadRequestException",
        ] {
            assert!(MailError::classify(Some(code), code.into()).is_permanent(), "{code}");
        }
        for code in [
            Some("TooManyRequestsException"),
            Some("LimitExceededException"),
            Some("SendingPausedException"),
            Some("InternalFailure"),
            Some("ServiceUnavailable"),
            None,
        ] {
            assert!(!MailError::classify(code, "x".into()).is_permanent(), "{code:?}");
        }
    }
}
