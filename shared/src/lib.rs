//! `lodge`: everything two or more Lodge functions need.
//!
//! Functions are thin: they parse a request, call into these modules and
//! render a reply. Concepts live here, one module each.

pub mod auth;
pub mod aws;
pub mod clock;
pub mod commenting;
pub mod config;
pub mod crypto;
pub mod digest;
pub mod domain;
pub mod feed;
pub mod forwarding;
pub mod invites;
#[cfg(test)]
mod layout;
pub mod login;
pub mod mail;
pub mod markdown;
pub mod mentions;
pub mod moderation;
pub mod notify;
pub mod queue;
pub mod session;
pub mod store;
pub mod telegram;
pub mod telemetry;
pub mod thread;
pub mod web;
pub mod writing;

pub use clock::{Clock, SharedClock};
pub use config::{ConfigError, Env};
