//! Invariants under random interleavings (proptest).

mod common;
use common::*;
use proptest::prelude::*;
use voice_chat_engine::audio::encode_ack;
use voice_chat_engine::limits::RateLimit;
use voice_chat_engine::{ClientMsg, Config, ConnKind, Event, EventsSince, LoggedEvent, Role, ServerMsg, SettingsPatch};

const ROLES: [Role; 4] = [Role::Host, Role::Moderator, Role::Speaker, Role::Viewer];

fn roomy_config() -> Config {
    Config {
        control_rate: RateLimit { burst: 10_000, per_second: 10_000 },
        audio_rate: RateLimit { burst: 10_000, per_second: 10_000 },
        event_ring: 8,
        ..Config::default()
    }
}

#[derive(Debug, Clone)]
enum Op {
    SetRole(usize, usize),
    Mute(usize, bool),
    SelfMute(usize, bool),
    Frame(usize, u8),
    Ack(usize),
    Drop(usize),
    Rejoin(usize),
    Chat(usize),
    Hand(usize, bool),
    Settings(u8),
}

fn op(n: usize) -> impl Strategy<Value = Op> {
    prop_oneof![
        1 => (0..n, 0..4usize).prop_map(|(i, r)| Op::SetRole(i, r)),
        1 => (0..n, any::<bool>()).prop_map(|(i, m)| Op::Mute(i, m)),
        1 => (0..n, any::<bool>()).prop_map(|(i, m)| Op::SelfMute(i, m)),
        4 => (0..n, 0..128u8).prop_map(|(i, l)| Op::Frame(i, l)),
        1 => (0..n).prop_map(Op::Ack),
        1 => (0..n).prop_map(Op::Drop),
        1 => (0..n).prop_map(Op::Rejoin),
        1 => (0..n).prop_map(Op::Chat),
        1 => (0..n, any::<bool>()).prop_map(|(i, up)| Op::Hand(i, up)),
        1 => (1..50u8).prop_map(Op::Settings),
    ]
}

struct Sim {
    node: Node,
    room: String,
    invite: String,
    /// participant id, stream, conn (None while dropped) per member.
    members: Vec<(String, u16, Option<u32>)>,
    next_conn: u32,
    now: u64,
}

/// Conn 1000 is a watcher that stays in the room and never speaks.
const WATCHER: u32 = 1000;

impl Sim {
    fn new(n: usize) -> Self {
        let mut node = Node::with_config("a.os", roomy_config());
        let room = node.create_room(open_settings());
        node.join(0, WATCHER, ConnKind::Owner, &room.id, "watcher", None);
        let mut members = Vec::new();
        for i in 0..n {
            let w = node.join(0, i as u32 + 1, ConnKind::Guest, &room.id, &format!("p{i}"), Some(&room.invite));
            members.push((w.participant, w.stream, Some(i as u32 + 1)));
        }
        Sim { node, room: room.id, invite: room.invite, members, next_conn: 100, now: 0 }
    }

    fn participant(&self, id: &str) -> Option<voice_chat_engine::protocol::ParticipantInfo> {
        self.node.engine.room_snapshot(&self.room).ok()?.participants.into_iter().find(|p| p.id == id)
    }

