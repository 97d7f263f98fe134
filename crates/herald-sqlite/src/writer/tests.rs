//! The writer's batching rules, checked on batches filled on purpose: a first command
//! holds the writer while the test queues the next batch behind it.

use std::sync::mpsc;

use super::*;
use crate::conn::{SqliteOptions, open_writer};

struct Fixture {
    _dir: tempfile::TempDir,
    writer: Writer,
    release: mpsc::Sender<()>,
}

/// A writer with a scratch table, busy with a command that waits for `release`.
async fn held_writer() -> Fixture {
    let dir = tempfile::tempdir().expect("tempdir");
    let conn =
        open_writer(&dir.path().join("w.db"), &SqliteOptions::new(herald_store::SecretKey::generate()))
            .expect("open");
    let writer = Writer::spawn(conn).expect("spawn");
    writer
        .run(|tx| tx.execute_batch("CREATE TABLE t (x INTEGER PRIMARY KEY)").map_err(crate::sql::backend))
        .await
        .expect("table");
    let (started_tx, started) = mpsc::channel();
    let (release, gate) = mpsc::channel::<()>();
    writer
        .submit(move |_| {
            let _ = started_tx.send(());
            let _ = gate.recv();
            Ok(())
        })
        .expect("submit");
    started.recv().expect("the holding command started");
    Fixture { _dir: dir, writer, release }
}

fn insert(x: i64) -> impl FnOnce(&Transaction<'_>) -> Result<i64> + Send + 'static {
    move |tx| tx.execute("INSERT INTO t (x) VALUES (?1)", [x]).map(|_| x).map_err(crate::sql::backend)
}

async fn rows(writer: &Writer) -> Vec<i64> {
    writer
        .run(|tx| {
            let mut stmt = tx.prepare("SELECT x FROM t ORDER BY x").map_err(crate::sql::backend)?;
            let rows = stmt.query_map([], |r| r.get(0)).map_err(crate::sql::backend)?;
            rows.collect::<rusqlite::Result<Vec<i64>>>().map_err(crate::sql::backend)
        })
        .await
        .expect("read back")
}

#[tokio::test]
async fn a_failing_command_is_rolled_back_alone() {
    let f = held_writer().await;
    let first = f.writer.submit(insert(1)).expect("submit");
    let duplicate = f.writer.submit(|tx| insert(2)(tx).and_then(|_| insert(1)(tx))).expect("submit");
    let panicking = f
        .writer
        .submit(|tx| -> Result<i64> {
            insert(3)(tx)?;
            panic!("a bug in a command")
        })
        .expect("submit");
    let last = f.writer.submit(insert(4)).expect("submit");
    f.release.send(()).expect("release");

    assert_eq!(first.await.expect("reply").expect("first"), 1);
    assert!(duplicate.await.expect("reply").is_err(), "the duplicate fails");
    let panicked = panicking.await.expect("reply");
    assert!(matches!(panicked, Err(StoreError::Backend(_))), "a panic is an error: {panicked:?}");
    assert_eq!(last.await.expect("reply").expect("last"), 4);
    assert_eq!(rows(&f.writer).await, vec![1, 4], "the failed commands' partial writes are rolled back");
}

#[tokio::test]
async fn a_lost_transaction_fails_the_whole_batch() {
    let f = held_writer().await;
    let first = f.writer.submit(insert(1)).expect("submit");
    // Ending the transaction under the writer stands for SQLite rolling it back by
    // itself (disk full, I/O error).
    let saboteur =
        f.writer.submit(|tx| tx.execute_batch("ROLLBACK").map_err(crate::sql::backend)).expect("submit");
    let last = f.writer.submit(insert(2)).expect("submit");
    f.release.send(()).expect("release");

    assert!(first.await.expect("reply").is_err(), "a command of a failed batch never hears Ok");
    assert!(saboteur.await.expect("reply").is_err());
    assert!(last.await.expect("reply").is_err(), "nor do the ones after");
    assert_eq!(rows(&f.writer).await, Vec::<i64>::new(), "nothing of the batch was committed");
}
