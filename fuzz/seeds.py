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


def widget_query(fields):
    check = "\n".join(f"{k}={fields[k]}" for k in sorted(fields))
    key = hashlib.sha256(BOT_TOKEN).digest()
    signed = dict(fields, hash=hmac.new(key, check.encode(), hashlib.sha256).hexdigest())
    return "&".join(f"{k}={v}" for k, v in signed.items()).encode()


def main():
    seeds = {t: {} for t in ["telegram_update", "web_body", "forward_rule", "dialog_tree", "login_widget", "session_cookie"]}
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

    for folder in ["auth-email", "invites", "members", "settings", "forward-rules"]:
        for name, e in events(folder):
            seeds["web_body"][f"{folder}-{name}"] = http_text(e)

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
