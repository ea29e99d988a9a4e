//! The one pass over pulldown-cmark's events that makes a body safe and
//! gathers its metadata.

use std::collections::{HashMap, HashSet};

use pulldown_cmark::{CodeBlockKind, CowStr, Event, LinkType, Options, Parser, Tag, TagEnd, TextMergeStream};

use super::sanitize::{allowed_value, sanitize, ID_PREFIX};
use super::text::{pieces, slug, Piece};
use super::urls::{safe_href, safe_image};
use super::{Mention, MentionResolver, Rendered, EXCERPT_CHARS};

/// Distinct handles looked up per body; the rest stay text. Bounds the
/// caller's batch read (≤ 100 keys) and the notifications one post can send.
pub const MAX_MENTIONS: usize = 50;

/// Quotes and lists nested deeper than this are flattened into their
/// parent: 20,000 nested `>` would otherwise cost seconds in the sanitiser.
pub const MAX_NESTING: usize = 16;

fn options() -> Options {
    Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH
}

/// Renders `src`, resolving `@handle`s through `resolver`.
pub fn render(src: &str, resolver: &dyn MentionResolver) -> Rendered {
    let mut pass = Pass::new(resolver);
    for event in TextMergeStream::new(Parser::new_ext(src, options())) {
        pass.event(event);
    }
    let mut html = String::with_capacity(src.len() * 3 / 2);
    pulldown_cmark::html::push_html(&mut html, pass.out.into_iter());
    Rendered {
        html: sanitize(&html),
        mentions: pass.mentions,
        excerpt: pass.excerpt.finish(),
        first_image: pass.first_image,
    }
}

/// The lower-cased handles `render` would ask the resolver about, in order,
/// at most `MAX_MENTIONS`. Code and links are skipped, as in `render`.
pub fn mention_candidates(src: &str) -> Vec<String> {
    let seen = std::cell::RefCell::new(Vec::new());
    let record = |handle: &str| -> Option<super::MentionTarget> {
        seen.borrow_mut().push(handle.to_string());
        None
    };
    let mut pass = Pass::new(&record);
    for event in TextMergeStream::new(Parser::new_ext(src, options())) {
        pass.event(event);
    }
    drop(pass);
    seen.into_inner()
}

struct Pass<'r, 'a> {
    resolver: &'r dyn MentionResolver,
    out: Vec<Event<'a>>,
    /// Per open link: was it kept? (A dropped link's `End` is dropped too.)
    links: Vec<bool>,
    images: Vec<bool>,
    code_block: bool,
    /// Per open quote, list or item: was its tag kept? (See `MAX_NESTING`.)
    containers: Vec<bool>,
    kept_depth: usize,
    /// Index in `out` of the open heading's `Start`, to set its id at `End`.
    heading: Option<usize>,
    ids: HashSet<String>,
    /// Per slug, the last suffix tried, so repeats cost O(1) each.
    next_suffix: HashMap<String, usize>,
    /// Handle → member, each asked once.
    resolved: HashMap<String, Option<super::MentionTarget>>,
    mentions: Vec<Mention>,
    excerpt: Excerpt,
    first_image: Option<String>,
}

impl<'r, 'a> Pass<'r, 'a> {
    fn new(resolver: &'r dyn MentionResolver) -> Self {
        Self {
            resolver,
            out: Vec::new(),
            links: Vec::new(),
            images: Vec::new(),
            code_block: false,
            containers: Vec::new(),
            kept_depth: 0,
            heading: None,
            ids: HashSet::new(),
            next_suffix: HashMap::new(),
            resolved: HashMap::new(),
            mentions: Vec::new(),
            excerpt: Excerpt::default(),
            first_image: None,
        }
    }

