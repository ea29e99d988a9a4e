//! The write paths every channel shares: creating a post and a comment, each
//! through its one store call and announced to the notifications
//! (`ContentEvent`) once its transaction has committed. The web's compose
//! form and comment form and the bot's helpdesk call these, so a question
//! asked in Telegram and an answer given in its discussion group go through
//! exactly what the web's do.

use std::collections::HashMap;

use crate::domain::{CommentBody, CommentId, Member, NewPost, PostId};
use crate::markdown::{self, MentionTarget, NoMentions, Rendered};
use crate::queue::QueueSender;
use crate::store::comments::{Actor, CommentError, CommentRecord, NewComment};
use crate::store::posts::{Card, Creation, PostError};
use crate::store::{Store, StoreError};

/// Renders a post body, resolving its `@handle`s through the member handles
/// (one parallel round of reads).
pub async fn render_post_body(store: &Store, body: &str) -> Result<Rendered, StoreError> {
    let candidates = markdown::mention_candidates(body);
    let found = store.handles().resolve(&candidates).await?;
    let targets: HashMap<String, MentionTarget> = found
        .into_iter()
        .map(|(h, member)| {
            let url = crate::web::paths::member(&member);
            (h, MentionTarget { member, url })
        })
        .collect();
    Ok(markdown::render(body, &targets))
}

/// Claims the writer's own handle the first time they write (so others can
/// mention them); a failure only delays it.
async fn ensure_handle(store: &Store, member: &Member) {
    if member.handle.is_none() {
        if let Err(e) = store.handles().ensure(member).await {
            tracing::warn!(error = %e, "could not claim a handle");
        }
    }
}

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
        render_post_body(store, post.body.as_str()),
        ensure_handle(store, author)
    );
    let rendered = rendered?;
    let card = store.posts().create_as(post, author, &rendered, now_ms, how).await?;
    tracing::info!(post = %card.id, kind = %card.kind, draft = post.draft, mentions = rendered.mentions.len(), "post created");
    if let Some(event) = card.published_event(rendered.mentions.iter().map(|m| m.member.clone()).collect()) {
        content.send_after_commit(&event).await;
    }
    Ok((card, rendered))
}

/// Creates a comment (`Comments::create`: the post open, the parent, the
/// ring, one transaction) and sends its `ContentEvent`.
pub async fn create_comment(
    store: &Store,
    content: &QueueSender,
    actor: &Actor,
    post: &PostId,
    parent: Option<CommentId>,
    body: &CommentBody,
    now_ms: i64,
) -> Result<CommentRecord, CommentError> {
    let rendered = markdown::render(body.as_str(), &NoMentions);
    let new = NewComment {
        post: post.clone(),
        parent,
        body: body.as_str().to_string(),
        html: rendered.html,
        mentions: rendered.mentions.into_iter().map(|m| m.member).collect(),
    };
    let record = store.comments().create(actor, &new, now_ms).await?;
    tracing::info!(comment = %record.id, post = %post, depth = record.depth, "comment created");
    content.send_after_commit(&record.created_event()).await;
    Ok(record)
}
