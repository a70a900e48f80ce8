//! Shared parts of the end-to-end tests: booting devnode with the real package, an HTTP API
//! client with the owner's cookie, and a WebSocket test client that behaves like the UI's
//! connection (acknowledges audio, collects what it receives) and can be told to stall.
#![allow(dead_code)]
mod fake_peer;
#[allow(unused_imports)] // not every test file drives a peer by hand
pub use fake_peer::FakePeer;
use devnode::{Cluster, ClusterOptions, Node};
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, Notify};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;
use voice_chat_engine::audio::{self, FrameHeader};

pub const APP: &str = "voice-chat:voice-chat:template.os";
pub const PACKAGE_ID: &str = "voice-chat:template.os";
/// Long enough for anything that must happen on a loaded 2-core machine; only reached when
/// the expected thing never happens.
pub const WAIT: Duration = Duration::from_secs(20);

pub fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().expect("workspace root")
}

pub fn package_zip() -> PathBuf {
    let zip = workspace_root().join("target/voice-chat:template.zip");
    assert!(
        zip.exists(),
        "{} is missing: build the package first with `cargo xtask build` (or `cargo xtask build --skip-ui`); \
         these tests run the real compiled app on devnode",
        zip.display()
    );
    zip
}

/// Boots `with_app` nodes with the package installed and `without_app` nodes bare, and waits
/// until the app answers on each node that has it.
pub async fn boot(with_app: &[&str], without_app: &[&str]) -> Cluster {
    let zip = package_zip();
    let names: Vec<&str> = with_app.iter().chain(without_app).copied().collect();
    let cluster = Cluster::start(ClusterOptions::default().nodes(&names)).await.expect("boot devnode cluster");
    let bytes = std::fs::read(&zip).unwrap();
    for name in with_app {
        cluster.node(name).install(&bytes, PACKAGE_ID).unwrap_or_else(|e| panic!("installing voice-chat on {name}: {e:#}"));
    }
    for name in with_app {
        Api::new(cluster.node(name)).wait_ready().await;
    }
    cluster
}

pub fn app_id() -> devnode::ProcessId {
    APP.parse().unwrap()
}

