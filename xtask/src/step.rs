//! Printing and timing of build steps, and running external commands with clear failures.
use anyhow::{bail, Context, Result};
use std::process::Command;
use std::time::Instant;

pub fn step<T>(name: &str, f: impl FnOnce() -> Result<T>) -> Result<T> {
    println!("==> {name}");
    let started = Instant::now();
    let out = f().with_context(|| format!("step failed: {name}"))?;
    println!("    done in {:.1} s", started.elapsed().as_secs_f64());
    Ok(out)
}

pub fn run(cmd: &mut Command) -> Result<()> {
    let shown = format!("{cmd:?}");
    let status = cmd
        .status()
        .with_context(|| format!("could not start {shown}: is the program installed?"))?;
    if !status.success() {
        bail!("{shown} failed with {status}");
    }
    Ok(())
}

pub fn require_program(program: &str, how_to_install: &str) -> Result<()> {
    match Command::new(program).arg("--version").output() {
        Ok(out) if out.status.success() => Ok(()),
        _ => bail!("`{program}` is missing: {how_to_install}"),
    }
}