    fn event(&mut self, event: Event<'a>) {
        match event {
            // Raw HTML is shown as the text it is, never passed on.
            Event::Html(raw) | Event::InlineHtml(raw) => self.text(raw),
            Event::Start(Tag::HtmlBlock) => self.out.push(Event::Start(Tag::Paragraph)),
            Event::End(TagEnd::HtmlBlock) => {
                self.out.push(Event::End(TagEnd::Paragraph));
                self.excerpt.space();
            }
            Event::Start(Tag::Link {
                link_type,
                dest_url,
                title,
                ..
            }) => {
                let dest = match link_type {
                    LinkType::Email => format!("mailto:{dest_url}"),
                    _ => dest_url.to_string(),
                };
                let href = safe_href(&dest);
                self.links.push(href.is_some());
                if let Some(href) = href {
                    self.out.push(Event::Start(Tag::Link {
                        link_type: LinkType::Inline,
                        dest_url: href.into(),
                        title,
                        id: CowStr::Borrowed(""),
                    }));
                }
            }
            Event::End(TagEnd::Link) => {
                if self.links.pop() == Some(true) {
                    self.out.push(Event::End(TagEnd::Link));
                }
            }
            Event::Start(Tag::Image {
                link_type,
                dest_url,
                title,
                id,
            }) => {
                let src = safe_image(&dest_url);
                self.images.push(src.is_some());
                if let Some(src) = src {
                    self.first_image.get_or_insert_with(|| src.clone());
                    self.out.push(Event::Start(Tag::Image {
                        link_type,
                        dest_url: src.into(),
                        title,
                        id,
                    }));
                }
            }
            Event::End(TagEnd::Image) => {
                if self.images.pop() == Some(true) {
                    self.out.push(Event::End(TagEnd::Image));
                }
            }
            Event::Start(Tag::Heading { level, .. }) => {
                self.heading = Some(self.out.len());
                self.out.push(Event::Start(Tag::Heading {
                    level,
                    id: None,
                    classes: Vec::new(),
                    attrs: Vec::new(),
                }));
            }
            Event::End(TagEnd::Heading(level)) => {
                self.close_heading();
                self.out.push(Event::End(TagEnd::Heading(level)));
                self.excerpt.space();
            }
            Event::Start(Tag::CodeBlock(kind)) => {
                self.code_block = true;
                // The fence's first word becomes `class="language-…"`: keep only plain names.
                let kind = match kind {
                    CodeBlockKind::Fenced(info) => {
                        let lang = info.split_whitespace().next().unwrap_or_default();
                        let plain = allowed_value("code", "class", &format!("language-{lang}"));
                        CodeBlockKind::Fenced(if plain { lang.to_string().into() } else { "".into() })
                    }
                    indented => indented,
                };
                self.out.push(Event::Start(Tag::CodeBlock(kind)));
            }
            Event::End(TagEnd::CodeBlock) => {
                self.code_block = false;
                self.out.push(Event::End(TagEnd::CodeBlock));
                self.excerpt.space();
            }
            Event::Start(tag @ (Tag::BlockQuote(_) | Tag::List(_))) => {
                let kept = self.kept_depth < MAX_NESTING;
                self.kept_depth += usize::from(kept);
                self.containers.push(kept);
                if kept {
                    self.out.push(Event::Start(tag));
                }
            }
            Event::Start(Tag::Item) => {
                // An item goes with its list.
                let kept = self.containers.last().copied().unwrap_or(true);
                self.containers.push(kept);
                if kept {
                    self.out.push(Event::Start(Tag::Item));
                }
            }
            Event::End(end @ (TagEnd::BlockQuote(_) | TagEnd::List(_) | TagEnd::Item)) => {
                self.excerpt.space();
                if self.containers.pop().unwrap_or(true) {
                    self.kept_depth -= usize::from(!matches!(end, TagEnd::Item));
                    self.out.push(Event::End(end));
                }
            }
            Event::Text(text) => self.text(text),
            Event::Code(code) => {
                self.excerpt.push(&code);
                self.out.push(Event::Code(code));
            }
            Event::SoftBreak | Event::HardBreak | Event::Rule => {
                self.excerpt.space();
                self.out.push(event);
            }
            Event::End(end @ (TagEnd::Paragraph | TagEnd::TableCell)) => {
                self.excerpt.space();
                self.out.push(Event::End(end));
            }
            other => self.out.push(other),
        }
    }

    /// Plain text: URLs and mentions are linked unless inside code or a link.
    fn text(&mut self, text: CowStr<'a>) {
        if self.code_block {
            self.out.push(Event::Text(text));
            return;
        }
        if self.images.is_empty() {
            self.excerpt.push(&text);
        }
        if !self.links.is_empty() || !self.images.is_empty() {
            self.out.push(Event::Text(text));
            return;
        }
        let parts = pieces(&text);
        if let [Piece::Text(_)] | [] = parts[..] {
            self.out.push(Event::Text(text));
            return;
        }
        let mut events = Vec::with_capacity(parts.len());
        for part in parts {
            match part {
                Piece::Text(t) => events.push(Event::Text(t.to_string().into())),
                Piece::Url(url) => match safe_href(url) {
                    Some(href) => {
                        events.push(Event::Start(Tag::Link {
                            link_type: LinkType::Autolink,
                            dest_url: href.into(),
                            title: CowStr::Borrowed(""),
                            id: CowStr::Borrowed(""),
                        }));
                        events.push(Event::Text(url.to_string().into()));
                        events.push(Event::End(TagEnd::Link));
                    }
                    None => events.push(Event::Text(url.to_string().into())),
                },
                Piece::Mention(handle) => events.push(self.mention(handle)),
            }
        }
        self.out.extend(events);
    }

