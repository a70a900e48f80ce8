//! Test harness: real engines, outputs collected per connection, peers wired together.
#![allow(dead_code)]

use std::collections::BTreeMap;
use voice_chat_engine::audio::{encode_frame, FrameHeader, FLAG_VOICE};
use voice_chat_engine::{
    ClientMsg, Config, ConnId, ConnKind, DropReason, Engine, ErrorCode, Input, OutBuf, Output, PeerEnvelope, PeerRefusal, PersistedState,
    Refusal, RoomCreated, SeededEntropy, ServerMsg, Settings, Welcome,
};

pub struct Node {
    pub name: String,
    pub engine: Engine,
    pub buf: OutBuf,
    pub inbox: BTreeMap<ConnId, Vec<ServerMsg>>,
    pub closed: Vec<ConnId>,
    pub to_peers: Vec<(String, PeerEnvelope)>,
    /// Request id of each control message in `to_peers`, by (node, envelope seq).
    pub requests: BTreeMap<(String, u64), u64>,
    /// Binary pushes: (recipients, frame).
    pub binaries: Vec<(Vec<ConnId>, Vec<u8>)>,
    /// Audio batches for peers: (node, batch).
    pub audio_out: Vec<(String, Vec<u8>)>,
    pub persist_requests: usize,
    pub last_persisted: Option<PersistedState>,
    pub socket_checks: usize,
}

/// Where one frame went: local recipients and how many peer nodes got a copy.
#[derive(Debug, PartialEq, Eq)]
pub struct Relay {
    pub conns: Vec<ConnId>,
    pub peer_copies: usize,
}

impl Node {
    pub fn new(name: &str) -> Self {
        Self::with_config(name, Config::default())
    }

    pub fn with_config(name: &str, cfg: Config) -> Self {
        let seed = name.bytes().fold(17u64, |h, b| h.wrapping_mul(31).wrapping_add(b as u64));
        Self::from_engine(name, Engine::new(cfg, name, Box::new(SeededEntropy::new(seed))))
    }

    pub fn from_engine(name: &str, engine: Engine) -> Self {
        Self {
            name: name.into(),
            engine,
            buf: OutBuf::new(),
            inbox: BTreeMap::new(),
            closed: Vec::new(),
            to_peers: Vec::new(),
            requests: BTreeMap::new(),
            binaries: Vec::new(),
            audio_out: Vec::new(),
            persist_requests: 0,
            last_persisted: None,
            socket_checks: 0,
        }
    }

    /// Moves the engine's outputs into the per-connection inboxes and the peer queues.
    pub fn pump(&mut self) {
        while let Some(out) = self.engine.poll_output(&mut self.buf) {
            match out {
                Output::Text => {
                    // Every message must survive the JSON round trip to the client.
                    let text = std::str::from_utf8(&self.buf.bytes).expect("text is UTF-8");
                    let msg = ServerMsg::from_json(text).expect("server JSON decodes");
                    assert_eq!(msg.to_json(), text);
                    for c in &self.buf.conns {
                        self.inbox.entry(*c).or_default().push(msg.clone());
                    }
                }
                Output::Binary => self.binaries.push((self.buf.conns.clone(), self.buf.bytes.clone())),
                Output::Close { conn } => self.closed.push(conn),
                Output::PeerControl { node, request, .. } => {
                    let node = self.engine.peer_name(node).to_string();
                    let envelope = PeerEnvelope::from_bytes(&self.buf.bytes).expect("peer envelope decodes");
                    self.requests.insert((node.clone(), envelope.seq), request);
                    self.to_peers.push((node, envelope));
                }
                Output::PeerAudio { node } => {
                    let node = self.engine.peer_name(node).to_string();
                    self.audio_out.push((node, self.buf.bytes.clone()));
                }
                Output::Persist(state) => {
                    self.persist_requests += 1;
                    self.last_persisted = Some(state);
                }
                Output::ListSockets => self.socket_checks += 1,
            }
        }
    }

    pub fn input(&mut self, now: u64, input: Input) -> Result<(), Refusal> {
        let r = self.engine.handle(now, input);
        self.pump();
        r
    }

    pub fn open(&mut self, now: u64, conn: ConnId, kind: ConnKind) {
        let _ = self.input(now, Input::Open { conn, kind });
    }

