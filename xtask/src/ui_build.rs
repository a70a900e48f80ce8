//! The UI step of kit build: in every top-level directory holding a package.json,
//! `npm install` then `npm run build:copy` (which fills pkg/ui). Then a check that what users
//! get carries no test hook: `window.__voiceChat` exists only in `vite build --mode test-hooks`
//! builds, which the browser tests make for themselves (ui/e2e/lib/testPackage.mjs).
use crate::layout;
use crate::step::{require_program, run};
use anyhow::{bail, Result};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The name of the test hook; its presence in a user build is a build error.
pub const TEST_HOOK: &str = "__voiceChat";

pub fn build_ui() -> Result<()> {
    require_program("npm", "install Node.js 20+ and npm (Debian: apt-get install nodejs npm)")?;
    let mut dirs: Vec<_> = fs::read_dir(layout::root())?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.join("package.json").is_file())
        .collect();
    dirs.sort();
    for dir in dirs {
        // `npm ci` refuses the lockfiles written on these machines; install honours the lockfile.
        run(Command::new("npm").args(["install", "--no-audit", "--no-fund"]).current_dir(&dir))?;
        run(Command::new("npm").args(["run", "build:copy"]).current_dir(&dir))?;
    }
    let found = files_containing(&layout::pkg_dir().join("ui"), TEST_HOOK)?;
    if !found.is_empty() {
        bail!("the user build of the UI contains the test hook {TEST_HOOK} in {found:?}; it belongs in --mode test-hooks builds only");
    }
    Ok(())
}

/// Files under `dir` whose bytes contain `needle`.
pub fn files_containing(dir: &Path, needle: &str) -> Result<Vec<PathBuf>> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in fs::read_dir(&d)? {
            let path = entry?.path();
            if path.is_dir() {
                stack.push(path);
            } else if fs::read(&path)?.windows(needle.len()).any(|w| w == needle.as_bytes()) {
                found.push(path);
            }
        }
    }
    found.sort();
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_test_hook_in_any_file_of_a_build() {
        let dir = std::env::temp_dir().join(format!("xtask-ui-hook-{}", std::process::id()));
        fs::create_dir_all(dir.join("assets")).unwrap();
        fs::write(dir.join("index.html"), "<script src=assets/a.js></script>").unwrap();
        fs::write(dir.join("assets/a.js"), "let x=1;").unwrap();
        assert!(files_containing(&dir, TEST_HOOK).unwrap().is_empty());
        fs::write(dir.join("assets/b.js"), "window.__voiceChat={stats(){}}").unwrap();
        assert_eq!(files_containing(&dir, TEST_HOOK).unwrap(), [dir.join("assets/b.js")]);
        fs::remove_dir_all(&dir).unwrap();
    }
}
