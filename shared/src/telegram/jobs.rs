//! The `telegram` queue: bot work that takes more than a couple of Bot API
//! calls or must survive Bot API hiccups (429 → SQS retry), done by
//! `telegram-worker`.

use serde::{Deserialize, Serialize};

use crate::domain::MemberId;

pub const TELEGRAM_VERSION: u32 = 1;

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
        /// `approve` or `reject:<reason>` (see `keyboards::ModerationCallback`).
        action: String,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jobs_round_trip_with_their_version() {
        let job = TelegramJob::Moderate {
            callback_query_id: "q".into(),
            chat_id: -1,
            message_id: 7,
            moderator: MemberId::generate(),
            member: MemberId::generate(),
            action: "approve".into(),
        };
        let body = crate::queue::encode(&job, TELEGRAM_VERSION);
        assert!(
            body.contains("\"kind\":\"moderate\"") && body.contains("\"v\":1"),
            "{body}"
        );
        let mut msg = aws_lambda_events::sqs::SqsMessage::default();
        msg.body = Some(body);
        assert_eq!(crate::queue::parse::<TelegramJob>(&msg, TELEGRAM_VERSION).unwrap(), job);
    }
}
