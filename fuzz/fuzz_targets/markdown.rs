//! A post's or a comment's Markdown source (`POST /posts`, `POST
//! /posts/{id}/comments`, a Telegram reply) into `markdown::render`, which
//! renders and sanitises it. Any bytes must render without panicking, and
//! the HTML must hold no active content by the audit's tokeniser (no script,
//! no event handler, no `javascript:` or other unsafe URL, no style);
//! the excerpt and the mentions keep their bounds.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    lodge::markdown::fuzz_render(data);
});
