//! Message contracts of every SQS queue but `forward` (whose contract,
//! `forwarding::job::ForwardJob`, is part of forwarding). Each message is an
//! `Envelope`: the contract's version beside its body.

use aws_lambda_events::sqs::SqsMessage;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::MessageError;
use crate::domain::notification::{ContentEvent, Delivery, Kind};
use crate::domain::{Email, MemberId};
use crate::mail::Letter;
use crate::moderation::Decision;

/// A queue's message type. `VERSION` goes out with every message and must
/// match on the way in, so consumers can evolve.
pub trait Contract: Serialize + DeserializeOwned {
    const VERSION: u32;
}

/// The `notify` queue: side effects that may be retried without the user waiting.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Notification {
    /// Deliver an already-rendered email. `id` makes redelivery idempotent.
    Email { id: String, to: Email, letter: Letter },
    /// A member sent their intro for review (at `at`): tell the moderators.
    IntroSubmitted { member_id: MemberId, at: i64 },
    /// A moderator decided on a member (at `at`): tell the member.
    Decided { member_id: MemberId, at: i64 },
    /// One notification to one member on one channel (issue 13), queued by
    /// `fanout`; idempotent per `Delivery::key`.
    Deliver { delivery: Delivery },
    /// A member reported a post or comment (`target` is `POST#<id>` or
    /// `COMMENT#<id>`): tell the admin chat, when one is configured.
    Reported {
        target: String,
        reporter: MemberId,
        at: i64,
    },
}

/// Every message carries its contract version so consumers can evolve.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Envelope<T> {
    pub v: u32,
    #[serde(flatten)]
    pub body: T,
}

impl Contract for Notification {
    const VERSION: u32 = 1;
}

/// The `telegram` queue: bot work that takes more than a couple of Bot API
/// calls or must survive Bot API hiccups (429 → SQS retry), done by
/// `telegram-worker`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum TelegramJob {
    /// A moderator pressed a moderation button in the admin chat (the
    /// webhook checked chat and moderator): decide, answer the press, edit
    /// the message, tell the applicant.
    Moderate {
        callback_query_id: String,
        chat_id: i64,
        message_id: i64,
        moderator: MemberId,
        member: MemberId,
        /// Queued as its action string, `approve` or `reject:<reason>`.
        action: Decision,
    },
}

impl Contract for TelegramJob {
    const VERSION: u32 = 1;
}

/// The `content` queue (issue 13): something members may hear about, sent
/// by the code that wrote it once its write committed; `fanout` turns it
/// into recipients (`notify::ContentEvent`).
impl Contract for ContentEvent {
    const VERSION: u32 = 1;
}

/// One slice of a big event's audience, which `fanout` queues on its own
/// queue: an audience larger than a slice is split, so one invocation
/// writes at most a slice's inbox entries and stays far inside its timeout
/// however many members follow a post (docs/notifications.md, "Big audiences").
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AudienceSlice {
    #[serde(rename = "slice_of")]
    pub event: ContentEvent,
    /// The members of this slice, each with why they hear of it.
    pub members: Vec<(MemberId, Kind)>,
}

impl Contract for AudienceSlice {
    const VERSION: u32 = 1;
}

/// What the `content` queue carries, as its consumer reads it: an event
/// sent by the code that wrote it, or a slice of one sent by `fanout`.
/// Each keeps its own shape on the wire (a slice is told by its `slice_of`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ContentMessage {
    Slice(AudienceSlice),
    Event(ContentEvent),
}

impl Contract for ContentMessage {
    const VERSION: u32 = 1;
}

/// The `digest` queue: one weekly issue for up to 50 members
/// (`digest::MEMBERS_PER_MESSAGE`), planned by `digest-planner` and sent
/// by `digest-sender` (docs/digests.md).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DigestBatch {
    pub issue: crate::domain::digest::IssueId,
    pub members: Vec<MemberId>,
}

impl Contract for DigestBatch {
    const VERSION: u32 = 1;
}

/// Parses a message body into its contract, rejecting other versions.
pub fn parse<T: Contract>(msg: &SqsMessage) -> Result<T, MessageError> {
    let body = msg.body.as_deref().unwrap_or_default();
    let env: Envelope<T> =
        serde_json::from_str(body).map_err(|e| MessageError::Retry(format!("malformed message: {e}")))?;
    if env.v != T::VERSION {
        return Err(MessageError::Retry(format!("unsupported message version {}", env.v)));
    }
    Ok(env.body)
}

pub fn encode<T: Contract>(body: &T) -> String {
    serde_json::to_string(&Envelope { v: T::VERSION, body }).expect("message contracts serialise")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(id: &str, body: &str) -> SqsMessage {
        let mut m = SqsMessage::default();
        m.message_id = Some(id.into());
        m.body = Some(body.into());
        m
    }

    #[test]
    fn the_content_queue_reads_events_and_slices_as_they_were_sent() {
        let event = ContentEvent::IntroDecided {
            member: MemberId::generate(),
            approved: true,
            at_ms: 5,
        };
        let slice = AudienceSlice {
            event: event.clone(),
            members: vec![(MemberId::generate(), Kind::FollowedPost)],
        };
        let read = |body: String| parse::<ContentMessage>(&msg("1", &body)).unwrap();
        assert_eq!(read(encode(&event)), ContentMessage::Event(event));
        assert_eq!(read(encode(&slice)), ContentMessage::Slice(slice));
        assert!(matches!(
            parse::<ContentMessage>(&msg("2", r#"{"v":1,"event":"nonsense"}"#)),
            Err(MessageError::Retry(_))
        ));
    }

    #[test]
    fn contracts_round_trip_with_version() {
        let n = Notification::Email {
            id: "1".into(),
            to: Email::parse("a@b.org").unwrap(),
            letter: Letter {
                subject: "s".into(),
                text: "t".into(),
                html: "h".into(),
                headers: Vec::new(),
            },
        };
        let body = encode(&n);
        assert!(
            body.contains("\"v\":1") && body.contains("\"kind\":\"email\""),
            "{body}"
        );
        assert_eq!(parse::<Notification>(&msg("m", &body)).unwrap(), n);
        assert!(parse::<Notification>(&msg("m", &body.replace("\"v\":1", "\"v\":2"))).is_err());
        assert!(parse::<Notification>(&msg("m", "{")).is_err());
    }

    #[test]
    fn telegram_jobs_round_trip_with_their_version() {
        let job = TelegramJob::Moderate {
            callback_query_id: "q".into(),
            chat_id: -1,
            message_id: 7,
            moderator: MemberId::generate(),
            member: MemberId::generate(),
            action: Decision::Approve,
        };
        let body = encode(&job);
        assert!(
            body.contains("\"kind\":\"moderate\"")
                && body.contains("\"v\":1")
                && body.contains("\"action\":\"approve\""),
            "{body}"
        );
        assert_eq!(parse::<TelegramJob>(&msg("m", &body)).unwrap(), job);
    }
}
