//! Fixtures that make Herald's tests read like stories:
//! [`TestReceiver`] is a webhook endpoint on a loopback port that records what it
//! gets and answers as told; [`TestServer`] is a real Herald on a port-0 listener
//! and a temporary SQLite store, started through the same `Server::run` as `main`;
//! [`TestSmtpServer`] is a real SMTP server on loopback for email endpoints.

mod receiver;
mod server;
mod smtp;

pub use receiver::{Received, Reply, TestReceiver};
pub use server::{Backend, Stopped, TestServer, postgres_test_key};
pub use smtp::{ReceivedMail, TestSmtpServer};