    fn mention(&mut self, handle: &str) -> Event<'a> {
        let key = handle.to_ascii_lowercase();
        if !self.resolved.contains_key(&key) {
            if self.resolved.len() >= MAX_MENTIONS {
                return Event::Text(format!("@{handle}").into());
            }
            // A resolver's URL is trusted no more than an author's.
            let target = self.resolver.resolve(&key).filter(|t| safe_href(&t.url).is_some());
            self.resolved.insert(key.clone(), target);
        }
        let Some(Some(target)) = self.resolved.get(&key) else {
            return Event::Text(format!("@{handle}").into());
        };
        if !self.mentions.iter().any(|m| m.member == target.member) {
            self.mentions.push(Mention {
                member: target.member.clone(),
                handle: key,
            });
        }
        Event::InlineHtml(
            format!(
                r#"<a class="mention" href="{}">@{}</a>"#,
                escape(&target.url),
                escape(handle)
            )
            .into(),
        )
    }

    /// Gives the open heading its id (`h-<slug>`, `-1`, `-2`… when repeated)
    /// and a self-link, so every section can be linked to without script.
    fn close_heading(&mut self) {
        let Some(start) = self.heading.take() else { return };
        let text: String = self.out[start + 1..]
            .iter()
            .filter_map(|e| match e {
                Event::Text(t) | Event::Code(t) => Some(&**t),
                _ => None,
            })
            .collect();
        let base = format!("{ID_PREFIX}{}", slug(&text));
        let mut n = self.next_suffix.get(&base).copied().unwrap_or(0);
        let mut id = base.clone();
        while self.ids.contains(&id) {
            n += 1;
            id = format!("{base}-{n}");
        }
        self.next_suffix.insert(base, n);
        self.ids.insert(id.clone());
        if let Event::Start(Tag::Heading { id: slot, .. }) = &mut self.out[start] {
            *slot = Some(id.clone().into());
        }
        self.out.push(Event::InlineHtml(
            format!(
                r##"<a class="anchor" href="#{}" aria-hidden="true">#</a>"##,
                escape(&id)
            )
            .into(),
        ));
    }
}

fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Collects plain text up to a little past the limit, then cuts at a word.
#[derive(Default)]
struct Excerpt {
    text: String,
}

