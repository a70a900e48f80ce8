//! Relay benchmark: the same voice-room workload against voice-chat on devnode, a minimal
//! native tokio relay and a Socket.IO relay on Node, one after the other in one run; prints
//! a table and the ratios against the native relay. See docs/bench.md.
mod devnode_host;
mod load;
mod native_relay;
mod procstat;
mod sframe;
mod socketio;

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand, ValueEnum};
use load::{LoadParams, LoadResult, Target};
use procstat::ServerUsage;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, BufReader, Lines};
use tokio::process::{Child, ChildStdout, Command};

const APP: &str = "voice-chat:voice-chat:template.os";
/// The runtime's cap on open WebSockets per node, all apps together.
const MAX_NODE_SOCKETS: usize = 128;
/// voice-chat's own cap (engine Config::max_connections default).
const MAX_APP_CONNECTIONS: usize = 100;

#[derive(Parser)]
#[command(name = "voice-chat-bench", about = "Relay benchmark: voice-chat on devnode vs native tokio vs Socket.IO")]
#[command(args_conflicts_with_subcommands = true)]
struct Cli {
    #[command(subcommand)]
    internal: Option<Internal>,
    /// Participants in the room (each one WebSocket).
    #[arg(long, default_value_t = 50)]
    participants: usize,
    /// How many of them send audio.
    #[arg(long, default_value_t = 5)]
    speakers: usize,
    /// Length of the measured window.
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// Speaking before the window opens (speaking detection, queues and JITs settle).
    #[arg(long, default_value_t = 3)]
    warmup: u64,
    /// Opus payload bytes per frame (a 20 ms voice frame at ~32 kbit/s is about 80).
    #[arg(long, default_value_t = 80)]
    payload: usize,
    /// Clients acknowledge every this many audio frames (docs/protocol.md suggests ~5).
    #[arg(long, default_value_t = 5)]
    ack_every: u32,
    #[arg(long, default_value_t = 20)]
    frame_ms: u64,
    /// This many listeners stop reading when the window opens (they are left out of the
    /// expected rate and the per-listener figures).
    #[arg(long, default_value_t = 0)]
    stalled: usize,
    /// voice-chat's `max_forwarded_speakers` (engine default), for the expected rate.
    #[arg(long, default_value_t = 3)]
    forwarded_speakers: usize,
    /// Which relays to run, in this order (`voice-chat-peer`: the room on one node, the
    /// listeners on a second node; `native-e2ee`, `voice-chat-e2ee`, `voice-chat-peer-e2ee`: the
    /// same relay with frames shaped as end-to-end encrypted ones, compared with the clear row).
    #[arg(long, value_delimiter = ',', default_values = ["native", "voice-chat", "voice-chat-peer", "socketio"])]
    relays: Vec<RelayKind>,
    /// In the `voice-chat-peer` row, how many listeners join from the second node (default: all).
    #[arg(long)]
    remote_listeners: Option<usize>,
    /// The voice-chat package zip (written by `cargo xtask build`).
    #[arg(long)]
    package: Option<PathBuf>,
    /// The package of the `voice-chat-baseline` row (default: the first cut, 0.1.0, kept as an
    /// app-test fixture), so both packages run in one invocation and the machine's noise hits both.
    #[arg(long)]
    baseline: Option<PathBuf>,
    /// Run the relays this many times, the order reversed every other round; prints each
    /// round's table and then the median of each ratio over the rounds.
    #[arg(long, default_value_t = 1)]
    rounds: usize,
    /// Where the Socket.IO server and load generator live.
    #[arg(long)]
    socketio_dir: Option<PathBuf>,
    /// Also write the raw results as JSON here.
    #[arg(long)]
    json: Option<PathBuf>,
}

