#!/usr/bin/env python3
"""Writes fuzz/seeds/<target>/: valid inputs from events/ and the unit tests.

Run from anywhere: python3 fuzz/seeds.py. The seeds are committed; the
corpora the fuzzer grows from them (fuzz/corpus/) are not.
"""
import base64
import hashlib
import hmac
import json
import pathlib
import re
import shutil

ROOT = pathlib.Path(__file__).resolve().parent.parent
OUT = ROOT / "fuzz" / "seeds"
NOW = 1_795_255_200
# The targets' fixed secrets (fuzz_targets/login_widget.rs, session_cookie.rs).
BOT_TOKEN = b"123456:ABC-fuzz-token"
SESSION_KEY = b"fuzz-session-key-of-at-least-32-bytes"


def events(folder):
    for f in sorted((ROOT / "events" / folder).glob("*.json")):
        yield f.stem, json.loads(f.read_text())


def body(event):
    b = event.get("body") or ""
    return base64.b64decode(b) if event.get("isBase64Encoded") else b.encode()


def http_text(event):
    """An API Gateway event as the web_body target's request text."""
    target = event["rawPath"] + ("?" + event["rawQueryString"] if event.get("rawQueryString") else "")
    lines = [f"{event['requestContext']['http']['method']} {target}"]
    lines += [f"{k}: {v}" for k, v in event.get("headers", {}).items()]
    lines += [f"cookie: {c}" for c in event.get("cookies", [])]
    return ("\n".join(lines) + "\n\n").encode() + body(event)


def xss_payloads():
    """The XSS corpus's payloads (shared/src/markdown/xss_corpus.rs), decoded."""
    text = (ROOT / "shared" / "src" / "markdown" / "xss_corpus.rs").read_text()
    block = text[text.index("PAYLOADS: &[&str] = &["):text.index("\n];")]
    for lit in re.findall(r'^\s*"((?:[^"\\]|\\.)*)",', block, re.M):
        yield json.loads('"' + lit + '"')


MARKDOWN = {
    "table-link-mention": "| a | b |\n|---|:-:|\n| [x](https://a.org) | @ada |\n\nHi @ada, see ![i](https://a.org/i.png)",
    "nested": "> quote\n> - item\n>   1. one\n>      ```rust\n>      fn main() {}\n>      ```\n\n- [ ] task\n- [x] done",
    "footnote-refs": "Text[^1] and [ref].\n\n[^1]: a note\n[ref]: https://a.org 'title'",
    "html-inline": "<details><summary>s</summary>*md* <b>b</b> &amp; &#x3c;</details>",
    "emphasis": "***a*** __b__ ~~c~~ `d` ``e ` f``",
}


def widget_query(fields):
    check = "\n".join(f"{k}={fields[k]}" for k in sorted(fields))
    key = hashlib.sha256(BOT_TOKEN).digest()
    signed = dict(fields, hash=hmac.new(key, check.encode(), hashlib.sha256).hexdigest())
    return "&".join(f"{k}={v}" for k, v in signed.items()).encode()


