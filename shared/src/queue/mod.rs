//! SQS, both ends: the message contracts of every queue (`contracts`), the
//! senders (`send`) and the batch consumers that report partial failures
//! (`consume`, `fifo`). A contract's type carries its version (`Contract::VERSION`),
//! so a message cannot be sent or read with another contract's version.

pub mod consume;
pub mod contracts;
pub mod fifo;
pub mod send;

pub use consume::{consume, MessageError};
pub use contracts::{
    encode, parse, AudienceSlice, ContentMessage, Contract, DigestBatch, Envelope, Notification, TelegramJob,
};
pub use fifo::consume_fifo;
pub use send::QueueSender;
