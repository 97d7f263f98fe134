//! The read pool: a few read-only connections used from `spawn_blocking`.
//!
//! In WAL mode readers never block the writer nor each other, and each statement sees
//! the last committed state — since the writer replies only after COMMIT, a caller
//! reads its own writes. Connections sit behind std `Mutex`es (not Tokio's: they are
//! only ever locked on blocking threads). A read takes the first free connection,
//! starting from a rotating index, and waits on one only when all are busy.

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, TryLockError};

use herald_store::StoreError;
use rusqlite::Connection;

use crate::conn::open_reader;
use crate::sql::Result;

pub(crate) struct Readers {
    conns: Vec<Mutex<Connection>>,
    next: AtomicUsize,
}

impl Readers {
    /// Opens `count` connections (at least one).
    pub(crate) fn open(path: &Path, count: usize) -> Result<Arc<Self>> {
        let conns = (0..count.max(1)).map(|_| open_reader(path).map(Mutex::new)).collect::<Result<_>>()?;
        Ok(Arc::new(Self { conns, next: AtomicUsize::new(0) }))
    }

    /// Runs `read` on a pooled connection on Tokio's blocking pool.
    pub(crate) async fn run<T, F>(self: &Arc<Self>, read: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T> + Send + 'static,
    {
        let this = Arc::clone(self);
        tokio::task::spawn_blocking(move || read(&this.connection()))
            .await
            .map_err(|e| StoreError::Backend(Box::new(e)))?
    }

    fn connection(&self) -> MutexGuard<'_, Connection> {
        let start = self.next.fetch_add(1, Ordering::Relaxed);
        let n = self.conns.len();
        for i in 0..n {
            match self.conns[(start + i) % n].try_lock() {
                Ok(guard) => return guard,
                // A panic during an earlier read leaves the connection usable: every
                // statement is reset when dropped.
                Err(TryLockError::Poisoned(poisoned)) => return poisoned.into_inner(),
                Err(TryLockError::WouldBlock) => {}
            }
        }
        self.conns[start % n].lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}