def main():
    seeds = {t: {} for t in ["telegram_update", "web_body", "forward_rule", "dialog_tree", "login_widget",
                             "session_cookie", "markdown"]}
    for name, e in events("telegram-webhook"):
        seeds["telegram_update"][name] = body(e)
    buttons = ["fr:l:3", "fr:s:0123456789ab", "fr:c:-1001000000100:7", "fr:m:fallback", "fr:new", "x:approve:abc"]
    for i, data in enumerate(buttons):
        update = {"update_id": 1, "callback_query": {"id": "q", "from": {"id": 7, "first_name": "A"}, "data": data,
                  "message": {"message_id": 3, "chat": {"id": 7, "type": "private"}}}}
        seeds["telegram_update"][f"button-{i}"] = json.dumps(update).encode()
    album = {"update_id": 2, "channel_post": {"message_id": 5, "chat": {"id": -1001, "type": "channel"},
             "media_group_id": "g1", "caption": "news", "photo": [{"file_id": "f", "file_unique_id": "u"}]}}
    seeds["telegram_update"]["album-photo"] = json.dumps(album).encode()

    for folder in ["auth-email", "invites", "members", "settings", "forward-rules", "posts", "comments", "feed"]:
        for name, e in events(folder):
            seeds["web_body"][f"{folder}-{name}"] = http_text(e)

    cursor = base64.urlsafe_b64encode(json.dumps({"l": "ALL", "o": "activity", "b": [
        {"p": "ALL", "at": {"pk": "POST#x", "sk": "POST", "r": "1796169600000"}}]}).encode()).rstrip(b"=")
    seeds["web_body"]["feed-cursor"] = b"GET /?sort=top&period=week&cursor=" + cursor + b"\n\n"
    seeds["web_body"]["event-form"] = (b"POST /posts\ncontent-type: application/x-www-form-urlencoded\n\n"
                                       b"type=event&title=Meetup&starts_at=2026-12-05T19%3A00&ends_at=2026-12-05T21%3A00"
                                       b"&place=Caf%C3%A9&room=travel&public=on")
    seeds["web_body"]["link-form"] = (b"POST /posts\ncontent-type: application/json\n\n"
                                      b'{"type":"link","title":"Read","url":"https://a.org/x?y=1#z","draft":"1"}')

    for i, payload in enumerate(xss_payloads()):
        seeds["markdown"][f"xss-{i:03}"] = payload.encode()
    for name, text in MARKDOWN.items():
        seeds["markdown"][name] = text.encode()
    for folder in ["posts", "comments"]:
        for name, e in events(folder):
            b = body(e)
            if b.startswith(b"{"):
                doc = json.loads(b)
                if doc.get("body"):
                    seeds["markdown"][f"{folder}-{name}"] = doc["body"].encode()

    for name, e in events("forward-rules"):
        if body(e):
            seeds["forward_rule"][name] = body(e)
    seeds["forward_rule"]["regex-replace"] = json.dumps(
        {"source_chat_id": -1001, "destinations": [{"chat_id": -1002, "thread_id": 4}], "mode": "copy",
         "fallback_to_copy": True, "filters": {"regex": True, "include": ["n.ws"], "exclude": ["spam"],
         "media": ["text", "photo"], "replace": [{"from": "(\\w+)", "to": "<$1>"}], "header": "H", "footer": "F"}}
    ).encode()

    for name, e in events("settings"):
        if e["routeKey"].startswith("PUT /api/admin/dialog"):
            seeds["dialog_tree"][name] = body(e)
    tree = {"commands": ["menu"], "root": {"text": "Hello", "children": [
        {"label": "What is Lodge?", "text": "A club."},
        {"label": "How do I join?", "id": "join", "text": "Ask.", "children": [{"label": "I have one", "text": "Go."}]}]}}
    seeds["dialog_tree"]["json"] = json.dumps(tree).encode()

    for name, e in events("settings"):
        if e["routeKey"] == "GET /auth/telegram":
            seeds["login_widget"][name] = e["rawQueryString"].encode()
    seeds["login_widget"]["signed"] = widget_query(
        {"id": "42", "first_name": "Ada", "username": "ada", "auth_date": str(NOW - 100)})

    for name, e in events("settings"):
        for c in e.get("headers", {}).get("cookie", "").split("\n"):
            if c:
                seeds["session_cookie"][f"cookie-{name}"] = b"\x00" + c.encode()
    claims = {"sub": "0123456789abcdef0123456789abcdef", "sid": "fedcba9876543210fedcba9876543210",
              "iat": NOW, "exp": NOW + 60}
    seeds["session_cookie"]["claims"] = b"\x01" + json.dumps(claims).encode()

    shutil.rmtree(OUT, ignore_errors=True)
    for target, files in seeds.items():
        (OUT / target).mkdir(parents=True)
        for name, data in files.items():
            (OUT / target / name).write_bytes(data)
        print(f"{target}: {len(files)} seeds")


if __name__ == "__main__":
    main()
