//! The key scheme of the single table — every partition/sort key is built here.
//!
//! | item            | pk                       | sk                 | gsi1                            |
//! |-----------------|--------------------------|--------------------|---------------------------------|
//! | member          | `MEMBER#<id>`            | `PROFILE`          | `STATUS#<status>` / `<created>` |
//! | email → member  | `EMAIL#<address>`        | `EMAIL`            |                                 |
//! | telegram → mbr  | `TG#<user id>`           | `TG`               |                                 |
//! | tg username     | `TGNAME#<lower name>`    | `TGNAME`           |                                 |
//! | tg link token   | `TGLINK#<sha256>`        | `TGLINK`           |                                 |
//! | tg update seen  | `TGUPD#<update id>`      | `TGUPD`            |                                 |
//! | tg intro post   | `TGPOST#<member id>`     | `TGPOST`           |                                 |
//! | dialog tree     | `DIALOG`                 | `TREE`             |                                 |
//! | dialog position | `DIALOGPOS#<user id>`    | `POS`              |                                 |
//! | dialog log      | `DIALOGLOG`              | `<at>#<random>`    |                                 |
//! | login code      | `LOGIN#<address>`        | `CODE`             |                                 |
//! | code sign-in lock | `LOGIN#<address>`      | `LOCK`             |                                 |
//! | session         | `SESSION#<id>`           | `SESSION`          | `MEMBER#<id>` / `SESSION#<t>`   |
//! | staff entry     | `STAFF`                  | `<member id>`      |                                 |
//! | invite          | `INVITE#<code>`          | `INVITE`           | `MEMBER#<creator>` / `INVITE#<t>` |
//! | decision        | `MEMBER#<id>`            | `DECISION#<t>#<id>`|                                 |
//! | rate counter    | `RATE#<what>#<key>`      | `<window start>`   |                                 |
//! | processed msg   | `DONE#<queue>#<id>`      | `DONE`             |                                 |
//! | health probe    | `HEALTH`                 | `HEALTH`           |                                 |
//! | forward rule    | `FWDRULES`               | `RULE#<id>`        |                                 |
//! | rule by source  | `FWDSRC#<chat>`          | `RULE#<id>`        |                                 |
//! | album item      | `FWDALBUM#<chat>#<grp>`  | `ITEM#<msg:020>`   |                                 |
//! | album group     | `FWDALBUM#<chat>#<grp>`  | `GROUP`            |                                 |
//! | forward job     | `FWDJOB#<job id>`        | `JOB`              |                                 |
//! | content hash    | `FWDHASH#<dest>`         | `<sha256>`         |                                 |
//! | copy map        | `FWDMAP#<chat>#<msg>`    | `<rule>#<dest>`    |                                 |
//! | rule draft      | `FWDDRAFT#<user id>`     | `DRAFT`            |                                 |
//! | bot's chat      | `TGCHATS`                | `CHAT#<chat id>`   |                                 |
//! | inbox entry     | `INBOX#<member>`         | `<ms:013>.<event>` | `UNREAD#<member>` / sk, while unread |
//! | sent notice (tg)| `TGNOTE#<chat>#<msg>`    | `TGNOTE`           |                                 |
//! | tg reply source | `TGREPLY#<chat>#<msg>`   | `TGREPLY`          |                                 |
//! | pending email   | `MAILQ#<member>`         | `P#<ms:013>.<event>` |                               |
//! | email window    | `MAILQ#<member>`         | `WINDOW`           | `MAILDUE` / `<due:010>#<member>`, while due |
//! | comment         | `POST#<post id>`         | `C#<path>`         |                                 |
//! | comment locator | `COMMENT#<id>`           | `REF`              | `CDAY#<yyyy-mm-dd>` / `<ms:013>#<id>` |
//! | comment vote    | `POST#<post id>`         | `CVOTE#<member>#<comment>` |                         |
//! | post and parts  | `POST#<id>`              | `POST`, `BODY`, `HTML`, `REV#<t>#<v>`, `LIST#…`, `READER#<m>`, `RSVP#<m>`, `FOLLOW#<m>` | see docs/posts.md |
//! | rate ring       | `RATE#<what>#<member>`   | `RING`             |                                 |
//! | pinned post     | `PINNED`                 | `<post id>`        |                                 |
//! | report          | `REPORTS#<target>`       | `<reporter>`, `DECISION#<t>` | `REPORTS#open` / `<t>#<target>#<reporter>` |
//! | member handle   | `HANDLE#<lower>`         | `HANDLE`           |                                 |
//! | room            | `ROOMS`                  | `ROOM#<slug>`      |                                 |
//! | feed (read side; docs/posts.md): post items, pins, rooms as the posts branch names them |
//! | room subscriber | `ROOM#<slug>`            | `SUB#<member>`     |                                 |
//! | feed token      | (on the member's `PROFILE`: `feed_token_hash`) |    |                                 |
//! | digest issue    | `DIGEST#<issue id>`      | `ISSUE`            | `DIGESTS` / `<issue id>`        |
//! | digest note     | `DIGESTNOTE`             | `NEXT`             |                                 |
//! | bounce counts   | `MAILSTATS`              | `TOTAL`            |                                 |
//! | ask draft       | `HDDRAFT#<user id>`      | `DRAFT`            |                                 |
//! | helpdesk post   | `HDCHAN#<chat>#<msg>`    | `HDCHAN`           |                                 |
//! | helpdesk thread | `HDTHREAD#<chat>#<msg>`  | `HDTHREAD`         |                                 |

