//! Markdown → the HTML stored with a post or comment, plus what else the
//! site needs from a body: who was mentioned, a plain-text excerpt, the
//! first image.
//!
//! CommonMark with tables, strikethrough and autolinks (`<https://…>` and
//! bare `https://…`), parsed by pulldown-cmark. Its event stream lets one
//! pass over the body rewrite what we must control: raw HTML becomes text,
//! unsafe link and image URLs are dropped, `@handle`s become member links,
//! headings get stable de-duplicated ids. The result then goes through an
//! ammonia allow-list (`sanitize`), and `audit` can prove a stored page holds
//! nothing else. Rendering is pure: members are looked up through a
//! `MentionResolver` the caller fills beforehand (`mention_candidates`).

pub mod audit;
mod render;
pub mod sanitize;
mod text;
mod urls;
pub mod xss_corpus;

#[cfg(test)]
mod timing_tests;
#[cfg(test)]
mod xss_tests;

use crate::domain::MemberId;

pub use render::{mention_candidates, render, MAX_MENTIONS};

/// Where an `@handle` points.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MentionTarget {
    pub member: MemberId,
    /// The member's page, e.g. `/members/<id>`.
    pub url: String,
}

/// Handle (lower-cased, without `@`) → member. Fill it from
/// `mention_candidates` with one batch read, then render.
pub trait MentionResolver {
    fn resolve(&self, handle: &str) -> Option<MentionTarget>;
}

impl MentionResolver for std::collections::HashMap<String, MentionTarget> {
    fn resolve(&self, handle: &str) -> Option<MentionTarget> {
        self.get(handle).cloned()
    }
}

impl<F: Fn(&str) -> Option<MentionTarget>> MentionResolver for F {
    fn resolve(&self, handle: &str) -> Option<MentionTarget> {
        self(handle)
    }
}

/// Resolves nobody: every `@handle` stays text.
pub struct NoMentions;

impl MentionResolver for NoMentions {
    fn resolve(&self, _: &str) -> Option<MentionTarget> {
        None
    }
}

/// A member the body mentions, once each, in order of first mention.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mention {
    pub member: MemberId,
    pub handle: String,
}

/// A rendered body: what is stored with the post or comment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rendered {
    /// Sanitised HTML, safe to insert into a page as is.
    pub html: String,
    /// For notifications (issue 13): at most `MAX_MENTIONS` members.
    pub mentions: Vec<Mention>,
    /// Plain text, at most `EXCERPT_CHARS` characters, for cards, Open
    /// Graph and feeds. Code blocks are left out.
    pub excerpt: String,
    /// The first (https) image, for Open Graph.
    pub first_image: Option<String>,
}

pub const EXCERPT_CHARS: usize = 280;

/// The fuzz target's body: any bytes must render without panicking, and the
/// HTML must pass the audit. `fuzz/` calls this.
pub fn fuzz_render(data: &[u8]) {
    let src = String::from_utf8_lossy(data);
    let resolver = |handle: &str| {
        handle.len().is_multiple_of(2).then(|| MentionTarget {
            member: MemberId::parse("0123456789abcdef0123456789abcdef").expect("a valid id"),
            url: format!("/members/{handle}"),
        })
    };
    let out = render(&src, &resolver);
    let problems = audit::active_content(&out.html);
    assert!(problems.is_empty(), "active content {problems:?} in {:?}", out.html);
    assert!(out.excerpt.chars().count() <= EXCERPT_CHARS + 1);
    assert!(out.mentions.len() <= MAX_MENTIONS);
}
