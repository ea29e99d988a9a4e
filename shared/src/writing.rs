//! The write paths every channel shares: creating a post and a comment, each
//! through its one store call and announced to the notifications
//! (`ContentEvent`) once its transaction has committed, and editing a
//! comment. The transaction also put the event in the event outbox
//! (`store::outbox`), so a send that fails here is made later by
//! `outbox-sweeper`, not lost. The web's compose
//! form and comment form and the bot's helpdesk call these, so a question
//! asked in Telegram and an answer given in its discussion group go through
//! exactly what the web's do.

use crate::domain::{CommentBody, CommentId, Member, NewPost, PostId, TelegramMessage};
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

/// A comment to write: where, what, and the Telegram message it comes
/// from (none from the web's form).
#[derive(Clone, Debug)]
pub struct CommentRequest {
    pub post: PostId,
    pub parent: Option<CommentId>,
    pub body: CommentBody,
    pub source: Option<TelegramMessage>,
}

/// Creates a comment by `author` (`Comments::create`: the post open, the
/// parent, the ring, the source message unused, one transaction), its
/// `@handle`s linked and recorded, and sends its `ContentEvent`.
///
/// A source message that wrote a comment already is refused with
/// `AlreadyPosted` and that comment. Its event needs no second send: the
/// first attempt's transaction put it in the outbox, which the sweeper
/// sends if that attempt was cut short before sending it.
pub async fn create_comment(
    store: &Store,
    content: &QueueSender,
    author: &Member,
    req: &CommentRequest,
    now_ms: i64,
) -> Result<CommentRecord, CommentError> {
    let (rendered, ()) = tokio::join!(
        mentions::render(store, req.body.as_str()),
        mentions::claim_handle(store, author)
    );
    let rendered = rendered?;
    let new = NewComment {
        post: req.post.clone(),
        parent: req.parent.clone(),
        body: req.body.as_str().to_string(),
        html: rendered.html,
        mentions: rendered.mentions.into_iter().map(|m| m.member).collect(),
        source: req.source,
    };
    let record = store
        .comments()
        .create(&crate::commenting::actor(author), &new, now_ms)
        .await?;
    tracing::info!(comment = %record.id, post = %req.post, depth = record.depth, "comment created");
    content.send_after_commit(&record.created_event()).await;
    Ok(record)
}

/// Edits comment `id` as `author` (`Comments::edit`: the author within 48
/// hours, a moderator at any time, not once deleted; marked edited), the new
/// body's `@handle`s linked and recorded. The web's edit form and an edited
/// Telegram reply both take this.
pub async fn edit_comment(
    store: &Store,
    author: &Member,
    id: &CommentId,
    body: &CommentBody,
    now_ms: i64,
) -> Result<CommentRecord, CommentError> {
    let rendered = mentions::render(store, body.as_str()).await?;
    let mentions: Vec<_> = rendered.mentions.into_iter().map(|m| m.member).collect();
    let record = store
        .comments()
        .edit(
            &crate::commenting::actor(author),
            id,
            body.as_str(),
            &rendered.html,
            &mentions,
            now_ms,
        )
        .await?;
    tracing::info!(comment = %record.id, post = %record.post_id, "comment edited");
    Ok(record)
}
