//! The XSS corpus: every payload, alone and inside Markdown constructs, must
//! render to HTML with no active content (checked by tokenising the output,
//! not by string search).

use super::audit::active_content;
use super::{render, MentionTarget};
use crate::domain::MemberId;

const PAYLOADS: &[&str] = &[
    // Script tags, plain and mangled.
    "<script>alert(1)</script>",
    "<SCRIPT SRC=https://evil.org/x.js></SCRIPT>",
    "<scr<script>ipt>alert(1)</scr</script>ipt>",
    "<script/xss src=https://evil.org/x.js></script>",
    "<<script>alert(1);//<</script>",
    "</textarea><script>alert(1)</script>",
    "</title><script>alert(1)</script>",
    "<noscript><p title=\"</noscript><img src=x onerror=alert(1)>\">",
    // Event handlers.
    "<img src=x onerror=alert(1)>",
    "<img src=\"https://a.org/i.png\" onload=\"alert(1)\">",
    "<body onload=alert(1)>",
    "<div onmouseover=\"alert(1)\">hover</div>",
    "<a href=\"https://a.org\" onclick=\"alert(1)\">x</a>",
    "<input autofocus onfocus=alert(1)>",
    "<details open ontoggle=alert(1)>",
    "<video><source onerror=\"alert(1)\"></video>",
    // SVG and MathML.
    "<svg onload=alert(1)>",
    "<svg><script>alert(1)</script></svg>",
    "<svg><a xlink:href=\"javascript:alert(1)\"><text>x</text></a></svg>",
    "<svg><animate onbegin=alert(1) attributeName=x dur=1s>",
    "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>",
    // Other dangerous elements.
    "<iframe src=\"javascript:alert(1)\"></iframe>",
    "<object data=\"javascript:alert(1)\"></object>",
    "<embed src=\"data:text/html,<script>alert(1)</script>\">",
    "<form action=\"javascript:alert(1)\"><button>x</button></form>",
    "<meta http-equiv=\"refresh\" content=\"0;url=javascript:alert(1)\">",
    "<base href=\"javascript:alert(1)//\">",
    "<link rel=stylesheet href=\"https://evil.org/x.css\">",
    "<style>@import 'https://evil.org/x.css';</style>",
    "<div style=\"background:url(javascript:alert(1))\">x</div>",
    "<template><script>alert(1)</script></template>",
    // Malformed and nested tags, comments, entities.
    "<img \"\"\"><script>alert(1)</script>\">",
    "<a href=\"https://a.org\"<script>alert(1)</script>>x</a>",
    "<!--<img src=x onerror=alert(1)>-->",
    "<!--><script>alert(1)</script>-->",
    "<![CDATA[<script>alert(1)</script>]]>",
    "<?xml version=\"1.0\"?><script>alert(1)</script>",
    "<img src=x onerror=&#97;&#108;&#101;&#114;&#116;(1)>",
    "&lt;script&gt;alert(1)&lt;/script&gt;",
    "<a href=\"jav&#x09;ascript:alert(1)\">x</a>",
    "<p id=\"csrf\">clobber</p>",
    // Markdown links.
    "[x](javascript:alert(1))",
    "[x](JaVaScRiPt:alert(1))",
    "[x](javascript&#58;alert(1))",
    "[x](javascript&colon;alert(1))",
    "[x](jav&#x09;ascript:alert(1))",
    "[x](&#106;avascript:alert(1))",
    "[x](%6Aavascript:alert(1))",
    "[x](<javascript:alert(1)>)",
    "[x]( javascript:alert(1))",
    "[x](vbscript:msgbox(1))",
    "[x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "[x](//evil.org)",
    "[x](/\\evil.org)",
    "[x](https://a.org \"title\\\" onmouseover=\\\"alert(1)\")",
    "[x](https://a.org\" onmouseover=\"alert(1))",
    "[x][r]\n\n[r]: javascript:alert(1)",
    "[x][r]\n\n[r]: <javascript:alert(1)> \"t\"",
    "[r]\n\n[r]: javascript:alert(1)",
    "<javascript:alert(1)>",
    "<JAVASCRIPT:alert(1)>",
    "<data:text/html,<script>alert(1)</script>>",
    "javascript:alert(1)",
    "https://a.org/\"onmouseover=\"alert(1)",
    "https://a.org/<script>alert(1)</script>",
    "[<img src=x onerror=alert(1)>](https://a.org)",
    "[![x](javascript:alert(1))](javascript:alert(2))",
    // Markdown images.
    "![x](javascript:alert(1))",
    "![x](data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+)",
    "![x](http://a.org/i.png)",
    "![x\" onerror=\"alert(1)](https://a.org/i.png)",
    "![x](https://a.org/i.png\"onerror=\"alert(1))",
    "![x](https://a.org/i.png \"t\\\" onerror=\\\"alert(1)\")",
    "![x][i]\n\n[i]: javascript:alert(1)",
    "![<script>alert(1)</script>](https://a.org/i.png)",
    // Code, headings, tables and mentions carrying payloads.
    "`<script>alert(1)</script>`",
    "```html\n<script>alert(1)</script>\n```",
    "```\"><script>alert(1)</script>\nx\n```",
    "    <script>alert(1)</script>",
    "# <script>alert(1)</script>",
    "# x {#csrf onclick=alert(1)}",
    "| <script>alert(1)</script> | [x](javascript:alert(1)) |\n|---|---|\n| <img src=x onerror=alert(1)> | y |",
    "@\"><script>alert(1)</script>",
    "@evil",
    "> <svg onload=alert(1)>\n> - [x](javascript:alert(1))",
    "~~<script>alert(1)</script>~~",
    "*<img src=x onerror=alert(1)>*",
    "<a href=\"https://a.org\">**[x](javascript:alert(1))**</a>",
];

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
