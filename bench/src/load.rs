//! The Rust load generator for the WebSocket relays (voice-chat on devnode, the native relay):
//! N clients in one room, S of them speaking one frame every 20 ms, everyone acknowledging
//! what it receives. bench/socketio/load.mjs does the same against Socket.IO and reports the
//! same `LoadResult`.
use crate::procstat::{self, CpuSample, ServerUsage};
use anyhow::{anyhow, bail, Context, Result};
use futures_util::{SinkExt, StreamExt};
use serde::{Deserialize, Serialize};
use std::time::Duration;
use tokio::net::TcpStream;
use tokio::sync::watch;
use tokio::time::{Instant, MissedTickBehavior};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::{Bytes, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};
use voice_chat_engine::audio::{decode_frame, encode_ack, encode_frame, FrameHeader, FLAG_MARKER, FLAG_VOICE, HEADER_LEN};

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

#[derive(Clone, Debug)]
pub struct LoadParams {
    pub participants: usize,
    pub speakers: usize,
    pub warmup: Duration,
    pub measure: Duration,
    pub payload: usize,
    pub ack_every: u32,
    pub frame_ms: u64,
    /// The last this many listeners stop reading their socket when the window opens (a frozen
    /// browser tab): what each relay does with a client that falls behind.
    pub stalled: usize,
    /// Speakers send frames shaped as end-to-end encrypted ones (`crate::sframe`): the payload
    /// is SFrame header ‖ `payload` bytes ‖ 8-byte tag; listeners check that layout.
    pub e2ee: bool,
}

impl LoadParams {
    /// Speaker i talks at −(10 + 10·i) dBov: distinct levels, all loud enough to count as
    /// speech, so a relay that forwards only the K loudest picks speakers 0..K.
    pub fn level(speaker: usize) -> u8 {
        (10 + 10 * speaker).min(127) as u8
    }
}

pub enum Target {
    /// The owner's authenticated socket for participant 0, guest sockets with the invite for
    /// the others; with `remote`, the last `remote.listeners` participants are instead users of
    /// a second node (owner sockets there, joining with `host` = the room's node).
    VoiceChat { owner_ws: String, guest_ws: String, cookie: String, room: String, invite: String, remote: Option<Remote> },
    /// One room per URL path.
    Native { url: String },
}

/// Listeners on a peer node: each joins through that node's owner socket.
pub struct Remote {
    pub owner_ws: String,
    pub cookie: String,
    pub host: String,
    pub listeners: usize,
}

