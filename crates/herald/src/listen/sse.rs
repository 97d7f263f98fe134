//! Reading a server-sent-events response: the few lines of the format Herald's
//! stream uses (`id:`, `event:`, `data:`, `:` comments), decoded into [`StreamEvent`]s.

use anyhow::Context;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use bytes::Bytes;
use serde::Deserialize;

/// One message, as the stream describes it.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct StreamEvent {
    pub(crate) id: String,
    pub(crate) event_type: String,
    /// Base64 of the exact bytes to forward.
    body: String,
    #[serde(default)]
    pub(crate) original_headers: Option<Vec<(String, String)>>,
}

impl StreamEvent {
    pub(crate) fn body(&self) -> anyhow::Result<Bytes> {
        Ok(Bytes::from(B64.decode(&self.body).context("the event's body is not base64")?))
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

    /// The next message event; `None` when the server ended the stream. Keep-alive
    /// comments are read (they prove the connection lives) and skipped.
    pub(crate) async fn next_event(&mut self) -> anyhow::Result<Option<StreamEvent>> {
        loop {
            while let Some(block) = take_block(&mut self.buffer, self.scanned) {
                self.scanned = 0;
                if let Some(event) = parse_block(&block)? {
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

/// A `message` event's data, or `None` for comments and other events.
fn parse_block(block: &str) -> anyhow::Result<Option<StreamEvent>> {
    let (mut kind, mut data) = ("message", String::new());
    for line in block.lines() {
        let (field, value) = line.split_once(':').unwrap_or((line, ""));
        let value = value.strip_prefix(' ').unwrap_or(value);
        match field {
            "event" => kind = if value == "message" { "message" } else { "other" },
            "data" => {
                if !data.is_empty() {
                    data.push('\n');
                }
                data.push_str(value);
            }
            _ => {}
        }
    }
    if kind != "message" || data.is_empty() {
        return Ok(None);
    }
    serde_json::from_str(&data).map(Some).context("the server sent an event that is not a message")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_split_on_blank_lines_and_comments_are_skipped() {
        let mut buffer = b": keep-alive\n\nid: msg_1\nevent: message\ndata: {\"id\":\"msg_1\",\"eventType\":\"a.b\",\"body\":\"e30=\"}\n\nid: msg_2\nda".to_vec();
        let first = take_block(&mut buffer, 0).expect("a comment block");
        assert!(parse_block(&first).expect("parses").is_none());
        let second = take_block(&mut buffer, 0).expect("an event block");
        let event = parse_block(&second).expect("parses").expect("a message");
        assert_eq!((event.id.as_str(), event.event_type.as_str()), ("msg_1", "a.b"));
        assert_eq!(&event.body().expect("base64")[..], b"{}");
        assert!(take_block(&mut buffer, 0).is_none(), "an incomplete block waits for more bytes");
        assert_eq!(buffer, b"id: msg_2\nda");
    }
}