    /// Applies one op; for frames, checks the relay invariants.
    fn apply(&mut self, op: &Op) -> Result<(), TestCaseError> {
        self.now += 20;
        let now = self.now;
        match *op {
            Op::SetRole(i, r) => {
                let _ = self.node.engine.set_role(now, &self.room, &self.members[i].0.clone(), ROLES[r]);
            }
            Op::Mute(i, m) => {
                let _ = self.node.engine.mute(now, &self.room, &self.members[i].0.clone(), m);
            }
            Op::SelfMute(i, m) => {
                if let Some(c) = self.members[i].2 {
                    self.node.send(now, c, &ClientMsg::SelfMute { muted: m });
                }
            }
            Op::Frame(i, level) => {
                let Some(conn) = self.members[i].2 else { return Ok(()) };
                let info = self.participant(&self.members[i].0);
                let mut f = frame(self.members[i].1, now as u32, level);
                let result = self.node.binary(now, conn, &mut f).map(|r| r.conns.to_vec());
                if let Ok(conns) = result {
                    prop_assert!(!conns.contains(&conn), "frame returned to its sender");
                    let info = info.expect("a forwarded frame has a sender in the room");
                    prop_assert!(info.role != Role::Viewer, "frame left a viewer");
                    prop_assert!(!info.muted && !info.self_muted, "frame left a muted speaker");
                }
            }
            Op::Ack(i) => {
                if let Some(c) = self.members[i].2 {
                    let _ = self.node.binary(now, c, &mut encode_ack(u32::MAX / 4));
                    let _ = self.node.binary(now, c, &mut encode_ack(0));
                }
            }
            Op::Drop(i) => {
                if let Some(c) = self.members[i].2.take() {
                    self.node.close(now, c);
                }
            }
            Op::Rejoin(i) => {
                if self.members[i].2.is_none() {
                    self.next_conn += 1;
                    let c = self.next_conn;
                    self.node.open(now, c, ConnKind::Guest);
                    let msg = ClientMsg::Join { room: self.room.clone(), name: format!("r{c}"), invite: Some(self.invite.clone()), host: None, resume: None };
                    self.node.send(now, c, &msg);
                    if let Some(ServerMsg::Welcome(w)) = self.node.take(c).into_iter().find(|m| matches!(m, ServerMsg::Welcome(_))) {
                        self.members[i] = (w.participant, w.stream, Some(c));
                    }
                }
            }
            Op::Chat(i) => {
                if let Some(c) = self.members[i].2 {
                    self.node.send(now, c, &ClientMsg::Chat { text: format!("m{now}") });
                }
            }
            Op::Hand(i, up) => {
                if let Some(c) = self.members[i].2 {
                    let msg = if up { ClientMsg::RaiseHand {} } else { ClientMsg::LowerHand {} };
                    self.node.send(now, c, &msg);
                }
            }
            Op::Settings(cap) => {
                let patch = SettingsPatch { capacity: Some(cap as u32), ..Default::default() };
                let _ = self.node.engine.update_settings(now, &self.room, patch);
            }
        }
        self.node.pump();
        Ok(())
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// No frame returns to its sender; none leaves a viewer or a muted speaker.
    #[test]
    fn relay_never_echoes_nor_leaks(n in 2..7usize, ops in prop::collection::vec(op(6), 1..120)) {
        let mut sim = Sim::new(n);
        for o in &ops {
            let o = clamp(o, n);
            sim.apply(&o)?;
        }
    }

    /// Every event the watcher sees has seq = previous + 1; applying them to its welcome
    /// snapshot reproduces the host's state; since(seq) answers exactly the missed events.
    #[test]
    fn seq_grows_and_since_is_exact(n in 2..6usize, ops in prop::collection::vec(op(5), 1..80), probes in prop::collection::vec(0..100usize, 1..6)) {
        let mut sim = Sim::new(n);
        let welcome_snapshot = sim.node.engine.room_snapshot(&sim.room).unwrap();
        sim.node.take(WATCHER);
        let mut seen: Vec<LoggedEvent> = Vec::new();
        for o in &ops {
            let o = clamp(o, n);
            sim.apply(&o)?;
            for m in sim.node.take(WATCHER) {
                if let ServerMsg::Event { seq, event, .. } = m {
                    seen.push(LoggedEvent { seq, event });
                }
            }
        }
        let start = welcome_snapshot.seq;
        for (k, e) in seen.iter().enumerate() {
            prop_assert_eq!(e.seq, start + 1 + k as u64, "seq only grows, by one");
        }
        let mut mirror = welcome_snapshot.clone();
        for e in &seen {
            prop_assert!(mirror.apply(e));
        }
        let host = sim.node.engine.room_snapshot(&sim.room).unwrap();
        prop_assert_eq!(&mirror.participants, &host.participants);
        prop_assert_eq!(&mirror.hands, &host.hands);
        prop_assert_eq!(&mirror.settings, &host.settings);
        prop_assert_eq!(mirror.seq, host.seq);
        let last = host.seq;
        for p in probes {
            let from = start + (p as u64 % (seen.len() as u64 + 1));
            let missed: Vec<LoggedEvent> = seen.iter().filter(|e| e.seq > from).cloned().collect();
            match sim.node.engine.events_since(&sim.room, from).unwrap() {
                EventsSince::Missed { events } => prop_assert_eq!(events, missed),
                EventsSince::SnapshotNeeded { .. } => prop_assert!(missed.len() > 8, "snapshot only when beyond the ring"),
            }
            prop_assert!(last >= from);
        }
    }
}

fn clamp(o: &Op, n: usize) -> Op {
    let f = |i: usize| i % n;
    match *o {
        Op::SetRole(i, r) => Op::SetRole(f(i), r),
        Op::Mute(i, m) => Op::Mute(f(i), m),
        Op::SelfMute(i, m) => Op::SelfMute(f(i), m),
        Op::Frame(i, l) => Op::Frame(f(i), l),
        Op::Ack(i) => Op::Ack(f(i)),
        Op::Drop(i) => Op::Drop(f(i)),
        Op::Rejoin(i) => Op::Rejoin(f(i)),
        Op::Chat(i) => Op::Chat(f(i)),
        Op::Hand(i, up) => Op::Hand(f(i), up),
        Op::Settings(c) => Op::Settings(c),
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 32, ..ProptestConfig::default() })]

    /// Across nodes: a frame never reaches its sender's connection, and a host never sends a
    /// peer's frames back to that peer.
    #[test]
    fn cross_node_relay_never_echoes(speakers in prop::collection::vec((0..4usize, 0..60u8), 1..40)) {
        let mut net = Net::new(&["a.os", "b.os"]);
        let room = net.node("a.os").create_room(open_settings());
        let a1 = net.node("a.os").join(0, 1, ConnKind::Owner, &room.id, "a1", None);
        let a2 = net.node("a.os").join(0, 2, ConnKind::Guest, &room.id, "a2", Some(&room.invite));
        let mut streams = vec![("a.os", 1u32, a1.stream), ("a.os", 2, a2.stream)];
        for c in [7u32, 8] {
            let b = net.node("b.os");
            b.open(0, c, ConnKind::Owner);
            b.send(0, c, &ClientMsg::Join { room: room.id.clone(), name: format!("b{c}"), invite: Some(room.invite.clone()), host: Some("a.os".into()), resume: None });
            net.run(0);
            let w = net.node("b.os").take(c).into_iter().find_map(|m| match m { ServerMsg::Welcome(w) => Some(w), _ => None }).unwrap();
            streams.push(("b.os", c, w.stream));
        }
        for (t, (who, level)) in speakers.iter().enumerate() {
            let (node, conn, stream) = streams[*who];
            let now = t as u64 * 20;
            let mut f = frame(stream, t as u32, *level);
            if let Ok(r) = net.node(node).binary(now, conn, &mut f) {
                prop_assert!(!r.conns.contains(&conn));
            }
            net.flush_audio(now);
            for (n, c, bytes) in net.audio.drain(..) {
                let s = voice_chat_engine::audio::decode_frame(&bytes).unwrap().stream_id;
                prop_assert!(!(n == node && c == conn), "echo to sender");
                prop_assert!(s == stream, "only the frame just sent is in flight");
            }
            for c in [1u32, 2] { let _ = net.node("a.os").binary(now, c, &mut encode_ack(t as u32 + 1)); }
            for c in [7u32, 8] { let _ = net.node("b.os").binary(now, c, &mut encode_ack(t as u32 + 1)); }
        }
        let _ = Event::Closed { by: None };
    }
}