/// Read at the window's start and end (e.g. the app's metrics), for rates over the window.
pub type Probe<'a> = &'a (dyn Fn() -> std::pin::Pin<Box<dyn std::future::Future<Output = Option<serde_json::Value>> + Send + 'a>> + Sync);

#[derive(Clone, Copy, Debug, Default, Serialize, Deserialize)]
pub struct Latency {
    pub p50: f64,
    pub p99: f64,
    pub max: f64,
    pub samples: u64,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct LoadResult {
    pub window_secs: f64,
    pub setup_secs: f64,
    pub sent_per_speaker: Vec<u64>,
    pub received_frames: u64,
    pub listener_received_frames: u64,
    pub listener_bytes: u64,
    pub received_bytes: u64,
    pub listeners: u64,
    #[serde(default)]
    pub stalled: u64,
    /// With `e2ee`: audio frames listeners received whose payload was not SFrame header ‖
    /// the Opus packet's length ‖ tag (not counted as received).
    #[serde(default)]
    pub bad_layout: u64,
    pub latency_ms: Latency,
    pub client_cpu_secs: f64,
    /// What the probe read at the window's start and end.
    #[serde(default)]
    pub probe: Option<(serde_json::Value, serde_json::Value)>,
}

#[derive(Clone, Copy)]
struct Schedule {
    begin: Instant,
    window_start: Instant,
    window_end: Instant,
    stop: Instant,
}

#[derive(Default)]
struct ClientStats {
    sent: u64,
    received: u64,
    bytes: u64,
    bad_layout: u64,
    latencies_us: Vec<u32>,
}

/// Bytes a server-to-client WebSocket frame takes for `len` payload bytes (unmasked).
fn ws_header_len(len: usize) -> u64 {
    match len {
        0..=125 => 2,
        126..=65535 => 4,
        _ => 10,
    }
}

async fn connect(url: &str, cookie: Option<&str>) -> Result<Ws> {
    let mut req = url.into_client_request()?;
    if let Some(cookie) = cookie {
        req.headers_mut().insert("cookie", cookie.parse()?);
    }
    let (ws, _) = tokio_tungstenite::connect_async_with_config(req, None, true).await.with_context(|| format!("connecting {url}"))?;
    Ok(ws)
}

/// Joins the voice-chat room and waits for `welcome`; the stream id it assigns goes into
/// our frames (the server overwrites it anyway).
async fn join_voice_chat(ws: &mut Ws, room: &str, name: &str, invite: Option<&str>, host: Option<&str>) -> Result<u16> {
    let mut join = serde_json::json!({ "type": "join", "v": 1, "room": room, "name": name });
    if let Some(invite) = invite {
        join["invite"] = invite.into();
    }
    if let Some(host) = host {
        join["host"] = host.into();
    }
    ws.send(Message::text(join.to_string())).await?;
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let msg = tokio::time::timeout_at(deadline, ws.next())
            .await
            .map_err(|_| anyhow!("{name}: no welcome within 30 s"))?
            .ok_or_else(|| anyhow!("{name}: socket closed before welcome"))??;
        let Message::Text(text) = msg else { continue };
        let v: serde_json::Value = serde_json::from_str(&text)?;
        match v["type"].as_str() {
            Some("welcome") => return Ok(v["stream"].as_u64().unwrap_or(0) as u16),
            // Fresh joins are rate-limited per room (burst 30, then 5/s): as a browser does,
            // try again a little later; the join time is setup, outside the measured window.
            Some("error") if v["code"] == "rate_limited" => {
                tokio::time::sleep(Duration::from_millis(250)).await;
                ws.send(Message::text(join.to_string())).await?;
            }
            Some("error") => bail!("{name}: join refused: {text}"),
            _ => {}
        }
    }
}

pub async fn run(target: &Target, p: &LoadParams, server_pid: u32, probe: Option<Probe<'_>>) -> Result<(LoadResult, ServerUsage)> {
    let epoch = std::time::Instant::now();
    let setup_start = Instant::now();
    let (sched_tx, sched_rx) = watch::channel::<Option<Schedule>>(None);
    let mut tasks = Vec::new();
    for i in 0..p.participants {
        let name = format!("p{i}");
        let (ws, stream_id) = match target {
            Target::VoiceChat { owner_ws, guest_ws, cookie, room, invite, remote } => {
                let on_peer = remote.as_ref().filter(|r| i >= p.participants - r.listeners);
                let mut ws = if let Some(r) = on_peer {
                    connect(&r.owner_ws, Some(&r.cookie)).await?
                } else if i == 0 {
                    connect(owner_ws, Some(cookie)).await?
                } else {
                    connect(guest_ws, None).await?
                };
                let host = on_peer.map(|r| r.host.as_str());
                let stream = join_voice_chat(&mut ws, room, &name, (i != 0).then_some(invite.as_str()), host).await?;
                (ws, stream)
            }
            Target::Native { url } => (connect(url, None).await?, 0),
        };
        // Start reading at once: a client that does not read makes voice-chat's node stall
        // (the runtime's socket queues block when full).
        let speaker = (i < p.speakers).then_some(i);
        let stalled = i >= p.participants - p.stalled;
        tasks.push(tokio::spawn(client(ws, speaker, stalled, stream_id, p.clone(), sched_rx.clone(), epoch)));
    }
    let setup_secs = setup_start.elapsed().as_secs_f64();
    let begin = Instant::now() + Duration::from_millis(100);
    let window_start = begin + p.warmup;
    let window_end = window_start + p.measure;
    let stop = window_end + Duration::from_millis(500);
    sched_tx.send(Some(Schedule { begin, window_start, window_end, stop }))?;

    tokio::time::sleep_until(window_start).await;
    let server0 = procstat::cpu(server_pid)?;
    let client0 = procstat::cpu(std::process::id())?;
    let probe0 = match probe {
        Some(f) => f().await,
        None => None,
    };
    tokio::time::sleep_until(window_end).await;
    let server = procstat::usage_between(server_pid, server0)?;
    let client1 = procstat::cpu(std::process::id())?;
    let probe1 = match probe {
        Some(f) => f().await,
        None => None,
    };
    let client_cpu_secs = cpu_diff(client0, client1);

    let mut sent_per_speaker = vec![0; p.speakers];
    let (mut received, mut listener_received, mut listener_bytes, mut received_bytes, mut bad_layout) = (0, 0, 0, 0, 0);
    let mut latencies = Vec::new();
    for (i, task) in tasks.into_iter().enumerate() {
        let s = task.await.context("client task")??;
        if i < p.speakers {
            sent_per_speaker[i] = s.sent;
        } else {
            listener_received += s.received;
            listener_bytes += s.bytes;
        }
        received += s.received;
        received_bytes += s.bytes;
        bad_layout += s.bad_layout;
        latencies.extend(s.latencies_us);
    }
    latencies.sort_unstable();
    let pct = |q: f64| -> f64 {
        if latencies.is_empty() {
            return f64::NAN;
        }
        latencies[((q * latencies.len() as f64) as usize).min(latencies.len() - 1)] as f64 / 1000.0
    };
    let result = LoadResult {
        window_secs: p.measure.as_secs_f64(),
        setup_secs,
        sent_per_speaker,
        received_frames: received,
        listener_received_frames: listener_received,
        listener_bytes,
        received_bytes,
        listeners: (p.participants - p.speakers - p.stalled) as u64,
        stalled: p.stalled as u64,
        bad_layout,
        latency_ms: Latency {
            p50: pct(0.50),
            p99: pct(0.99),
            max: latencies.last().map_or(f64::NAN, |&m| m as f64 / 1000.0),
            samples: latencies.len() as u64,
        },
        client_cpu_secs,
        probe: probe0.zip(probe1),
    };
    Ok((result, server))
}

fn cpu_diff(a: CpuSample, b: CpuSample) -> f64 {
    (b.user_secs + b.sys_secs) - (a.user_secs + a.sys_secs)
}

async fn client(
    ws: Ws,
    speaker: Option<usize>,
    stalled: bool,
    stream_id: u16,
    p: LoadParams,
    mut sched_rx: watch::Receiver<Option<Schedule>>,
    epoch: std::time::Instant,
) -> Result<ClientStats> {
    let (mut sink, mut stream) = ws.split();
    let mut stats = ClientStats::default();
    let mut sched: Option<Schedule> = None;
    let mut ticker: Option<tokio::time::Interval> = None;
    let mut seq: u32 = 0;
    let mut total_audio: u32 = 0;
    let mut frame = Vec::with_capacity(HEADER_LEN + p.payload);
    let mut payload = vec![0u8; p.payload.max(10)];
    let mut sealed = Vec::with_capacity(p.payload + 16);
    let mut sealer = (p.e2ee && speaker.is_some()).then(|| crate::sframe::Sealer::random(speaker.unwrap_or(0) as u64));
    loop {
        tokio::select! {
            changed = sched_rx.changed(), if sched.is_none() => {
                changed?;
                sched = *sched_rx.borrow();
                if let (Some(s), Some(i)) = (sched, speaker) {
                    // Spread the speakers over the 20 ms period, as real microphones are.
                    let phase = Duration::from_micros(p.frame_ms * 1000 * i as u64 / p.speakers as u64);
                    let mut t = tokio::time::interval_at(s.begin + phase, Duration::from_millis(p.frame_ms));
                    // A microphone keeps producing frames while we are late: catch up.
                    t.set_missed_tick_behavior(MissedTickBehavior::Burst);
                    ticker = Some(t);
                }
            }
            _ = async { ticker.as_mut().unwrap().tick().await }, if ticker.is_some() => {
                let s = sched.unwrap();
                let now = Instant::now();
                if now >= s.window_end {
                    ticker = None;
                    continue;
                }
                let i = speaker.unwrap();
                let sent_at = epoch.elapsed().as_nanos() as u64;
                payload[..8].copy_from_slice(&sent_at.to_be_bytes());
                payload[8..10].copy_from_slice(&(i as u16).to_be_bytes());
                for (k, b) in payload[10..].iter_mut().enumerate() {
                    *b = (seq as usize * 31 + k) as u8;
                }
                // Encrypted: the probe is the start of the ciphertext's place, the rest of it
                // and the tag are pseudo-random (the relay reads the clear header only).
                let body: &[u8] = match sealer.as_mut() {
                    Some(sealer) => {
                        sealer.seal(p.payload, &payload[..10], &mut sealed);
                        &sealed
                    }
                    None => &payload[..p.payload],
                };
                let header = FrameHeader {
                    flags: if seq == 0 { FLAG_VOICE | FLAG_MARKER } else { FLAG_VOICE },
                    stream_id,
                    sequence: seq,
                    timestamp: seq.wrapping_mul(960),
                    level: LoadParams::level(i),
                    payload_len: body.len() as u16,
                };
                frame.clear();
                encode_frame(&header, body, &mut frame).map_err(|e| anyhow!("encoding: {e}"))?;
                sink.send(Message::Binary(Bytes::copy_from_slice(&frame))).await?;
                if now >= s.window_start {
                    stats.sent += 1;
                }
                seq = seq.wrapping_add(1);
            }
            _ = async { tokio::time::sleep_until(sched.unwrap().stop).await }, if sched.is_some() => break,
            _ = async { tokio::time::sleep_until(sched.unwrap().window_start).await }, if stalled && sched.is_some() => {
                // Hold the socket open without reading it until the end.
                tokio::time::sleep_until(sched.unwrap().stop).await;
                break;
            }
            msg = stream.next() => {
                let Some(msg) = msg else { bail!("server closed the socket") };
                let msg = msg?;
                let now = Instant::now();
                let in_window = sched.is_some_and(|s| now >= s.window_start && now < s.window_end);
                let len = match &msg {
                    Message::Binary(b) => b.len(),
                    Message::Text(t) => t.len(),
                    Message::Ping(b) | Message::Pong(b) => b.len(),
                    _ => 0,
                };
                if in_window {
                    stats.bytes += len as u64 + ws_header_len(len);
                }
                let Message::Binary(b) = msg else { continue };
                let Ok(h) = decode_frame(&b) else { continue };
                total_audio = total_audio.wrapping_add(1);
                if total_audio % p.ack_every == 0 {
                    sink.send(Message::Binary(Bytes::copy_from_slice(&encode_ack(total_audio)))).await?;
                }
                if (h.payload_len as usize) < 10 {
                    continue;
                }
                let mut body = &b[HEADER_LEN..];
                if p.e2ee {
                    match crate::sframe::read_header(body) {
                        Some(sf) if body.len() == sf.len + p.payload + crate::sframe::TAG_LEN => body = &body[sf.len..],
                        _ => {
                            stats.bad_layout += 1;
                            continue;
                        }
                    }
                }
                let sent_at = u64::from_be_bytes(body[..8].try_into().unwrap());
                let Some(s) = sched else { continue };
                let (ws_, we_) = (s.window_start - s.begin, s.window_end - s.begin);
                let begin_ns = (s.begin.into_std() - epoch).as_nanos() as u64;
                let rel = Duration::from_nanos(sent_at.saturating_sub(begin_ns));
                if sent_at < begin_ns || rel < ws_ || rel >= we_ {
                    continue;
                }
                stats.received += 1;
                let lat = (epoch.elapsed().as_nanos() as u64).saturating_sub(sent_at);
                stats.latencies_us.push((lat / 1000).min(u32::MAX as u64) as u32);
            }
        }
    }
    let _ = sink.close().await;
    Ok(stats)
}
