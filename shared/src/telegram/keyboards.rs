//! Keyboards the bot shows, and the callback data its inline buttons carry.

use super::types::*;
use crate::domain::MemberId;
use crate::moderation::Decision;

pub use crate::domain::dialog::{BACK, RESTART};

/// A reply keyboard: one button per row (labels are sentences, not digits),
/// then Back and Restart, which are always there.
pub fn dialog(labels: &[&str]) -> ReplyMarkup {
    let mut rows: Vec<Vec<KeyboardButton>> = labels
        .iter()
        .map(|l| vec![KeyboardButton { text: (*l).to_string() }])
        .collect();
    rows.push(vec![
        KeyboardButton { text: BACK.into() },
        KeyboardButton { text: RESTART.into() },
    ]);
    ReplyMarkup::Keyboard(ReplyKeyboardMarkup {
        keyboard: rows,
        resize_keyboard: true,
        is_persistent: true,
    })
}

pub fn remove() -> ReplyMarkup {
    ReplyMarkup::Remove(ReplyKeyboardRemove { remove_keyboard: true })
}

pub fn inline(rows: Vec<Vec<(String, String)>>) -> InlineKeyboardMarkup {
    InlineKeyboardMarkup {
        inline_keyboard: rows
            .into_iter()
            .map(|row| {
                row.into_iter()
                    .map(|(text, data)| InlineButton {
                        text,
                        callback_data: Some(data),
                        url: None,
                    })
                    .collect()
            })
            .collect(),
    }
}

/// What a moderation button asks for. Encoded as `mod:<member id>:<action>`
/// (Telegram allows 64 bytes of callback data).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ModerationCallback {
    pub member_id: MemberId,
    pub decision: Decision,
}

impl ModerationCallback {
    pub fn encode(&self) -> String {
        format!("mod:{}:{}", self.member_id, self.decision.action())
    }

    /// A button's data; `None` for anything but a member id and a known action.
    pub fn parse(data: &str) -> Option<Self> {
        let (member_id, action) = data.strip_prefix("mod:")?.split_once(':')?;
        Some(Self {
            member_id: MemberId::parse(member_id).ok()?,
            decision: Decision::from_action(action)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::moderation::RejectReason;

    #[test]
    fn moderation_callbacks_round_trip_within_64_bytes() {
        let id = MemberId::generate();
        let cb = ModerationCallback {
            member_id: id.clone(),
            decision: Decision::Reject(RejectReason::NotRealName),
        };
        let data = cb.encode();
        assert!(data.len() <= 64, "{data}");
        assert_eq!(data, format!("mod:{id}:reject:not_real_name"));
        assert_eq!(ModerationCallback::parse(&data), Some(cb.clone()));
        for bad in [
            "mod:x:approve",
            &format!("mod:{id}:delete"),
            &format!("mod:{id}:reject:"),
            &format!("mod:{id}:reject:other"),
            "dlg:1",
        ] {
            assert_eq!(ModerationCallback::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn dialog_keyboard_always_ends_with_back_and_restart() {
        let ReplyMarkup::Keyboard(k) = dialog(&["A", "B"]) else {
            panic!()
        };
        assert_eq!(k.keyboard.len(), 3);
        assert_eq!(k.keyboard[2][0].text, BACK);
        assert_eq!(k.keyboard[2][1].text, RESTART);
    }
}
