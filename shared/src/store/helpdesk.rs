//! The helpdesk (docs/helpdesk.md): the `/ask` drafts, one per Telegram
//! user and written with a version check like the `/rules` drafts, and the
//! Telegram messages that stand for a question post.
//!
//! A question posted to the helpdesk channel is copied by Telegram into the
//! channel's discussion group, and that copy (the automatic forward) is what
//! members reply to. The bot learns the channel message's id from its own
//! `sendMessage` and the copy's id from the forward's update, in either
//! order and possibly at the same time. Both halves go into one item
//! (`HDCHAN#<channel>#<message>`) by `UpdateItem … ALL_NEW`; updates of one
//! item are serialised, so whichever write completes the pair sees both and
//! records the copy → post mapping (`HDTHREAD#<group>#<message>`), which the
//! replies are looked up by.

use aws_sdk_dynamodb::types::ReturnValue;
use serde::{Deserialize, Serialize};

use super::{n, s, values, Item, Key, Store, StoreError};
use crate::domain::question::QuestionDraft;
use crate::domain::PostId;

/// An untouched draft is forgotten after two days: longer than the
/// questions' 24-hour ring, so a question refused by it can still be posted.
pub const ASK_DRAFT_TTL_SECS: i64 = 2 * 86_400;

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct StoredQuestion {
    pub draft: QuestionDraft,
    pub version: u64,
    pub expires_at: i64,
}

impl Store {
    pub fn question_drafts(&self) -> QuestionDrafts<'_> {
        QuestionDrafts { store: self }
    }

    pub fn helpdesk_threads(&self) -> HelpdeskThreads<'_> {
        HelpdeskThreads { store: self }
    }
}

/// `/ask` drafts, per Telegram user.
pub struct QuestionDrafts<'a> {
    store: &'a Store,
}

impl QuestionDrafts<'_> {
    /// The user's live draft (an expired one DynamoDB has not swept yet is none).
    pub async fn get(&self, user_id: i64, now: i64) -> Result<Option<StoredQuestion>, StoreError> {
        Ok(self
            .store
            .get::<StoredQuestion>(&Key::question_draft(user_id))
            .await?
            .filter(|d| d.expires_at > now))
    }

    /// Starts a draft, replacing any earlier one.
    pub async fn start(&self, user_id: i64, draft: QuestionDraft, now: i64) -> Result<StoredQuestion, StoreError> {
        let stored = StoredQuestion {
            draft,
            version: 1,
            expires_at: now + ASK_DRAFT_TTL_SECS,
        };
        self.store.put(&Key::question_draft(user_id), &stored).await?;
        Ok(stored)
    }

    /// Saves `draft` as the successor of `read`; `Conflict` if another
    /// request saved (or cancelled) it meanwhile.
    pub async fn save(
        &self,
        user_id: i64,
        read: &StoredQuestion,
        draft: QuestionDraft,
        now: i64,
    ) -> Result<StoredQuestion, StoreError> {
        let stored = StoredQuestion {
            draft,
            version: read.version + 1,
            expires_at: now + ASK_DRAFT_TTL_SECS,
        };
        self.store
            .put_if(
                &Key::question_draft(user_id),
                &stored,
                "version = :v",
                Some(values([(":v", n(read.version))])),
            )
            .await?;
        Ok(stored)
    }

    pub async fn delete(&self, user_id: i64) -> Result<(), StoreError> {
        self.store.delete(&Key::question_draft(user_id)).await
    }
}

/// A question's channel message, as far as it is known.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
pub struct ChannelPost {
    #[serde(default)]
    pub post_id: Option<PostId>,
    /// Its automatic forward in the discussion group.
    #[serde(default)]
    pub discussion_chat: Option<i64>,
    #[serde(default)]
    pub discussion_message: Option<i64>,
}

#[derive(Serialize, Deserialize)]
struct Thread {
    post_id: PostId,
}

/// Telegram messages → question posts.
pub struct HelpdeskThreads<'a> {
    store: &'a Store,
}

