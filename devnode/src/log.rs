//! A node's terminal: every `print-to-terminal` and runtime printout, kept for tests and
//! echoed to stderr up to the node's verbosity (0 by default, as a node's terminal).
use std::sync::{Arc, Mutex};
use tokio::sync::Notify;

#[derive(Clone, Debug)]
pub struct LogLine {
    pub verbosity: u8,
    pub source: String,
    pub text: String,
}

#[derive(Clone)]
pub struct NodeLog {
    node: Arc<str>,
    inner: Arc<Mutex<Vec<LogLine>>>,
    echo_verbosity: Arc<Mutex<Option<u8>>>,
    changed: Arc<Notify>,
}

/// Enough for a long test without letting a chatty process grow memory without bound.
const MAX_LINES: usize = 100_000;

impl NodeLog {
    pub fn new(node: &str, echo_verbosity: Option<u8>) -> Self {
        NodeLog {
            node: node.into(),
            inner: Arc::new(Mutex::new(Vec::new())),
            echo_verbosity: Arc::new(Mutex::new(echo_verbosity)),
            changed: Arc::new(Notify::new()),
        }
    }

    pub fn print(&self, verbosity: u8, source: impl Into<String>, text: impl Into<String>) {
        let line = LogLine { verbosity, source: source.into(), text: text.into() };
        if let Some(max) = *self.echo_verbosity.lock().unwrap() {
            if verbosity <= max {
                eprintln!("[{}] {}: {}", self.node, line.source, line.text);
            }
        }
        let mut lines = self.inner.lock().unwrap();
        if lines.len() >= MAX_LINES {
            lines.drain(..MAX_LINES / 10);
        }
        lines.push(line);
        drop(lines);
        self.changed.notify_waiters();
    }

    pub fn set_echo(&self, verbosity: Option<u8>) {
        *self.echo_verbosity.lock().unwrap() = verbosity;
    }

    pub fn lines(&self) -> Vec<LogLine> {
        self.inner.lock().unwrap().clone()
    }

    /// Waits until a line satisfies `pred`, or the timeout passes.
    pub async fn wait_for(
        &self,
        timeout: std::time::Duration,
        mut pred: impl FnMut(&LogLine) -> bool,
    ) -> Option<LogLine> {
        let deadline = tokio::time::Instant::now() + timeout;
        let mut seen = 0;
        loop {
            let notified = self.changed.notified();
            {
                let lines = self.inner.lock().unwrap();
                if seen > lines.len() {
                    seen = 0;
                }
                if let Some(l) = lines[seen..].iter().find(|l| pred(l)) {
                    return Some(l.clone());
                }
                seen = lines.len();
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return None;
            }
        }
    }
}