#[derive(Subcommand)]
enum Internal {
    /// (internal) Host voice-chat on one devnode; stops when stdin closes.
    #[command(hide = true)]
    DevnodeHost {
        #[arg(long)]
        package: PathBuf,
        /// Also boot a second node (cross-node row).
        #[arg(long)]
        peer: bool,
    },
    /// (internal) The native relay; stops when stdin closes.
    #[command(hide = true)]
    NativeRelay {
        #[arg(long, default_value_t = 0)]
        port: u16,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum RelayKind {
    VoiceChat,
    VoiceChatPeer,
    /// voice-chat from `--baseline` (the first cut unless told otherwise).
    VoiceChatBaseline,
    Native,
    Socketio,
    /// The native relay, speakers sending encrypted-shaped frames (SFrame header ‖ Opus length ‖ tag).
    NativeE2ee,
    /// voice-chat, speakers sending encrypted-shaped frames.
    VoiceChatE2ee,
    /// voice-chat with listeners on a 2nd node, speakers sending encrypted-shaped frames.
    VoiceChatPeerE2ee,
}

impl RelayKind {
    fn label(self) -> &'static str {
        match self {
            RelayKind::VoiceChat => "voice-chat on devnode (wasm)",
            RelayKind::VoiceChatPeer => "voice-chat, listeners on a 2nd node",
            RelayKind::VoiceChatBaseline => "voice-chat baseline package (--baseline)",
            RelayKind::Native => "native tokio relay",
            RelayKind::Socketio => "Socket.IO on Node",
            RelayKind::NativeE2ee => "native tokio relay, E2EE frames",
            RelayKind::VoiceChatE2ee => "voice-chat on devnode (wasm), E2EE frames",
            RelayKind::VoiceChatPeerE2ee => "voice-chat, listeners on a 2nd node, E2EE frames",
        }
    }

    /// For an encrypted-frames row, the same relay with clear frames.
    fn clear_twin(self) -> Option<RelayKind> {
        match self {
            RelayKind::NativeE2ee => Some(RelayKind::Native),
            RelayKind::VoiceChatE2ee => Some(RelayKind::VoiceChat),
            RelayKind::VoiceChatPeerE2ee => Some(RelayKind::VoiceChatPeer),
            _ => None,
        }
    }
}

struct Row {
    kind: RelayKind,
    result: LoadResult,
    server: ServerUsage,
    forwarded: usize,
    notes: Vec<String>,
}

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("bench/ sits in the workspace").to_path_buf()
}

pub(crate) async fn ready_line(child: &mut Child, prefix: &str) -> Result<(Value, Lines<BufReader<ChildStdout>>)> {
    let stdout = child.stdout.take().context("child stdout")?;
    let mut lines = BufReader::new(stdout).lines();
    while let Some(line) = lines.next_line().await? {
        if let Some(json) = line.strip_prefix(prefix) {
            return Ok((serde_json::from_str(json.trim())?, lines));
        }
    }
    bail!("the child process ended before printing {prefix}")
}

fn main() -> Result<()> {
    let cli = Cli::parse();
    match &cli.internal {
        // Servers get the same two worker threads tokio would pick on this machine anyway.
        Some(Internal::DevnodeHost { package, peer }) => runtime()?.block_on(devnode_host::serve(package.clone(), *peer)),
        Some(Internal::NativeRelay { port }) => runtime()?.block_on(native_relay::serve(*port)),
        None => runtime()?.block_on(bench(cli)),
    }
}

fn runtime() -> Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread().enable_all().build()?)
}

