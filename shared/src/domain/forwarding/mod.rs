//! Forwarding's data: rules (with their filters), posts as read from
//! updates, and the `/rules` wizard's draft. Pure values, stored by
//! `store::forwarding`; the work on them lives in `crate::forwarding`.

pub mod draft;
pub mod filters;
pub mod post;
pub mod rule;
mod rule_error;
