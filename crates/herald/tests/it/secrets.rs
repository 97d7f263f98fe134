//! Secrets at rest: endpoint secrets never appear in the SQLite file, and a restart
//! with another (or a lost) secret key stops with a clear error instead of serving
//! garbage; the right key brings the same secrets back.

use std::path::PathBuf;

use herald::{Config, Database, Server};
use herald_store::SecretKey;
use herald_testkit::{Backend, TestServer};

use crate::common::*;

/// The advice the binary gives when the key does not match.
const ADVICE: &str = "the secret key does not match the one this database was written with; \
                      restore HERALD_SECRET_KEY or the data directory's secret-key file";

/// Starts a server on a stopped server's data (its data directory and database)
/// with `tweak` applied, expecting it to refuse; returns the error as printed.
async fn refused_start(data: &(PathBuf, Database), tweak: impl FnOnce(&mut Config)) -> String {
    let mut config = Config::for_data_dir(&data.0);
    config.database = data.1.clone();
    tweak(&mut config);
    match Server::start(config).await {
        Ok(_) => panic!("the server started with the wrong secret key"),
        Err(e) => format!("{e:#}"),
    }
}

async fn a_restart_with_another_secret_key_stops_with_a_clear_error(backend: Backend) {
    let server = TestServer::start_on(&backend, |_| {}).await;
    let svix = sdk(&server);
    let (app, ep, secret) = app_with_endpoint(&svix, "http://127.0.0.1:9/hook").await;
    let data = (server.data_dir.clone(), server.database.clone());
    let stopped = server.stop().await;

    let error = refused_start(&data, |c| c.secret_key = Some(SecretKey::generate())).await;
    assert!(error.contains(ADVICE), "{error}");
    if matches!(backend, Backend::Sqlite) {
        // The data directory's key file is lost: the key generated in its place is
        // refused too, and not left behind to be taken for the database's key.
        let kept = data.0.join("secret-key");
        let original = std::fs::read(&kept).expect("the generated key is kept in the data directory");
        std::fs::remove_file(&kept).expect("lose the key");
        let error = refused_start(&data, |_| {}).await;
        assert!(error.contains(ADVICE), "{error}");
        assert!(!kept.exists(), "the key generated for a foreign database is removed");
        std::fs::write(&kept, original).expect("restore the key");
    }

    let server = stopped.restart(|_| {}).await;
    let svix = sdk(&server);
    let again = svix.endpoint().get_secret(app, ep).await.expect("secret with the right key").key;
    assert_eq!(again, secret, "the same secret after the restart");
    server.stop().await;
}

crate::on_both_stores!(a_restart_with_another_secret_key_stops_with_a_clear_error);

#[tokio::test]
async fn endpoint_secrets_are_not_readable_in_the_sqlite_files() {
    let server = TestServer::start().await;
    let svix = sdk(&server);
    let mut secrets = Vec::new();
    for _ in 0..3 {
        let (app, ep, secret) = app_with_endpoint(&svix, "http://127.0.0.1:9/hook").await;
        // Rotate once: the previous key is kept (it still signs for a while) and must
        // be hidden as well.
        let rotate = svix::models::EndpointSecretRotateIn::default();
        svix.endpoint().rotate_secret(app.clone(), ep.clone(), rotate, None).await.expect("rotate");
        let current = svix.endpoint().get_secret(app, ep).await.expect("secret").key;
        secrets.extend([secret, current]);
    }
    let Database::Sqlite(path) = server.database.clone() else { unreachable!("a SQLite server") };
    let while_open = sqlite_bytes(&path);
    let stopped = server.stop().await;
    // Closing checkpoints the WAL into the main file: search that state as well.
    let after_close = sqlite_bytes(&path);
    for secret in &secrets {
        let b64 = secret.trim_start_matches("whsec_");
        for needle in [secret.as_bytes(), b64.as_bytes()] {
            assert!(!contains(&while_open, needle), "a secret is readable in the database or its WAL");
            assert!(!contains(&after_close, needle), "a secret is readable in the database file");
        }
    }
    drop(stopped);
}

/// The database file, its WAL and its shared-memory index, concatenated.
fn sqlite_bytes(path: &std::path::Path) -> Vec<u8> {
    let mut all = Vec::new();
    for suffix in ["", "-wal", "-shm"] {
        let mut file = path.as_os_str().to_owned();
        file.push(suffix);
        all.extend(std::fs::read(&file).unwrap_or_default());
    }
    assert!(all.len() > 4096, "the database files were read");
    all
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}