async fn bench(cli: Cli) -> Result<()> {
    if cli.speakers == 0 || cli.speakers + cli.stalled >= cli.participants {
        bail!("need 1 or more speakers, and speakers + stalled listeners below --participants");
    }
    let params = LoadParams {
        participants: cli.participants,
        speakers: cli.speakers,
        warmup: Duration::from_secs(cli.warmup),
        measure: Duration::from_secs(cli.seconds),
        payload: cli.payload.max(10),
        ack_every: cli.ack_every.max(1),
        frame_ms: cli.frame_ms,
        stalled: cli.stalled,
        e2ee: false,
    };
    let e2ee_params = LoadParams { e2ee: true, ..params.clone() };
    println!(
        "workload: {} participants, {} speakers, one {}-byte frame ({} payload + 16 header) per speaker every {} ms, \
         ack every {} frames, {} s warm-up, {} s window, {} stalled listeners",
        params.participants,
        params.speakers,
        params.payload + 16,
        params.payload,
        params.frame_ms,
        params.ack_every,
        cli.warmup,
        cli.seconds,
        cli.stalled
    );
    if cli.relays.iter().any(|k| k.clear_twin().is_some()) {
        println!(
            "E2EE rows: payload = SFrame header (config 1 + KID 5 + CTR 0..2) ‖ {} bytes in the ciphertext's place ‖ 8-byte tag = {}..{} bytes \
             (+14 while CTR < 8, +15 to 255, +16 after), written by bench/src/sframe.rs (real headers, pseudo-random ciphertext and tag)",
            params.payload,
            params.payload + 14,
            params.payload + 16
        );
    }
    println!("machine: {}", machine());
    if cli.relays.contains(&RelayKind::VoiceChatBaseline) {
        println!("baseline package: {}", baseline_zip(&cli).display());
    }
    println!("load average before: {}", loadavg());
    let rounds = cli.rounds.max(1);
    let mut all_rounds: Vec<Vec<Row>> = Vec::new();
    let mut failed = 0;
    for round in 0..rounds {
        let mut order = cli.relays.clone();
        if round % 2 == 1 {
            order.reverse();
        }
        let mut rows = Vec::new();
        for &kind in &order {
            eprintln!("bench: round {} of {rounds}: running {} ...", round + 1, kind.label());
            let row = match kind {
                RelayKind::Native => run_native(&params).await,
                RelayKind::VoiceChat => run_voice_chat(&cli, &params, false, false).await,
                RelayKind::VoiceChatPeer => run_voice_chat(&cli, &params, true, false).await,
                RelayKind::VoiceChatBaseline => run_voice_chat(&cli, &params, false, true).await,
                RelayKind::NativeE2ee => run_native(&e2ee_params).await,
                RelayKind::VoiceChatE2ee => run_voice_chat(&cli, &e2ee_params, false, false).await,
                RelayKind::VoiceChatPeerE2ee => run_voice_chat(&cli, &e2ee_params, true, false).await,
                RelayKind::Socketio => {
                    let dir = cli.socketio_dir.clone().unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("socketio"));
                    socketio::run(&dir, &params).await.map(|(result, server)| Row {
                        kind,
                        result,
                        server,
                        forwarded: params.speakers,
                        notes: vec![],
                    })
                }
            };
            match row {
                Ok(row) => rows.push(row),
                Err(e) => {
                    failed += 1;
                    eprintln!("bench: {} failed: {e:#}", kind.label())
                }
            }
            // Let the previous server's sockets and memory go before the next one starts.
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
        // Tables in the order asked for, whatever order the round ran in.
        rows.sort_by_key(|r| cli.relays.iter().position(|k| *k == r.kind));
        if rounds > 1 {
            println!();
            println!("## round {} of {rounds} (order: {})", round + 1, order.iter().map(|k| format!("{k:?}")).collect::<Vec<_>>().join(", "));
        }
        println!("load average after: {}", loadavg());
        print_table(&params, &rows);
        all_rounds.push(rows);
    }
    if rounds > 1 {
        print_medians(&params, &all_rounds);
    }
    if let Some(path) = &cli.json {
        let raw: Vec<Value> = all_rounds
            .iter()
            .enumerate()
            .flat_map(|(round, rows)| rows.iter().map(move |r| (round, r)))
            .map(|(round, r)| serde_json::json!({"round": round + 1, "relay": format!("{:?}", r.kind), "result": r.result, "server": r.server, "forwarded_speakers": r.forwarded, "notes": r.notes}))
            .collect();
        std::fs::write(path, serde_json::to_string_pretty(&raw)?)?;
    }
    if failed > 0 {
        bail!("{failed} of {} relay runs failed", cli.relays.len() * rounds);
    }
    Ok(())
}

/// Other work on the machine skews the numbers; the load average tells how busy it was.
fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg").map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" ")).unwrap_or_default()
}

fn machine() -> String {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo.lines().find_map(|l| l.strip_prefix("model name")).map(|m| m.trim_start_matches([' ', '\t', ':'])).unwrap_or("?");
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0);
    let date = std::process::Command::new("date").args(["-u", "+%Y-%m-%d %H:%M UTC"]).output().ok().and_then(|o| String::from_utf8(o.stdout).ok()).unwrap_or_default();
    format!("{cores} cores, {model}; {}", date.trim())
}

fn spawn_self(args: &[&str]) -> Result<Child> {
    let exe = std::env::current_exe()?;
    Ok(Command::new(exe).args(args).stdin(Stdio::piped()).stdout(Stdio::piped()).kill_on_drop(true).spawn()?)
}

