//! `/top` (this week's top posts, as links) and `/settings` (where
//! notifications are set, and what they are set to), in private chat, for
//! linked, approved members: posts and settings are members-only.

use lodge::domain::{Member, MemberStatus};
use lodge::feed::{FeedOrder, TopPeriod};
use lodge::notify::render;
use lodge::notify::{Channel, Kind};
use lodge::store::feed::{Card, Mutes};
use lodge::store::listing::Listing;
use lodge::store::notifications::Settings;
use lodge::telegram::escape;
use lodge::telegram::types::{Message, SendMessage};
use lodge::web::WebError;

use crate::{chat_of, reply, Turn};

/// How many posts `/top` lists.
const TOP: usize = 10;

pub(crate) async fn top(turn: &Turn<'_>, msg: &Message, member: Option<&Member>) -> Result<(), WebError> {
    let text = match approved(turn, member) {
        Err(told) => told,
        Ok(m) => {
            let page = turn
                .state
                .store
                .feed()
                .page(
                    &Listing::All,
                    FeedOrder::Top(TopPeriod::Week),
                    None,
                    &Mutes::of(m),
                    None,
                    turn.state.clock.now_ms(),
                )
                .await?
                .map_err(|e| WebError::internal(format!("the first page had a cursor error: {e}")))?;
            let cards: Vec<&Card> = page.cards.iter().map(|c| &c.card).take(TOP).collect();
            top_text(turn, &cards)
        }
    };
    reply::send(turn, SendMessage::html(chat_of(msg), text), member).await
}

fn top_text(turn: &Turn<'_>, cards: &[&Card]) -> String {
    if cards.is_empty() {
        return format!(
            "No posts this week yet. The feed: {}",
            turn.app.join("/?sort=top&period=week")
        );
    }
    let mut out = String::from("<b>This week's top posts</b>\n");
    for (i, c) in cards.iter().enumerate() {
        let url = turn.app.join(&render::post_path(&c.id));
        out.push_str(&format!(
            "\n{}. <a href=\"{}\">{}</a> · 👍 {} · 💬 {}",
            i + 1,
            escape(&url),
            escape(&render::clip(&c.title, render::TITLE_CHARS)),
            c.upvotes,
            c.comment_count
        ));
    }
    out.push_str(&format!(
        "\n\nMore: {}",
        escape(&turn.app.join("/?sort=top&period=week"))
    ));
    out
}

pub(crate) async fn settings(turn: &Turn<'_>, msg: &Message, member: Option<&Member>) -> Result<(), WebError> {
    let text = match approved(turn, member) {
        Err(told) => told,
        Ok(m) => {
            let settings = turn.state.store.notifications().settings(&m.id).await?;
            settings_text(&settings, &turn.app.join("/settings/notifications"))
        }
    };
    reply::send(turn, SendMessage::html(chat_of(msg), text), member).await
}

/// Each channel's state: how many kinds of notification it carries.
fn settings_text(s: &Settings, url: &str) -> String {
    let on = |channel| {
        Kind::ALL
            .iter()
            .filter(|k| s.prefs.wants(**k, channel, s.telegram_linked))
            .count()
    };
    let of = Kind::ALL.len();
    let state = |n: usize| match n {
        0 => "off".to_string(),
        n if n == of => "on".to_string(),
        n => format!("on for {n} of {of} kinds"),
    };
    let mut email = state(on(Channel::Email));
    if let Some(why) = s.email_stopped {
        email = format!("stopped ({})", escape(why));
    }
    format!(
        "<b>Your notifications</b>\nWeb inbox: {}\nTelegram (here): {}\nEmail: {}\nDigest: {}\n\nChange them: {}",
        state(on(Channel::Web)),
        state(on(Channel::Telegram)),
        email,
        s.digest.as_str(),
        escape(url)
    )
}

fn approved<'m>(turn: &Turn<'_>, member: Option<&'m Member>) -> Result<&'m Member, String> {
    match member {
        Some(m) if m.status == MemberStatus::Approved => Ok(m),
        Some(_) => Err("This is for approved members, and your account is not approved yet.".into()),
        None => Err(format!(
            "Link this Telegram account to your Lodge account first (Settings: {}).",
            turn.app.join("/settings")
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lodge::notify::Prefs;

    #[test]
    fn settings_say_each_channel_state() {
        let mut prefs = Prefs::default();
        prefs.set(Kind::RoomPost, Channel::Telegram, false);
        let s = Settings {
            prefs,
            telegram_linked: true,
            ..Settings::default()
        };
        let text = settings_text(&s, "https://l.example/settings/notifications");
        assert!(text.contains("Web inbox: on\n"), "{text}");
        assert!(text.contains("Telegram (here): on for 6 of 7 kinds"), "{text}");
        assert!(text.contains("Email: off"), "{text}");
        assert!(text.contains("https://l.example/settings/notifications"), "{text}");
    }
}
