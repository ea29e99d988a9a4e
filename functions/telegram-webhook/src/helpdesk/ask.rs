//! `/ask`: title → question → confirm in a private chat, with Back and
//! Cancel as buttons and as `/back` and `/cancel`. The draft lives in
//! DynamoDB (a webhook call keeps nothing) and changes by read → step →
//! write-if-unchanged, like the `/rules` drafts; only the buttons of the
//! draft's latest message act.

use lodge::domain::question::QuestionDraft;
use lodge::domain::{Member, PostId};
use lodge::store::helpdesk::StoredQuestion;
use lodge::store::posts::{Creation, PostError};
use lodge::store::ring::Ring;
use lodge::store::StoreError;
use lodge::telegram::types::{CallbackQuery, Message, ReplyMarkup, SendMessage};
use lodge::web::WebError;

use super::buttons::AskButton;
use super::views::{self, Screen};
use super::{approved, channel};
use crate::{chat_of, reply, Turn};

const ONLY_MEMBERS: &str =
    "Only approved members ask the club questions here, once they linked this Telegram account in Settings.";

enum Outcome {
    /// No draft, or the press came from an older message.
    Stale,
    /// The step refused the input; the draft is unchanged.
    Refused(String),
    Saved(StoredQuestion),
}

/// Applies `step` to the user's draft. `message`: the message pressed, which
/// must be the draft's (typed input and commands have none).
async fn update(
    turn: &Turn<'_>,
    user: i64,
    message: Option<i64>,
    step: impl Fn(&mut QuestionDraft) -> Result<(), String>,
) -> Result<Outcome, WebError> {
    let drafts = turn.state.store.question_drafts();
    // A conflict means another tap saved first: redo the step on its result.
    for _ in 0..3 {
        let Some(read) = drafts.get(user, turn.now).await? else {
            return Ok(Outcome::Stale);
        };
        if message.is_some_and(|m| m != read.draft.message_id) {
            return Ok(Outcome::Stale);
        }
        let mut draft = read.draft.clone();
        if let Err(why) = step(&mut draft) {
            return Ok(Outcome::Refused(why));
        }
        match drafts.save(user, &read, draft, turn.now).await {
            Ok(saved) => return Ok(Outcome::Saved(saved)),
            Err(StoreError::Conflict) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(WebError::unavailable(
        "the question draft",
        "it kept changing under concurrent taps",
    ))
}

async fn send(
    turn: &Turn<'_>,
    chat: i64,
    screen: Screen,
    member: Option<&Member>,
) -> Result<Option<Message>, WebError> {
    let msg = SendMessage::html(chat, screen.text).markup(ReplyMarkup::Inline(screen.keyboard));
    reply::sent(turn, msg, member).await
}

/// Shows `saved`'s step in a new message (below the member's), which then
/// owns the draft: the buttons of the one above go stale.
async fn show_below(
    turn: &Turn<'_>,
    chat: i64,
    user: i64,
    saved: StoredQuestion,
    member: &Member,
) -> Result<(), WebError> {
    if let Some(sent) = send(turn, chat, views::step(&saved.draft), Some(member)).await? {
        let mut draft = saved.draft.clone();
        draft.message_id = sent.message_id;
        match turn
            .state
            .store
            .question_drafts()
            .save(user, &saved, draft, turn.now)
            .await
        {
            // Another tap moved on meanwhile: its message owns the draft.
            Ok(_) | Err(StoreError::Conflict) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}

/// `/ask` in a private chat: a new draft (replacing any earlier one).
pub(crate) async fn command(turn: &Turn<'_>, msg: &Message, member: Option<&Member>) -> Result<(), WebError> {
    let chat = chat_of(msg);
    let (Some(asker), Some(from)) = (approved(member), &msg.from) else {
        return reply::send(turn, SendMessage::html(chat, ONLY_MEMBERS), member).await;
    };
    let draft = QuestionDraft::new(PostId::generate(turn.state.clock.now_ms()), 0);
    let drafts = turn.state.store.question_drafts();
    let started = drafts.start(from.id, draft, turn.now).await?;
    tracing::info!(member = %asker.id, "question draft started");
    show_below(turn, chat, from.id, started, asker).await
}

/// Text (not a command) in a private chat while the member has a draft.
/// False when there is none: the message is for the rest of the bot.
pub(crate) async fn input(turn: &Turn<'_>, msg: &Message, member: Option<&Member>) -> Result<bool, WebError> {
    let (Some(from), Some(text)) = (&msg.from, msg.text.as_deref()) else {
        return Ok(false);
    };
    let chat = chat_of(msg);
    let Some(asker) = approved(member) else {
        return Ok(false);
    };
    match update(turn, from.id, None, |d| d.type_text(text)).await? {
        Outcome::Stale => Ok(false),
        Outcome::Refused(why) => {
            let text = format!("⚠️ {}\nTry again, or /cancel.", lodge::telegram::escape(&why));
            reply::send(turn, SendMessage::html(chat, text), member).await?;
            Ok(true)
        }
        Outcome::Saved(saved) => show_below(turn, chat, from.id, saved, asker).await.map(|_| true),
    }
}

/// `/back`: one step back, shown in a new message.
pub(crate) async fn back(turn: &Turn<'_>, msg: &Message, member: Option<&Member>) -> Result<(), WebError> {
    let chat = chat_of(msg);
    let (Some(from), Some(asker)) = (&msg.from, approved(member)) else {
        return reply::send(turn, SendMessage::html(chat, ONLY_MEMBERS), member).await;
    };
    match update(turn, from.id, None, QuestionDraft::back).await? {
        Outcome::Stale => {
            let text = "There is no question to go back in: /ask starts one.";
            reply::send(turn, SendMessage::html(chat, text), member).await
        }
        Outcome::Refused(why) => {
            reply::send(turn, SendMessage::html(chat, lodge::telegram::escape(&why)), member).await
        }
        Outcome::Saved(saved) => show_below(turn, chat, from.id, saved, asker).await,
    }
}

/// `/cancel`: drops the draft and takes the buttons off its message. False
/// when there is no question draft (the `/rules` drafts' `/cancel` then runs).
pub(crate) async fn cancel(turn: &Turn<'_>, msg: &Message, member: Option<&Member>) -> Result<bool, WebError> {
    let Some(from) = &msg.from else { return Ok(false) };
    let drafts = turn.state.store.question_drafts();
    let Some(read) = drafts.get(from.id, turn.now).await? else {
        return Ok(false);
    };
    let chat = chat_of(msg);
    drafts.delete(from.id).await?;
    let done = views::plain("Cancelled: the question was not posted.");
    reply::edit(turn, chat, read.draft.message_id, done.text, done.keyboard).await;
    let text = "Cancelled. Nothing was posted; /ask starts again.";
    reply::send(turn, SendMessage::html(chat, text), member).await?;
    Ok(true)
}

/// A press of an `/ask` button. Every press is answered, or the button spins.
pub(crate) async fn press(turn: &Turn<'_>, cb: &CallbackQuery, pressed: AskButton) -> Result<(), WebError> {
    let Some(message) = cb.message.as_ref().filter(|m| m.chat.is_private()) else {
        return reply::stale_button(turn, cb).await;
    };
    let (chat, at) = (message.chat.id, message.message_id);
    let user = cb.from.id;
    let drafts = turn.state.store.question_drafts();
    let (toast, screen) = match pressed {
        AskButton::Back => match update(turn, user, Some(at), QuestionDraft::back).await? {
            Outcome::Stale => return reply::stale_button(turn, cb).await,
            Outcome::Refused(why) => {
                reply::answer_callback(turn, cb, &why, true).await;
                return Ok(());
            }
            Outcome::Saved(saved) => ("", views::step(&saved.draft)),
        },
        AskButton::Cancel => {
            if drafts
                .get(user, turn.now)
                .await?
                .is_none_or(|d| d.draft.message_id != at)
            {
                return reply::stale_button(turn, cb).await;
            }
            drafts.delete(user).await?;
            (
                "Cancelled.",
                views::plain("Cancelled: the question was not posted. /ask starts again."),
            )
        }
        AskButton::Post => {
            let Some(read) = drafts.get(user, turn.now).await?.filter(|d| d.draft.message_id == at) else {
                return reply::stale_button(turn, cb).await;
            };
            match confirm(turn, cb, &read.draft).await? {
                Ok(screen) => {
                    drafts.delete(user).await?;
                    ("Posted.", screen)
                }
                Err(why) => {
                    reply::answer_callback(turn, cb, &why, true).await;
                    return Ok(());
                }
            }
        }
    };
    reply::edit(turn, chat, at, screen.text, screen.keyboard).await;
    reply::answer_callback(turn, cb, toast, false).await;
    Ok(())
}

/// Creates the draft's question post (or finds it, when an earlier press
/// made it) and posts it to the helpdesk channel. `Err(why)` is a refusal
/// for the member; the draft stays, to post once the refusal has passed.
async fn confirm(
    turn: &Turn<'_>,
    cb: &CallbackQuery,
    draft: &QuestionDraft,
) -> Result<Result<Screen, String>, WebError> {
    let store = &turn.state.store;
    let member = store.telegram().member(cb.from.id).await?;
    let Some(asker) = approved(member.as_ref()) else {
        return Ok(Err(ONLY_MEMBERS.to_string()));
    };
    let post = match draft.post() {
        Ok(p) => p,
        Err(why) => return Ok(Err(why)),
    };
    let how = Creation {
        id: Some(draft.post_id.clone()),
        also: Some(Ring::QUESTIONS),
    };
    let now_ms = turn.state.clock.now_ms();
    let card = match lodge::writing::create_post(store, &turn.state.content, &post, asker, now_ms, &how).await {
        Ok((card, _)) => {
            tracing::info!(post = %card.id, member = %asker.id, "helpdesk question asked");
            card
        }
        Err(PostError::Exists) => store
            .posts()
            .card(&draft.post_id)
            .await?
            .ok_or_else(|| WebError::unavailable("the question", "it exists but cannot be read"))?,
        Err(PostError::LimitedBy(_, full)) => {
            return Ok(Err(format!(
                "You can ask {} questions per 24 hours. The next one is possible at {}; your question is kept until then: tap Post it again.",
                Ring::QUESTIONS.size,
                lodge::clock::format_utc(full.frees_at_ms.div_euclid(1000) + 1)
            )))
        }
        Err(PostError::Limited(full)) => {
            return Ok(Err(format!(
                "You can start 3 posts per 24 hours, and questions count. The next one is possible at {}; tap Post it again then.",
                lodge::clock::format_utc(full.frees_at_ms.div_euclid(1000) + 1)
            )))
        }
        Err(PostError::Busy) => return Ok(Err("Many people are posting right now. Please tap again.".into())),
        Err(PostError::Store(e)) => return Err(e.into()),
        Err(e) => return Err(WebError::unavailable("the question", e)),
    };
    // Before the draft goes: if the channel is out of reach this update is
    // given back, and Telegram's redelivery finds the post and tries again.
    channel::announce(turn, &card).await?;
    let url = turn.app.join(&format!("/posts/{}", card.id));
    Ok(Ok(views::posted(&card.title, &url)))
}
