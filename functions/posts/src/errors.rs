//! Every way a post action can fail, as the client sees it.

use lambda_http::http::StatusCode;
use lodge::store::comments::CommentError;
use lodge::store::posts::PostError;
use lodge::web::WebError;

pub fn web(e: PostError) -> WebError {
    match e {
        PostError::NotFound => WebError::not_found(),
        PostError::NotAllowed => WebError::forbidden("Only the author or a moderator can do that."),
        PostError::NoRoom => WebError::invalid("room: there is no such room").with_code("no_room"),
        PostError::Limited(full) => WebError::too_many(
            format!(
                "You can start 3 posts per 24 hours. The next one is possible at {}.",
                lodge::clock::format_utc(full.frees_at_ms.div_euclid(1000) + 1)
            ),
            full.retry_after_secs,
        ),
        PostError::LimitedBy(ring, full) => WebError::too_many(
            format!(
                "You have reached the limit of {} per 24 hours. The next one is possible at {}.",
                ring.what,
                lodge::clock::format_utc(full.frees_at_ms.div_euclid(1000) + 1)
            ),
            full.retry_after_secs,
        ),
        PostError::Exists => WebError::new(StatusCode::CONFLICT, "exists", "That post exists already."),
        PostError::OwnPost => WebError::forbidden("You cannot vote for your own post.").with_code("own_post"),
        PostError::NotVoted => WebError::new(StatusCode::CONFLICT, "not_voted", "You have not voted for this post."),
        PostError::RetractWindow => WebError::new(
            StatusCode::CONFLICT,
            "retract_window",
            "A vote can be retracted only within 24 hours.",
        ),
        PostError::TooManyComments(n) => WebError::new(
            StatusCode::CONFLICT,
            "has_comments",
            format!("The post has {n} comments: it can go back to drafts only while it has fewer than 10."),
        ),
        PostError::WrongState(state) => WebError::new(
            StatusCode::CONFLICT,
            "wrong_state",
            format!("That cannot be done to a {state} post."),
        ),
        PostError::Changed => WebError::new(
            StatusCode::CONFLICT,
            "changed",
            "The post changed meanwhile. Reload it and try again.",
        ),
        PostError::NotEvent => WebError::new(StatusCode::CONFLICT, "not_event", "Only events take RSVPs."),
        PostError::TooLarge => WebError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_large",
            "The post is too large to store; shorten the body.",
        ),
        PostError::Busy => WebError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "busy",
            "Many people are voting on this post right now. Please try again.",
        )
        .with_header("retry-after", "1"),
        PostError::Store(e) => e.into(),
    }
}

/// What hiding a reported comment can meet (the comment rules' other
/// refusals belong to the comments function's routes).
pub fn comment(e: CommentError) -> WebError {
    match e {
        CommentError::NoComment | CommentError::NoPost => WebError::not_found(),
        CommentError::Hidden => WebError::new(
            StatusCode::CONFLICT,
            "resolved",
            "That comment is hidden already: its reports were resolved.",
        ),
        CommentError::Store(e) => e.into(),
        other => WebError::new(StatusCode::CONFLICT, "changed", format!("Cannot hide it: {other}.")),
    }
}
