//! SES bounce and complaint events, from the configuration set through SNS.
//! A permanent (hard) bounce or a complaint marks the member's address
//! undeliverable: no digest or notification goes to it until the member
//! says it is fixed in settings. Transient (soft) bounces are only logged:
//! SES retried them already. Marking is a conditional write, so SNS
//! redelivering an event changes nothing and counts nothing twice.

use lodge::domain::digest::{Undeliverable, UndeliverableKind};
use lodge::domain::Email;
use lodge::store::Store;
use lodge::{ConfigError, Env, SharedClock};
use serde::Deserialize;

pub struct State {
    store: Store,
    clock: SharedClock,
}

impl State {
    pub fn from_env(env: &Env, aws: &lodge::aws::SdkConfig, clock: SharedClock) -> Result<Self, ConfigError> {
        Ok(Self {
            store: Store::from_env(env, aws)?,
            clock,
        })
    }
}

#[derive(Deserialize)]
struct SnsEvent {
    #[serde(rename = "Records", default)]
    records: Vec<SnsRecord>,
}

#[derive(Deserialize)]
struct SnsRecord {
    #[serde(rename = "Sns")]
    sns: SnsMessage,
}

#[derive(Deserialize)]
struct SnsMessage {
    #[serde(rename = "MessageId", default)]
    message_id: String,
    #[serde(rename = "Message")]
    message: String,
}

/// An SES event (configuration-set `eventType`, or identity notification
/// `notificationType`), reduced to the addresses that must stop.
#[derive(Debug, PartialEq, Eq)]
pub struct Stop {
    pub kind: UndeliverableKind,
    pub addresses: Vec<(String, String)>,
}

/// Which addresses an SES event stops, if any.
pub fn parse_ses_event(raw: &str) -> Result<Option<Stop>, String> {
    let v: serde_json::Value = serde_json::from_str(raw).map_err(|e| format!("not an SES event: {e}"))?;
    let kind = v["eventType"]
        .as_str()
        .or_else(|| v["notificationType"].as_str())
        .unwrap_or_default();
    let (kind, list, detail) = match kind {
        "Bounce" if v["bounce"]["bounceType"] == "Permanent" => (
            UndeliverableKind::Bounce,
            &v["bounce"]["bouncedRecipients"],
            "diagnosticCode",
        ),
        "Complaint" => (
            UndeliverableKind::Complaint,
            &v["complaint"]["complainedRecipients"],
            "complaintFeedbackType",
        ),
        _ => return Ok(None),
    };
    let addresses = list
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|r| {
                    let address = r["emailAddress"].as_str()?.to_string();
                    let why = r[detail]
                        .as_str()
                        .or_else(|| v["complaint"]["complaintFeedbackType"].as_str())
                        .unwrap_or(kind.as_str())
                        .to_string();
                    Some((address, why))
                })
                .collect()
        })
        .unwrap_or_default();
    Ok(Some(Stop { kind, addresses }))
}

pub async fn handler(state: &State, event: serde_json::Value) -> Result<(), String> {
    let event: SnsEvent = serde_json::from_value(event).map_err(|e| format!("not an SNS event: {e}"))?;
    use tracing::Instrument;
    for record in event.records {
        let span = tracing::info_span!("sns_message", message_id = %record.sns.message_id);
        message(state, &record.sns.message).instrument(span).await?;
    }
    Ok(())
}

async fn message(state: &State, message: &str) -> Result<(), String> {
    let stop = match parse_ses_event(message) {
        Ok(Some(stop)) => stop,
        Ok(None) => {
            tracing::info!("SES event needs no action");
            return Ok(());
        }
        Err(e) => {
            // Retrying would not make it parse.
            tracing::error!(error = %e, "SES event ignored");
            return Ok(());
        }
    };
    for (address, detail) in stop.addresses {
        let Ok(email) = Email::parse(&address) else {
            tracing::warn!("SES event names a malformed address");
            continue;
        };
        let mark = Undeliverable {
            kind: stop.kind,
            at: state.clock.now(),
            detail,
        };
        // A store failure fails the invocation: SNS retries it.
        let marked = state
            .store
            .digests()
            .mark_undeliverable(&email, &mark)
            .await
            .map_err(|e| lodge::telemetry::chain(&e))?;
        tracing::info!(kind = stop.kind.as_str(), to = %email.fingerprint(), marked, "address undeliverable");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hard_bounces_and_complaints_stop_soft_bounces_do_not() {
        let hard = r#"{"eventType":"Bounce","bounce":{"bounceType":"Permanent","bouncedRecipients":[{"emailAddress":"a@b.org","diagnosticCode":"550 no such user"}]}}"#;
        let stop = parse_ses_event(hard).unwrap().unwrap();
        assert_eq!(stop.kind, UndeliverableKind::Bounce);
        assert_eq!(
            stop.addresses,
            [("a@b.org".to_string(), "550 no such user".to_string())]
        );
        let soft = r#"{"notificationType":"Bounce","bounce":{"bounceType":"Transient","bouncedRecipients":[{"emailAddress":"a@b.org"}]}}"#;
        assert_eq!(parse_ses_event(soft).unwrap(), None);
        let complaint = r#"{"notificationType":"Complaint","complaint":{"complainedRecipients":[{"emailAddress":"c@d.org"}],"complaintFeedbackType":"abuse"}}"#;
        let stop = parse_ses_event(complaint).unwrap().unwrap();
        assert_eq!(stop.kind, UndeliverableKind::Complaint);
        assert_eq!(stop.addresses[0].1, "abuse");
        assert_eq!(parse_ses_event(r#"{"eventType":"Delivery"}"#).unwrap(), None);
        assert!(parse_ses_event("nope").is_err());
    }
}