/// Polls `f` until it returns Some, or panics with `what` after `WAIT`.
pub async fn eventually<T, F, Fut>(what: &str, mut f: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + WAIT;
    loop {
        if let Some(v) = f().await {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out after {WAIT:?} waiting for: {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Polls `f` until it holds or `WAIT` passes; returns whether it held (the caller asserts
/// with its own message).
pub async fn eventually_bool(mut f: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + WAIT;
    while Instant::now() < deadline {
        if f() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    f()
}

// ------------------------------------------------------------------------------------ HTTP

#[derive(Clone)]
pub struct Api {
    pub base: String,
    pub cookie: String,
    pub http: reqwest::Client,
}

impl Api {
    pub fn new(node: &Node) -> Api {
        Api {
            base: format!("{}/{APP}", node.http_url()),
            cookie: node.login_cookie(),
            http: reqwest::Client::builder().timeout(Duration::from_secs(30)).build().unwrap(),
        }
    }

    /// The app binds its paths from `init`; wait until `/api/info` answers as JSON.
    pub async fn wait_ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(90);
        while Instant::now() < deadline {
            if let Ok(r) = self.http.get(format!("{}/api/info", self.base)).header("cookie", &self.cookie).send().await {
                if r.status() == 200 {
                    if let Ok(v) = r.json::<Value>().await {
                        if v["name"] == "voice-chat" {
                            return;
                        }
                    }
                }
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("voice-chat did not answer {}/api/info within 90 s", self.base);
    }

    pub async fn get(&self, path: &str) -> Value {
        let r = self.http.get(format!("{}{path}", self.base)).header("cookie", &self.cookie).send().await.unwrap();
        assert_eq!(r.status(), 200, "GET {path}");
        r.json().await.unwrap_or_else(|e| panic!("GET {path} did not answer JSON: {e}"))
    }

    /// `POST /api` with `{call: arg}`: (HTTP status, JSON body).
    pub async fn call(&self, call: &str, arg: Value) -> (u16, Value) {
        let r = self
            .http
            .post(format!("{}/api", self.base))
            .header("cookie", &self.cookie)
            .json(&json!({ call: arg }))
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        let text = r.text().await.unwrap();
        let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
        (status, body)
    }

    /// A call that must succeed: its `Ok` value.
    pub async fn ok(&self, call: &str, arg: Value) -> Value {
        let (status, body) = self.call(call, arg.clone()).await;
        assert_eq!(status, 200, "{call}({arg}) answered {status}: {body}");
        body.get("Ok").cloned().unwrap_or_else(|| panic!("{call}({arg}) answered {body}, not Ok"))
    }

    /// A call that must fail: (status, error code).
    pub async fn err(&self, call: &str, arg: Value) -> (u16, String) {
        let (status, body) = self.call(call, arg.clone()).await;
        let code = body["Err"]["code"].as_str().unwrap_or_else(|| panic!("{call}({arg}) answered {status} {body}, not Err"));
        (status, code.to_string())
    }

    pub async fn create_room(&self, name: &str, guests: bool) -> (String, String) {
        let created = self
            .ok(
                "CreateRoom",
                json!({"name": name, "capacity": 50, "default_role": "speaker", "guests_allowed": guests, "guests_may_speak": guests}),
            )
            .await;
        (created["id"].as_str().unwrap().to_string(), created["invite"].as_str().unwrap().to_string())
    }

    pub async fn room(&self, room: &str) -> Value {
        self.ok("GetRoom", json!(room)).await
    }

    pub async fn metrics(&self) -> Value {
        self.get("/api/metrics").await
    }
}

/// A snapshot's participant by display name.
pub fn participant<'a>(snapshot: &'a Value, name: &str) -> &'a Value {
    snapshot["participants"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == name)
        .unwrap_or_else(|| panic!("no participant {name} in {snapshot}"))
}

/// What must not change when input is refused: settings, who is there with which role and
/// mute state, hands, chat and the event count.
pub fn room_state(snapshot: &Value) -> Value {
    json!({
        "settings": snapshot["settings"],
        "participants": snapshot["participants"],
        "hands": snapshot["hands"],
        "chat": snapshot["chat"],
        "seq": snapshot["seq"],
    })
}

// ------------------------------------------------------------------------------ WebSocket

/// A frame the client received, decoded with the engine's codec.
#[derive(Debug, Clone)]
pub struct Received {
    pub header: FrameHeader,
    pub payload: Vec<u8>,
}

impl Received {
    pub fn payload_str(&self) -> String {
        String::from_utf8_lossy(&self.payload).into_owned()
    }
}

#[derive(Default)]
struct Inbox {
    texts: Vec<Value>,
    frames: Vec<Received>,
    bad_binary: Vec<Vec<u8>>,
    closed: bool,
}

enum Out {
    Text(String),
    Binary(Vec<u8>),
    Close,
}

/// One browser connection. A background task reads the socket, collects text messages and
/// audio frames, and acknowledges audio (kind 0x02) every few frames as the UI does — unless
/// reading is paused, which makes it a client that stopped reading.
pub struct Client {
    pub label: String,
    out: mpsc::UnboundedSender<Out>,
    inbox: Arc<Mutex<Inbox>>,
    changed: Arc<Notify>,
    reading: Arc<AtomicBool>,
    resume_reading: Arc<Notify>,
    /// Set by `join`.
    pub participant: String,
    pub stream: u16,
    pub resume_token: String,
    pub room: String,
    next_seq: u32,
}

/// Acknowledge after this many frames (docs/protocol.md: "about every 5").
const ACK_EVERY: u32 = 4;

impl Client {
    /// The node owner's socket (authenticated with its cookie).
    pub async fn owner(node: &Node, label: &str) -> Client {
        let mut req = node.ws_url(&format!("/{APP}/ws")).into_client_request().unwrap();
        req.headers_mut().insert("cookie", node.login_cookie().parse().unwrap());
        Self::connect(req, label).await
    }

    /// An unauthenticated socket, as a guest with an invite link opens it.
    pub async fn guest(node: &Node, label: &str) -> Client {
        let req = node.ws_url(&format!("/{APP}/guest-ws")).into_client_request().unwrap();
        Self::connect(req, label).await
    }

    async fn connect(req: tokio_tungstenite::tungstenite::handshake::client::Request, label: &str) -> Client {
        let (ws, _) = tokio_tungstenite::connect_async(req).await.unwrap_or_else(|e| panic!("{label}: WebSocket connect: {e}"));
        let (mut sink, mut stream) = ws.split();
        let (out, mut out_rx) = mpsc::unbounded_channel::<Out>();
        let inbox = Arc::new(Mutex::new(Inbox::default()));
        let changed = Arc::new(Notify::new());
        let reading = Arc::new(AtomicBool::new(true));
        let resume_reading = Arc::new(Notify::new());
        let (inbox2, changed2, reading2, resume2) = (inbox.clone(), changed.clone(), reading.clone(), resume_reading.clone());
        tokio::spawn(async move {
            let mut received: u32 = 0;
            let mut acked: u32 = 0;
            loop {
                if !reading2.load(Ordering::SeqCst) {
                    // Stalled: neither read nor acknowledge, but still send what the test asks.
                    tokio::select! {
                        _ = resume2.notified() => continue,
                        cmd = out_rx.recv() => match cmd {
                            Some(Out::Text(t)) => { let _ = sink.send(Message::text(t)).await; }
                            Some(Out::Binary(b)) => { let _ = sink.send(Message::binary(b)).await; }
                            Some(Out::Close) | None => { let _ = sink.close().await; return; }
                        },
                    }
                    continue;
                }
                tokio::select! {
                    cmd = out_rx.recv() => match cmd {
                        Some(Out::Text(t)) => { let _ = sink.send(Message::text(t)).await; }
                        Some(Out::Binary(b)) => { let _ = sink.send(Message::binary(b)).await; }
                        Some(Out::Close) | None => { let _ = sink.close().await; return; }
                    },
                    msg = stream.next() => match msg {
                        Some(Ok(Message::Text(t))) => {
                            let v: Value = serde_json::from_str(t.as_str()).unwrap_or_else(|_| json!({"unparsable": t.as_str()}));
                            inbox2.lock().unwrap().texts.push(v);
                            changed2.notify_waiters();
                        }
                        Some(Ok(Message::Binary(b))) => {
                            match audio::decode_frame(&b) {
                                Ok(header) => {
                                    received = received.wrapping_add(1);
                                    inbox2.lock().unwrap().frames.push(Received { header, payload: b[audio::HEADER_LEN..].to_vec() });
                                }
                                Err(_) => inbox2.lock().unwrap().bad_binary.push(b.to_vec()),
                            }
                            if received.wrapping_sub(acked) >= ACK_EVERY {
                                acked = received;
                                let _ = sink.send(Message::binary(audio::encode_ack(received).to_vec())).await;
                            }
                            changed2.notify_waiters();
                        }
                        Some(Ok(Message::Close(_))) | None | Some(Err(_)) => {
                            inbox2.lock().unwrap().closed = true;
                            changed2.notify_waiters();
                            return;
                        }
                        Some(Ok(_)) => {}
                    },
                }
            }
        });
        Client {
            label: label.to_string(),
            out,
            inbox,
            changed,
            reading,
            resume_reading,
            participant: String::new(),
            stream: 0,
            resume_token: String::new(),
            room: String::new(),
            next_seq: 0,
        }
    }

    pub fn send_text(&self, text: impl Into<String>) {
        let _ = self.out.send(Out::Text(text.into()));
    }

    pub fn send_json(&self, v: Value) {
        self.send_text(v.to_string());
    }

    /// A protocol-v1 client message: `{"type": ty, "v": 1, ...fields}`.
    pub fn send_msg(&self, ty: &str, fields: Value) {
        let mut v = json!({"type": ty, "v": 1});
        if let Value::Object(f) = fields {
            v.as_object_mut().unwrap().extend(f);
        }
        self.send_json(v);
    }

    /// Pings every 10 s as the UI does, so presence sweeps see it alive (until closed).
    pub fn start_heartbeat(&self) {
        let out = self.out.clone();
        tokio::spawn(async move {
            let mut t = 0u64;
            loop {
                tokio::time::sleep(Duration::from_secs(10)).await;
                t += 1;
                if out.send(Out::Text(json!({"type": "ping", "v": 1, "t": t}).to_string())).is_err() {
                    return;
                }
            }
        });
    }

    pub fn send_binary(&self, bytes: Vec<u8>) {
        let _ = self.out.send(Out::Binary(bytes));
    }

    pub fn close(&self) {
        let _ = self.out.send(Out::Close);
    }

    /// Stop reading the socket (and so stop acknowledging audio), as a frozen browser tab.
    pub fn stop_reading(&self) {
        self.reading.store(false, Ordering::SeqCst);
    }

    pub fn resume_reading(&self) {
        self.reading.store(true, Ordering::SeqCst);
        self.resume_reading.notify_waiters();
    }

    pub fn texts(&self) -> Vec<Value> {
        self.inbox.lock().unwrap().texts.clone()
    }

    pub fn text_count(&self) -> usize {
        self.inbox.lock().unwrap().texts.len()
    }

    pub fn frames(&self) -> Vec<Received> {
        self.inbox.lock().unwrap().frames.clone()
    }

    pub fn frame_count(&self) -> usize {
        self.inbox.lock().unwrap().frames.len()
    }

    pub fn bad_binary(&self) -> usize {
        self.inbox.lock().unwrap().bad_binary.len()
    }

    pub fn is_closed(&self) -> bool {
        self.inbox.lock().unwrap().closed
    }

    /// Waits until `pred` holds for what was received; panics with `what` after `timeout`.
    pub async fn wait_until(&self, what: &str, timeout: Duration, pred: impl Fn(&[Value], &[Received], bool) -> bool) {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let notified = self.changed.notified();
            {
                let inbox = self.inbox.lock().unwrap();
                if pred(&inbox.texts, &inbox.frames, inbox.closed) {
                    return;
                }
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                let inbox = self.inbox.lock().unwrap();
                if pred(&inbox.texts, &inbox.frames, inbox.closed) {
                    return;
                }
                let tail: Vec<&Value> = inbox.texts.iter().rev().take(8).collect();
                panic!(
                    "{}: timed out after {timeout:?} waiting for {what}; {} texts (last ones, newest first: {tail:?}), {} frames, closed: {}",
                    self.label,
                    inbox.texts.len(),
                    inbox.frames.len(),
                    inbox.closed
                );
            }
        }
    }

    /// The first text message at index ≥ `from` matching `pred`, waiting up to `WAIT`.
    pub async fn text_from(&self, from: usize, what: &str, pred: impl Fn(&Value) -> bool) -> (usize, Value) {
        self.wait_until(what, WAIT, |texts, _, _| texts.iter().skip(from).any(&pred)).await;
        let texts = self.texts();
        let i = (from..texts.len()).find(|&i| pred(&texts[i])).unwrap();
        (i, texts[i].clone())
    }

    /// Any text message matching `pred` (received at any time).
    pub async fn text(&self, what: &str, pred: impl Fn(&Value) -> bool) -> Value {
        self.text_from(0, what, pred).await.1
    }

    /// An `error` with `code`, received after index `from`.
    pub async fn error_after(&self, from: usize, code: &str) -> Value {
        self.text_from(from, &format!("error {code}"), |v| v["type"] == "error" && v["code"] == code).await.1
    }

    /// A room event of `kind` matching `pred`, at any time.
    pub async fn event(&self, kind: &str, pred: impl Fn(&Value) -> bool) -> Value {
        self.text(&format!("event {kind}"), |v| v["type"] == "event" && v["event"]["kind"] == kind && pred(&v["event"])).await
    }

    /// A room event of `kind` matching `pred`, received at index ≥ `from`.
    pub async fn event_after(&self, from: usize, kind: &str, pred: impl Fn(&Value) -> bool) -> Value {
        self.text_from(from, &format!("event {kind}"), |v| v["type"] == "event" && v["event"]["kind"] == kind && pred(&v["event"]))
            .await
            .1
    }

    /// Events (seq, event) received so far, in arrival order.
    pub fn events(&self) -> Vec<Value> {
        self.texts().into_iter().filter(|v| v["type"] == "event").collect()
    }

    /// Sends `join` and waits for the answer: Ok(welcome) or Err(error).
    pub async fn try_join(&mut self, room: &str, name: &str, invite: Option<&str>, host: Option<&str>) -> Result<Value, Value> {
        let from = self.text_count();
        let mut msg = json!({"room": room, "name": name});
        if let Some(i) = invite {
            msg["invite"] = json!(i);
        }
        if let Some(h) = host {
            msg["host"] = json!(h);
        }
        self.send_msg("join", msg);
        self.join_answer(from).await
    }

    pub async fn join_answer(&mut self, from: usize) -> Result<Value, Value> {
        let (_, answer) = self.text_from(from, "welcome or error", |v| v["type"] == "welcome" || v["type"] == "error").await;
        if answer["type"] == "error" {
            return Err(answer);
        }
        self.participant = answer["participant"].as_str().unwrap().to_string();
        self.stream = answer["stream"].as_u64().unwrap() as u16;
        self.resume_token = answer["resume_token"].as_str().unwrap().to_string();
        self.room = answer["room"].as_str().unwrap().to_string();
        Ok(answer)
    }

    pub async fn join(&mut self, room: &str, name: &str, invite: Option<&str>, host: Option<&str>) -> Value {
        let label = self.label.clone();
        self.try_join(room, name, invite, host).await.unwrap_or_else(|e| panic!("{label}: join {room} refused: {e}"))
    }

    /// One audio frame from this participant: VOICE flag, loud level, and a payload naming
    /// the sender and sequence so receivers can tell whose frame it is.
    pub fn send_frame(&mut self) -> String {
        self.send_frame_as(self.stream)
    }

    /// Like `send_frame` but writing `stream` into the header (the server must overwrite it).
    pub fn send_frame_as(&mut self, stream: u16) -> String {
        self.send_frame_with(stream, 10)
    }

    /// A frame at audio `level` (−dBov: 0 loudest, 127 silence).
    pub fn send_frame_at(&mut self, level: u8) -> String {
        self.send_frame_with(self.stream, level)
    }

    fn send_frame_with(&mut self, stream: u16, level: u8) -> String {
        let seq = self.next_seq;
        self.next_seq += 1;
        let payload = format!("{}#{seq}", self.label);
        self.send_binary(frame(stream, seq, level, payload.as_bytes()));
        payload
    }

    /// The sequence number the next frame of this participant will carry.
    pub fn next_seq(&self) -> u32 {
        self.next_seq
    }

    /// A positive marker on the audio path: one frame without the VOICE flag (so it starts no
    /// speaking indicator) whose payload `mark:<label>:<tag>` is not counted by `frames_from`.
    /// Whatever the relay sent before it on a path reaches a listener before it. At `level`
    /// 127 (silence) it never displaces a speaker from the K loudest; it passes itself only
    /// while fewer than K louder streams are active.
    pub fn send_marker(&mut self, tag: &str, level: u8) -> String {
        let seq = self.next_seq;
        self.next_seq += 1;
        let payload = format!("mark:{}:{tag}", self.label);
        self.send_binary(frame_with_flags(0, self.stream, seq, level, payload.as_bytes()));
        payload
    }

    /// Waits for the marker frame with this payload.
    pub async fn wait_marker(&self, payload: &str) {
        self.wait_until(&format!("marker {payload}"), WAIT, |_, frames, _| frames.iter().any(|f| f.payload == payload.as_bytes())).await;
    }

    /// A positive marker on the control path: a `ping` answered by its `pong`. Everything the
    /// process pushed to this socket before it handled the ping has arrived when this returns.
    pub async fn round_trip(&self) {
        // `t` comes back as a JSON float, whatever it was sent as.
        let t = self.text_count() as f64 + 1_000_000.0;
        self.send_msg("ping", json!({"t": t}));
        self.text("pong of the marker ping", |v| v["type"] == "pong" && v["t"].as_f64() == Some(t)).await;
    }
}

impl Drop for Client {
    fn drop(&mut self) {
        let _ = self.out.send(Out::Close);
    }
}

/// An encoded audio frame (the engine's codec, as the UI's TypeScript codec writes it).
pub fn frame(stream: u16, sequence: u32, level: u8, payload: &[u8]) -> Vec<u8> {
    frame_with_flags(audio::FLAG_VOICE, stream, sequence, level, payload)
}

pub fn frame_with_flags(flags: u8, stream: u16, sequence: u32, level: u8, payload: &[u8]) -> Vec<u8> {
    let header = FrameHeader {
        flags,
        stream_id: stream,
        sequence,
        timestamp: sequence.wrapping_mul(960),
        level,
        payload_len: payload.len() as u16,
    };
    let mut out = Vec::new();
    audio::encode_frame(&header, payload, &mut out).expect("valid test frame");
    out
}

/// Payloads (as text) of the frames `c` received whose payload starts with `sender#`.
pub fn frames_from(c: &Client, sender: &str) -> Vec<Received> {
    let prefix = format!("{sender}#");
    c.frames().into_iter().filter(|f| f.payload_str().starts_with(&prefix)).collect()
}

/// The chat a client shows, built by the protocol's client state rule: the snapshot from
/// `welcome`/`snapshot`, then each event with seq = last + 1 (later ones are applied when
/// the gap is filled by `sync`; earlier ones are ignored).
pub fn chat_view(c: &Client) -> Vec<String> {
    let mut chat: Vec<String> = Vec::new();
    let mut last = 0u64;
    let mut pending: std::collections::BTreeMap<u64, Value> = Default::default();
    for v in c.texts() {
        let snapshot = match v["type"].as_str() {
            Some("welcome") if !v["snapshot"].is_null() => Some(&v["snapshot"]),
            Some("snapshot") => Some(&v["snapshot"]),
            _ => None,
        };
        if let Some(s) = snapshot {
            chat = s["chat"].as_array().unwrap().iter().map(|m| m["text"].as_str().unwrap().to_string()).collect();
            last = s["seq"].as_u64().unwrap();
            pending.retain(|&seq, _| seq > last);
        } else if v["type"] == "welcome" {
            last = v["seq"].as_u64().unwrap();
        }
        if v["type"] == "event" {
            pending.insert(v["seq"].as_u64().unwrap(), v["event"].clone());
        }
        while let Some(e) = pending.remove(&(last + 1)) {
            last += 1;
            match e["kind"].as_str() {
                Some("chat") => chat.push(e["message"]["text"].as_str().unwrap().to_string()),
                Some("chat_cleared") => chat.clear(),
                _ => {}
            }
        }
        pending.retain(|&seq, _| seq > last);
    }
    chat
}
