//! Pure feed logic: how posts are ranked. The store keeps the numbers; this
//! says what they mean and how each event changes them.

pub mod hot;
pub mod order;

pub use hot::{Activity, Hot};
pub use order::{FeedOrder, TopPeriod};
