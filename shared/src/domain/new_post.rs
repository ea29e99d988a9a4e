//! A post as submitted, which can only exist whole and right for its kind:
//! a link has its URL, an event its start and venue, a text its body.

use serde::Deserialize;

use super::event::EventWindow;
use super::field::{FieldError, FieldErrors};
use super::post::{LinkUrl, PostBody, PostKind, PostTitle, RoomSlug, Visibility};

/// The compose form (`POST /posts`) or its JSON, as sent: strings or nothing.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct PostFields {
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub title: Option<String>,
    pub body: Option<String>,
    pub room: Option<String>,
    pub public: Option<String>,
    pub draft: Option<String>,
    pub url: Option<String>,
    pub starts_at: Option<String>,
    pub ends_at: Option<String>,
    pub place: Option<String>,
}

/// What only some kinds carry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PostContent {
    Post,
    Link(LinkUrl),
    Question,
    Event(EventWindow),
    Intro,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewPost {
    pub title: PostTitle,
    pub body: PostBody,
    pub room: Option<RoomSlug>,
    pub visibility: Visibility,
    /// Saved as a draft (only the author sees it) instead of published.
    pub draft: bool,
    pub content: PostContent,
}

impl NewPost {
    /// Parses every field and reports every problem at once. Intro posts are
    /// refused here: they come from an approved intro (`NewPost::intro`).
    pub fn parse(fields: &PostFields, utc_offset_minutes: i32) -> Result<Self, FieldErrors> {
        let mut errors = Vec::new();
        let e = &mut errors;
        let kind = match fields.kind.as_deref() {
            None => keep(e, Err(FieldError::new("type", "choose what you are posting"))),
            Some(raw) => keep(e, PostKind::parse(raw)),
        };
        let title = keep(e, PostTitle::parse(fields.title.as_deref().unwrap_or_default()));
        let body = keep(e, PostBody::parse(fields.body.as_deref().unwrap_or_default()));
        let room = match fields.room.as_deref().map(str::trim) {
            None | Some("") => Some(None),
            Some(raw) => keep(e, RoomSlug::parse(raw).map(Some)),
        };
        let visibility = keep(e, Visibility::from_checkbox(fields.public.as_deref()));
        let draft = keep(e, checkbox("draft", fields.draft.as_deref()));
        let content = match kind {
            None => None,
            Some(PostKind::Post) => Some(PostContent::Post),
            Some(PostKind::Question) => Some(PostContent::Question),
            Some(PostKind::Intro) => keep(
                e,
                Err(FieldError::new(
                    "type",
                    "intro posts are made when a member is approved",
                )),
            ),
            Some(PostKind::Link) => keep(
                e,
                LinkUrl::parse(fields.url.as_deref().unwrap_or_default()).map(PostContent::Link),
            ),
            Some(PostKind::Event) => match EventWindow::parse(
                fields.starts_at.as_deref(),
                fields.ends_at.as_deref(),
                fields.place.as_deref(),
                utc_offset_minutes,
            ) {
                Ok(window) => Some(PostContent::Event(window)),
                Err(problems) => {
                    e.extend(problems);
                    None
                }
            },
        };
        if matches!(content, Some(PostContent::Post)) && body.as_ref().is_some_and(PostBody::is_empty) {
            errors.push(FieldError::new("body", "a post needs some text"));
        }
        match (title, body, room, visibility, draft, content) {
            (Some(title), Some(body), Some(room), Some(visibility), Some(draft), Some(content))
                if errors.is_empty() =>
            {
                Ok(Self {
                    title,
                    body,
                    room,
                    visibility,
                    draft,
                    content,
                })
            }
            _ => Err(FieldErrors(errors)),
        }
    }

    /// The intro of a newly approved member, published members-only.
    pub fn intro(title: PostTitle, body: PostBody) -> Self {
        Self {
            title,
            body,
            room: None,
            visibility: Visibility::Members,
            draft: false,
            content: PostContent::Intro,
        }
    }

