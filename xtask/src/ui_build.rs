//! The UI step of kit build: in every top-level directory holding a package.json,
//! `npm install` then `npm run build:copy` (which fills pkg/ui).
use crate::layout;
use crate::step::{require_program, run};
use anyhow::Result;
use std::fs;
use std::process::Command;

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
    Ok(())
}
