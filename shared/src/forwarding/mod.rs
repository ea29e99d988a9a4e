//! Channel forwarding: rules that copy or forward posts from source chats to
//! destination chats, with filters, albums, edit sync, dedup and rate limits.
//!
//! Ingestion (`ingest`, called by `telegram-webhook`) turns updates into one
//! SQS FIFO job per (source message, destination); the `forwarder` function
//! delivers them (its `deliver` module). See docs/forwarding.md.

pub mod ingest;
pub mod job;
pub mod limits;
pub mod metrics;

// The data forwarding works on lives in `domain` (the store keeps it too).
pub use crate::domain::forwarding::{draft, filters, post, rule};

pub use filters::{Filters, FiltersSpec, Verdict};
pub use post::{MediaKind, Post};
pub use rule::{Destination, ForwardRule, Mode, RuleError, RuleId, TelegramChatId};
