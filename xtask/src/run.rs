//! `cargo xtask run`: build the package, boot local nodes with it installed, make sure the
//! first node hosts a room, and print where to open it from every node.
use crate::layout;
use anyhow::{bail, Context, Result};
use serde_json::{json, Value};
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

const APP: &str = "voice-chat:voice-chat:template.os";
const DEMO_ROOM: &str = "Lobby";

pub fn run(nodes: &[String]) -> Result<()> {
    let built = crate::component::build_package(false)?;
    let mut cmd = Command::new("cargo");
    cmd.args(["run", "--quiet", "-p", "devnode", "--", "up", "--package"])
        .arg(&built.zip)
        .arg("--home")
        .arg(layout::target_dir().join("devnode-home"))
        .current_dir(layout::root())
        .stdout(Stdio::piped());
    for node in nodes {
        cmd.args(["--node", node]);
    }
    let mut child = cmd.spawn().context("starting devnode")?;
    let stdout = child.stdout.take().expect("piped stdout");
    for line in BufReader::new(stdout).lines() {
        let line = line?;
        match line.strip_prefix("DEVNODE_READY ") {
            Some(ready) => match print_room_urls(&serde_json::from_str(ready)?) {
                Ok(()) => println!("Nodes are up; Ctrl-C stops them."),
                Err(err) => println!("(no demo room: {err:#})"),
            },
            None => println!("{line}"),
        }
    }
    let status = child.wait()?;
    if !status.success() {
        bail!("devnode ended with {status}");
    }
    Ok(())
}

/// Reuses (or creates) a room on the first node and prints its page on every node: the host's
/// own page, the `room@host` page on the others, and a guest invite link.
fn print_room_urls(ready: &Value) -> Result<()> {
    let nodes = ready["nodes"].as_array().context("DEVNODE_READY without nodes")?;
    let host = nodes.first().context("no node")?;
    let host_name = host["node"].as_str().context("node name")?;
    let api = format!("{}/{APP}/api", host["url"].as_str().context("url")?);
    let cookie = host["cookie"].as_str().context("cookie")?;
    let rooms: Value = ureq::get(&format!("{api}/rooms")).set("cookie", cookie).call()?.into_json()?;
    let existing = rooms
        .as_array()
        .into_iter()
        .flatten()
        .find(|r| r["settings"]["name"] == DEMO_ROOM)
        .and_then(|r| r["id"].as_str().map(str::to_string));
    let (room, invite) = match existing {
        Some(room) => {
            let invite: Value = ureq::post(&api).set("cookie", cookie).send_json(json!({ "GetInvite": room }))?.into_json()?;
            (room, invite["Ok"].as_str().context("GetInvite")?.to_string())
        }
        None => {
            let settings = json!({
                "name": DEMO_ROOM, "capacity": 50, "default_role": "speaker",
                "guests_allowed": true, "guests_may_speak": true,
            });
            let created: Value = ureq::post(&api).set("cookie", cookie).send_json(json!({ "CreateRoom": settings }))?.into_json()?;
            let ok = &created["Ok"];
            (ok["id"].as_str().context("CreateRoom")?.to_string(), ok["invite"].as_str().context("invite")?.to_string())
        }
    };
    println!();
    println!("room \"{DEMO_ROOM}\" hosted by {host_name} (log in to a node first with its password):");
    for node in nodes {
        let name = node["node"].as_str().unwrap_or("?");
        let app_url = node["app_url"].as_str().unwrap_or("?");
        if name == host_name {
            println!("  on {name}: {app_url}room/{room}");
        } else {
            println!("  on {name}: {app_url}room/{room}@{host_name}");
        }
    }
    let host_app = host["app_url"].as_str().unwrap_or("?");
    println!("  guest invite link: {host_app}room/{room}?invite={invite}");
    println!();
    Ok(())
}
