//! `/start`, `/help`, `/me`, `/whois`, `/invite` and the dialog tree's commands.

use lodge::domain::Member;
use lodge::domain::MemberStatus;
use lodge::invites::InviteError;
use lodge::telegram::escape;
use lodge::telegram::types::{Message, MessageOrigin, SendMessage, User};
use lodge::web::WebError;

use crate::{chat_of, dialog, helpdesk, link, name_of, notify_commands, reply, rules, Command, Turn};

/// What `setMyCommands` registers (see docs/telegram.md, “Set up the bot”).
pub const COMMANDS: &[(&str, &str)] = &[
    ("start", "Start, or link your Lodge account"),
    ("help", "What I can do"),
    ("me", "Your Lodge account"),
    (
        "whois",
        "Who is this? Reply to a message, forward one, or /whois @username",
    ),
    ("invite", "A new invite link (approved members)"),
    ("ask", "Ask the club a question (the helpdesk)"),
    ("top", "Top posts of this week"),
    ("settings", "Your notification settings"),
];

/// True when the command was ours.
pub(crate) async fn run(
    turn: &Turn<'_>,
    msg: &Message,
    member: Option<&Member>,
    cmd: &Command,
) -> Result<bool, WebError> {
    let private = msg.chat.is_private();
    match cmd.name.as_str() {
        "start" if !private => Ok(false),
        "start" if !cmd.arg.is_empty() => link::start_with_token(turn, msg, &cmd.arg).await.map(|_| true),
        "start" => {
            if !dialog::enter(turn, msg, member, "/start").await? {
                help(turn, msg, member).await?;
            }
            Ok(true)
        }
        "help" => help(turn, msg, member).await.map(|_| true),
        "me" if private => me(turn, msg, member).await.map(|_| true),
        "whois" => whois(turn, msg, member, &cmd.arg).await.map(|_| true),
        // Private only: the link is for the member to pass on, not for a group.
        "invite" if private => invite(turn, msg, member).await.map(|_| true),
        "top" if private => notify_commands::top(turn, msg, member).await.map(|_| true),
        "settings" if private => notify_commands::settings(turn, msg, member).await.map(|_| true),
        "rules" if private => rules::command(turn, msg, member).await.map(|_| true),
        "ask" if private => helpdesk::command(turn, msg, member).await.map(|_| true),
        "back" if private => helpdesk::back(turn, msg, member).await.map(|_| true),
        "cancel" if private => {
            if !helpdesk::cancel(turn, msg, member).await? {
                rules::cancel(turn, msg, member).await?;
            }
            Ok(true)
        }
        other if private => {
            let entered = match turn.state.store.dialog().tree().await? {
                Some(t) if t.tree.enters_on(other) => dialog::enter(turn, msg, member, &format!("/{other}")).await?,
                _ => false,
            };
            if !entered {
                let text = "I do not know that command. /help lists the ones I know.";
                reply::send(turn, SendMessage::html(chat_of(msg), text), member).await?;
            }
            Ok(true)
        }
        // Unknown commands in groups may be another bot's.
        _ => Ok(false),
    }
}

async fn help(turn: &Turn<'_>, msg: &Message, member: Option<&Member>) -> Result<(), WebError> {
    let mut text = String::from("I am the Lodge bot.\n\n");
    for (name, what) in COMMANDS {
        text.push_str(&format!("/{name} — {}\n", escape(what)));
    }
    if rules::is_admin(member) {
        text.push_str("\nAdmins: /rules — channel forwarding rules (/cancel stops a new one)\n");
    }
    if member.is_none() && msg.chat.is_private() {
        text.push_str(&format!(
            "\nMembers: link this Telegram account in Settings to use /me, /whois and /invite: {}",
            turn.app.join("/settings")
        ));
    }
    reply::send(turn, SendMessage::html(chat_of(msg), text), member).await
}

fn profile_link(turn: &Turn<'_>, m: &Member) -> String {
    turn.app.join(&lodge::web::paths::member(&m.id))
}

async fn me(turn: &Turn<'_>, msg: &Message, member: Option<&Member>) -> Result<(), WebError> {
    let text = match member {
        Some(m) => format!(
            "<b>{}</b>\nStatus: {}\nRole: {}\nProfile: {}",
            name_of(m),
            m.status.as_str(),
            m.role.as_str(),
            profile_link(turn, m)
        ),
        None => format!(
            "This Telegram account is not linked to a Lodge member. Members link it in Settings: {}",
            turn.app.join("/settings")
        ),
    };
    reply::send(turn, SendMessage::html(chat_of(msg), text), member).await
}