    pub fn close(&mut self, now: u64, conn: ConnId) {
        self.input(now, Input::Close { conn }).unwrap();
    }

    pub fn tick(&mut self, now: u64) {
        self.input(now, Input::Timeout).unwrap();
    }

    pub fn peer_message(&mut self, now: u64, from: &str, body: &[u8]) -> Result<(), PeerRefusal> {
        self.input(now, Input::PeerControl { from, body }).map_err(|r| match r {
            Refusal::Peer(p) => p,
            other => panic!("not a peer refusal: {other:?}"),
        })
    }

    /// A binary message from `conn`: where the frame went (its Binary push and the peer
    /// batches it left in), or why it was dropped.
    pub fn binary(&mut self, now: u64, conn: ConnId, frame: &mut [u8]) -> Result<Relay, DropReason> {
        let pushes = self.binaries.len();
        let batches = self.audio_out.len();
        let r = self.input(now, Input::Binary { conn, frame });
        let conns: Vec<ConnId> = self.binaries.drain(pushes..).flat_map(|(c, _)| c).collect();
        match r {
            Ok(()) => Ok(Relay { conns, peer_copies: self.audio_out.len() - batches }),
            Err(Refusal::Frame(reason)) => Err(reason),
            Err(other) => panic!("not a frame refusal: {other:?}"),
        }
    }

    /// An audio batch from `from`: the Binary pushes it caused.
    pub fn peer_audio(&mut self, now: u64, from: &str, batch: &mut [u8]) -> Vec<(Vec<ConnId>, Vec<u8>)> {
        let pushes = self.binaries.len();
        self.input(now, Input::PeerAudio { from, batch }).unwrap();
        self.binaries.drain(pushes..).collect()
    }

    pub fn send_json(&mut self, now: u64, conn: ConnId, json: &str) {
        self.input(now, Input::Text { conn, text: json.as_bytes() }).unwrap();
    }

    pub fn send(&mut self, now: u64, conn: ConnId, msg: &ClientMsg) {
        let text = voice_chat_engine::protocol::encode_client(msg, Some("r1"));
        self.send_json(now, conn, &text);
    }

    pub fn take(&mut self, conn: ConnId) -> Vec<ServerMsg> {
        self.inbox.remove(&conn).unwrap_or_default()
    }

    pub fn clear(&mut self) {
        self.inbox.clear();
        self.closed.clear();
    }

    pub fn create_room(&mut self, settings: Settings) -> RoomCreated {
        let r = self.engine.create_room(0, settings).expect("room created");
        self.pump();
        r
    }

    /// Opens `conn` and joins; returns the welcome (panics on refusal).
    pub fn join(&mut self, now: u64, conn: ConnId, kind: ConnKind, room: &str, name: &str, invite: Option<&str>) -> Welcome {
        self.open(now, conn, kind);
        self.try_join(now, conn, room, name, invite).unwrap_or_else(|e| panic!("join refused: {e:?}"))
    }

    pub fn try_join(&mut self, now: u64, conn: ConnId, room: &str, name: &str, invite: Option<&str>) -> Result<Welcome, ErrorCode> {
        let msg = ClientMsg::Join { room: room.into(), name: name.into(), invite: invite.map(Into::into), host: None, resume: None };
        self.send(now, conn, &msg);
        let msgs = self.take(conn);
        for m in &msgs {
            match m {
                ServerMsg::Welcome(w) => return Ok(w.clone()),
                ServerMsg::Error { code, .. } => return Err(*code),
                _ => {}
            }
        }
        panic!("no answer to join: {msgs:?}")
    }

    /// The error codes `conn` received, emptying its inbox.
    pub fn errors(&mut self, conn: ConnId) -> Vec<ErrorCode> {
        self.take(conn)
            .into_iter()
            .filter_map(|m| match m {
                ServerMsg::Error { code, .. } => Some(code),
                _ => None,
            })
            .collect()
    }

    /// Logged events `conn` received (seq, event), emptying its inbox.
    pub fn events(&mut self, conn: ConnId) -> Vec<(u64, voice_chat_engine::Event)> {
        self.take(conn)
            .into_iter()
            .filter_map(|m| match m {
                ServerMsg::Event { seq, event, .. } => Some((seq, event)),
                _ => None,
            })
            .collect()
    }
}

