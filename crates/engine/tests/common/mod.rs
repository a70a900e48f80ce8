//! Test harness: real engines, outputs collected per connection, peers wired together.
#![allow(dead_code)]

use std::collections::BTreeMap;
use voice_chat_engine::audio::{encode_frame, FrameHeader, FLAG_VOICE};
use voice_chat_engine::{
    ClientMsg, Config, ConnId, ConnKind, Engine, ErrorCode, Output, PeerEnvelope, RoomCreated, SeededEntropy, ServerMsg,
    Settings, Welcome,
};

pub struct Node {
    pub name: String,
    pub engine: Engine,
    pub inbox: BTreeMap<ConnId, Vec<ServerMsg>>,
    pub closed: Vec<ConnId>,
    pub to_peers: Vec<(String, PeerEnvelope)>,
    pub persist_requests: usize,
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
        Self { name: name.into(), engine, inbox: BTreeMap::new(), closed: Vec::new(), to_peers: Vec::new(), persist_requests: 0 }
    }

    /// Moves the engine's outputs into the per-connection inboxes.
    pub fn pump(&mut self) {
        while let Some(out) = self.engine.poll_output() {
            match out {
                Output::ToConns { conns, msg } => {
                    // Every message must survive the JSON round trip the shell does.
                    let back = ServerMsg::from_json(&msg.to_json()).expect("server JSON decodes");
                    assert_eq!(back, msg);
                    for c in conns {
                        self.inbox.entry(c).or_default().push(msg.clone());
                    }
                }
                Output::Close { conn } => self.closed.push(conn),
                Output::ToPeer { node, envelope } => self.to_peers.push((node, envelope)),
                Output::PersistRequested => self.persist_requests += 1,
            }
        }
    }

    pub fn open(&mut self, now: u64, conn: ConnId, kind: ConnKind) {
        self.engine.handle_open(now, conn, kind);
        self.pump();
    }

    pub fn send_json(&mut self, now: u64, conn: ConnId, json: &str) {
        self.engine.handle_text(now, conn, json.as_bytes());
        self.pump();
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
        Self { nodes: names.iter().map(|n| (n.to_string(), Node::new(n))).collect(), down: Vec::new(), audio: Vec::new() }
    }

    pub fn node(&mut self, name: &str) -> &mut Node {
        self.nodes.get_mut(name).unwrap()
    }

    /// Delivers peer control messages until none are left.
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
                    if self.down.contains(&to) || self.down.contains(from) || !self.nodes.contains_key(&to) {
                        let n = self.nodes.get_mut(from).unwrap();
                        n.engine.handle_peer_unreachable(now, &to);
                        n.pump();
                        continue;
                    }
                    let dest = self.nodes.get_mut(&to).unwrap();
                    dest.engine.handle_peer_message(now, from, &envelope.to_bytes()).expect("peer message accepted");
                    dest.pump();
                }
            }
            if !moved {
                return;
            }
        }
        panic!("peer messages never settled");
    }

    /// Flushes every node's audio batches to their destinations, until none are left
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
            let mut batches: Vec<(String, Vec<u8>)> = Vec::new();
            self.nodes.get_mut(from).unwrap().engine.flush_peer_batches(|node, bytes| batches.push((node.to_string(), bytes.to_vec())));
            for (to, mut batch) in batches {
                any = true;
                if self.down.contains(&to) || self.down.contains(from) {
                    continue;
                }
                let dest = self.nodes.get_mut(&to).unwrap();
                let mut got = Vec::new();
                dest.engine.handle_peer_audio(now, from, &mut batch, |f, conns| {
                    for c in conns {
                        got.push((*c, f.to_vec()));
                    }
                });
                dest.pump();
                for (c, f) in got {
                    self.audio.push((to.clone(), c, f));
                }
            }
        }
        any
    }
}
