//! Black-box tests: each starts its own local stack (resources under a unique
//! prefix in a shared AWS stand-in) and talks to it over HTTP and SQS.

mod auth;
mod aws_faults;
mod bad_input;
mod browser;
mod browser_flows;
mod browser_posts;
mod comments;
mod digests;
mod events;
mod feed;
mod forwarding;
mod health;
// the helpdesk bot (issue 13)
mod helpdesk;
mod iam;
mod ingest_retry;
mod invites;
mod limits;
mod lockout;
mod moderation;
mod notifier;
// notifications (issue 13)
mod browser_notifications;
mod notifications;
mod posts;
mod queues;
mod runner;
mod telegram;
mod telegram_client;
mod telegram_dialog;
mod telegram_moderation;
// replies to notification DMs, their buttons (issue 13)
mod telegram_replies;
mod telegram_rules;
mod telegram_settings;
mod webhook_claims;
