//! Runs the browser tests (`tests/browser/`, node + playwright-core + Debian's
//! Chromium) against this build's `herald` binary, so `cargo test` drives the real
//! pages too. Where node's packages or Chromium are missing the test says so and
//! passes — except under CI (`CI=true`), where it fails: CI must install them
//! (`.ci/run` does).

use std::path::Path;
use std::process::Command;

#[test]
fn dashboard_and_portal_in_headless_chromium() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/browser");
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".to_owned());
    let node = Command::new("node").arg("--version").output().is_ok_and(|o| o.status.success());
    let missing: Vec<&str> = [
        (!node).then_some("node"),
        (!dir.join("node_modules/playwright-core").exists()).then_some("tests/browser/node_modules (npm ci)"),
        (!Path::new(&chromium).exists()).then_some("chromium (apt-get install chromium)"),
    ]
    .into_iter()
    .flatten()
    .collect();
    if !missing.is_empty() {
        let ci = std::env::var("CI").is_ok_and(|v| v == "true");
        assert!(!ci, "the browser tests cannot run under CI: missing {missing:?}");
        eprintln!("NOTE: the browser tests were NOT run: missing {missing:?}");
        return;
    }
    let output = Command::new("node")
        .args(["--test", "--test-concurrency=1", "--test-reporter=spec", "."])
        .current_dir(&dir)
        .env("HERALD_BIN", env!("CARGO_BIN_EXE_herald"))
        .env("CHROMIUM", &chromium)
        .output()
        .expect("node runs");
    let report = String::from_utf8_lossy(&output.stdout);
    eprintln!("{report}{}", String::from_utf8_lossy(&output.stderr));
    assert!(output.status.success(), "the browser tests failed (report above)");
}