use aws_sdk_dynamodb::types::AttributeValue;

use crate::domain::{Email, MemberId, SessionId};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Key {
    pub pk: String,
    pub sk: String,
    /// Secondary-index keys written with the item, if it is indexed.
    pub gsi1: Option<(String, String)>,
}

impl Key {
    fn new(pk: String, sk: &str) -> Self {
        Self {
            pk,
            sk: sk.to_string(),
            gsi1: None,
        }
    }

    pub fn with_gsi1(mut self, pk: String, sk: String) -> Self {
        self.gsi1 = Some((pk, sk));
        self
    }

    pub fn member(id: &MemberId) -> Self {
        Self::new(format!("MEMBER#{id}"), "PROFILE")
    }

    pub fn email(email: &Email) -> Self {
        Self::new(format!("EMAIL#{email}"), "EMAIL")
    }

    pub fn login_code(email: &Email) -> Self {
        Self::new(format!("LOGIN#{email}"), "CODE")
    }

    /// Sign-in by code locked for the address (too many wrong guesses).
    pub fn login_lock(email: &Email) -> Self {
        Self::new(format!("LOGIN#{email}"), "LOCK")
    }

    pub fn session(id: &SessionId) -> Self {
        Self::new(format!("SESSION#{id}"), "SESSION")
    }

    pub fn rate(what: &str, key: &str, window_start: i64) -> Self {
        Self::new(format!("RATE#{what}#{key}"), &window_start.to_string())
    }

    /// Marks a message as processed, so redeliveries are no-ops.
    pub fn done(queue: &str, id: &str) -> Self {
        Self::new(format!("DONE#{queue}#{id}"), "DONE")
    }

    /// Telegram user → member uniqueness marker.
    pub fn telegram(user_id: i64) -> Self {
        Self::new(format!("TG#{user_id}"), "TG")
    }

    /// All rules share one partition (admins keep tens, not millions).
    pub fn forward_rule(id: &str) -> Self {
        Self::new(FORWARD_RULES.into(), &format!("RULE#{id}"))
    }

    /// A copy of the rule under its source chat: every incoming post looks
    /// its rules up with one strongly consistent base-table query (a GSI
    /// would be eventually consistent: a new or broken rule could be missed).
    pub fn forward_rule_by_source(source_chat: i64, id: &str) -> Self {
        Self::new(forward_rules_of(source_chat), &format!("RULE#{id}"))
    }

    pub fn album_item(chat: i64, group: &str, message_id: i64) -> Self {
        Self::new(format!("FWDALBUM#{chat}#{group}"), &format!("ITEM#{message_id:020}"))
    }

    pub fn album_group(chat: i64, group: &str) -> Self {
        Self::new(format!("FWDALBUM#{chat}#{group}"), "GROUP")
    }

    pub fn forward_job(id: &str) -> Self {
        Self::new(format!("FWDJOB#{id}"), "JOB")
    }

    /// `dest` is `Destination::key()`: a topic dedups on its own.
    pub fn content_hash(dest: &str, hash: &str) -> Self {
        Self::new(format!("FWDHASH#{dest}"), hash)
    }

    /// Source message → its copy in one destination of one rule.
    pub fn copy_map(source_chat: i64, source_message: i64, rule: &str, dest: &str) -> Self {
        Self::new(
            format!("FWDMAP#{source_chat}#{source_message}"),
            &format!("{rule}#{dest}"),
        )
    }