/// Closes the child's stdin (its signal to stop) and collects what it prints on the way out.
async fn stop_child(mut child: Child, mut rest: Lines<BufReader<ChildStdout>>) -> Vec<String> {
    drop(child.stdin.take());
    let mut out = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(10), async {
        while let Ok(Some(line)) = rest.next_line().await {
            out.push(line);
        }
    })
    .await;
    if tokio::time::timeout(Duration::from_secs(5), child.wait()).await.is_err() {
        let _ = child.kill().await;
    }
    out
}

async fn run_native(params: &LoadParams) -> Result<Row> {
    let mut child = spawn_self(&["native-relay"])?;
    let (ready, rest) = ready_line(&mut child, "NATIVE_READY ").await?;
    let port = ready["port"].as_u64().context("port")?;
    let pid = child.id().context("pid")?;
    let target = Target::Native { url: format!("ws://127.0.0.1:{port}/room/bench") };
    let (result, server) = load::run(&target, params, pid, None).await?;
    let out = stop_child(child, rest).await;
    let notes = out
        .iter()
        .filter_map(|l| l.strip_prefix("NATIVE_DROPPED "))
        .map(|n| format!("frames dropped on full client queues (whole run): {n}"))
        .collect();
    let kind = if params.e2ee { RelayKind::NativeE2ee } else { RelayKind::Native };
    Ok(Row { kind, result, server, forwarded: params.speakers, notes })
}

/// The package of the baseline row: `--baseline`, else the first cut (0.1.0).
fn baseline_zip(cli: &Cli) -> PathBuf {
    cli.baseline.clone().unwrap_or_else(|| workspace_root().join("crates/app-tests/fixtures/voice-chat-0.1.0.zip"))
}

async fn run_voice_chat(cli: &Cli, params: &LoadParams, cross_node: bool, baseline: bool) -> Result<Row> {
    if params.participants >= MAX_NODE_SOCKETS {
        bail!("a node holds at most {MAX_NODE_SOCKETS} WebSockets: use fewer than that many participants");
    }
    if params.participants > MAX_APP_CONNECTIONS {
        bail!("voice-chat accepts at most {MAX_APP_CONNECTIONS} connections (engine `max_connections`)");
    }
    let zip = if baseline {
        baseline_zip(cli)
    } else {
        cli.package.clone().unwrap_or_else(|| workspace_root().join("target/voice-chat:template.zip"))
    };
    if !zip.exists() {
        bail!("{} is missing: build the package first with `cargo xtask build`", zip.display());
    }
    let zip_arg = zip.to_str().context("package path is not UTF-8")?;
    let mut args = vec!["devnode-host", "--package", zip_arg];
    if cross_node {
        args.push("--peer");
    }
    let mut child = spawn_self(&args)?;
    let (ready, rest) = ready_line(&mut child, "DEVNODE_READY ").await?;
    let url = ready["url"].as_str().context("url")?.to_string();
    let cookie = ready["cookie"].as_str().context("cookie")?.to_string();
    let pid = child.id().context("pid")?;
    let http = reqwest::Client::new();
    wait_ready(&http, &url, &cookie).await?;
    let settings = serde_json::json!({
        "name": "bench",
        "capacity": params.participants,
        "default_role": "speaker",
        "guests_allowed": true,
        "guests_may_speak": true,
    });
    let created: Value = http
        .post(format!("{url}/{APP}/api"))
        .header("cookie", &cookie)
        .json(&serde_json::json!({ "CreateRoom": settings }))
        .send()
        .await?
        .json()
        .await
        .context("CreateRoom answer")?;
    let room = created["Ok"]["id"].as_str().with_context(|| format!("CreateRoom: {created}"))?.to_string();
    let invite = created["Ok"]["invite"].as_str().context("invite")?.to_string();
    let before = metrics(&http, &url, &cookie).await?;
    let ws_base = url.replacen("http://", "ws://", 1);
    let remote = if cross_node {
        let peer = &ready["peers"][0];
        let peer_url = peer["url"].as_str().context("peer url")?;
        let peer_cookie = peer["cookie"].as_str().context("peer cookie")?.to_string();
        wait_ready(&http, peer_url, &peer_cookie).await?;
        let all = params.participants - params.speakers - params.stalled;
        Some(load::Remote {
            owner_ws: format!("{}/{APP}/ws", peer_url.replacen("http://", "ws://", 1)),
            cookie: peer_cookie,
            host: devnode_host::NODE.to_string(),
            listeners: cli.remote_listeners.unwrap_or(all).min(all),
        })
    } else {
        None
    };
    let remote_listeners = remote.as_ref().map_or(0, |r| r.listeners);
    let target = Target::VoiceChat {
        owner_ws: format!("{ws_base}/{APP}/ws"),
        guest_ws: format!("{ws_base}/{APP}/guest-ws"),
        cookie: cookie.clone(),
        room,
        invite,
        remote,
    };
    let probe = || -> std::pin::Pin<Box<dyn std::future::Future<Output = Option<Value>> + Send + '_>> {
        Box::pin(async { metrics(&http, &url, &cookie).await.ok() })
    };
    let outcome = load::run(&target, params, pid, Some(&probe)).await;
    let after = metrics(&http, &url, &cookie).await;
    stop_child(child, rest).await;
    let (result, server) = outcome?;
    let mut notes = match after {
        Ok(after) => metric_notes(&before, &after),
        Err(e) => vec![format!("metrics after the run failed: {e:#}")],
    };
    if cross_node {
        notes.insert(0, format!("{remote_listeners} listeners on {}, the speakers and the other participants on {}", devnode_host::PEER, devnode_host::NODE));
        if let Some((start, end)) = &result.probe {
            let w = result.window_secs;
            let d = |k: &str| (end[k].as_i64().unwrap_or(0) - start[k].as_i64().unwrap_or(0)) as f64 / w;
            notes.push(format!(
                "peer traffic in the window (host node's metrics): {:.0} frames/s to peers; control peer messages {:.0}/s out, {:.0}/s in (audio batches are not counted there)",
                d("frames_to_peers"),
                d("peer_messages_out"),
                d("peer_messages_in")
            ));
        }
    }
    notes.insert(0, format!("package {}", zip.display()));
    let kind = match (cross_node, baseline, params.e2ee) {
        (true, _, false) => RelayKind::VoiceChatPeer,
        (true, _, true) => RelayKind::VoiceChatPeerE2ee,
        (false, true, _) => RelayKind::VoiceChatBaseline,
        (false, false, false) => RelayKind::VoiceChat,
        (false, false, true) => RelayKind::VoiceChatE2ee,
    };
    Ok(Row { kind, result, server, forwarded: params.speakers.min(cli.forwarded_speakers), notes })
}

