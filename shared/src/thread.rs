//! A post's comments as a reader sees them: nested, ordered (by upvotes
//! then time, or by time, at the reader's choice) with pinned top-level
//! comments first, "new since your last visit" marked, and comments by
//! members the reader muted collapsed. Pure: the store reads, this shapes.

use std::collections::{HashMap, HashSet};

use serde::Serialize;

use crate::domain::{CommentId, MemberId};
use crate::store::comments::{CommentRecord, ThreadRead};

/// `?comments=top|new`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ThreadOrder {
    /// Most upvoted first, then oldest first.
    #[default]
    Top,
    /// Oldest first: the conversation as it happened.
    New,
}

impl ThreadOrder {
    /// Absent or unknown is the default: a bad `?comments=` never fails a page.
    pub fn parse(raw: Option<&str>) -> Self {
        match raw.map(str::trim) {
            Some("new") => ThreadOrder::New,
            _ => ThreadOrder::Top,
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            ThreadOrder::Top => "top",
            ThreadOrder::New => "new",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Author {
    pub id: MemberId,
    pub name: String,
}

/// One comment, placed: what the page and the JSON `comments` array show.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ShownComment {
    pub id: CommentId,
    pub parent_id: Option<CommentId>,
    /// The level-3 comment a deeper reply answers, with its author's name.
    pub reply_to: Option<CommentId>,
    pub reply_to_name: Option<String>,
    pub depth: u8,
    pub author: Author,
    pub upvotes: i64,
    pub deleted: bool,
    /// Hidden by a moderator resolving a report (then `deleted` too).
    pub hidden: bool,
    /// Why, for the comment's author only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hidden_reason: Option<String>,
    /// Sanitised HTML; empty when deleted.
    pub html: String,
    /// The Markdown source, for the edit form (not in the JSON).
    #[serde(skip)]
    pub body: String,
    pub pinned: bool,
    pub edited: bool,
    pub created_at: i64,
    /// Written since the viewer's last visit (never their own).
    pub new: bool,
    /// By a member the viewer muted: shown folded.
    pub collapsed: bool,
    pub voted: bool,
    pub mine: bool,
}

/// The whole thread in display order (each comment before its replies).
#[derive(Clone, Debug, Default, Serialize)]
pub struct Thread {
    pub comments: Vec<ShownComment>,
    /// How many of them are new for the viewer.
    pub new_count: usize,
}

/// What `templates/thread.html` shows: the thread plus what the viewer may
/// do. A page embeds it as `thread` and `{% include "thread.html" %}`.
#[derive(Clone, Debug)]
pub struct ThreadView {
    pub post_id: String,
    pub thread: Thread,
    pub order: ThreadOrder,
    /// The viewer moderates: edit and delete any comment, delete subtrees.
    pub moderator: bool,
    /// The viewer wrote the post: pins top-level comments.
    pub post_author: bool,
    /// Comments are closed: no reply forms.
    pub closed: bool,
}

impl ThreadView {
    /// Whether the viewer may edit `c` now (the store re-checks the window).
    pub fn can_edit(&self, c: &ShownComment) -> bool {
        !c.deleted && (self.moderator || c.mine)
    }
    pub fn can_delete(&self, c: &ShownComment) -> bool {
        !c.deleted && (self.moderator || c.mine)
    }
    pub fn can_pin(&self, c: &ShownComment) -> bool {
        self.post_author && c.depth == 1 && !c.deleted
    }
    pub fn can_vote(&self, c: &ShownComment) -> bool {
        !c.deleted && !c.mine
    }
    /// Indentation of a comment, in rem.
    pub fn indent(&self, c: &ShownComment) -> u32 {
        u32::from(c.depth.saturating_sub(1)) * 2
    }
}

/// Shapes `read` for `viewer`. Comments whose parent is missing (never in a
/// consistent thread) are shown at the top level rather than lost.
pub fn shape(read: &ThreadRead, viewer: &MemberId, order: ThreadOrder) -> Thread {
    let ids: HashSet<&CommentId> = read.comments.iter().map(|c| &c.id).collect();
    let mut children: HashMap<Option<&CommentId>, Vec<&CommentRecord>> = HashMap::new();
    for c in &read.comments {
        let parent = c.parent_id.as_ref().filter(|p| ids.contains(p));
        children.entry(parent).or_default().push(c);
    }
    for (parent, list) in children.iter_mut() {
        list.sort_by(|a, b| {
            let pinned = if parent.is_none() {
                b.pinned.cmp(&a.pinned)
            } else {
                std::cmp::Ordering::Equal
            };
            let votes = match order {
                ThreadOrder::Top => b.upvotes.cmp(&a.upvotes),
                ThreadOrder::New => std::cmp::Ordering::Equal,
            };
            pinned
                .then(votes)
                .then(a.created_at.cmp(&b.created_at))
                // Comments in one millisecond: `seq` is the post's own counter,
                // exact where the id's random part is not.
                .then(a.seq.cmp(&b.seq))
                .then(a.id.cmp(&b.id))
        });
    }
    let mut out = Thread::default();
    let mut stack: Vec<&CommentRecord> = children
        .get(&None)
        .map(|v| v.iter().rev().copied().collect())
        .unwrap_or_default();
    while let Some(c) = stack.pop() {
        let shown = show(c, read, viewer);
        out.new_count += usize::from(shown.new);
        out.comments.push(shown);
        if let Some(kids) = children.get(&Some(&c.id)) {
            stack.extend(kids.iter().rev().copied());
        }
    }
    out
}

fn show(c: &CommentRecord, read: &ThreadRead, viewer: &MemberId) -> ShownComment {
    let mine = &c.author_id == viewer;
    ShownComment {
        id: c.id.clone(),
        parent_id: c.parent_id.clone(),
        reply_to: c.reply_to.clone(),
        reply_to_name: c.reply_to_name.clone(),
        depth: c.depth,
        author: Author {
            id: c.author_id.clone(),
            name: c.author_name.clone(),
        },
        upvotes: c.upvotes,
        deleted: c.deleted,
        hidden: c.hidden_reason.is_some(),
        hidden_reason: c.hidden_reason.clone().filter(|_| mine),
        html: if c.deleted { String::new() } else { c.html.clone() },
        body: if c.deleted { String::new() } else { c.body.clone() },
        pinned: c.pinned && !c.deleted,
        edited: c.edited_at.is_some(),
        created_at: c.created_at,
        new: !mine && !c.deleted && is_new(c.seq, read.seen_seq),
        collapsed: !c.deleted && read.muted.contains(&c.author_id),
        voted: read.voted.contains(&c.id),
        mine,
    }
}

/// One comment as its author sees it just after writing or editing it.
pub fn single(c: &CommentRecord, viewer: &MemberId) -> ShownComment {
    let read = ThreadRead {
        head: None,
        comments: Vec::new(),
        voted: HashSet::new(),
        seen_seq: None,
        muted: HashSet::new(),
    };
    show(c, &read, viewer)
}

/// New since the last visit; before a first visit nothing is marked.
pub fn is_new(seq: i64, seen_seq: Option<i64>) -> bool {
    seen_seq.is_some_and(|seen| seq > seen)
}

/// The post card's `new_comments` for a viewer: comments written since
/// their last visit (`comment_seq − seen_seq`), 0 before a first visit.
pub fn new_comments(comment_seq: i64, seen_seq: Option<i64>) -> i64 {
    seen_seq.map_or(0, |seen| (comment_seq - seen).max(0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::PostId;

    fn rec(id: u128, parent: Option<&CommentRecord>, upvotes: i64, at: i64, author: &MemberId) -> CommentRecord {
        let id = CommentId::from_parts(at, id);
        CommentRecord {
            path: match parent {
                Some(p) => format!("{}#{id}", p.path),
                None => id.to_string(),
            },
            parent_id: parent.map(|p| p.id.clone()),
            parent_author: parent.map(|p| p.author_id.clone()),
            depth: parent.map_or(1, |p| p.depth + 1),
            id,
            post_id: PostId::from_parts(0, 0),
            reply_to: None,
            reply_to_name: None,
            seq: at,
            author_id: author.clone(),
            author_name: "x".into(),
            body: "b".into(),
            html: "<p>b</p>".into(),
            mentions: vec![],
            upvotes,
            pinned: false,
            deleted: false,
            deleted_by: None,
            hidden_reason: None,
            edited_at: None,
            created_at: at,
        }
    }

    fn read(comments: Vec<CommentRecord>) -> ThreadRead {
        ThreadRead {
            head: None,
            comments,
            voted: HashSet::new(),
            seen_seq: Some(2),
            muted: HashSet::new(),
        }
    }

    #[test]
    fn top_orders_siblings_by_votes_then_time_and_keeps_replies_under_parents() {
        let (me, other) = (MemberId::generate(), MemberId::generate());
        let a = rec(1, None, 0, 1, &other);
        let b = rec(2, None, 5, 2, &other);
        let a1 = rec(3, Some(&a), 1, 3, &other);
        let a2 = rec(4, Some(&a), 2, 4, &me);
        let mut pinned = rec(5, None, 0, 5, &other);
        pinned.pinned = true;
        let t = read(vec![a.clone(), a1.clone(), a2.clone(), b.clone(), pinned.clone()]);
        let ids = |th: &Thread| th.comments.iter().map(|c| c.id.clone()).collect::<Vec<_>>();
        let top = shape(&t, &me, ThreadOrder::Top);
        assert_eq!(
            ids(&top),
            [
                pinned.id.clone(),
                b.id.clone(),
                a.id.clone(),
                a2.id.clone(),
                a1.id.clone()
            ]
        );
        let new = shape(&t, &me, ThreadOrder::New);
        assert_eq!(ids(&new), [pinned.id, a.id, a1.id, a2.id, b.id]);
        // seq > 2 is new, except the viewer's own (a2, seq 4).
        let flags: Vec<bool> = new.comments.iter().map(|c| c.new).collect();
        assert_eq!(flags, [true, false, true, false, false]);
        assert_eq!(new.new_count, 2);
    }

    #[test]
    fn deleted_keeps_its_place_without_its_text_and_muted_collapse() {
        let (me, muted) = (MemberId::generate(), MemberId::generate());
        let mut a = rec(1, None, 0, 1, &muted);
        let b = rec(2, Some(&a), 0, 2, &muted);
        a.deleted = true;
        a.pinned = true;
        let mut t = read(vec![a, b]);
        t.muted.insert(muted);
        let th = shape(&t, &me, ThreadOrder::Top);
        assert_eq!(th.comments.len(), 2);
        assert!(th.comments[0].deleted && th.comments[0].html.is_empty() && !th.comments[0].pinned);
        assert!(!th.comments[0].collapsed && th.comments[1].collapsed);
        assert_eq!(th.comments[1].depth, 2);
    }

    #[test]
    fn nothing_is_new_before_a_first_visit() {
        assert!(!is_new(5, None));
        assert!(is_new(5, Some(4)) && !is_new(4, Some(4)));
        assert_eq!(new_comments(7, Some(4)), 3);
        assert_eq!(new_comments(7, None), 0);
        assert_eq!(ThreadOrder::parse(Some("new")), ThreadOrder::New);
        assert_eq!(ThreadOrder::parse(Some("bogus")), ThreadOrder::Top);
    }
}
