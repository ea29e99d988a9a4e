//! Keyboards the bot shows, and the callback data its inline buttons carry.

use super::types::*;

pub const BACK: &str = "⬅️ Back";
pub const RESTART: &str = "🔄 Restart";

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
    pub member_id: String,
    /// `approve` or `reject:<reason>`.
    pub action: String,
}

impl ModerationCallback {
    pub fn encode(&self) -> String {
        format!("mod:{}:{}", self.member_id, self.action)
    }

    pub fn parse(data: &str) -> Option<Self> {
        let rest = data.strip_prefix("mod:")?;
        let (member_id, action) = rest.split_once(':')?;
        let valid_action = action == "approve"
            || action
                .strip_prefix("reject:")
                .is_some_and(|r| !r.is_empty() && r.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'));
        (crate::domain::MemberId::parse(member_id).is_ok() && valid_action).then(|| Self {
            member_id: member_id.into(),
            action: action.into(),
        })
    }

    /// The reason code of a rejection, if this is one.
    pub fn reject_reason(&self) -> Option<&str> {
        self.action.strip_prefix("reject:")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn moderation_callbacks_round_trip_within_64_bytes() {
        let id = crate::domain::MemberId::generate().to_string();
        let cb = ModerationCallback {
            member_id: id.clone(),
            action: "reject:not_real_name".into(),
        };
        let data = cb.encode();
        assert!(data.len() <= 64, "{data}");
        assert_eq!(ModerationCallback::parse(&data), Some(cb.clone()));
        assert_eq!(cb.reject_reason(), Some("not_real_name"));
        for bad in [
            "mod:x:approve",
            &format!("mod:{id}:delete"),
            &format!("mod:{id}:reject:"),
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