impl Excerpt {
    fn push(&mut self, s: &str) {
        if self.text.len() < EXCERPT_CHARS * 8 {
            self.text.push_str(s);
        }
    }
    fn space(&mut self) {
        self.push(" ");
    }
    fn finish(self) -> String {
        let words: Vec<&str> = self.text.split_whitespace().collect();
        let mut out = String::new();
        for word in words {
            let needed = out.chars().count() + usize::from(!out.is_empty()) + word.chars().count();
            if needed > EXCERPT_CHARS {
                if out.is_empty() {
                    out = word.chars().take(EXCERPT_CHARS).collect();
                }
                out.push('…');
                return out;
            }
            if !out.is_empty() {
                out.push(' ');
            }
            out.push_str(word);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::super::{MentionTarget, NoMentions};
    use super::*;
    use crate::domain::MemberId;

    fn ada() -> MemberId {
        MemberId::parse(&"a".repeat(32)).unwrap()
    }

    fn resolver(handle: &str) -> Option<MentionTarget> {
        (handle == "ada").then(|| MentionTarget {
            member: ada(),
            url: format!("/members/{}", ada()),
        })
    }

    #[test]
    fn renders_gfm_tables_strikethrough_and_autolinks() {
        let out = render(
            "| a | b |\n|:-|-:|\n| 1 | ~~2~~ |\n\n<https://a.org> and https://b.org/x.",
            &NoMentions,
        );
        assert!(
            out.html.contains(r#"<th style="text-align: left">a</th>"#),
            "{}",
            out.html
        );
        assert!(out.html.contains("<del>2</del>"));
        assert!(out
            .html
            .contains(r#"<a href="https://a.org/" rel="nofollow ugc noopener">https://a.org</a>"#));
        assert!(out
            .html
            .contains(r#"<a href="https://b.org/x" rel="nofollow ugc noopener">https://b.org/x</a>."#));
    }

    #[test]
    fn raw_html_is_shown_as_text() {
        let out = render(
            "<b onclick=x>hi</b>\n\n<div>\n<script>alert(1)</script>\n</div>",
            &NoMentions,
        );
        assert!(out.html.contains("&lt;b onclick=x&gt;hi&lt;/b&gt;"), "{}", out.html);
        assert!(out.html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
        assert!(!out.html.contains("<script") && !out.html.contains("<b"));
    }

    #[test]
    fn mentions_link_and_are_listed_once() {
        let out = render("hi @Ada and @ada, not @bob, not `@ada`, not [@ada](/x)", &resolver);
        assert_eq!(
            out.mentions,
            [Mention {
                member: ada(),
                handle: "ada".into()
            }]
        );
        let link = format!(
            r#"<a class="mention" href="/members/{}" rel="nofollow ugc noopener">@Ada</a>"#,
            ada()
        );
        assert!(out.html.contains(&link), "{}", out.html);
        assert!(out.html.contains("not @bob") && out.html.contains("<code>@ada</code>"));
        assert_eq!(mention_candidates("@Ada @bob @ada ``@carl`` a@b.org"), ["ada", "bob"]);
    }

    #[test]
    fn mention_lookups_are_bounded() {
        let src: String = (0..60).map(|i| format!("@m{i} ")).collect();
        assert_eq!(mention_candidates(&src).len(), MAX_MENTIONS);
        assert!(render(&src, &NoMentions).html.contains("@m59"));
    }

    #[test]
    fn headings_get_unique_stable_anchors() {
        let out = render(
            "# Intro\n## Intro\n## Intro 1\n### Привет, *мир*\n# `x` <y>",
            &NoMentions,
        );
        for expected in [
            r##"<h1 id="h-intro">Intro<a class="anchor" href="#h-intro""##,
            r#"<h2 id="h-intro-1">"#,
            r#"<h2 id="h-intro-1-1">"#,
            r#"<h3 id="h-привет-мир">"#,
            r#"<h1 id="h-x-y">"#,
        ] {
            assert!(out.html.contains(expected), "{expected} in {}", out.html);
        }
    }

    #[test]
    fn bad_urls_leave_plain_text() {
        let out = render(
            "[a](javascript:alert(1)) ![b](http://a.org/i.png) ![c](https://a.org/c.png) <javascript:alert(2)>",
            &NoMentions,
        );
        assert!(out.html.starts_with("<p>a b <img"), "{}", out.html);
        assert!(!out.html.contains("javascript:alert(1)\""));
        assert_eq!(out.first_image.as_deref(), Some("https://a.org/c.png"));
        assert!(out.html.contains(r#"<img src="https://a.org/c.png" alt="c">"#));
    }

    #[test]
    fn code_keeps_plain_language_names_only() {
        let out = render("```rust extra\nfn x() {}\n```\n\n```\"><b>\ny\n```", &NoMentions);
        assert!(
            out.html.contains(r#"<pre><code class="language-rust">fn x() {}"#),
            "{}",
            out.html
        );
        assert!(out.html.contains("<pre><code>y"), "{}", out.html);
    }

    #[test]
    fn deep_nesting_is_flattened() {
        let out = render(&(">".repeat(40) + " deep"), &NoMentions);
        assert_eq!(out.html.matches("<blockquote>").count(), MAX_NESTING);
        assert!(out.html.contains("deep"));
        let list: String = (0..30).map(|i| format!("{}- x{i}\n", "  ".repeat(i))).collect();
        let out = render(&list, &NoMentions);
        assert_eq!(out.html.matches("<ul>").count(), MAX_NESTING);
        assert_eq!(out.html.matches("<li>").count(), MAX_NESTING);
        assert!(out.html.contains("x29"));
    }

    #[test]
    fn excerpts_are_plain_short_and_skip_code() {
        let out = render(
            "# Title\n\nSome **bold** text.\n\n```\nfn secret() {}\n```\n\n- one\n- two",
            &NoMentions,
        );
        assert_eq!(out.excerpt, "Title Some bold text. one two");
        let long = render(&"word ".repeat(200), &NoMentions).excerpt;
        assert!(long.ends_with("word…") && long.chars().count() <= EXCERPT_CHARS + 1);
        assert_eq!(
            render(&"x".repeat(1000), &NoMentions).excerpt.chars().count(),
            EXCERPT_CHARS + 1
        );
    }
}
