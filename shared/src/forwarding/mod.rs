//! Channel forwarding: rules that copy or forward posts from source chats to
//! destination chats, with filters, albums, edit sync, dedup and rate limits.
//!
//! Ingestion (`ingest`, called by `telegram-webhook`) turns updates into one
//! SQS FIFO job per (source message, destination); the `forwarder` function
//! delivers them (`deliver`). See the README's forwarding section.

pub mod consume;
pub mod deliver;
pub mod draft;
pub mod filters;
pub mod ingest;
pub mod job;
pub mod limits;
pub mod metrics;
pub mod post;
pub mod rule;

pub use filters::{Filters, FiltersSpec, Verdict};
pub use post::{MediaKind, Post};
pub use rule::{ChatId, Destination, ForwardRule, Mode, RuleError, RuleId};
