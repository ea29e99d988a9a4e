//! A new rule, step by step. The draft lives in DynamoDB (a webhook call
//! keeps nothing) and is changed by read → step → write-if-unchanged, so two
//! quick taps both count. Only the buttons of the draft's latest message act;
//! older ones answer "does nothing any more".

use lodge::domain::Member;
use lodge::forwarding::draft::{parse_chat, RuleDraft, StepError, WizardStep};
use lodge::store::rule_drafts::StoredDraft;
use lodge::store::StoreError;
use lodge::telegram::types::{CallbackQuery, Message, MessageOrigin, SendMessage};
use lodge::web::WebError;

use super::views::{self, Chats};
use super::{load, send, Button, Place};
use crate::{chat_of, reply, Turn};

enum Outcome {
    /// No draft, or the press came from an older message.
    Stale,
    /// The step refused the input; the draft is unchanged.
    Refused(StepError),
    Saved(StoredDraft),
}

/// Applies `step` to the user's draft. `message`: the message pressed, which
/// must be the draft's (typed input has none).
async fn update(
    turn: &Turn<'_>,
    user: i64,
    message: Option<i64>,
    step: impl Fn(&mut RuleDraft) -> Result<(), StepError>,
) -> Result<Outcome, WebError> {
    let store = &turn.state.store;
    // A conflict means another tap saved first: redo the step on its result.
    for _ in 0..3 {
        let Some(read) = store.rule_drafts().get(user, turn.now).await? else {
            return Ok(Outcome::Stale);
        };
        if message.is_some_and(|m| m != read.draft.message_id) {
            return Ok(Outcome::Stale);
        }
        let mut draft = read.draft.clone();
        if let Err(why) = step(&mut draft) {
            return Ok(Outcome::Refused(why));
        }
        match store.rule_drafts().save(user, &read, draft, turn.now).await {
            Ok(saved) => return Ok(Outcome::Saved(saved)),
            Err(StoreError::Conflict) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(WebError::unavailable(
        "the rule draft",
        "it kept changing under concurrent taps",
    ))
}

async fn chats(turn: &Turn<'_>) -> Result<Chats, WebError> {
    Ok(Chats::new(turn.state.store.telegram_chats().all().await?))
}

/// The draft's buttons (and New rule, which starts one).
pub(crate) async fn press(turn: &Turn<'_>, cb: &CallbackQuery, at: Place, pressed: Button) -> Result<(), WebError> {
    let user = cb.from.id;
    let store = &turn.state.store;
    let (toast, screen) = match pressed {
        Button::New => {
            let stored = store
                .rule_drafts()
                .start(user, RuleDraft::new(at.message_id), turn.now)
                .await?;
            ("", views::step(&stored.draft, &chats(turn).await?))
        }
        Button::Cancel | Button::Save => {
            let Some(read) = store
                .rule_drafts()
                .get(user, turn.now)
                .await?
                .filter(|d| d.draft.message_id == at.message_id)
            else {
                return reply::stale_button(turn, cb).await;
            };
            if pressed == Button::Cancel {
                store.rule_drafts().delete(user).await?;
                (
                    "Cancelled.",
                    views::plain("Cancelled: the new rule was not saved. /rules to start again."),
                )
            } else {
                match create(turn, &read.draft).await? {
                    Ok(screen) => {
                        store.rule_drafts().delete(user).await?;
                        ("Rule created.", screen)
                    }
                    Err(why) => {
                        reply::answer_callback(turn, cb, &why, true).await;
                        return Ok(());
                    }
                }
            }
        }
        other => match update(turn, user, Some(at.message_id), |d| apply(d, &other)).await? {
            Outcome::Stale => return reply::stale_button(turn, cb).await,
            Outcome::Refused(why) => {
                reply::answer_callback(turn, cb, &why, true).await;
                return Ok(());
            }
            Outcome::Saved(stored) => ("", views::step(&stored.draft, &chats(turn).await?)),
        },
    };
    at.show(turn, screen).await;
    reply::answer_callback(turn, cb, toast, false).await;
    Ok(())
}

fn apply(d: &mut RuleDraft, pressed: &Button) -> Result<(), StepError> {
    match (pressed, d.step) {
        (Button::Page(p), _) => {
            d.page = *p;
            Ok(())
        }
        (Button::Pick(dest), WizardStep::Source) if dest.thread_id.is_none() => d.choose_source(dest.chat_id),
        (Button::Pick(dest), WizardStep::Destinations) => d.toggle_destination(*dest).map(|_| ()),
        (Button::Done, _) => d.finish_destinations(),
        (Button::Deliver(how), _) => d.choose_delivery(*how),
        (Button::Skip, _) => d.skip_keywords(),
        (Button::Back, _) => d.back(),
        _ => Err("That belongs to another step of this rule.".into()),
    }
}

/// Creates the draft's rule. Its id was fixed when the draft started, so a
/// second Create (a double tap, a retry) finds the rule instead of making a twin.
async fn create(turn: &Turn<'_>, draft: &RuleDraft) -> Result<Result<views::Screen, StepError>, WebError> {
    let rule = match draft.build() {
        Ok(rule) => rule,
        Err(e) => return Ok(Err(e.to_string())),
    };
    match turn.state.store.forwarding().create_rule(&rule).await {
        Ok(()) => tracing::info!(rule = %rule.id, "forward rule created in telegram"),
        Err(StoreError::Conflict) => {}
        Err(e) => return Err(e.into()),
    }
    let (_, chats) = load(turn).await?;
    let note = "Rule created. Its posts are forwarded from now on (make sure I am an admin of the source channel).";
    Ok(Ok(views::rule(&rule, &chats, Some(note))))
}

/// Text or a forwarded post while the admin has a draft. False when there is
/// no draft (the message is for the rest of the bot).
pub(crate) async fn input(turn: &Turn<'_>, msg: &Message, member: &Member) -> Result<bool, WebError> {
    let Some(from) = &msg.from else { return Ok(false) };
    let chat = chat_of(msg);
    let Some(read) = turn.state.store.rule_drafts().get(from.id, turn.now).await? else {
        return Ok(false);
    };
    if !read.draft.step.takes_text() {
        let text = "Please use the buttons of my last message, or /cancel.";
        reply::send(turn, SendMessage::html(chat, text), Some(member)).await?;
        return Ok(true);
    }
    let saved = match update(turn, from.id, None, |d| typed(d, msg)).await? {
        Outcome::Stale => return Ok(false),
        Outcome::Refused(why) => {
            let text = format!("⚠️ {}\nTry again, or /cancel.", lodge::telegram::escape(&why));
            reply::send(turn, SendMessage::html(chat, text), Some(member)).await?;
            return Ok(true);
        }
        Outcome::Saved(saved) => saved,
    };
    // The next step goes in a new message (below the admin's), which then
    // owns the draft: the buttons of the one above go stale.
    let screen = views::step(&saved.draft, &chats(turn).await?);
    if let Some(sent) = send(turn, chat, screen, Some(member)).await? {
        let mut draft = saved.draft.clone();
        draft.message_id = sent.message_id;
        match turn
            .state
            .store
            .rule_drafts()
            .save(from.id, &saved, draft, turn.now)
            .await
        {
            // Another tap moved on meanwhile: its message owns the draft.
            Ok(_) | Err(StoreError::Conflict) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(true)
}

/// What the typed message means at the draft's step.
fn typed(d: &mut RuleDraft, msg: &Message) -> Result<(), StepError> {
    let forwarded_chat = match &msg.forward_origin {
        Some(MessageOrigin::Channel { chat, .. }) | Some(MessageOrigin::Chat { sender_chat: chat }) => Some(chat.id),
        _ => None,
    };
    let text = msg.text.as_deref().unwrap_or_default();
    match d.step {
        WizardStep::Source | WizardStep::Destinations => {
            let dest = match forwarded_chat {
                Some(id) => parse_chat(&id.to_string(), false)?,
                None if msg.is_forward() => {
                    return Err("That post was forwarded from a person, not a chat. Forward a post from the channel, or send the chat's id.".into())
                }
                None => parse_chat(text, d.step == WizardStep::Destinations)?,
            };
            if d.step == WizardStep::Source {
                d.choose_source(dest.chat_id)
            } else {
                d.add_destination(dest)
            }
        }
        WizardStep::Filters if msg.text.is_some() && !msg.is_forward() => d.set_keywords(text),
        WizardStep::Filters => Err("Send the words as a text message, or tap Skip.".into()),
        WizardStep::Mode | WizardStep::Confirm => Err("Please use the buttons.".into()),
    }
}

/// `/cancel`: drops the draft and takes the buttons off its message.
pub(crate) async fn cancel(turn: &Turn<'_>, msg: &Message, member: Option<&Member>) -> Result<(), WebError> {
    let chat = chat_of(msg);
    let Some(from) = &msg.from else { return Ok(()) };
    let text = match turn.state.store.rule_drafts().get(from.id, turn.now).await? {
        Some(read) => {
            turn.state.store.rule_drafts().delete(from.id).await?;
            let at = Place {
                chat,
                message_id: read.draft.message_id,
            };
            at.show(turn, views::plain("Cancelled: the new rule was not saved."))
                .await;
            "Cancelled. Nothing was saved; /rules starts again."
        }
        None => "There is nothing to cancel.",
    };
    reply::send(turn, SendMessage::html(chat, text), member).await
}