    /// A rule an admin is creating in the bot, one per Telegram user.
    pub fn rule_draft(user_id: i64) -> Self {
        Self::new(format!("FWDDRAFT#{user_id}"), "DRAFT")
    }

    /// A chat the bot was added to (from `my_chat_member` updates). One
    /// partition: a bot is in tens of chats, and `/rules` lists them all.
    pub fn telegram_chat(chat_id: i64) -> Self {
        Self::new(TELEGRAM_CHATS.into(), &format!("CHAT#{chat_id}"))
    }

    /// `@username` (lower-cased) → Telegram user id, for `/whois @name`.
    pub fn telegram_username(username: &str) -> Self {
        Self::new(format!("TGNAME#{}", username.to_lowercase()), "TGNAME")
    }

    /// A one-time account-linking token, by the SHA-256 of the token.
    pub fn telegram_link(token_hash: &str) -> Self {
        Self::new(format!("TGLINK#{token_hash}"), "TGLINK")
    }

    /// A webhook update already taken (Telegram redelivers on non-2xx).
    pub fn telegram_update(update_id: i64) -> Self {
        Self::new(format!("TGUPD#{update_id}"), "TGUPD")
    }

    /// The admin-chat message showing a member's latest intro.
    pub fn telegram_intro_post(member: &MemberId) -> Self {
        Self::new(format!("TGPOST#{member}"), "TGPOST")
    }

    pub fn dialog_tree() -> Self {
        Self::new("DIALOG".into(), "TREE")
    }

    pub fn dialog_position(user_id: i64) -> Self {
        Self::new(format!("DIALOGPOS#{user_id}"), "POS")
    }

    /// One partition for the whole log: a community bot writes a few items a
    /// second at most, far below a partition's 1,000 writes/s, and the export
    /// is then one ordered query.
    pub fn dialog_log(at: i64, nonce: &str) -> Self {
        Self::new(DIALOG_LOG.into(), &format!("{at:012}#{nonce}"))
    }

    pub fn staff(member: &MemberId) -> Self {
        Self::new(STAFF.into(), member.as_str())
    }

    pub fn invite(code: &crate::domain::InviteCode) -> Self {
        Self::new(format!("INVITE#{code}"), "INVITE")
    }

    /// One moderation decision in a member's history.
    pub fn decision(member: &MemberId, at: i64, id: &str) -> Self {
        Self::new(format!("MEMBER#{member}"), &format!("DECISION#{at:012}#{id}"))
    }

    /// A monthly counter (invite quota), e.g. `2026-11`.
    pub fn monthly(what: &str, key: &str, month: &str) -> Self {
        Self::new(format!("RATE#{what}#{key}"), month)
    }

    // --- posts (docs/posts.md): a post's partition, rings, pins, reports, handles, rooms ---
    // --- feed (docs/posts.md): the items the feed reads. `post_item`,
    // `post_reader`, `pinned` and `room` are the posts branch's, word for word:
    // keep one copy when merging. ---

    /// One item of a post's partition, e.g. `POST`, `BODY`, `HTML`, `LIST#TYPE`.
    pub fn post_item(post: &crate::domain::PostId, sk: &str) -> Self {
        Self::new(format!("POST#{post}"), sk)
    }

    /// An earlier version of a post (its edit history), sorted by time.
    pub fn post_revision(post: &crate::domain::PostId, at_ms: i64, version: u64) -> Self {
        Self::post_item(post, &format!("REV#{at_ms:013}#{version:06}"))
    }

    /// One member's state on one post: vote, bookmark, visits.
    pub fn post_reader(post: &crate::domain::PostId, member: &MemberId) -> Self {
        Self::post_item(post, &format!("READER#{member}"))
    }

    pub fn post_rsvp(post: &crate::domain::PostId, member: &MemberId) -> Self {
        Self::post_item(post, &format!("RSVP#{member}"))
    }

    pub fn post_follow(post: &crate::domain::PostId, member: &MemberId) -> Self {
        Self::post_item(post, &format!("{FOLLOWER}{member}"))
    }

    /// A sliding-window rate ring (`store::ring`).
    pub fn ring(what: &str, member: &MemberId) -> Self {
        Self::new(format!("RATE#{what}#{member}"), "RING")
    }

    pub fn pinned(post: &crate::domain::PostId) -> Self {
        Self::new(PINNED.into(), post.as_str())
    }

    /// One member's report on one item; `target` is `POST#<id>` or `COMMENT#<id>`.
    pub fn report(target: &str, reporter: &MemberId) -> Self {
        Self::new(format!("REPORTS#{target}"), reporter.as_str())
    }

