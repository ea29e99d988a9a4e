//! Consumer of the `content` queue (`lodge::notify::ContentEvent`): turns
//! one event into its recipients (issue 13's table, docs/notifications.md),
//! writes each one's inbox entry and queues one delivery per (recipient,
//! channel) on the `notify` queue, where `notifier` sends it. An audience
//! larger than a slice (`LODGE_FANOUT_SLICE`, 100) is first split into
//! `AudienceSlice`s on the same queue, one invocation each, so the work of
//! one invocation is bounded however many members follow a post.
//!
//! Redelivery is harmless: an inbox entry is written once (its key is the
//! event's), and each delivery is done once by its own marker.

use std::num::NonZeroUsize;

use aws_lambda_events::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use futures::stream::{self, StreamExt, TryStreamExt};
use lodge::domain::{MemberId, MemberStatus};
use lodge::notify::render::{self, clip, Note};
use lodge::notify::{audience, Channel, ContentEvent, Delivery, Facts, Kind};
use lodge::queue::{self, AudienceSlice, ContentMessage, MessageError, Notification, QueueSender};
use lodge::store::notifications::{Content, InboxEntry, Recipient};
use lodge::store::{Store, StoreError};
use lodge::{ConfigError, Env, SharedClock};

pub struct State {
    store: Store,
    /// The `notify` queue, where `notifier` delivers.
    notify: QueueSender,
    /// This function's own queue, for the slices of a big audience.
    content: QueueSender,
    /// Members per slice: a slice's inbox transactions take about a second
    /// on DynamoDB and under 10 s on the local stand-in, against the 30 s timeout.
    slice: NonZeroUsize,
    #[allow(dead_code)]
    clock: SharedClock,
}

impl State {
    pub fn from_env(env: &Env, aws: &lodge::aws::SdkConfig, clock: SharedClock) -> Result<Self, ConfigError> {
        let sqs = lodge::aws::sqs(aws);
        let slice: NonZeroUsize = env.parse_or("LODGE_FANOUT_SLICE", NonZeroUsize::new(100).expect("non-zero"))?;
        Ok(Self {
            store: Store::from_env(env, aws)?,
            notify: QueueSender::new(sqs.clone(), env.required("LODGE_NOTIFY_QUEUE_URL")?),
            content: QueueSender::new(sqs, env.required("LODGE_CONTENT_QUEUE_URL")?),
            slice,
            clock,
        })
    }
}

pub async fn handler(state: &State, event: SqsEvent) -> SqsBatchResponse {
    queue::consume(event, |msg| handle(state, msg)).await
}

async fn handle(state: &State, msg: SqsMessage) -> Result<(), MessageError> {
    match queue::parse::<ContentMessage>(&msg)? {
        ContentMessage::Event(event) => fan_out(state, &event).await,
        ContentMessage::Slice(slice) => {
            // Read again: content hidden since the event was split notifies no one.
            let content = content(state, &slice.event).await?;
            notify_members(state, &slice.event, content.as_ref(), slice.members).await
        }
    }
}

/// Inbox entries written at once, per event.
const CONCURRENCY: usize = 16;

async fn fan_out(state: &State, event: &ContentEvent) -> Result<(), MessageError> {
    let result = split_or_notify(state, event).await;
    if matches!(result, Ok(()) | Err(MessageError::Drop(_))) {
        // Done with (or nothing will come of it): the sweeper need not send it
        // again. A failed delete only means one idempotent second fan-out.
        if let Err(e) = state.store.outbox().done(event).await {
            tracing::warn!(error = %e, event = %event.key(), "outbox entry not cleared");
        }
    }
    result
}

async fn split_or_notify(state: &State, event: &ContentEvent) -> Result<(), MessageError> {
    let content = content(state, event).await?;
    let facts = facts(state, event, content.as_ref()).await.map_err(retry)?;
    let audience = audience(event, &facts);
    if audience.len() <= state.slice.get() {
        return notify_members(state, event, content.as_ref(), audience).await;
    }
    // The audience is sorted, so a retried split repeats the same slices;
    // a member in two slices (someone followed in between) is told once anyway.
    let slices: Vec<AudienceSlice> = audience
        .chunks(state.slice.get())
        .map(|members| AudienceSlice {
            event: event.clone(),
            members: members.to_vec(),
        })
        .collect();
    state.content.send_all(&slices).await.map_err(MessageError::Retry)?;
    tracing::info!(event = %event.key(), audience = audience.len(), slices = slices.len(), "split");
    Ok(())
}

