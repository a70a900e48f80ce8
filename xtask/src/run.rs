//! `cargo xtask run`: build the package, then boot local nodes with it installed (devnode
//! prints each node's login and room URLs).
use crate::layout;
use crate::step::run as run_command;
use anyhow::Result;
use std::process::Command;

pub fn run(nodes: &[String]) -> Result<()> {
    let built = crate::component::build_package(false)?;
    let mut cmd = Command::new("cargo");
    cmd.args(["run", "--quiet", "-p", "devnode", "--", "up", "--package"])
        .arg(&built.zip)
        .arg("--home")
        .arg(layout::target_dir().join("devnode-home"))
        .current_dir(layout::root());
    for node in nodes {
        cmd.args(["--node", node]);
    }
    run_command(&mut cmd)
}