pub fn frame(stream: u16, sequence: u32, level: u8) -> Vec<u8> {
    let mut out = Vec::new();
    let h = FrameHeader { flags: FLAG_VOICE, stream_id: stream, sequence, timestamp: sequence.wrapping_mul(960), level, payload_len: 3 };
    encode_frame(&h, &[0xf8, 0xff, 0xfe], &mut out).unwrap();
    out
}

pub fn open_settings() -> Settings {
    Settings { guests_allowed: true, guests_may_speak: true, ..Settings::default() }
}

/// The configuration of nodes in a [`Net`]: a control message whose send fails is given up
/// at once (the retry policy has its own tests), so a test can cut a link with one message.
pub fn net_config() -> Config {
    Config { peer_control_retries: 0, ..Config::default() }
}

/// Several engines passing peer messages and audio batches to each other.
pub struct Net {
    pub nodes: BTreeMap<String, Node>,
    /// Nodes that currently cannot be reached: sends to them fail.
    pub down: Vec<String>,
    /// Audio deliveries: (node, conn, frame bytes).
    pub audio: Vec<(String, ConnId, Vec<u8>)>,
}

impl Net {
    pub fn new(names: &[&str]) -> Self {
        Self {
            nodes: names.iter().map(|n| (n.to_string(), Node::with_config(n, net_config()))).collect(),
            down: Vec::new(),
            audio: Vec::new(),
        }
    }

    pub fn node(&mut self, name: &str) -> &mut Node {
        self.nodes.get_mut(name).unwrap()
    }

    /// A room hosted by a.os with alice (a.os, conn 1) in it and bob, a user of b.os
    /// (conn 7), joined through b.os with the invite; control messages delivered at time 0.
    pub fn room_on_a_with_bob_from_b(&mut self) -> RoomCreated {
        let room = self.node("a.os").create_room(open_settings());
        self.node("a.os").join(0, 1, ConnKind::Owner, &room.id, "alice", None);
        let b = self.node("b.os");
        b.open(0, 7, ConnKind::Owner);
        let join = ClientMsg::Join { room: room.id.clone(), name: "bob".into(), invite: Some(room.invite.clone()), host: Some("a.os".into()), resume: None };
        b.send(0, 7, &join);
        self.run(0);
        room
    }

    /// Delivers peer control messages until none are left; each sender hears whether its
    /// request was answered.
    pub fn run(&mut self, now: u64) {
        for _ in 0..1000 {
            let mut moved = false;
            let names: Vec<String> = self.nodes.keys().cloned().collect();
            for from in &names {
                let node = self.nodes.get_mut(from).unwrap();
                node.pump();
                let msgs = std::mem::take(&mut node.to_peers);
                for (to, envelope) in msgs {
                    moved = true;
                    let request = self.nodes[from].requests.get(&(to.clone(), envelope.seq)).copied().expect("request id known");
                    if self.down.contains(&to) || self.down.contains(from) || !self.nodes.contains_key(&to) {
                        let n = self.nodes.get_mut(from).unwrap();
                        n.input(now, Input::PeerSendFailed { request }).unwrap();
                        continue;
                    }
                    let dest = self.nodes.get_mut(&to).unwrap();
                    dest.peer_message(now, from, &envelope.to_bytes()).expect("peer message accepted");
                    self.nodes.get_mut(from).unwrap().input(now, Input::PeerDelivered { request }).unwrap();
                }
            }
            if !moved {
                return;
            }
        }
        panic!("peer messages never settled");
    }

    /// Delivers every node's audio batches to their destinations, until none are left
    /// (a host forwards what it received from one peer to the others).
    pub fn flush_audio(&mut self, now: u64) {
        for _ in 0..4 {
            if !self.flush_audio_once(now) {
                return;
            }
        }
    }

    fn flush_audio_once(&mut self, now: u64) -> bool {
        let mut any = false;
        let names: Vec<String> = self.nodes.keys().cloned().collect();
        for from in &names {
            let batches = std::mem::take(&mut self.nodes.get_mut(from).unwrap().audio_out);
            for (to, mut batch) in batches {
                any = true;
                if self.down.contains(&to) || self.down.contains(from) {
                    continue;
                }
                let dest = self.nodes.get_mut(&to).unwrap();
                for (conns, f) in dest.peer_audio(now, from, &mut batch) {
                    for c in conns {
                        self.audio.push((to.clone(), c, f.clone()));
                    }
                }
            }
        }
        any
    }
}
