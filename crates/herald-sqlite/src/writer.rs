//! The single writer: one OS thread owns the write connection and commits in groups.
//!
//! Callers send a closure over a channel and await a oneshot reply. The thread blocks
//! for the first command, drains whatever else is already queued (up to
//! [`MAX_BATCH`]), runs them all in ONE `BEGIN IMMEDIATE` transaction — each inside its
//! own `SAVEPOINT`, so a failing command (a unique-key conflict, say) is rolled back
//! alone and only its caller sees the error — commits once, and only then replies to
//! every caller. No caller ever hears `Ok` before its data is committed; if the commit
//! fails, every caller of the batch gets the error.
//!
//! Why: SQLite allows one writer at a time. Funnelling all writes through one thread
//! turns contention into batching — more concurrent callers mean bigger batches and
//! fewer commits, never `database is locked` — and the thread's connection keeps the
//! hot statements prepared (`prepare_cached`).

use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::sync::mpsc;
use std::thread::JoinHandle;

use herald_store::StoreError;
use rusqlite::{Connection, Transaction, TransactionBehavior};
use tokio::sync::oneshot;

use crate::sql::Result;

/// The most commands committed together.
const MAX_BATCH: usize = 512;

/// Why a write failed in the writer itself rather than in the caller's command.
#[derive(Clone, Debug, thiserror::Error)]
pub(crate) enum WriteError {
    #[error("the write batch was rolled back")]
    BatchFailed(#[source] Arc<rusqlite::Error>),
    #[error("the write command panicked")]
    Panicked,
    #[error("the write command was not run")]
    NotRun,
    #[error("the SQLite writer has stopped")]
    Stopped,
}

impl From<WriteError> for StoreError {
    fn from(e: WriteError) -> Self {
        StoreError::Backend(Box::new(e))
    }
}

/// The handle to the writer thread. Dropping it lets the thread finish the batch in
/// hand and waits for it, so the file is closed when the store is.
pub(crate) struct Writer {
    commands: Option<mpsc::Sender<Box<dyn Command>>>,
    thread: Option<JoinHandle<()>>,
}

impl Writer {
    /// Starts the writer thread on an open, migrated connection.
    pub(crate) fn spawn(conn: Connection) -> Result<Self> {
        let (commands, queue) = mpsc::channel();
        let thread = std::thread::Builder::new()
            .name("herald-sqlite-writer".into())
            .spawn(move || serve(conn, &queue))
            .map_err(|e| StoreError::Backend(Box::new(e)))?;
        Ok(Self { commands: Some(commands), thread: Some(thread) })
    }

    /// Runs `work` in the next batch and returns its result once the batch committed.
    pub(crate) async fn run<T, F>(&self, work: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Transaction<'_>) -> Result<T> + Send + 'static,
    {
        self.submit(work)?.await.map_err(|_| WriteError::Stopped)?
    }

    /// Queues `work` without waiting (tests use this to fill one batch on purpose).
    pub(crate) fn submit<T, F>(&self, work: F) -> Result<oneshot::Receiver<Result<T>>>
    where
        T: Send + 'static,
        F: FnOnce(&Transaction<'_>) -> Result<T> + Send + 'static,
    {
        let (reply, answer) = oneshot::channel();
        let job = Box::new(Job { work: Some(work), result: None, reply });
        let commands = self.commands.as_ref().ok_or(WriteError::Stopped)?;
        commands.send(job).map_err(|_| WriteError::Stopped)?;
        Ok(answer)
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        drop(self.commands.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// A queued write, its result type erased so one channel carries them all.
trait Command: Send {
    /// Runs the command in its own savepoint. `Err` means the savepoint itself could
    /// not be opened or closed: the transaction is no longer trustworthy.
    fn run(&mut self, tx: &Transaction<'_>) -> rusqlite::Result<()>;
    /// Replies to the caller once the batch's fate is known.
    fn finish(self: Box<Self>, batch: &Result<(), WriteError>);
}

struct Job<T, F> {
    work: Option<F>,
    result: Option<Result<T>>,
    reply: oneshot::Sender<Result<T>>,
}

impl<T, F> Command for Job<T, F>
where
    T: Send,
    F: FnOnce(&Transaction<'_>) -> Result<T> + Send,
{
    fn run(&mut self, tx: &Transaction<'_>) -> rusqlite::Result<()> {
        let Some(work) = self.work.take() else { return Ok(()) };
        exec(tx, "SAVEPOINT command")?;
        let result = std::panic::catch_unwind(AssertUnwindSafe(|| work(tx)))
            .unwrap_or_else(|_| Err(WriteError::Panicked.into()));
        let ok = result.is_ok();
        self.result = Some(result);
        if ok {
            exec(tx, "RELEASE command")
        } else {
            exec(tx, "ROLLBACK TO command")?;
            exec(tx, "RELEASE command")
        }
    }

    fn finish(self: Box<Self>, batch: &Result<(), WriteError>) {
        let result = match (self.result, batch) {
            (Some(Ok(value)), Ok(())) => Ok(value),
            (Some(Err(own)), _) => Err(own),
            (_, Err(batch)) => Err(batch.clone().into()),
            (None, Ok(())) => Err(WriteError::NotRun.into()),
        };
        // The caller may have stopped waiting; the write stands regardless.
        let _ = self.reply.send(result);
    }
}

fn exec(tx: &Transaction<'_>, sql: &str) -> rusqlite::Result<()> {
    tx.prepare_cached(sql)?.execute([]).map(drop)
}

/// The thread's loop: one batch per wake-up until every sender is gone.
fn serve(mut conn: Connection, queue: &mpsc::Receiver<Box<dyn Command>>) {
    let mut batch: Vec<Box<dyn Command>> = Vec::with_capacity(MAX_BATCH);
    while let Ok(first) = queue.recv() {
        batch.push(first);
        batch.extend(queue.try_iter().take(MAX_BATCH - 1));
        let outcome = run_batch(&mut conn, &mut batch);
        match &outcome {
            Ok(()) => tracing::trace!(commands = batch.len(), "committed a write batch"),
            Err(error) => {
                let cause = std::error::Error::source(error).map(ToString::to_string);
                tracing::error!(%error, ?cause, commands = batch.len(), "SQLite write batch failed");
            }
        }
        for command in batch.drain(..) {
            command.finish(&outcome);
        }
    }
}

/// Runs every command in one transaction and commits it.
fn run_batch(conn: &mut Connection, batch: &mut [Box<dyn Command>]) -> Result<(), WriteError> {
    let failed = |e| WriteError::BatchFailed(Arc::new(e));
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(failed)?;
    for command in batch.iter_mut() {
        // After some errors (I/O, disk full) SQLite rolls the whole transaction back
        // by itself; running on would commit the next commands one by one. The COMMIT
        // below then fails and every caller hears about it.
        if tx.is_autocommit() {
            break;
        }
        command.run(&tx).map_err(failed)?;
    }
    tx.commit().map_err(failed)
}

#[cfg(test)]
mod tests;
