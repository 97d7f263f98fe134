//! What the message stream and the attempt stream share: [`events`], the loop that
//! polls the store and sends what is new, and [`Tail`], where a stream stands — what
//! it sent lately and how far back its next read reaches.
//!
//! Ids and times order rows only to within a few milliseconds, and a row may commit
//! a moment after a later one, so each read re-reads the last [`GRACE`] behind the
//! newest row sent and skips what was sent already (by key).

use std::collections::{BTreeMap, VecDeque};
use std::convert::Infallible;
use std::time::Duration;

use axum::response::sse::Event;
use futures::Stream;
use herald_core::Timestamp;
use herald_store::{Cursor, Order, Page, PageQuery, StoreError};
use tokio_util::sync::CancellationToken;

/// How far back each read reaches behind the newest row sent.
pub(crate) const GRACE: Duration = Duration::from_secs(5);
/// How often the store is read while there is nothing to send.
const POLL: Duration = Duration::from_millis(250);
/// Rows read per page.
const PAGE: usize = 100;

/// One stream's reading: what is new since the last call, as events ready to send
/// (a failed read is logged and yields nothing; the next poll tries again).
pub(crate) trait Poll: Send + 'static {
    fn poll(&mut self) -> impl Future<Output = Vec<Event>> + Send;
}

/// The events of a stream: what each poll yields, in order, polling every [`POLL`]
/// while there is nothing to send; the stream ends at `shutdown`.
pub(crate) fn events<P: Poll>(
    poller: P,
    shutdown: CancellationToken,
) -> impl Stream<Item = Result<Event, Infallible>> + Send {
    futures::stream::unfold((poller, VecDeque::new()), move |(mut poller, mut ready)| {
        let shutdown = shutdown.clone();
        async move {
            loop {
                if let Some(event) = ready.pop_front() {
                    return Some((Ok(event), (poller, ready)));
                }
                ready.extend(poller.poll().await);
                if ready.is_empty() {
                    tokio::select! {
                        () = shutdown.cancelled() => return None,
                        () = tokio::time::sleep(POLL) => {}
                    }
                }
            }
        }
    })
}

/// Every row `fetch` lists, page after page in ascending key order, from `start` on.
pub(crate) async fn read_all<T: Streamed, F>(
    start: Option<Cursor>,
    mut fetch: impl FnMut(PageQuery) -> F,
) -> Result<Vec<T>, StoreError>
where
    F: Future<Output = Result<Page<T>, StoreError>>,
{
    let mut query = PageQuery { cursor: start, ..PageQuery::first(PAGE, Order::Ascending) };
    let mut all: Vec<T> = Vec::new();
    loop {
        let page = fetch(query.clone()).await?;
        let done = page.done;
        all.extend(page.items);
        match (done, all.last()) {
            (false, Some(last)) => query.cursor = Some(Cursor::After(last.key().to_owned())),
            _ => return Ok(all),
        }
    }
}

/// A row a stream sends: its key (an id) and the time the window is measured in.
pub(crate) trait Streamed {
    fn key(&self) -> &str;
    fn at(&self) -> Timestamp;
}

impl Streamed for herald_core::Message {
    fn key(&self) -> &str {
        self.id.as_str()
    }

    fn at(&self) -> Timestamp {
        self.created_at
    }
}

/// Attempts are windowed by when their id was made — when the attempt ended, a moment
/// before it was recorded — not by `created_at`, its start, which may be a whole
/// request timeout before the row commits.
impl Streamed for herald_core::Attempt {
    fn key(&self) -> &str {
        self.id.as_str()
    }

    fn at(&self) -> Timestamp {
        self.id.made_at()
    }
}

#[derive(Debug)]
pub(crate) struct Tail {
    /// Nothing at or before this is ever sent.
    floor: Timestamp,
    /// The newest time sent (or the start).
    high: Timestamp,
    /// Keys sent whose time is still inside the read window.
    sent: BTreeMap<String, Timestamp>,
}

impl Tail {
    /// Rows from `t` on (`since`), or from now on.
    pub(crate) fn since(t: Timestamp) -> Self {
        Self { floor: Timestamp(t.millis() - 1), high: t, sent: BTreeMap::new() }
    }

    /// Rows after the one with this key and time, re-reading the grace window before it.
    pub(crate) fn after(key: &str, at: Timestamp) -> Self {
        let sent = BTreeMap::from([(key.to_owned(), at)]);
        Self { floor: at.minus(GRACE), high: at, sent }
    }

    /// Rows later than this may still be unsent: the next read starts here.
    pub(crate) fn read_from(&self) -> Timestamp {
        self.floor.max(self.high.minus(GRACE))
    }

    /// Keeps the rows of the window not sent yet and remembers them as sent.
    pub(crate) fn fresh<T: Streamed>(&mut self, read: Vec<T>) -> Vec<T> {
        let from = self.read_from();
        let fresh: Vec<T> =
            read.into_iter().filter(|r| r.at() > from && !self.sent.contains_key(r.key())).collect();
        for r in &fresh {
            self.sent.insert(r.key().to_owned(), r.at());
            self.high = self.high.max(r.at());
        }
        let from = self.read_from();
        self.sent.retain(|_, at| *at > from);
        fresh
    }
}

#[cfg(test)]
mod tests {
    use herald_core::{AppId, Message, MessageId};

    use super::*;

    fn msg(at: i64) -> Message {
        Message {
            id: MessageId::generate(),
            app_id: AppId::generate(),
            event_type: "a.b".into(),
            event_id: None,
            payload: Some(bytes::Bytes::from_static(b"{}")),
            channels: None,
            tags: None,
            created_at: Timestamp(at),
            expires_at: None,
            inbound: None,
        }
    }

    #[test]
    fn each_row_is_sent_once_while_the_window_rereads() {
        let mut tail = Tail::since(Timestamp(10_000));
        let (a, b, late) = (msg(10_000), msg(12_000), msg(11_000));
        assert_eq!(tail.read_from(), Timestamp(9_999), "`since` includes its first millisecond");
        assert_eq!(tail.fresh(vec![a.clone(), b.clone()]).len(), 2);
        assert_eq!(tail.read_from(), Timestamp(9_999), "the window reaches back GRACE behind the newest");
        let again = tail.fresh(vec![a.clone(), late.clone(), b.clone()]);
        assert_eq!(again.iter().map(|m| &m.id).collect::<Vec<_>>(), [&late.id], "only the late commit");
        let newer = msg(30_000);
        tail.fresh(vec![newer]);
        assert_eq!(tail.read_from(), Timestamp(25_000));
        assert_eq!(tail.sent.len(), 1, "what fell out of the window is forgotten");
        assert!(tail.fresh(vec![msg(24_000)]).is_empty(), "a row older than the window is not sent");
    }

    #[test]
    fn resuming_rereads_the_grace_window_but_not_the_row_itself() {
        let last = msg(50_000);
        let mut tail = Tail::after(last.key(), last.at());
        assert_eq!(tail.read_from(), Timestamp(45_000));
        let read = tail.fresh(vec![msg(47_000), last.clone(), msg(51_000)]);
        assert_eq!(read.len(), 2, "the resumed-after row is not sent again");
    }
}
