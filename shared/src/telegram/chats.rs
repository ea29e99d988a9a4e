//! The chats the bot is in, learnt from `my_chat_member` updates (Telegram
//! has no "list my chats" method); the store keeps the list.

use super::types::{Chat, ChatMemberUpdated};
use crate::domain::BotChat;

/// What the bot's membership change means for the list; `None` when the
/// bot left or was removed, and for private chats (those are people).
pub fn listing(u: &ChatMemberUpdated, now: i64) -> Option<BotChat> {
    if u.chat.is_private() || !u.new_chat_member.is_present() {
        return None;
    }
    let member = &u.new_chat_member;
    let can_post = match u.chat.kind.as_str() {
        "channel" => {
            member.status == "creator" || (member.status == "administrator" && member.can_post_messages != Some(false))
        }
        _ => true,
    };
    Some(BotChat {
        id: u.chat.id,
        title: title_of(&u.chat),
        kind: u.chat.kind.clone(),
        status: member.status.clone(),
        can_post,
        updated_at: now,
    })
}

fn title_of(chat: &Chat) -> String {
    match (&chat.title, &chat.username) {
        (Some(t), _) if !t.trim().is_empty() => t.trim().to_string(),
        (_, Some(u)) => format!("@{u}"),
        _ => chat.id.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::telegram::types::ChatMember;

    fn update(kind: &str, status: &str, can_post: Option<bool>) -> ChatMemberUpdated {
        serde_json::from_value(serde_json::json!({
            "chat": {"id": -1001, "type": kind, "title": " News "},
            "from": {"id": 5, "first_name": "Ada"},
            "new_chat_member": ChatMember { status: status.into(), can_post_messages: can_post },
        }))
        .unwrap()
    }

    #[test]
    fn membership_changes_become_list_entries() {
        let admin = listing(&update("channel", "administrator", Some(true)), 7).unwrap();
        assert_eq!(
            (admin.title.as_str(), admin.can_post, admin.updated_at),
            ("News", true, 7)
        );
        assert!(
            !listing(&update("channel", "administrator", Some(false)), 7)
                .unwrap()
                .can_post
        );
        assert!(!listing(&update("channel", "member", None), 7).unwrap().can_post);
        assert!(listing(&update("supergroup", "member", None), 7).unwrap().can_post);
        for gone in ["left", "kicked"] {
            assert_eq!(listing(&update("channel", gone, None), 7), None);
        }
        assert_eq!(listing(&update("private", "member", None), 7), None);
    }
}