/// Whom `/whois` asks about: the replied-to author, a forward's author, or `@username`.
enum Target<'a> {
    User(&'a User),
    Username(&'a str),
    Hidden,
}

fn target<'a>(msg: &'a Message, arg: &'a str) -> Option<Target<'a>> {
    if let Some(name) = arg
        .split_whitespace()
        .next()
        .and_then(|a| a.strip_prefix('@'))
        .filter(|n| !n.is_empty())
    {
        return Some(Target::Username(name));
    }
    if let Some(replied) = &msg.reply_to_message {
        if let Some(u) = replied.forwarded_from() {
            return Some(Target::User(u));
        }
        if replied.is_forward() {
            return Some(Target::Hidden);
        }
        return replied.from.as_ref().map(Target::User);
    }
    if let Some(u) = msg.forwarded_from() {
        return Some(Target::User(u));
    }
    matches!(msg.forward_origin, Some(MessageOrigin::HiddenUser { .. })).then_some(Target::Hidden)
}

pub(crate) async fn whois(turn: &Turn<'_>, msg: &Message, member: Option<&Member>, arg: &str) -> Result<(), WebError> {
    let chat = chat_of(msg);
    if !member.is_some_and(|m| m.status == MemberStatus::Approved) {
        let text = "Only approved members who linked their Telegram account can look people up.";
        return reply::send(turn, SendMessage::html(chat, text).reply_to(msg.message_id), member).await;
    }
    let store = &turn.state.store;
    let (who, found) = match target(msg, arg) {
        None => {
            let text =
                "Reply to someone's message with /whois, forward me one of their messages, or send /whois @username.";
            return reply::send(turn, SendMessage::html(chat, text).reply_to(msg.message_id), member).await;
        }
        Some(Target::Hidden) => {
            let text = "Its author hides their account when forwarded, so I cannot tell who it is.";
            return reply::send(turn, SendMessage::html(chat, text).reply_to(msg.message_id), member).await;
        }
        Some(Target::User(u)) => (u.handle(), store.telegram().member(u.id).await?),
        Some(Target::Username(name)) => (format!("@{name}"), store.telegram().member_by_username(name).await?),
    };
    // Applicants and rejected people are not shown: only the club's members.
    let text = match found.filter(|m| m.status == MemberStatus::Approved) {
        Some(m) => format!("{} is <b>{}</b>: {}", escape(&who), name_of(&m), profile_link(turn, &m)),
        None => format!(
            "{} is not a Lodge member (or has not linked their Telegram account).",
            escape(&who)
        ),
    };
    reply::send(turn, SendMessage::html(chat, text).reply_to(msg.message_id), member).await
}

async fn invite(turn: &Turn<'_>, msg: &Message, member: Option<&Member>) -> Result<(), WebError> {
    let text = match member {
        None => format!(
            "Link your Lodge account first (Settings: {}).",
            turn.app.join("/settings")
        ),
        Some(m) => match lodge::invites::create(&turn.state.store, m, turn.now, turn.state.invite_limits).await {
            Ok(invite) => {
                tracing::info!(member = %m.id, "invite created in telegram");
                format!(
                    "Here is a new invite link — send it to the person you invite:\n{}\nIt works once and is valid until {}.",
                    turn.app.join(&format!("/invite/{}", invite.code)),
                    lodge::clock::format_utc(invite.valid_until)
                )
            }
            Err(InviteError::NotApproved) => "Only approved members can invite people.".to_string(),
            Err(InviteError::QuotaExhausted { per_month }) => format!(
                "You have used this month's {per_month} invites. New ones are available next month; your invites: {}",
                turn.app.join("/invites")
            ),
            Err(InviteError::Store(e)) => return Err(e.into()),
        },
    };
    reply::send(turn, SendMessage::html(chat_of(msg), text), member).await
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_setup_script_registers_exactly_these_commands() {
        let script = include_str!("../../../infra/telegram-setup.sh");
        let registered = script.matches("{\"command\": \"").count();
        assert_eq!(registered, super::COMMANDS.len());
        for (name, what) in super::COMMANDS {
            assert!(
                script.contains(&format!("{{\"command\": \"{name}\", \"description\": \"{what}\"}}")),
                "/{name}"
            );
        }
    }
}