async fn wait_ready(http: &reqwest::Client, url: &str, cookie: &str) -> Result<()> {
    let t = Instant::now();
    while t.elapsed() < Duration::from_secs(120) {
        if let Ok(r) = http.get(format!("{url}/{APP}/api/info")).header("cookie", cookie).send().await {
            if r.status() == 200 && r.json::<Value>().await.is_ok() {
                return Ok(());
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    bail!("voice-chat did not answer /api/info within 120 s")
}

async fn metrics(http: &reqwest::Client, url: &str, cookie: &str) -> Result<Value> {
    Ok(http.get(format!("{url}/{APP}/api/metrics")).header("cookie", cookie).send().await?.json().await?)
}

/// The app's own counters over the whole run (setup, warm-up, window): where frames went.
fn metric_notes(before: &Value, after: &Value) -> Vec<String> {
    let d = |path: &[&str]| -> i64 {
        let get = |v: &Value| path.iter().fold(v, |v, k| &v[*k]).as_i64().unwrap_or(0);
        get(after) - get(before)
    };
    let mut notes = vec![format!(
        "app metrics over the whole run: frames_in {}, frames_out {}, not_loudest {}, rate_limited {}, flow_control_skips {}, sequence_gaps {}",
        d(&["frames_in"]),
        d(&["frames_out"]),
        d(&["frames_dropped", "not_loudest"]),
        d(&["frames_dropped", "rate_limited"]),
        d(&["flow_control_skips"]),
        d(&["sequence_gaps"]),
    )];
    let other: Vec<String> = ["malformed", "not_member", "not_allowed", "muted", "unknown_connection"]
        .iter()
        .filter(|k| d(&["frames_dropped", k]) != 0)
        .map(|k| format!("{k} {}", d(&["frames_dropped", k])))
        .collect();
    if !other.is_empty() {
        notes.push(format!("other drops: {}", other.join(", ")));
    }
    notes
}

struct Derived {
    delivered: f64,
    expected: f64,
    stream_bytes: f64,
    frame_bytes: f64,
    cpu: f64,
    cpu_us_per_frame: f64,
    peak_mib: f64,
}

fn derive(p: &LoadParams, r: &Row) -> Derived {
    let w = r.result.window_secs;
    let sent_forwarded: u64 = r.result.sent_per_speaker.iter().take(r.forwarded).sum();
    let delivered = r.result.received_frames as f64 / w;
    let expected = (sent_forwarded * (p.participants - 1 - p.stalled) as u64) as f64 / w;
    let listeners = r.result.listeners.max(1) as f64;
    let stream_bytes = r.result.listener_bytes as f64 / w / listeners / r.forwarded.max(1) as f64;
    let frame_bytes = r.result.listener_bytes as f64 / r.result.listener_received_frames.max(1) as f64;
    let cpu = r.server.user_secs + r.server.sys_secs;
    let cpu_us_per_frame = cpu * 1e6 / r.result.received_frames.max(1) as f64;
    Derived { delivered, expected, stream_bytes, frame_bytes, cpu, cpu_us_per_frame, peak_mib: r.server.peak_kib as f64 / 1024.0 }
}

fn print_table(p: &LoadParams, rows: &[Row]) {
    println!();
    println!(
        "| relay | forwarded speakers | delivered frames/s (expected) | latency p50 / p99 / max ms | bytes/s per listener stream (bytes/frame) | server CPU s user+sys (% of a core) | CPU µs per delivered frame | server peak mem MiB (RSS at end) | load-gen CPU s |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    for r in rows {
        let d = derive(p, r);
        let w = r.result.window_secs;
        println!(
            "| {} | {} of {} | {:.0} ({:.0}, {:.1}%) | {:.2} / {:.2} / {:.1} | {:.0} ({:.1}) | {:.2}+{:.2} ({:.0}%) | {:.1} | {:.1} ({:.1}) | {:.2} |",
            r.kind.label(),
            r.forwarded,
            p.speakers,
            d.delivered,
            d.expected,
            100.0 * d.delivered / d.expected.max(1e-9),
            r.result.latency_ms.p50,
            r.result.latency_ms.p99,
            r.result.latency_ms.max,
            d.stream_bytes,
            d.frame_bytes,
            r.server.user_secs,
            r.server.sys_secs,
            100.0 * d.cpu / w,
            d.cpu_us_per_frame,
            d.peak_mib,
            r.server.rss_kib as f64 / 1024.0,
            r.result.client_cpu_secs,
        );
    }
    if let Some(native) = rows.iter().find(|r| r.kind == RelayKind::Native) {
        let n = derive(p, native);
        println!();
        println!("Ratios against the native relay (×):");
        println!();
        println!("| relay | delivered frames/s | latency p50 | latency p99 | bytes per listener stream | server CPU | CPU per delivered frame | peak memory |");
        println!("|---|---|---|---|---|---|---|---|");
        for r in rows {
            let d = derive(p, r);
            println!(
                "| {} | {:.2} | {:.2} | {:.2} | {:.2} | {:.2} | {:.2} | {:.2} |",
                r.kind.label(),
                d.delivered / n.delivered,
                r.result.latency_ms.p50 / native.result.latency_ms.p50,
                r.result.latency_ms.p99 / native.result.latency_ms.p99,
                d.stream_bytes / n.stream_bytes,
                d.cpu / n.cpu,
                d.cpu_us_per_frame / n.cpu_us_per_frame,
                d.peak_mib / n.peak_mib,
            );
        }
    }
    if let Some(c) = compare_to_baseline(p, rows) {
        println!();
        println!(
            "voice-chat / baseline package, same run (×): latency p50 {:.2}, p99 {:.2}, server CPU {:.2}, CPU per delivered frame {:.2}, peak memory {:.2}",
            c[0], c[1], c[2], c[3], c[4]
        );
    }
    let pairs = e2ee_pairs(p, rows);
    if !pairs.is_empty() {
        println!();
        println!("Encrypted frames beside clear ones, same round (E2EE row / clear row of the same relay):");
        println!();
        println!("| relay | bytes/s per listener stream clear → E2EE (×) | bytes per frame clear → E2EE (×) | CPU µs per delivered frame clear → E2EE (×) | server CPU (×) | latency p50 (×) | latency p99 (×) | delivered of expected clear / E2EE |");
        println!("|---|---|---|---|---|---|---|---|");
        for (kind, c, e) in &pairs {
            println!(
                "| {} | {:.0} → {:.0} ({:.3}) | {:.1} → {:.1} ({:.3}) | {:.1} → {:.1} ({:.2}) | {:.2} | {:.2} | {:.2} | {:.1}% / {:.1}% |",
                kind.label(),
                c.d.stream_bytes,
                e.d.stream_bytes,
                e.d.stream_bytes / c.d.stream_bytes,
                c.d.frame_bytes,
                e.d.frame_bytes,
                e.d.frame_bytes / c.d.frame_bytes,
                c.d.cpu_us_per_frame,
                e.d.cpu_us_per_frame,
                e.d.cpu_us_per_frame / c.d.cpu_us_per_frame,
                e.d.cpu / c.d.cpu,
                e.p50 / c.p50,
                e.p99 / c.p99,
                100.0 * c.d.delivered / c.d.expected.max(1e-9),
                100.0 * e.d.delivered / e.d.expected.max(1e-9),
            );
        }
    }
    let local = rows.iter().find(|r| r.kind == RelayKind::VoiceChat);
    let cross = rows.iter().find(|r| r.kind == RelayKind::VoiceChatPeer);
    if let (Some(l), Some(c)) = (local, cross) {
        println!();
        println!(
            "cross-node minus local: latency p50 {:+.2} ms, p99 {:+.2} ms",
            c.result.latency_ms.p50 - l.result.latency_ms.p50,
            c.result.latency_ms.p99 - l.result.latency_ms.p99
        );
    }
    println!();
    for r in rows {
        println!(
            "{}: sent per speaker in the window {:?}; {} latency samples; setup (connect + join) {:.2} s",
            r.kind.label(),
            r.result.sent_per_speaker,
            r.result.latency_ms.samples,
            r.result.setup_secs
        );
        for note in &r.notes {
            println!("  {note}");
        }
        if r.kind.clear_twin().is_some() {
            println!("  audio frames listeners received that were not SFrame header ‖ {} bytes ‖ 8-byte tag (whole run): {}", p.payload, r.result.bad_layout);
        }
    }
}

/// voice-chat's row over the baseline package's row of the same round: p50, p99, server CPU,
/// CPU per delivered frame, peak memory.
fn compare_to_baseline(p: &LoadParams, rows: &[Row]) -> Option<[f64; 5]> {
    let cur = rows.iter().find(|r| r.kind == RelayKind::VoiceChat)?;
    let base = rows.iter().find(|r| r.kind == RelayKind::VoiceChatBaseline)?;
    let (c, b) = (derive(p, cur), derive(p, base));
    Some([
        cur.result.latency_ms.p50 / base.result.latency_ms.p50,
        cur.result.latency_ms.p99 / base.result.latency_ms.p99,
        c.cpu / b.cpu,
        c.cpu_us_per_frame / b.cpu_us_per_frame,
        c.peak_mib / b.peak_mib,
    ])
}

/// One row's figures for the encrypted / clear comparison.
struct PairSide {
    d: Derived,
    p50: f64,
    p99: f64,
}

/// Each encrypted-frames row with the clear row of the same relay in the same round.
fn e2ee_pairs(p: &LoadParams, rows: &[Row]) -> Vec<(RelayKind, PairSide, PairSide)> {
    let side = |r: &Row| PairSide { d: derive(p, r), p50: r.result.latency_ms.p50, p99: r.result.latency_ms.p99 };
    rows.iter()
        .filter_map(|e| {
            let twin = e.kind.clear_twin()?;
            let c = rows.iter().find(|r| r.kind == twin)?;
            Some((twin, side(c), side(e)))
        })
        .collect()
}

fn median(mut v: Vec<f64>) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(|a, b| a.total_cmp(b));
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// Over all rounds: each relay's median p50, p99 and CPU per frame, its median ratios against
/// the native relay of the same round, and the median of voice-chat over the baseline package.
fn print_medians(p: &LoadParams, rounds: &[Vec<Row>]) {
    let mut kinds: Vec<RelayKind> = Vec::new();
    for r in rounds.iter().flatten() {
        if !kinds.contains(&r.kind) {
            kinds.push(r.kind);
        }
    }
    println!();
    println!("## medians over {} rounds", rounds.len());
    println!();
    println!("| relay | latency p50 ms | latency p99 ms | CPU µs per delivered frame | ×native p50 | ×native p99 | ×native CPU per frame | per round ×native CPU per frame |");
    println!("|---|---|---|---|---|---|---|---|");
    for kind in kinds {
        let mut p50 = Vec::new();
        let mut p99 = Vec::new();
        let mut cpu = Vec::new();
        let mut r50 = Vec::new();
        let mut r99 = Vec::new();
        let mut rcpu = Vec::new();
        for rows in rounds {
            let Some(r) = rows.iter().find(|r| r.kind == kind) else { continue };
            let d = derive(p, r);
            p50.push(r.result.latency_ms.p50);
            p99.push(r.result.latency_ms.p99);
            cpu.push(d.cpu_us_per_frame);
            if let Some(n) = rows.iter().find(|r| r.kind == RelayKind::Native) {
                r50.push(r.result.latency_ms.p50 / n.result.latency_ms.p50);
                r99.push(r.result.latency_ms.p99 / n.result.latency_ms.p99);
                rcpu.push(d.cpu_us_per_frame / derive(p, n).cpu_us_per_frame);
            }
        }
        let each = rcpu.iter().map(|x| format!("{x:.2}")).collect::<Vec<_>>().join(", ");
        println!(
            "| {} | {:.2} | {:.2} | {:.1} | {:.2} | {:.2} | {:.2} | {} |",
            kind.label(),
            median(p50),
            median(p99),
            median(cpu),
            median(r50),
            median(r99),
            median(rcpu),
            each
        );
    }
    let pairs: Vec<Vec<(RelayKind, PairSide, PairSide)>> = rounds.iter().map(|rows| e2ee_pairs(p, rows)).collect();
    let mut twins: Vec<RelayKind> = Vec::new();
    for (k, _, _) in pairs.iter().flatten() {
        if !twins.contains(k) {
            twins.push(*k);
        }
    }
    if !twins.is_empty() {
        println!();
        println!("Encrypted / clear frames, same relay and round, median over {} rounds (×; per round in parentheses):", rounds.len());
        println!();
        println!("| relay | bytes per listener stream | bytes per frame | CPU per delivered frame | server CPU | latency p50 | latency p99 |");
        println!("|---|---|---|---|---|---|---|");
        for twin in twins {
            let of = |f: &dyn Fn(&PairSide, &PairSide) -> f64| -> (f64, String) {
                let v: Vec<f64> = pairs.iter().flatten().filter(|(k, _, _)| *k == twin).map(|(_, c, e)| f(c, e)).collect();
                let each = v.iter().map(|x| format!("{x:.3}")).collect::<Vec<_>>().join(", ");
                (median(v), each)
            };
            let bytes = of(&|c, e| e.d.stream_bytes / c.d.stream_bytes);
            let frame = of(&|c, e| e.d.frame_bytes / c.d.frame_bytes);
            let cpu_frame = of(&|c, e| e.d.cpu_us_per_frame / c.d.cpu_us_per_frame);
            let cpu = of(&|c, e| e.d.cpu / c.d.cpu);
            let p50 = of(&|c, e| e.p50 / c.p50);
            let p99 = of(&|c, e| e.p99 / c.p99);
            println!(
                "| {} | {:.3} ({}) | {:.3} ({}) | {:.2} ({}) | {:.2} ({}) | {:.2} ({}) | {:.2} ({}) |",
                twin.label(),
                bytes.0,
                bytes.1,
                frame.0,
                frame.1,
                cpu_frame.0,
                cpu_frame.1,
                cpu.0,
                cpu.1,
                p50.0,
                p50.1,
                p99.0,
                p99.1
            );
        }
    }
    let cmp: Vec<[f64; 5]> = rounds.iter().filter_map(|rows| compare_to_baseline(p, rows)).collect();
    if !cmp.is_empty() {
        let m = |i: usize| median(cmp.iter().map(|c| c[i]).collect());
        println!();
        println!(
            "voice-chat / baseline package, median over {} rounds (×): latency p50 {:.2}, p99 {:.2}, server CPU {:.2}, CPU per delivered frame {:.2} (per round: {}), peak memory {:.2}",
            cmp.len(),
            m(0),
            m(1),
            m(2),
            m(3),
            cmp.iter().map(|c| format!("{:.2}", c[3])).collect::<Vec<_>>().join(", "),
            m(4)
        );
    }
}
