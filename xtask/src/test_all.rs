//! `cargo xtask test`: every test of the project, after a build, with one tally at the end.
use crate::layout;
use anyhow::{bail, Context, Result};
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

#[derive(Default, Debug, PartialEq)]
pub struct Tally {
    pub passed: u64,
    pub failed: u64,
}

pub fn test_all(no_browser: bool) -> Result<()> {
    let started = std::time::SystemTime::now();
    crate::component::build_package(false)?;
    let ui = layout::root().join("ui");
    let mut suites: Vec<(&str, Command)> = Vec::new();
    let mut cargo = Command::new("cargo");
    cargo
        .args(["test", "-p", "voice-chat-engine", "-p", "devnode", "-p", "xtask", "-p", "voice-chat-app-tests"])
        .current_dir(layout::root());
    suites.push(("cargo test", cargo));
    let mut vitest = Command::new("npm");
    vitest.args(["test"]).current_dir(&ui);
    suites.push(("ui unit tests (vitest)", vitest));
    if !no_browser {
        // The browser tests boot two nodes with the devnode binary. `cargo test -p devnode`
        // above already built it (devnode has integration tests); a separate `cargo build`
        // would resolve other features and rebuild the wasmtime tree, minutes on 2 cores.
        let mut devnode = Command::new("cargo");
        devnode.args(["build", "-p", "devnode"]).current_dir(layout::root());
        suites.push((DEVNODE_STEP, devnode));
        let mut e2e = Command::new("npm");
        e2e.args(["run", "e2e"]).current_dir(&ui);
        suites.push(("browser end-to-end tests (chromium)", e2e));
    }

    let mut total = Tally::default();
    let mut broken = Vec::new();
    for (name, mut cmd) in suites {
        println!("==> {name}");
        if name == DEVNODE_STEP && built_since(&layout::root().join("target/debug/devnode"), started) {
            println!("    target/debug/devnode was built by this run's cargo test: reused");
            continue;
        }
        let (tally, ok) = run_and_count(&mut cmd)?;
        println!("    {name}: {} passed, {} failed", tally.passed, tally.failed);
        total.passed += tally.passed;
        total.failed += tally.failed;
        if !ok {
            broken.push(name);
        }
    }
    println!("{} passed, {} failed", total.passed, total.failed);
    if !broken.is_empty() {
        bail!("failing suites: {}", broken.join(", "));
    }
    Ok(())
}

const DEVNODE_STEP: &str = "devnode binary for the browser tests";

fn built_since(path: &std::path::Path, since: std::time::SystemTime) -> bool {
    std::fs::metadata(path).and_then(|m| m.modified()).is_ok_and(|modified| modified >= since)
}

/// Runs a test command, echoing its output, and counts results from the closing lines of
/// cargo test, Vitest and node's test runner.
fn run_and_count(cmd: &mut Command) -> Result<(Tally, bool)> {
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .with_context(|| format!("starting {cmd:?}"))?;
    let mut tally = Tally::default();
    for line in BufReader::new(child.stdout.take().expect("piped stdout")).lines() {
        let line = line?;
        println!("{line}");
        let found = count_line(&line);
        tally.passed += found.passed;
        tally.failed += found.failed;
    }
    let ok = child.wait()?.success();
    Ok((tally, ok))
}

fn count_line(line: &str) -> Tally {
    let clean = strip_ansi(line);
    let line = clean.trim();
    let number_before = |word: &str| -> u64 {
        let words: Vec<&str> = line.split_whitespace().collect();
        words
            .windows(2)
            .find(|w| w[1].trim_end_matches([';', ',']) == word)
            .and_then(|w| w[0].parse().ok())
            .unwrap_or(0)
    };
    if line.starts_with("test result:") {
        // cargo: "test result: ok. 12 passed; 0 failed; 0 ignored; ..."
        return Tally { passed: number_before("passed"), failed: number_before("failed") };
    }
    if line.starts_with("Tests ") {
        // vitest: "Tests  14 passed (14)" or "Tests  1 failed | 13 passed (14)"
        return Tally { passed: number_before("passed"), failed: number_before("failed") };
    }
    if let Some(rest) = line.strip_prefix("ℹ pass ").or_else(|| line.strip_prefix("# pass ")) {
        return Tally { passed: rest.trim().parse().unwrap_or(0), failed: 0 };
    }
    if let Some(rest) = line.strip_prefix("ℹ fail ").or_else(|| line.strip_prefix("# fail ")) {
        return Tally { passed: 0, failed: rest.trim().parse().unwrap_or(0) };
    }
    Tally::default()
}

fn strip_ansi(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_closing_lines_of_each_runner() {
        assert_eq!(count_line("test result: ok. 12 passed; 0 failed; 1 ignored"), Tally { passed: 12, failed: 0 });
        assert_eq!(count_line("test result: FAILED. 3 passed; 2 failed; 0 ignored"), Tally { passed: 3, failed: 2 });
        assert_eq!(count_line("      Tests  1 failed | 13 passed (14)"), Tally { passed: 13, failed: 1 });
        assert_eq!(count_line("\u{1b}[2m      Tests \u{1b}[22m 14 passed (14)"), Tally { passed: 14, failed: 0 });
        assert_eq!(count_line("ℹ pass 5"), Tally { passed: 5, failed: 0 });
        assert_eq!(count_line("# fail 2"), Tally { passed: 0, failed: 2 });
        assert_eq!(count_line("running 4 tests"), Tally::default());
    }
}