    pub fn report_decision(target: &str, at_ms: i64) -> Self {
        Self::new(format!("REPORTS#{target}"), &format!("DECISION#{at_ms:013}"))
    }

    /// `@handle` (lower-cased) → member: unique by key.
    pub fn handle(lower: &str) -> Self {
        Self::new(format!("HANDLE#{lower}"), "HANDLE")
    }

    /// A room (the feed's rooms admin writes them; posts check they exist).
    pub fn room(slug: &crate::domain::RoomSlug) -> Self {
        Self::new(ROOMS.into(), &format!("ROOM#{slug}"))
    }

    /// A member's weekly tally (`replies`, `upvotes` received), e.g. `2026-W49`.
    pub fn member_week(member: &MemberId, week: &str) -> Self {
        Self::new(format!("MEMBER#{member}"), &format!("WEEK#{week}"))
    }

    // --- end of posts ---
    /// A member subscribed to a room (issue 13 fans new posts out to them).
    pub fn room_subscriber(slug: &crate::domain::RoomSlug, member: &MemberId) -> Self {
        Self::new(room_subscribers(slug), &format!("{SUBSCRIBER}{member}"))
    }

    // --- end of feed ---

    pub fn health() -> Self {
        Self::new("HEALTH".into(), "HEALTH")
    }

    // ---- notifications (issue 13, docs/notifications.md)

    /// One entry of a member's inbox; `id` is `<ms:013>.<event key>`, so the
    /// partition reads newest first.
    pub fn inbox_entry(member: &MemberId, id: &str) -> Self {
        Self::new(inbox_of(member), id)
    }

    /// A content event not yet fanned out (`store::outbox`), by its time.
    pub fn outbox_entry(at_ms: i64, event_key: &str) -> Self {
        Self::new(OUTBOX.to_string(), &format!("{at_ms:013}#{event_key}"))
    }

    /// A notification the bot sent: the reply and button mapping.
    pub fn telegram_note(chat_id: i64, message_id: i64) -> Self {
        Self::new(format!("TGNOTE#{chat_id}#{message_id}"), "TGNOTE")
    }

    /// A member's Telegram message that became a comment (written in the comment's transaction).
    pub fn telegram_reply(chat_id: i64, message_id: i64) -> Self {
        Self::new(format!("TGREPLY#{chat_id}#{message_id}"), "TGREPLY")
    }

    /// One line waiting for the member's next coalesced email.
    pub fn pending_email(member: &MemberId, id: &str) -> Self {
        Self::new(mailbox_of(member), &format!("{PENDING_EMAIL}{id}"))
    }

    /// When the member's next coalesced email is due (in `MAILDUE` while it is).
    pub fn email_window(member: &MemberId) -> Self {
        Self::new(mailbox_of(member), "WINDOW")
    }

    // Comments (docs/posts.md, "A post's partition" and "Elsewhere").

    /// A comment, under its path of ancestor ids (`<c1>#<c2>#<c3>`).
    pub fn comment(post: &crate::domain::PostId, path: &str) -> Self {
        Self::post_item(post, &format!("{COMMENT_PREFIX}{path}"))
    }

    /// `/comments/{id}/…` routes carry only the id: this names the post and path.
    pub fn comment_ref(id: &crate::domain::CommentId, created_ms: i64) -> Self {
        Self::new(format!("COMMENT#{id}"), "REF").with_gsi1(
            format!(
                "CDAY#{}",
                crate::clock::rfc3339(created_ms.div_euclid(1000))
                    .get(..10)
                    .unwrap_or_default()
            ),
            format!("{created_ms:013}#{id}"),
        )
    }

    pub fn comment_vote(post: &crate::domain::PostId, member: &MemberId, comment: &crate::domain::CommentId) -> Self {
        Self::post_item(post, &format!("{}{comment}", comment_votes_of(member)))
    }

    // Digests (issue 14, docs/digests.md). The send ledger is `Store::once`
    // (`DONE#digest#<issue>#<member>`), one item per (issue, member).

    /// The `gsi1` partition of the digest archive, by issue id.
    pub const DIGESTS: &'static str = "DIGESTS";

    /// A digest issue and its shared content; in the archive (`DIGESTS`) unless skipped.
    pub fn digest_issue(id: &crate::domain::digest::IssueId) -> Self {
        Self::new(format!("DIGEST#{id}"), "ISSUE")
    }

    /// The admin's editorial note for the next issue.
    pub fn digest_note() -> Self {
        Self::new("DIGESTNOTE".into(), "NEXT")
    }

