//! How long rendering takes, for the stored-HTML decision. Run with
//! `cargo test -p lodge --lib render_timing -- --ignored --nocapture`.

use std::time::Instant;

use super::{render, MentionTarget};
use crate::domain::MemberId;

/// A body like members write: headings, paragraphs with links and
/// mentions, a list, a table, a code block.
pub(crate) fn typical_body(target_bytes: usize) -> String {
    let section = "## Погода и планы на выходные\n\n\
        Друзья, в субботу собираемся в **Café Central** в 19:00 — кто с нами? @ada уже там, \
        @bob обещал прийти. Подробности на https://example.org/meetup?id=42 и в [чате](https://t.me/club).\n\n\
        - взять *настольные игры*\n- ~~забронировать стол~~ готово\n- обсудить поездку\n\n\
        | что | кто |\n|---|:-:|\n| пицца | @carl |\n| напитки | все |\n\n\
        ```rust\nfn main() { println!(\"hi\"); }\n```\n\n\
        > Цитата из прошлого обсуждения, чтобы было понятно, о чём речь.\n\n";
    let mut body = String::new();
    while body.len() < target_bytes {
        body.push_str(section);
    }
    body
}

fn resolver(handle: &str) -> Option<MentionTarget> {
    (handle != "carl").then(|| MentionTarget {
        member: MemberId::parse(&"c".repeat(32)).unwrap(),
        url: format!("/members/{handle}"),
    })
}

#[test]
#[ignore = "a measurement, not a check"]
fn render_timing() {
    for (label, bytes, runs) in [("2 KB", 2_000, 200), ("100 KB", 100_000, 10)] {
        let body = typical_body(bytes);
        let _ = render(&body, &resolver); // warm the sanitiser's allow-list
        let mut times: Vec<f64> = (0..runs)
            .map(|_| {
                let start = Instant::now();
                let out = render(&body, &resolver);
                std::hint::black_box(out);
                start.elapsed().as_secs_f64() * 1000.0
            })
            .collect();
        times.sort_by(f64::total_cmp);
        let html = render(&body, &resolver).html;
        let start = Instant::now();
        std::hint::black_box(super::sanitize::sanitize(&html));
        let sanitize_ms = start.elapsed().as_secs_f64() * 1000.0;
        println!(
            "render {label} ({} bytes, {} chars): median {:.3} ms, max {:.3} ms over {runs} runs; \
             sanitising its HTML alone {sanitize_ms:.3} ms",
            body.len(),
            body.chars().count(),
            times[times.len() / 2],
            times[times.len() - 1]
        );
    }
}
