//! `cargo xtask run`: build the package, boot local nodes with it installed, make sure the
//! first node hosts a room, and print, one line per URL, where each kind of person opens it.
//!
//! The browser test `ui/e2e/readme.test.mjs` runs this same command and follows what it
//! prints. For that, two environment variables skip what a test has already done:
//! `VOICE_CHAT_PACKAGE` (install this package zip instead of building one) and
//! `VOICE_CHAT_DEVNODE` (run this devnode binary instead of `cargo run -p devnode`);
//! `VOICE_CHAT_RUN_HOME` replaces the nodes' home directory (`target/devnode-home`).
use crate::layout;
use anyhow::{bail, Context, Result};
use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Command, Stdio};

const APP: &str = "voice-chat:voice-chat:template.os";
const DEMO_ROOM: &str = "Lobby";

pub fn run(nodes: &[String]) -> Result<()> {
    let zip = match std::env::var_os("VOICE_CHAT_PACKAGE") {
        Some(zip) => PathBuf::from(zip),
        None => crate::component::build_package(false)?.zip,
    };
    let home = std::env::var_os("VOICE_CHAT_RUN_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| layout::target_dir().join("devnode-home"));
    let mut cmd = match std::env::var_os("VOICE_CHAT_DEVNODE") {
        Some(devnode) => Command::new(devnode),
        None => {
            let mut cargo = Command::new("cargo");
            cargo.args(["run", "--quiet", "-p", "devnode", "--"]);
            cargo
        }
    };
    cmd.args(["up", "--package"])
        .arg(&zip)
        .arg("--home")
        .arg(&home)
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
            Some(ready) => match demo_room(&serde_json::from_str(ready)?) {
                Ok(room) => {
                    print!("{}", room_lines(&room));
                    println!("Nodes are up; Ctrl-C stops them.");
                }
                Err(err) => println!("(no demo room: {err:#})"),
            },
            None => println!("{line}"),
        }
        // A reader on a pipe (a test following these lines) sees each as it is printed.
        std::io::stdout().flush()?;
    }
    let status = child.wait()?;
    if !status.success() {
        bail!("devnode ended with {status}");
    }
    Ok(())
}

/// The demo room and what every node needs to get in.
struct DemoRoom {
    id: String,
    invite: String,
    host: String,
    /// (node name, the app's URL on it, its login URL)
    nodes: Vec<(String, String, String)>,
}

/// Reuses (or creates) the room "Lobby" on the first node, with its invite token.
fn demo_room(ready: &Value) -> Result<DemoRoom> {
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
    let (id, invite) = match existing {
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
    let nodes = nodes
        .iter()
        .map(|n| {
            let name = n["node"].as_str().context("node name")?.to_string();
            let app_url = n["app_url"].as_str().context("app_url")?.to_string();
            let login = format!("{}/login", n["url"].as_str().context("url")?);
            Ok((name, app_url, login))
        })
        .collect::<Result<_>>()?;
    Ok(DemoRoom { id, invite, host: host_name.to_string(), nodes })
}

/// One line per URL, saying whom it is for. Other nodes' owners need the invite on their
/// first join (docs/protocol.md, `join`), so their URL carries it as the guest link does.
fn room_lines(room: &DemoRoom) -> String {
    let DemoRoom { id, invite, host, nodes } = room;
    let mut out = format!("\nroom \"{DEMO_ROOM}\" hosted by {host}; open each URL in its own browser:\n");
    for (name, app_url, login) in nodes {
        let url = if name == host {
            format!("{app_url}room/{id}")
        } else {
            format!("{app_url}room/{id}@{host}?invite={invite}")
        };
        out += &format!("  for the owner of {name} (log in at {login} with {name}'s password): {url}\n");
    }
    let (_, host_app, _) = nodes.iter().find(|(name, _, _)| name == host).expect("the host is one of the nodes");
    out += &format!("  for a guest without a node (no login): {host_app}room/{id}?invite={invite}\n\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_url_says_whom_it_is_for_and_other_nodes_carry_the_invite() {
        let room = DemoRoom {
            id: "r1".into(),
            invite: "tok".into(),
            host: "alice.os".into(),
            nodes: vec![
                ("alice.os".into(), "http://127.0.0.1:1/app/".into(), "http://127.0.0.1:1/login".into()),
                ("bob.os".into(), "http://127.0.0.1:2/app/".into(), "http://127.0.0.1:2/login".into()),
            ],
        };
        let text = room_lines(&room);
        let lines: Vec<&str> = text.lines().filter(|l| l.contains("http")).collect();
        assert_eq!(
            lines,
            [
                "  for the owner of alice.os (log in at http://127.0.0.1:1/login with alice.os's password): http://127.0.0.1:1/app/room/r1",
                "  for the owner of bob.os (log in at http://127.0.0.1:2/login with bob.os's password): http://127.0.0.1:2/app/room/r1@alice.os?invite=tok",
                "  for a guest without a node (no login): http://127.0.0.1:1/app/room/r1?invite=tok",
            ]
        );
    }
}
