//! The write paths every channel shares: creating a post and a comment, each
//! through its one store call and announced to the notifications
//! (`ContentEvent`) once its transaction has committed. The transaction
//! also put the event in the event outbox (`store::outbox`), so a send that
//! fails here is made later by `outbox-sweeper`, not lost. The web's compose
//! form and comment form and the bot's helpdesk call these, so a question
//! asked in Telegram and an answer given in its discussion group go through
//! exactly what the web's do.

use crate::domain::{CommentBody, CommentId, Member, NewPost, PostId};
use crate::markdown::Rendered;
use crate::mentions;
use crate::queue::QueueSender;
use crate::store::comments::{CommentError, CommentRecord, NewComment};
use crate::store::posts::{Card, Creation, PostError};
use crate::store::Store;

/// Creates `post` by `author` (`Posts::create_as`: the rings, one
/// transaction) and, when it is published, sends its `ContentEvent`.
/// Returns the card and the rendered body.
pub async fn create_post(
    store: &Store,
    content: &QueueSender,
    post: &NewPost,
    author: &Member,
    now_ms: i64,
    how: &Creation,
) -> Result<(Card, Rendered), PostError> {
    let (rendered, ()) = tokio::join!(
        mentions::render(store, post.body.as_str()),
        mentions::claim_handle(store, author)
    );
    let rendered = rendered?;
    let card = store.posts().create_as(post, author, &rendered, now_ms, how).await?;
    tracing::info!(post = %card.id, kind = %card.kind, draft = post.draft, mentions = rendered.mentions.len(), "post created");
    if let Some(event) = card.published_event(rendered.mentions.iter().map(|m| m.member.clone()).collect()) {
        content.send_after_commit(&event).await;
    }
    Ok((card, rendered))
}

/// Creates a comment by `author` (`Comments::create`: the post open, the
/// parent, the ring, one transaction), its `@handle`s linked and recorded,
/// and sends its `ContentEvent`.
pub async fn create_comment(
    store: &Store,
    content: &QueueSender,
    author: &Member,
    post: &PostId,
    parent: Option<CommentId>,
    body: &CommentBody,
    now_ms: i64,
) -> Result<CommentRecord, CommentError> {
    let (rendered, ()) = tokio::join!(
        mentions::render(store, body.as_str()),
        mentions::claim_handle(store, author)
    );
    let rendered = rendered?;
    let new = NewComment {
        post: post.clone(),
        parent,
        body: body.as_str().to_string(),
        html: rendered.html,
        mentions: rendered.mentions.into_iter().map(|m| m.member).collect(),
    };
    let record = store
        .comments()
        .create(&crate::commenting::actor(author), &new, now_ms)
        .await?;
    tracing::info!(comment = %record.id, post = %post, depth = record.depth, "comment created");
    content.send_after_commit(&record.created_event()).await;
    Ok(record)
}
