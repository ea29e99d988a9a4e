#!/usr/bin/env bash
# Points the Telegram bot at a deployed Lodge stack: setWebhook (with the
# secret token from Secrets Manager) and setMyCommands. Safe to re-run.
#
#   bash infra/telegram-setup.sh                    # stack lodge-dev, secret lodge/dev
#   STACK=lodge-prod SECRET=lodge/prod bash infra/telegram-setup.sh
#   DROP_PENDING=true bash infra/telegram-setup.sh  # discard updates queued while no webhook was set
#
# Needs: aws CLI (credentials for the stack's account), curl, python3.
# The bot token and webhook secret are read from the secret's JSON keys
# telegram_bot_token and telegram_webhook_secret and never printed.
set -euo pipefail
STACK="${STACK:-lodge-dev}"
SECRET="${SECRET:-lodge/dev}"
DROP_PENDING="${DROP_PENDING:-false}"
API_BASE="${TELEGRAM_API_BASE:-https://api.telegram.org}"
export AWS_REGION="${AWS_REGION:-${AWS_DEFAULT_REGION:-eu-central-1}}"

api_url="$(aws cloudformation describe-stacks --stack-name "$STACK" \
  --query "Stacks[0].Outputs[?OutputKey=='ApiUrl'].OutputValue" --output text)"
[[ "$api_url" == https://* ]] || { echo "telegram-setup: stack $STACK has no ApiUrl output" >&2; exit 1; }
secret_json="$(aws secretsmanager get-secret-value --secret-id "$SECRET" --query SecretString --output text)"
field() { python3 -c 'import json,sys; print(json.loads(sys.stdin.read())[sys.argv[1]])' "$1" <<<"$secret_json"; }
token="$(field telegram_bot_token)"
webhook_secret="$(field telegram_webhook_secret)"

# Secrets never go on a command line, where `ps` shows them: the token (in
# the URL) reaches curl in a config file it reads from a pipe, the body (the
# webhook secret) on stdin; both are written by bash builtins, not programs.
call() { # method json-body
  curl --silent --show-error --fail-with-body --max-time 15 \
    --config <(printf 'url = "%s"\n' "$API_BASE/bot$token/$1") \
    -H 'content-type: application/json' --data-binary @- <<<"$2"
  echo
}

# The secret reaches python on stdin, not in argv.
body="$(python3 -c '
import json, sys
url, drop = sys.argv[1:3]
secret = sys.stdin.read()
print(json.dumps({
    "url": url,
    "secret_token": secret,
    # Only what the bot handles: messages and button presses, posts and
    # edits in forwarding sources, edits by members of replies that became
    # comments (edited_message in private), and the bot joining or leaving
    # chats (the chats /rules offers).
    "allowed_updates": ["message", "edited_message", "channel_post", "edited_channel_post",
                        "callback_query", "my_chat_member"],
    "drop_pending_updates": drop == "true",
    "max_connections": 20,
}))' "$api_url/telegram/webhook" "$DROP_PENDING" < <(printf '%s' "$webhook_secret"))"
echo "setWebhook → $api_url/telegram/webhook"
call setWebhook "$body"

echo "setMyCommands"
call setMyCommands '{"commands": [
  {"command": "start", "description": "Start, or link your Lodge account"},
  {"command": "help", "description": "What I can do"},
  {"command": "me", "description": "Your Lodge account"},
  {"command": "whois", "description": "Who is this? Reply to a message, forward one, or /whois @username"},
  {"command": "invite", "description": "A new invite link (approved members)"},
  {"command": "ask", "description": "Ask the club a question (the helpdesk)"},
  {"command": "top", "description": "Top posts of this week"},
  {"command": "settings", "description": "Your notification settings"}
]}'

echo "getWebhookInfo"
call getWebhookInfo '{}' | python3 -c '
import json, sys
r = json.load(sys.stdin).get("result")
print({k: r.get(k) for k in ("url", "pending_update_count", "last_error_message", "allowed_updates")} if isinstance(r, dict) else r)'