/// The post (and comment) the event is about, as they are now: `Drop` when
/// the post is gone, or hidden and the event needs it visible.
async fn content(state: &State, event: &ContentEvent) -> Result<Option<Content>, MessageError> {
    let Some(post) = event.post() else {
        return Ok(None);
    };
    match state
        .store
        .notifications()
        .content(post, event.comment().map(|(_, path)| path))
        .await
        .map_err(retry)?
    {
        None => Err(MessageError::Drop("the post does not exist".into())),
        Some(c) if !c.visible() && event.needs_visible_content() => Err(MessageError::Drop(
            "hidden, deleted or unpublished: notifies no one".into(),
        )),
        Some(c) => Ok(Some(c)),
    }
}

/// Inbox entries and deliveries for `members` (at most a slice).
async fn notify_members(
    state: &State,
    event: &ContentEvent,
    content: Option<&Content>,
    members: Vec<(MemberId, Kind)>,
) -> Result<(), MessageError> {
    let notes = state.store.notifications();
    let ids: Vec<MemberId> = members.iter().map(|(id, _)| id.clone()).collect();
    let recipients = notes.recipients(&ids).await.map_err(retry)?;
    let kinds: std::collections::HashMap<_, _> = members.into_iter().collect();

    let plans: Vec<(Recipient, Kind, Note)> = recipients
        .into_iter()
        .filter(|r| r.status == MemberStatus::Approved)
        .filter(|r| event.actor().is_none_or(|actor| !r.muted_members.contains(actor)))
        .filter_map(|r| {
            let kind = *kinds.get(&r.id)?;
            let note = note(event, content);
            Some((r, kind, note))
        })
        .collect();
    let mut deliveries = Vec::new();
    for (r, kind, note) in &plans {
        for channel in channels(event, r, *kind) {
            deliveries.push(Notification::Deliver {
                delivery: Delivery {
                    event: event.key(),
                    recipient: r.id.clone(),
                    channel,
                    about: *kind,
                    post: event.post().cloned(),
                    comment: event.comment().map(|(id, path)| (id.clone(), path.to_string())),
                    note: note.clone(),
                    at_ms: event.at_ms(),
                },
            });
        }
    }
    let inbox_id = format!("{:013}.{}", event.at_ms(), event.key());
    // Owned futures, collected first: a stream of closures over `&plans`
    // makes the handler's future not `Send` for every lifetime (rustc #102211).
    let writes: Vec<_> = plans
        .iter()
        .filter(|(r, kind, _)| r.notification_prefs.wants(*kind, Channel::Web, r.telegram.is_some()))
        .map(|(r, kind, note)| {
            let member = r.id.clone();
            let entry = InboxEntry {
                id: inbox_id.clone(),
                kind: *kind,
                note: note.clone(),
                read: false,
                at_ms: event.at_ms(),
            };
            async move { notes.add_to_inbox(&member, &entry).await.map(|_| ()) }
        })
        .collect();
    stream::iter(writes)
        .buffer_unordered(CONCURRENCY)
        .try_collect::<Vec<()>>()
        .await
        .map_err(retry)?;
    state.notify.send_all(&deliveries).await.map_err(MessageError::Retry)?;
    tracing::info!(
        event = %event.key(),
        recipients = plans.len(),
        deliveries = deliveries.len(),
        "fanned out"
    );
    Ok(())
}

/// Followers for a comment; room subscribers for a post in a room.
async fn facts(state: &State, event: &ContentEvent, content: Option<&Content>) -> Result<Facts, StoreError> {
    let notes = state.store.notifications();
    Ok(match event {
        ContentEvent::CommentCreated { post, .. } => Facts {
            post_author: content.map(|c| c.post_author.clone()),
            followers: notes.followers(post).await?,
            subscribers: Vec::new(),
        },
        ContentEvent::PostPublished { room: Some(room), .. } => Facts {
            subscribers: state.store.rooms().subscribers(room).await?,
            ..Facts::default()
        },
        _ => Facts::default(),
    })
}

/// The push channels for one recipient. Telegram when they want it and the
/// bot can reach them, else (blocked, unlinked since) email instead; email
/// when they want it. The decision on an intro is already mailed and sent
/// to Telegram by `notifier` (`Notification::Decided`): only the inbox here.
fn channels(event: &ContentEvent, r: &Recipient, kind: Kind) -> Vec<Channel> {
    if matches!(event, ContentEvent::IntroDecided { .. }) {
        return Vec::new();
    }
    let prefs = &r.notification_prefs;
    let linked = r.telegram.is_some();
    let mut out = Vec::new();
    let wants_email = prefs.wants(kind, Channel::Email, linked) && r.email_allowed();
    if prefs.wants(kind, Channel::Telegram, linked) && linked {
        if r.telegram_chat().is_some() {
            out.push(Channel::Telegram);
        } else if !wants_email && r.email_allowed() {
            // Blocked the bot: what Telegram would have carried falls back to email.
            out.push(Channel::Email);
        }
    }
    if wants_email {
        out.push(Channel::Email);
    }
    out
}

