//! Drives the Socket.IO relay (bench/socketio): spawns the Node server and the Node load
//! generator (socket.io-client must run on Node), samples the server's CPU when the load
//! generator opens and closes its window, and reads its result.
use crate::load::{LoadParams, LoadResult};
use crate::procstat::{self, ServerUsage};
use anyhow::{anyhow, bail, Context, Result};
use std::path::Path;
use std::process::Stdio;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// Installs the pinned packages (package-lock.json) when node_modules is missing.
pub async fn ensure_installed(dir: &Path) -> Result<()> {
    if dir.join("node_modules/socket.io").exists() && dir.join("node_modules/socket.io-client").exists() {
        return Ok(());
    }
    eprintln!("bench: installing socket.io in {} (npm ci)", dir.display());
    let status = Command::new("npm").arg("ci").arg("--no-audit").arg("--no-fund").current_dir(dir).status().await.context("running npm")?;
    if !status.success() {
        bail!("npm ci failed in {}", dir.display());
    }
    Ok(())
}

async fn ready_line(child: &mut Child, prefix: &str) -> Result<serde_json::Value> {
    let stdout = child.stdout.take().context("child stdout")?;
    let mut lines = BufReader::new(stdout).lines();
    while let Some(line) = lines.next_line().await? {
        if let Some(json) = line.strip_prefix(prefix) {
            return Ok(serde_json::from_str(json.trim())?);
        }
    }
    bail!("the process ended before printing {prefix}")
}

pub async fn run(dir: &Path, p: &LoadParams) -> Result<(LoadResult, ServerUsage)> {
    ensure_installed(dir).await?;
    let mut server = Command::new("node")
        .arg("server.mjs")
        .arg("0")
        .current_dir(dir)
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .context("starting node (is Node.js installed?)")?;
    let ready = ready_line(&mut server, "SOCKETIO_READY ").await?;
    let port = ready["port"].as_u64().context("port")?;
    let server_pid = server.id().context("server pid")?;
    let cfg = serde_json::json!({
        "url": format!("http://127.0.0.1:{port}"),
        "participants": p.participants,
        "speakers": p.speakers,
        "warmupMs": p.warmup.as_millis() as u64,
        "measureMs": p.measure.as_millis() as u64,
        "payload": p.payload,
        "ackEvery": p.ack_every,
        "frameMs": p.frame_ms,
        "stalled": p.stalled,
    });
    let mut load = Command::new("node")
        .arg("load.mjs")
        .arg(cfg.to_string())
        .current_dir(dir)
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .context("starting the Node load generator")?;
    let mut lines = BufReader::new(load.stdout.take().context("load stdout")?).lines();
    let mut start = None;
    let mut usage = None;
    let mut result = None;
    while let Some(line) = lines.next_line().await? {
        if line == "MEASURE_START" {
            start = Some(procstat::cpu(server_pid)?);
        } else if line == "MEASURE_END" {
            let s = start.ok_or_else(|| anyhow!("MEASURE_END before MEASURE_START"))?;
            usage = Some(procstat::usage_between(server_pid, s)?);
        } else if let Some(json) = line.strip_prefix("RESULT ") {
            result = Some(serde_json::from_str::<LoadResult>(json)?);
        }
    }
    let status = load.wait().await?;
    let _ = server.kill().await;
    match (result, usage) {
        (Some(r), Some(u)) => Ok((r, u)),
        _ => bail!("the Node load generator ended ({status}) without a result"),
    }
}