    /// Bounce, complaint and rejection counts (admin page).
    pub fn mail_stats() -> Self {
        Self::new("MAILSTATS".into(), "TOTAL")
    }

    // Helpdesk (issue 13, docs/helpdesk.md).

    /// A question being asked in the bot (`/ask`), one per Telegram user.
    pub fn question_draft(user_id: i64) -> Self {
        Self::new(format!("HDDRAFT#{user_id}"), "DRAFT")
    }

    /// A question's message in the helpdesk channel, and its discussion copy.
    pub fn helpdesk_channel_post(chat_id: i64, message_id: i64) -> Self {
        Self::new(format!("HDCHAN#{chat_id}#{message_id}"), "HDCHAN")
    }

    /// A discussion-group message that stands for a question post.
    pub fn helpdesk_thread(chat_id: i64, message_id: i64) -> Self {
        Self::new(format!("HDTHREAD#{chat_id}#{message_id}"), "HDTHREAD")
    }

    /// The primary key attributes only (for Get/Update/Delete).
    pub fn to_item(&self) -> super::Item {
        [
            ("pk".to_string(), AttributeValue::S(self.pk.clone())),
            ("sk".to_string(), AttributeValue::S(self.sk.clone())),
        ]
        .into_iter()
        .collect()
    }
}

pub const DIALOG_LOG: &str = "DIALOGLOG";

/// Partition of pinned posts (home reads it whole), of rooms, and the open
/// reports' `gsi1` partition.
pub const PINNED: &str = "PINNED";
pub const ROOMS: &str = "ROOMS";
pub const REPORTS_OPEN: &str = "REPORTS#open";

/// The partition of a room's subscribers.
pub fn room_subscribers(slug: &crate::domain::RoomSlug) -> String {
    format!("ROOM#{slug}")
}

/// `gsi1` partitions the feed reads: a member's bookmarks, the event calendar.
pub fn bookmarks_of(member: &MemberId) -> String {
    format!("BOOKMARKS#{member}")
}
pub const EVENTS: &str = "EVENTS";

/// Partition of the staff list (moderators and admins).
pub const STAFF: &str = "STAFF";

/// GSI partition listing a member's invites, newest last.
pub fn invites_of(member: &MemberId) -> String {
    format!("MEMBER#{member}")
}

/// GSI partition listing members in one status, oldest first.
pub fn members_by_status(status: crate::domain::MemberStatus) -> String {
    format!("STATUS#{}", status.as_str())
}

/// Partition holding the rules of one source chat.
pub fn forward_rules_of(source_chat: i64) -> String {
    format!("FWDSRC#{source_chat}")
}

/// Partition holding every forwarding rule.
pub const FORWARD_RULES: &str = "FWDRULES";

/// The partition of the chats the bot is in.
pub const TELEGRAM_CHATS: &str = "TGCHATS";

/// A member's inbox partition, and its `gsi1` partition of unread entries.
/// The outbox's one partition.
pub const OUTBOX: &str = "OUTBOX";
pub fn inbox_of(member: &MemberId) -> String {
    format!("INBOX#{member}")
}
pub fn unread_of(member: &MemberId) -> String {
    format!("UNREAD#{member}")
}
/// A member's coalesced-email partition: `P#…` lines and the `WINDOW`.
pub fn mailbox_of(member: &MemberId) -> String {
    format!("MAILQ#{member}")
}
pub const PENDING_EMAIL: &str = "P#";
/// `gsi1` partition of the email windows that are due or will be.
pub const EMAIL_DUE: &str = "MAILDUE";
/// Sort-key prefixes of a post's followers and a room's subscribers.
pub const FOLLOWER: &str = "FOLLOW#";
pub const SUBSCRIBER: &str = "SUB#";
/// Sort-key prefix of a post's comments: one `begins_with` reads the thread.
pub const COMMENT_PREFIX: &str = "C#";

/// Sort-key prefix of one member's comment votes on a post.
pub fn comment_votes_of(member: &MemberId) -> String {
    format!("CVOTE#{member}#")
}

/// GSI partition listing a member's sessions.
pub fn sessions_of(member: &MemberId) -> String {
    format!("MEMBER#{member}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_prefixed_by_kind() {
        let e = Email::parse("a@b.org").unwrap();
        assert_eq!(Key::email(&e).pk, "EMAIL#a@b.org");
        assert_eq!(Key::login_code(&e).pk, "LOGIN#a@b.org");
        assert_eq!(Key::rate("ip", "1.2.3.4", 3600).sk, "3600");
    }
}