fn note(event: &ContentEvent, content: Option<&Content>) -> Note {
    let title = content.map(|c| clip(&c.title, render::TITLE_CHARS)).unwrap_or_default();
    match event {
        ContentEvent::CommentCreated { post, comment, .. } => {
            let c = content.and_then(|c| c.comment.as_ref());
            Note {
                actor_name: c.map(|c| c.author_name.clone()).unwrap_or_default(),
                title,
                excerpt: c.map(|c| clip(&c.body, render::EXCERPT_CHARS)).unwrap_or_default(),
                path: render::comment_path(post, comment),
            }
        }
        ContentEvent::PostPublished { post, .. } => Note {
            actor_name: content.map(|c| c.post_author_name.clone()).unwrap_or_default(),
            title,
            excerpt: content
                .map(|c| clip(&c.excerpt, render::EXCERPT_CHARS))
                .unwrap_or_default(),
            path: render::post_path(post),
        },
        ContentEvent::IntroDecided { approved, .. } => Note {
            actor_name: String::new(),
            title: String::new(),
            excerpt: if *approved {
                "Your intro was approved: welcome to the club.".into()
            } else {
                "Your intro was not approved yet: the moderators left a note.".into()
            },
            path: if *approved { "/".into() } else { "/intro".into() },
        },
        ContentEvent::ReportResolved {
            post, comment, upheld, ..
        } => Note {
            actor_name: String::new(),
            title,
            excerpt: if *upheld {
                "The moderators acted on your report. Thank you.".into()
            } else {
                "The moderators looked at your report and left the content up.".into()
            },
            path: match comment {
                Some(c) => render::comment_path(post, c),
                None => render::post_path(post),
            },
        },
    }
}

fn retry(e: StoreError) -> MessageError {
    MessageError::Retry(e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use lodge::domain::{Email, PostId, TelegramLink};
    use lodge::notify::Prefs;

    fn recipient(telegram: Option<bool>) -> Recipient {
        Recipient {
            id: MemberId::generate(),
            email: Email::parse("b@example.org").unwrap(),
            status: MemberStatus::Approved,
            telegram: telegram.map(|unreachable| TelegramLink {
                user_id: 7,
                username: None,
                linked_at: 0,
                unreachable,
            }),
            muted_members: Vec::new(),
            notification_prefs: Prefs::default(),
            mail_epoch: 0,
            mail_off_notifications: false,
            mail_off_all: false,
            undeliverable: None,
        }
    }

    fn event() -> ContentEvent {
        ContentEvent::PostPublished {
            post: PostId::generate(1),
            author: MemberId::generate(),
            room: None,
            mentions: vec![],
            at_ms: 1,
        }
    }

    #[test]
    fn telegram_when_reachable_else_email() {
        assert_eq!(
            channels(&event(), &recipient(Some(false)), Kind::Mention),
            [Channel::Telegram]
        );
        assert_eq!(
            channels(&event(), &recipient(Some(true)), Kind::Mention),
            [Channel::Email]
        );
        assert_eq!(channels(&event(), &recipient(None), Kind::Mention), [Channel::Email]);
        let mut quiet = recipient(Some(false));
        quiet.notification_prefs.set(Kind::Mention, Channel::Telegram, false);
        assert!(channels(&event(), &quiet, Kind::Mention).is_empty());
    }

    #[test]
    fn a_one_click_stop_or_a_bounce_stops_email_even_as_the_fallback() {
        let mut off = recipient(None);
        off.mail_off_notifications = true;
        assert!(channels(&event(), &off, Kind::Mention).is_empty());
        let mut blocked_and_off = recipient(Some(true));
        blocked_and_off.mail_off_all = true;
        assert!(channels(&event(), &blocked_and_off, Kind::Mention).is_empty());
        let mut bounced = recipient(None);
        bounced.undeliverable = Some(lodge::domain::digest::Undeliverable {
            kind: lodge::domain::digest::UndeliverableKind::Bounce,
            at: 1,
            detail: String::new(),
        });
        assert!(channels(&event(), &bounced, Kind::Mention).is_empty());
    }
}
