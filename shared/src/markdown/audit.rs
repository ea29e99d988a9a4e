//! An independent check of stored HTML: tokenised as a browser would
//! (html5ever), every element and attribute must be on the allow-list, with
//! an allowed value. Used by the XSS corpus test, the fuzz target and any
//! test that wants to prove a page holds no active content.

use std::cell::RefCell;

use html5ever::buffer_queue::BufferQueue;
use html5ever::tendril::StrTendril;
use html5ever::tokenizer::{TagKind, Token, TokenSink, TokenSinkResult, Tokenizer, TokenizerOpts};

use super::sanitize::{allowed_value, ATTRIBUTES, TAGS};

#[derive(Default)]
struct Auditor {
    problems: RefCell<Vec<String>>,
}

impl TokenSink for Auditor {
    type Handle = ();

    fn process_token(&self, token: Token, _line: u64) -> TokenSinkResult<()> {
        let mut problems = self.problems.borrow_mut();
        match token {
            Token::TagToken(tag) => {
                let name: &str = &tag.name;
                if !TAGS.contains(&name) {
                    problems.push(format!("element <{name}>"));
                }
                if tag.kind == TagKind::StartTag {
                    let allowed = ATTRIBUTES.iter().find(|(t, _)| *t == name).map_or(&[][..], |(_, a)| a);
                    for attr in &tag.attrs {
                        let (attr_name, value): (&str, &str) = (&attr.name.local, &attr.value);
                        if !allowed.contains(&attr_name) || !allowed_value(name, attr_name, value) {
                            problems.push(format!("attribute <{name} {attr_name}={value:?}>"));
                        }
                    }
                }
            }
            Token::CommentToken(c) => problems.push(format!("comment <!--{c}-->")),
            Token::DoctypeToken(_) => problems.push("doctype".into()),
            Token::NullCharacterToken => problems.push("NUL character".into()),
            Token::CharacterTokens(_) | Token::EOFToken | Token::ParseError(_) => {}
        }
        TokenSinkResult::Continue
    }
}

/// Everything in `html` outside the allow-list; empty when it is clean.
pub fn active_content(html: &str) -> Vec<String> {
    let tokenizer = Tokenizer::new(Auditor::default(), TokenizerOpts::default());
    let input = BufferQueue::default();
    input.push_back(StrTendril::from_slice(html));
    let _ = tokenizer.feed(&input);
    tokenizer.end();
    tokenizer.sink.problems.take()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_what_a_browser_would_run() {
        assert!(active_content(r#"<p>a <a href="https://a.org/" rel="nofollow ugc noopener">b</a></p>"#).is_empty());
        assert_eq!(
            active_content("<script>x</script>"),
            ["element <script>", "element <script>"]
        );
        assert_eq!(active_content(r#"<img src=x onerror=alert(1)>"#).len(), 2);
        assert_eq!(
            active_content(r#"<a href="javascript:alert(1)">x</a>"#),
            [r#"attribute <a href="javascript:alert(1)">"#]
        );
        assert_eq!(active_content("<!-- x -->"), ["comment <!-- x -->"]);
        assert!(active_content("&lt;script&gt;alert(1)&lt;/script&gt;").is_empty());
    }
}