    pub fn kind(&self) -> PostKind {
        match self.content {
            PostContent::Post => PostKind::Post,
            PostContent::Link(_) => PostKind::Link,
            PostContent::Question => PostKind::Question,
            PostContent::Event(_) => PostKind::Event,
            PostContent::Intro => PostKind::Intro,
        }
    }
}

/// The value, or `None` with its problem recorded.
fn keep<T>(errors: &mut Vec<FieldError>, result: Result<T, FieldError>) -> Option<T> {
    result.map_err(|e| errors.push(e)).ok()
}

fn checkbox(field: &'static str, raw: Option<&str>) -> Result<bool, FieldError> {
    match raw.map(str::trim) {
        None | Some("") | Some("0") | Some("false") | Some("off") => Ok(false),
        Some("1") | Some("true") | Some("on") => Ok(true),
        Some(_) => Err(FieldError::new(field, "must be a checkbox value (on or off)")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(pairs: &[(&str, &str)]) -> PostFields {
        serde_urlencoded::from_str(&serde_urlencoded::to_string(pairs).unwrap()).unwrap()
    }

    fn problems(pairs: &[(&str, &str)]) -> Vec<String> {
        let errors = NewPost::parse(&fields(pairs), 0).unwrap_err();
        errors.0.iter().map(ToString::to_string).collect()
    }

    #[test]
    fn a_text_post_needs_a_title_and_a_body() {
        let post = NewPost::parse(&fields(&[("type", "post"), ("title", "Hi"), ("body", "Hello")]), 0).unwrap();
        assert_eq!(post.kind(), PostKind::Post);
        assert_eq!(
            (post.visibility, post.draft, post.room),
            (Visibility::Members, false, None)
        );
        assert_eq!(
            problems(&[("type", "post"), ("title", " ")]),
            ["title: must not be empty", "body: a post needs some text"]
        );
    }

    #[test]
    fn a_link_needs_its_url_and_an_event_its_start_and_place() {
        assert_eq!(
            problems(&[("type", "link"), ("title", "Read this"), ("url", "javascript:alert(1)")]),
            ["url: must start with http:// or https://"]
        );
        let link = NewPost::parse(
            &fields(&[("type", "link"), ("title", "Read"), ("url", "https://a.org/x")]),
            0,
        )
        .unwrap();
        assert!(matches!(link.content, PostContent::Link(ref u) if u.as_str() == "https://a.org/x"));
        assert_eq!(
            problems(&[("type", "event"), ("title", "Meetup")]),
            [
                "starts_at: an event needs a start time",
                "place: say where: an address or an online link"
            ]
        );
        let event = NewPost::parse(
            &fields(&[
                ("type", "event"),
                ("title", "Meetup"),
                ("starts_at", "2026-12-05T19:00"),
                ("place", "Café"),
                ("room", "Moscow"),
                ("public", "on"),
                ("draft", "1"),
            ]),
            180,
        )
        .unwrap();
        assert_eq!(event.kind(), PostKind::Event);
        assert_eq!(event.room.unwrap().as_str(), "moscow");
        assert!(event.visibility.is_public() && event.draft);
    }

    #[test]
    fn intros_and_unknown_kinds_are_refused() {
        assert_eq!(
            problems(&[("type", "intro"), ("title", "Me"), ("body", "About me")]),
            ["type: intro posts are made when a member is approved"]
        );
        assert_eq!(problems(&[("title", "x")]), ["type: choose what you are posting"]);
        assert_eq!(
            problems(&[("type", "poll"), ("title", "x"), ("room", "a b"), ("draft", "yes")]),
            [
                "type: must be one of post, link, question, event, intro",
                "room: may hold only letters a–z, digits and -",
                "draft: must be a checkbox value (on or off)"
            ]
        );
        let intro = NewPost::intro(PostTitle::parse("Ada").unwrap(), PostBody::parse("Hi all").unwrap());
        assert_eq!(intro.kind(), PostKind::Intro);
    }

    #[test]
    fn a_question_may_stand_on_its_title() {
        let q = NewPost::parse(&fields(&[("type", "question"), ("title", "Where to eat?")]), 0).unwrap();
        assert!(q.body.is_empty() && q.kind() == PostKind::Question);
    }
}
