//! Progress of a long operation (bulk resend, recover, import) on stderr: on a
//! terminal one line rewritten in place, otherwise a plain line every few seconds;
//! then a summary. Failures are counted and each reported with its reason, so a
//! failed item never disappears in a batch; [`Progress::finish`] says whether any did.

use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

/// How often a non-terminal gets a progress line.
const PLAIN_EVERY: Duration = Duration::from_secs(2);
/// How often the terminal line is redrawn at most.
const DRAW_EVERY: Duration = Duration::from_millis(100);

/// Counts of one operation.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    pub done: u64,
    pub failed: u64,
    /// Items known in all, when known.
    pub total: Option<u64>,
}

impl Counts {
    /// `12/40 done, 1 failed` (or `12 done` without a total), with a bar of `width`
    /// cells when the total is known.
    pub fn line(&self, label: &str, width: usize) -> String {
        let seen = self.done + self.failed;
        let mut line = match self.total {
            Some(total) if total > 0 => {
                let filled = usize::try_from(seen.min(total) * width as u64 / total).unwrap_or(width);
                format!("{label} [{}{}] {seen}/{total}", "#".repeat(filled), " ".repeat(width - filled))
            }
            _ => format!("{label}: {seen}"),
        };
        line.push_str(&format!(" ({} done, {} failed)", self.done, self.failed));
        line
    }
}

/// A progress report on stderr.
pub struct Progress {
    label: String,
    counts: Counts,
    tty: bool,
    last: Option<Instant>,
    out: Box<dyn Write + Send>,
}

impl Progress {
    /// Progress on this process's stderr.
    pub fn new(label: &str, total: Option<u64>) -> Self {
        let tty = std::io::stderr().is_terminal();
        Self::to(label, total, tty, Box::new(std::io::stderr()))
    }

    fn to(label: &str, total: Option<u64>, tty: bool, out: Box<dyn Write + Send>) -> Self {
        Self { label: label.to_owned(), counts: Counts { total, ..Counts::default() }, tty, last: None, out }
    }

    pub fn set_total(&mut self, total: u64) {
        self.counts.total = Some(total);
    }

    /// One item done.
    pub fn done(&mut self) {
        self.counts.done += 1;
        self.draw(false);
    }

    /// One item failed, and why (printed at once, on its own line).
    pub fn failed(&mut self, item: &str, why: &str) {
        self.counts.failed += 1;
        if self.tty {
            let _ = write!(self.out, "\r\x1b[2K");
        }
        let _ = writeln!(self.out, "{}: {item} failed: {why}", self.label);
        self.draw(true);
    }

    pub fn counts(&self) -> Counts {
        self.counts
    }

    /// The summary line; the counts, whose `failed` says whether to exit non-zero.
    pub fn finish(self) -> Counts {
        self.finish_with("")
    }

    /// [`Self::finish`] with more to say at the end of the summary line.
    pub fn finish_with(mut self, detail: &str) -> Counts {
        if self.tty {
            let _ = write!(self.out, "\r\x1b[2K");
        }
        let c = self.counts;
        let sep = if detail.is_empty() { "" } else { "; " };
        let _ = writeln!(self.out, "{}: {} done, {} failed{sep}{detail}", self.label, c.done, c.failed);
        let _ = self.out.flush();
        c
    }

    fn draw(&mut self, force: bool) {
        let every = if self.tty { DRAW_EVERY } else { PLAIN_EVERY };
        if !force && self.last.is_some_and(|t| t.elapsed() < every) {
            return;
        }
        self.last = Some(Instant::now());
        let line = self.counts.line(&self.label, 24);
        let _ = if self.tty { write!(self.out, "\r\x1b[2K{line}") } else { writeln!(self.out, "{line}") };
        let _ = self.out.flush();
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use super::*;

    #[derive(Clone, Default)]
    struct Sink(Arc<Mutex<Vec<u8>>>);

    impl Write for Sink {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().expect("lock").extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn lines_show_a_bar_when_the_total_is_known() {
        let c = Counts { done: 5, failed: 1, total: Some(12) };
        assert_eq!(c.line("resend", 12), "resend [######      ] 6/12 (5 done, 1 failed)");
        let open = Counts { done: 3, failed: 0, total: None };
        assert_eq!(open.line("import", 12), "import: 3 (3 done, 0 failed)");
    }

    #[test]
    fn failures_are_reported_one_by_one_and_summed_up() {
        let sink = Sink::default();
        let mut p = Progress::to("import", Some(3), false, Box::new(sink.clone()));
        p.done();
        p.failed("app acme", "the server refused it (422): body.url: not a URL");
        p.done();
        let counts = p.finish_with("1 created");
        assert_eq!(counts, Counts { done: 2, failed: 1, total: Some(3) });
        let text = String::from_utf8(sink.0.lock().expect("lock").clone()).expect("utf-8");
        assert!(
            text.contains("import: app acme failed: the server refused it (422): body.url: not a URL\n"),
            "{text}"
        );
        assert!(text.ends_with("import: 2 done, 1 failed; 1 created\n"), "{text}");
        assert!(!text.contains('\r'), "no carriage returns off a terminal");
    }
}
