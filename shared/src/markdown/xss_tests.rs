//! The XSS corpus (`xss_corpus.rs`): every payload, alone and inside
//! Markdown constructs, must render to HTML with no active content (checked
//! by tokenising the output, not by string search).

use super::audit::active_content;
use super::xss_corpus::PAYLOADS;
use super::{render, MentionTarget};
use crate::domain::MemberId;

/// `@evil` resolves to a URL an attacker might hope for: it must not survive.
fn resolver(handle: &str) -> Option<MentionTarget> {
    let url = match handle {
        "evil" => "javascript:alert(1)".to_string(),
        h => format!("/members/{h}"),
    };
    Some(MentionTarget {
        member: MemberId::parse(&"b".repeat(32)).unwrap(),
        url,
    })
}

fn wrappers(payload: &str) -> Vec<String> {
    vec![
        payload.to_string(),
        format!("text {payload} text"),
        format!("> {payload}"),
        format!("- {payload}"),
        format!("## {payload}"),
        format!("**{payload}**"),
        format!("[{payload}](https://a.org)"),
        format!("| a |\n|---|\n| {payload} |"),
        format!("<div>\n{payload}\n</div>"),
    ]
}

#[test]
fn no_payload_leaves_active_content() {
    let mut failures = Vec::new();
    for payload in PAYLOADS {
        for src in wrappers(payload) {
            let html = render(&src, &resolver).html;
            let problems = active_content(&html);
            if !problems.is_empty() {
                failures.push(format!("{src:?}\n  → {html}\n  {problems:?}"));
            }
            // Belt and braces: `<` in text is always escaped, so these can only be tags.
            let lower = html.to_ascii_lowercase();
            for tag in [
                "<script", "<svg", "<iframe", "<style", "<base", "<object", "<embed", "<form",
            ] {
                if lower.contains(tag) {
                    failures.push(format!("{src:?} → {html} holds {tag}"));
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn the_corpus_is_audited_for_real() {
    // The audit itself must flag each payload when it is passed raw.
    let unflagged: Vec<_> = PAYLOADS
        .iter()
        .filter(|p| p.starts_with('<') && !p.starts_with("<javascript") && !p.starts_with("<JAVASCRIPT"))
        .filter(|p| !p.starts_with("<data:") && !p.starts_with("<![") && !p.contains("**[x]"))
        .filter(|p| active_content(p).is_empty())
        .collect();
    assert!(unflagged.is_empty(), "{unflagged:?}");
}

#[test]
fn the_fuzz_body_holds_on_the_corpus() {
    for payload in PAYLOADS {
        super::fuzz_render(payload.as_bytes());
    }
    super::fuzz_render(&[0xff, 0xfe, b'<', 0, b'>']);
}

#[test]
fn pathological_bodies_render_without_blowing_the_stack() {
    let deep_quotes = ">".repeat(20_000) + " x";
    let deep_lists: String = (0..2_000).map(|i| format!("{}- x\n", "  ".repeat(i))).collect();
    let inputs = [
        deep_quotes,
        deep_lists,
        "[".repeat(50_000),
        "*a".repeat(30_000),
        "<".repeat(100_000),
        "@a ".repeat(30_000),
        "# h\n".repeat(20_000),
        "| a | b |\n|---|---|\n".to_string() + &"| x | y |\n".repeat(10_000),
    ];
    for src in inputs {
        let start = std::time::Instant::now();
        let out = render(&src, &resolver);
        println!("{:?}…: {:.0} ms", &src[..12], start.elapsed().as_secs_f64() * 1000.0);
        assert!(active_content(&out.html).is_empty(), "{}", &src[..20]);
    }
}
