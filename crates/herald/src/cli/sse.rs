//! Reading a server-sent-events response: the few lines of the format Herald's
//! streams use (`id:`, `event:`, `data:`, `:` comments), as [`SseEvent`]s whose data
//! the caller decodes (`herald listen` messages, `herald tail` attempts).

use std::collections::{HashSet, VecDeque};

use anyhow::Context;
use serde::de::DeserializeOwned;

/// Ids remembered to drop what a resumed stream sends again.
const REMEMBERED: usize = 10_000;

/// One event: its kind (`message` unless named) and its data.
#[derive(Debug, PartialEq)]
pub(crate) struct SseEvent {
    pub(crate) kind: String,
    pub(crate) data: String,
}

impl SseEvent {
    /// The data decoded from JSON.
    pub(crate) fn decode<T: DeserializeOwned>(&self) -> anyhow::Result<T> {
        serde_json::from_str(&self.data)
            .with_context(|| format!("the server sent a `{}` event that cannot be read", self.kind))
    }
}

/// The events of one stream response, in order.
pub(crate) struct EventStream {
    response: reqwest::Response,
    buffer: Vec<u8>,
    /// How much of `buffer` holds no block end (a large event arrives in many chunks).
    scanned: usize,
}

impl EventStream {
    pub(crate) fn new(response: reqwest::Response) -> Self {
        Self { response, buffer: Vec::new(), scanned: 0 }
    }

    /// The next event with data; `None` when the server ended the stream. Keep-alive
    /// comments are read (they prove the connection lives) and skipped.
    pub(crate) async fn next_event(&mut self) -> anyhow::Result<Option<SseEvent>> {
        loop {
            while let Some(block) = take_block(&mut self.buffer, self.scanned) {
                self.scanned = 0;
                if let Some(event) = parse_block(&block) {
                    return Ok(Some(event));
                }
            }
            // A separator may straddle the next chunk: keep its first bytes unscanned.
            self.scanned = self.buffer.len().saturating_sub(3);
            match self.response.chunk().await.context("the stream broke")? {
                Some(chunk) => self.buffer.extend_from_slice(&chunk),
                None => return Ok(None),
            }
        }
    }
}

/// Removes the first complete block (ended by a blank line) from `buffer`, whose
/// first `from` bytes are known to hold no block end.
fn take_block(buffer: &mut Vec<u8>, from: usize) -> Option<String> {
    let find = |sep: &[u8]| {
        let at = buffer.get(from..)?.windows(sep.len()).position(|w| w == sep)?;
        Some((from + at, sep.len()))
    };
    let (end, skip) = [find(b"\r\n\r\n"), find(b"\n\n")].into_iter().flatten().min_by_key(|(i, _)| *i)?;
    let block = String::from_utf8_lossy(&buffer[..end]).into_owned();
    buffer.drain(..end + skip);
    Some(block)
}

/// The event of a block, or `None` for comments and blocks without data.
fn parse_block(block: &str) -> Option<SseEvent> {
    let (mut kind, mut data) = ("message", String::new());
    for line in block.lines() {
        let (field, value) = line.split_once(':').unwrap_or((line, ""));
        let value = value.strip_prefix(' ').unwrap_or(value);
        match field {
            "event" => kind = value,
            "data" => {
                if !data.is_empty() {
                    data.push('\n');
                }
                data.push_str(value);
            }
            _ => {}
        }
    }
    (!data.is_empty()).then(|| SseEvent { kind: kind.to_owned(), data })
}

/// The ids seen lately, to drop repeats after a resume (the streams re-send a few
/// seconds before the resume point).
#[derive(Default)]
pub(crate) struct Seen {
    order: VecDeque<String>,
    ids: HashSet<String>,
}

impl Seen {
    pub(crate) fn first_time(&mut self, id: &str) -> bool {
        if !self.ids.insert(id.to_owned()) {
            return false;
        }
        self.order.push_back(id.to_owned());
        if self.order.len() > REMEMBERED
            && let Some(old) = self.order.pop_front()
        {
            self.ids.remove(&old);
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_split_on_blank_lines_and_comments_are_skipped() {
        let mut buffer = b": keep-alive\n\nid: msg_1\nevent: message\ndata: {\"id\":\"msg_1\",\"eventType\":\"a.b\",\"body\":\"e30=\"}\n\nid: msg_2\nda".to_vec();
        let first = take_block(&mut buffer, 0).expect("a comment block");
        assert!(parse_block(&first).is_none());
        let second = take_block(&mut buffer, 0).expect("an event block");
        let event = parse_block(&second).expect("an event");
        assert_eq!(event.kind, "message");
        let data: serde_json::Value = event.decode().expect("json");
        assert_eq!(data["id"], "msg_1");
        assert!(take_block(&mut buffer, 0).is_none(), "an incomplete block waits for more bytes");
        assert_eq!(buffer, b"id: msg_2\nda");
    }
}
