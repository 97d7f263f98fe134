//! Real `herald serve` child processes (the binary cargo built for these tests),
//! for stories that need a process to die the hard way.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::common::{eventually, http};

pub const TOKEN: &str = "process-admin-token";

/// One `herald serve` child process.
pub struct Node {
    child: Child,
    pub base: String,
    args: Vec<String>,
}

impl Node {
    /// Starts `herald serve` on a free port with test settings (short retries and
    /// lease, loopback allowed) plus `extra` arguments.
    pub fn spawn(data_dir: &std::path::Path, extra: &[String]) -> Self {
        let port =
            std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port();
        let mut args: Vec<String> = vec![
            "serve".into(),
            "--listen".into(),
            format!("127.0.0.1:{port}"),
            "--data-dir".into(),
            data_dir.display().to_string(),
            "--admin-token".into(),
            TOKEN.into(),
            "--allow-networks".into(),
            "127.0.0.0/8".into(),
            "--retry-schedule".into(),
            "200ms,500ms,1s,2s,2s,2s".into(),
            "--request-timeout".into(),
            "2s".into(),
            "--lease".into(),
            "4s".into(),
        ];
        args.extend_from_slice(extra);
        let child = Self::start(&args);
        Self { child, base: format!("http://127.0.0.1:{port}"), args }
    }

    fn start(args: &[String]) -> Child {
        Command::new(env!("CARGO_BIN_EXE_herald"))
            .args(args)
            .env("HERALD_LOG", "warn")
            // PostgreSQL nodes must share one key; SQLite ones keep it across restarts.
            .env("HERALD_SECRET_KEY", herald_testkit::postgres_test_key().to_base64())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("herald starts")
    }

    /// SIGKILL, then start again with the same arguments (same port).
    pub fn crash_and_restart(&mut self) {
        self.child.kill().expect("SIGKILL");
        self.child.wait().expect("reaped");
        self.child = Self::start(&self.args);
    }

    pub async fn ready(&self) {
        let client = http();
        for _ in 0..200 {
            if client
                .get(format!("{}/api/v1/health", self.base))
                .send()
                .await
                .is_ok_and(|r| r.status().is_success())
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("{} did not come up", self.base);
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A long-running `herald` client command (`listen`, `tail`) as a child process, its
/// stdout lines collected as they come (stderr passes through), killed when dropped.
/// It never reads a CLI config file of the machine's.
pub struct Watcher {
    child: Child,
    lines: Arc<Mutex<Vec<String>>>,
}

impl Watcher {
    pub fn spawn(subcommand: &str, args: &[String]) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_herald"))
            .arg(subcommand)
            .args(args)
            .env("HERALD_CLI_CONFIG", "/nonexistent/herald-cli.toml")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("herald starts");
        let stdout = child.stdout.take().expect("stdout");
        let lines = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&lines);
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                sink.lock().unwrap_or_else(|p| p.into_inner()).push(line);
            }
        });
        Self { child, lines }
    }

    pub fn lines(&self) -> Vec<String> {
        self.lines.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Waits for a line matching `pred` and returns the first one.
    pub async fn wait_for_line(&self, what: &str, pred: impl Fn(&str) -> bool) -> String {
        eventually(what, || std::future::ready(self.lines().iter().any(|l| pred(l)))).await;
        self.lines().into_iter().find(|l| pred(l)).expect("a matching line")
    }

    /// Waits until `n` lines match `pred`.
    pub async fn wait_for_lines(&self, n: usize, what: &str, pred: impl Fn(&str) -> bool) {
        eventually(what, || std::future::ready(self.lines().iter().filter(|l| pred(l)).count() >= n)).await;
    }

    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Watcher {
    fn drop(&mut self) {
        self.kill();
    }
}

/// POSTs JSON with the admin token; the body of a 2xx answer, else `None`.
pub async fn post(
    client: &reqwest::Client,
    url: String,
    body: serde_json::Value,
) -> Option<serde_json::Value> {
    let resp = client.post(url).bearer_auth(TOKEN).json(&body).send().await.ok()?;
    if !resp.status().is_success() {
        return None;
    }
    resp.json().await.ok()
}