impl HelpdeskThreads<'_> {
    /// The bot posted question `post` to the channel as `message`. Returns
    /// the discussion copy when its forward was seen first.
    pub async fn channel_posted(&self, channel: i64, message: i64, post: &PostId) -> Result<ChannelPost, StoreError> {
        let seen = self
            .half(channel, message, "SET post_id = :p", values([(":p", s(post.as_str()))]))
            .await?;
        self.complete(&seen).await?;
        Ok(seen)
    }

    /// Telegram copied channel `message` into the discussion group as
    /// (`chat`, `copy`). Returns the post when the channel message is a question.
    pub async fn forwarded(
        &self,
        channel: i64,
        message: i64,
        chat: i64,
        copy: i64,
    ) -> Result<Option<PostId>, StoreError> {
        let seen = self
            .half(
                channel,
                message,
                "SET discussion_chat = :c, discussion_message = :m",
                values([(":c", n(chat)), (":m", n(copy))]),
            )
            .await?;
        self.complete(&seen).await?;
        Ok(seen.post_id)
    }

    /// What is known of a channel message.
    pub async fn channel_post(&self, channel: i64, message: i64) -> Result<Option<ChannelPost>, StoreError> {
        self.store.get(&Key::helpdesk_channel_post(channel, message)).await
    }

    /// The question a discussion-group message (an automatic forward) stands for.
    pub async fn thread(&self, chat: i64, message: i64) -> Result<Option<PostId>, StoreError> {
        Ok(self
            .store
            .get::<Thread>(&Key::helpdesk_thread(chat, message))
            .await?
            .map(|t| t.post_id))
    }

    /// One half of the channel message's item; returns the item as it now is.
    async fn half(&self, channel: i64, message: i64, set: &str, vals: Item) -> Result<ChannelPost, StoreError> {
        let out = self
            .store
            .client()
            .update_item()
            .table_name(self.store.table())
            .set_key(Some(Key::helpdesk_channel_post(channel, message).to_item()))
            .update_expression(set)
            .set_expression_attribute_values(Some(vals))
            .return_values(ReturnValue::AllNew)
            .send()
            .await
            .map_err(StoreError::from_sdk)?;
        out.attributes
            .map(super::from_item)
            .transpose()
            .map(Option::unwrap_or_default)
    }

    /// Both halves known: the copy → post mapping (idempotent, so both
    /// writers may do it).
    async fn complete(&self, seen: &ChannelPost) -> Result<(), StoreError> {
        if let (Some(post_id), Some(chat), Some(copy)) = (&seen.post_id, seen.discussion_chat, seen.discussion_message)
        {
            let thread = Thread {
                post_id: post_id.clone(),
            };
            self.store.put(&Key::helpdesk_thread(chat, copy), &thread).await?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::question::AskStep;
    use crate::store::testing;

    const T: i64 = 1_796_169_600;

    #[tokio::test]
    async fn a_draft_saves_only_over_the_version_it_was_read_at() {
        let store = testing::store().await;
        let drafts = store.question_drafts();
        let started = drafts
            .start(42, QuestionDraft::new(PostId::generate(T * 1000), 1), T)
            .await
            .unwrap();
        let mut next = started.draft.clone();
        next.type_text("A title").unwrap();
        let saved = drafts.save(42, &started, next.clone(), T + 1).await.unwrap();
        assert!(matches!(
            drafts.save(42, &started, next, T + 2).await,
            Err(StoreError::Conflict)
        ));
        let read = drafts.get(42, T + 3).await.unwrap().unwrap();
        assert_eq!((read.version, read.draft.step), (saved.version, AskStep::Body));
        assert!(
            drafts.get(42, T + 1 + ASK_DRAFT_TTL_SECS).await.unwrap().is_none(),
            "expired"
        );
        drafts.delete(42).await.unwrap();
        assert!(drafts.get(42, T).await.unwrap().is_none());
    }

    #[tokio::test]
    async fn the_thread_is_known_whichever_half_comes_first() {
        let store = testing::store().await;
        let threads = store.helpdesk_threads();
        let (channel, group) = (-100_111, -100_222);
        let (p1, p2) = (PostId::generate(T * 1000), PostId::generate(T * 1000 + 1));
        // The bot's sendMessage returns first, then the forward arrives.
        assert_eq!(
            threads
                .channel_posted(channel, 5, &p1)
                .await
                .unwrap()
                .discussion_message,
            None
        );
        assert_eq!(threads.thread(group, 50).await.unwrap(), None);
        assert_eq!(
            threads.forwarded(channel, 5, group, 50).await.unwrap(),
            Some(p1.clone())
        );
        assert_eq!(threads.thread(group, 50).await.unwrap(), Some(p1.clone()));
        // The forward is faster than the bot's own write.
        assert_eq!(threads.forwarded(channel, 6, group, 60).await.unwrap(), None);
        let seen = threads.channel_posted(channel, 6, &p2).await.unwrap();
        assert_eq!((seen.discussion_chat, seen.discussion_message), (Some(group), Some(60)));
        assert_eq!(threads.thread(group, 60).await.unwrap(), Some(p2.clone()));
        // Both at once, many times over: one answer.
        let p3 = PostId::generate(T * 1000 + 2);
        let (a, b) = tokio::join!(
            threads.channel_posted(channel, 7, &p3),
            threads.forwarded(channel, 7, group, 70)
        );
        a.unwrap();
        b.unwrap();
        assert_eq!(threads.thread(group, 70).await.unwrap(), Some(p3.clone()));
        let known = threads.channel_post(channel, 7).await.unwrap().unwrap();
        assert_eq!(known.post_id, Some(p3));
        // A channel post that is no question maps to nothing.
        assert_eq!(threads.forwarded(channel, 8, group, 80).await.unwrap(), None);
        assert_eq!(threads.thread(group, 80).await.unwrap(), None);
    }
}
