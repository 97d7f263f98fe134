//! Herald's integration tests: one binary, real parts only — a real server on a
//! port-0 listener and a temporary SQLite file, driven with the official Svix Rust
//! SDK, delivering to a recording receiver on loopback, with signatures checked by
//! the SDK's own verifier.

/// Runs each named story (an `async fn(Backend)`) twice: on a fresh SQLite file,
/// and on a fresh PostgreSQL schema when `HERALD_TEST_DATABASE_URL` is set (when it
/// is not, the PostgreSQL variant says so on stderr and passes without running).
#[macro_export]
macro_rules! on_both_stores {
    ($($story:ident),* $(,)?) => {$(
        mod $story {
            #[tokio::test]
            async fn sqlite() {
                super::$story(herald_testkit::Backend::Sqlite).await
            }

            #[tokio::test]
            async fn postgres() {
                if let Some(backend) = herald_testkit::Backend::postgres_from_env() {
                    super::$story(backend).await
                }
            }
        }
    )*};
}

mod browser;
mod cli;
mod cluster;
mod common;
mod crash;
mod dashboard;
mod email;
mod errors;
mod flow;
mod forward;
mod inbound;
mod listen;
mod operability;
mod operational;
mod process;
mod providers;
mod requests;
mod restart;
mod retries;
mod rotation;
mod secrets;
mod send;
mod transform;
