//! Membership that holds: a kick forgets the node's role (it needs the invite again), a ban
//! keeps a node (by name) or a guest (by its resume token) out of join, control, sync and
//! audio, and it hears nothing after; bans are listed, lifted, saved and capped; remembered
//! roles are capped. The hostile node here is driven by hand (`m.os`), sending whatever
//! envelopes it likes, as a modified process could.

mod common;
use common::*;
use voice_chat_engine::audio::append_room_marker;
use voice_chat_engine::persist::slot::{decode_slot, encode_slot, SlotContent};
use voice_chat_engine::protocol::{BanEntry, LeaveReason, Resume};
use voice_chat_engine::room::{MAX_BANS, MAX_REMEMBERED_ROLES};
use voice_chat_engine::{
    ClientMsg, Config, ConnKind, Engine, EngineError, ErrorCode, Event, PeerEnvelope, PeerMsg, Role, SeededEntropy, ServerMsg, Welcome,
};

const A: &str = "a.os";
const M: &str = "m.os";

/// A peer node speaking the peer protocol by hand to `a.os`.
struct Hostile {
    name: String,
    seq: u64,
    join_ref: u64,
}

impl Hostile {
    fn new(name: &str) -> Self {
        Self { name: name.into(), seq: 0, join_ref: 0 }
    }

    fn send(&mut self, a: &mut Node, now: u64, msg: PeerMsg) {
        self.seq += 1;
        let env = PeerEnvelope::new(&format!("{}-session", self.name), self.seq, msg);
        a.peer_message(now, &self.name, &env.to_bytes()).expect("envelope accepted");
    }

    /// What `a` sent to this node since the last call (each request reported delivered).
    fn received(&self, a: &mut Node, now: u64) -> Vec<PeerMsg> {
        let (mine, others): (Vec<_>, Vec<_>) = std::mem::take(&mut a.to_peers).into_iter().partition(|(to, _)| *to == self.name);
        a.to_peers = others;
        let mut out = Vec::new();
        for (_, env) in mine {
            let request = a.requests[&(self.name.clone(), env.seq)];
            a.input(now, voice_chat_engine::Input::PeerDelivered { request }).unwrap();
            out.push(env.msg);
        }
        out
    }

    fn join(&mut self, a: &mut Node, now: u64, room: &str, name: &str, invite: Option<&str>, resume: Option<Resume>) -> Result<Welcome, EngineError> {
        self.join_ref += 1;
        let msg = PeerMsg::Join { room: room.into(), join_ref: self.join_ref, name: name.into(), invite: invite.map(Into::into), resume };
        self.send(a, now, msg);
        for m in self.received(a, now) {
            match m {
                PeerMsg::Joined { welcome, join_ref, .. } if join_ref == self.join_ref => return Ok(welcome),
                PeerMsg::JoinRefused { error, join_ref, .. } if join_ref == self.join_ref => return Err(error),
                _ => {}
            }
        }
        panic!("{}: no answer to join", self.name)
    }

    fn control(&mut self, a: &mut Node, now: u64, room: &str, participant: &str, msg: ClientMsg) {
        let msg = PeerMsg::Control { room: room.into(), participant: participant.into(), msg, reference: Some("m1".into()) };
        self.send(a, now, msg);
    }
}

/// A room on a.os (guests allowed) with its owner alice joined on conn 1 as Host.
fn host() -> (Node, String, String) {
    let mut a = Node::new(A);
    let room = a.create_room(open_settings());
    a.join(0, 1, ConnKind::Owner, &room.id, "alice", None);
    a.clear();
    (a, room.id, room.invite)
}

fn direct_errors(msgs: &[PeerMsg]) -> Vec<(ErrorCode, Option<String>)> {
    msgs.iter()
        .filter_map(|m| match m {
            PeerMsg::Direct { msg: ServerMsg::Error { code, reference, .. }, .. } => Some((*code, reference.clone())),
            _ => None,
        })
        .collect()
}

fn bans_of(a: &mut Node, conn: u32) -> Vec<BanEntry> {
    a.take(conn)
        .into_iter()
        .find_map(|m| match m {
            ServerMsg::Bans { bans, .. } => Some(bans),
            _ => None,
        })
        .expect("a bans message")
}

#[test]
fn a_kicked_node_cannot_rejoin_without_the_invite() {
    let (mut a, room, invite) = host();
    let mut m = Hostile::new(M);
    let w = m.join(&mut a, 0, &room, "mallory", Some(&invite), None).unwrap();
    assert_eq!(a.engine.remembered_roles(&room).unwrap(), 2, "the owner's and m.os's");
    // A node admitted once could come back without the invite before...
    m.control(&mut a, 1, &room, &w.participant, ClientMsg::Leave {});
    let again = m.join(&mut a, 2, &room, "mallory", None, None).expect("a node that left keeps its role");

    a.send(3, 1, &ClientMsg::Kick { participant: again.participant.clone() });
    assert!(a.events(1).iter().any(|(_, e)| matches!(e, Event::Left { reason: LeaveReason::Kicked, .. })));
    assert!(m.received(&mut a, 3).iter().any(|msg| matches!(msg, PeerMsg::Event { event, .. } if matches!(event.event, Event::Left { .. }))));
    assert_eq!(a.engine.remembered_roles(&room).unwrap(), 1, "the kick forgot m.os's role");
    let before = a.engine.room_snapshot(&room).unwrap();
    let refused = m.join(&mut a, 4, &room, "mallory", None, None).unwrap_err();
    assert_eq!(refused.code, ErrorCode::BadInvite);
    assert_eq!(a.engine.room_snapshot(&room).unwrap(), before, "the refused join changed nothing");
    // It hears nothing said after the kick.
    a.send(5, 1, &ClientMsg::Chat { text: "after the kick".into() });
    assert!(m.received(&mut a, 5).is_empty());
    // With the invite it may come back (a kick is not a ban).
    m.join(&mut a, 6, &room, "mallory", Some(&invite), None).expect("the invite still admits it");
}

#[test]
fn a_removed_host_is_not_remembered_as_moderator() {
    let mut a = Node::new(A);
    let room = a.create_room(open_settings());
    let mut m = Hostile::new(M);
    let w = m.join(&mut a, 0, &room.id, "mallory", Some(&room.invite), None).unwrap();
    a.engine.set_role(1, &room.id, &w.participant, Role::Host).unwrap();
    a.pump();
    a.engine.kick(2, &room.id, &w.participant).unwrap();
    a.pump();
    let saved = a.engine.persisted();
    assert!(!saved.rooms[0].roles.contains_key(M), "kicked host forgotten: {:?}", saved.rooms[0].roles);
    assert_eq!(m.join(&mut a, 3, &room.id, "mallory", None, None).unwrap_err().code, ErrorCode::BadInvite);

    // A host that leaves on its own is still remembered as Moderator.
    let w = m.join(&mut a, 4, &room.id, "mallory", Some(&room.invite), None).unwrap();
    a.engine.set_role(5, &room.id, &w.participant, Role::Host).unwrap();
    a.pump();
    m.control(&mut a, 6, &room.id, &w.participant, ClientMsg::Leave {});
    assert_eq!(a.engine.persisted().rooms[0].roles.get(M), Some(&Role::Moderator));
}

#[test]
fn a_banned_node_cannot_rejoin_nor_act_nor_sync_nor_send_audio_and_hears_nothing() {
    let (mut a, room, invite) = host();
    let mut m = Hostile::new(M);
    let w = m.join(&mut a, 0, &room, "mallory", Some(&invite), None).unwrap();
    a.send(1, 1, &ClientMsg::Ban { participant: w.participant.clone() });
    let events = a.events(1);
    assert!(
        events.iter().any(|(_, e)| matches!(e, Event::Left { participant, reason: LeaveReason::Banned } if *participant == w.participant)),
        "{events:?}"
    );
    m.received(&mut a, 1);
    let before = a.engine.room_snapshot(&room).unwrap();
    let metrics_before = a.engine.metrics();

    // Join with the invite, and as a resume of its old participant: banned.
    assert_eq!(m.join(&mut a, 2, &room, "mallory", Some(&invite), None).unwrap_err().code, ErrorCode::Banned);
    let resume = Resume { token: w.resume_token.clone(), last_seq: 0 };
    assert_eq!(m.join(&mut a, 2, &room, "mallory", Some(&invite), Some(resume)).unwrap_err().code, ErrorCode::Banned);
    // Control with its old participant id: banned.
    m.control(&mut a, 3, &room, &w.participant, ClientMsg::Chat { text: "let me in".into() });
    assert_eq!(direct_errors(&m.received(&mut a, 3)), vec![(ErrorCode::Banned, Some("m1".into()))]);
    // Sync: refused, and nothing of the room is sent.
    m.send(&mut a, 4, PeerMsg::Sync { room: room.clone(), last_seq: 0 });
    let answer = m.received(&mut a, 4);
    assert!(matches!(&answer[..], [PeerMsg::SyncRefused { error, .. }] if error.code == ErrorCode::Banned), "{answer:?}");
    // Audio on its old stream: dropped and counted.
    let mut batch = Vec::new();
    append_room_marker(&room, &mut batch);
    for i in 0..5 {
        batch.extend(frame(w.stream, i, 5));
    }
    assert!(a.peer_audio(5, M, &mut batch).is_empty(), "no frame relayed");
    let metrics = a.engine.metrics();
    assert_eq!(metrics.frames_dropped.not_member, metrics_before.frames_dropped.not_member + 5);
    assert_eq!(metrics.frames_out, metrics_before.frames_out);
    // It hears nothing said after the ban.
    a.send(6, 1, &ClientMsg::Chat { text: "after the ban".into() });
    a.send(6, 1, &ClientMsg::Typing {});
    assert!(m.received(&mut a, 6).is_empty());
    let mut after = a.engine.room_snapshot(&room).unwrap();
    assert_eq!(after.chat.pop().map(|c| c.text), Some("after the ban".into()));
    after.seq -= 1;
    assert_eq!(after, before, "the refusals changed nothing");
    assert_eq!(a.engine.metrics().participants, 1);

    // The ban list: who and when, no secrets.
    a.send(7, 1, &ClientMsg::ListBans {});
    let bans = bans_of(&mut a, 1);
    assert_eq!(bans.len(), 1);
    assert_eq!((bans[0].name.as_str(), bans[0].node.as_deref(), bans[0].guest, bans[0].banned_ms), ("mallory", Some(M), false, 1));
    assert_eq!(a.engine.bans(&room).unwrap(), bans);
    assert_eq!(a.engine.remembered_roles(&room).unwrap(), 1, "the ban forgot its role");

    // Unban lets it back in (with the invite: its role is gone).
    assert_eq!(a.engine.unban(8, &room, "no-such-ban").unwrap_err().code, ErrorCode::BanNotFound);
    a.send(8, 1, &ClientMsg::Unban { ban_id: bans[0].ban_id.clone() });
    assert!(a.errors(1).is_empty());
    assert!(a.engine.bans(&room).unwrap().is_empty());
    assert_eq!(m.join(&mut a, 9, &room, "mallory", None, None).unwrap_err().code, ErrorCode::BadInvite);
    m.join(&mut a, 9, &room, "mallory", Some(&invite), None).expect("unbanned");
}

#[test]
fn a_banned_guest_cannot_resume_nor_join_fresh_from_the_same_resume() {
    let (mut a, room, invite) = host();
    let g = a.join(0, 3, ConnKind::Guest, &room, "guest", Some(&invite));
    a.clear();
    a.engine.ban(1, &room, &g.participant).unwrap();
    a.pump();
    assert!(a.closed.contains(&3), "the banned guest's socket is closed");
    assert!(a.events(1).iter().any(|(_, e)| matches!(e, Event::Left { reason: LeaveReason::Banned, .. })));
    a.close(1, 3);
    let before = a.engine.room_snapshot(&room).unwrap();

    // Back with its resume token (a resume of the removed participant would be a fresh join).
    a.open(2, 4, ConnKind::Guest);
    let resume = Some(Resume { token: g.resume_token.clone(), last_seq: g.seq });
    let msg = ClientMsg::Join { room: room.clone(), name: "guest".into(), invite: Some(invite.clone()), host: None, resume };
    a.send(2, 4, &msg);
    assert_eq!(a.errors(4), vec![ErrorCode::Banned]);
    let resume = Some(Resume { token: g.resume_token.clone(), last_seq: 0 });
    let msg = ClientMsg::Join { room: room.clone(), name: "another name".into(), invite: Some(invite.clone()), host: None, resume };
    a.send(2, 4, &msg);
    assert_eq!(a.errors(4), vec![ErrorCode::Banned]);
    assert_eq!(a.engine.room_snapshot(&room).unwrap(), before);

    // The list never shows the resume token.
    let bans = a.engine.bans(&room).unwrap();
    assert_eq!((bans[0].node.as_ref(), bans[0].guest, bans[0].name.as_str()), (None, true, "guest"));
    assert_ne!(bans[0].ban_id, g.resume_token);
    a.send(3, 1, &ClientMsg::ListBans {});
    let shown = serde_json::to_string(&bans_of(&mut a, 1)).unwrap();
    assert!(!shown.contains(&g.resume_token), "{shown}");
    // Without its resume token a guest is anyone with the invite (docs/protocol.md, "Bans").
    assert!(a.try_join(3, 4, &room, "guest", Some(&invite)).is_ok());
}

#[test]
fn bans_need_the_kick_permission_and_a_lower_target_and_never_hit_the_owner() {
    let (mut a, room, invite) = host();
    let sp = a.join(0, 2, ConnKind::Guest, &room, "speaker", Some(&invite));
    let g = a.join(0, 3, ConnKind::Guest, &room, "guest", Some(&invite));
    a.clear();
    let before = a.engine.room_snapshot(&room).unwrap();
    for msg in [
        ClientMsg::Ban { participant: g.participant.clone() },
        ClientMsg::ListBans {},
        ClientMsg::Unban { ban_id: "x".into() },
        ClientMsg::RotateInvite {},
    ] {
        a.send(1, 2, &msg);
        assert_eq!(a.errors(2), vec![ErrorCode::Forbidden], "{msg:?} by a speaker");
    }
    assert_eq!(a.engine.invite(&room).unwrap(), invite);
    assert_eq!(a.engine.room_snapshot(&room).unwrap(), before);

    // A moderator may not ban the Host, and nobody may ban the node's owner.
    a.engine.set_role(2, &room, &sp.participant, Role::Moderator).unwrap();
    a.pump();
    a.clear();
    let host_id = before.participants.iter().find(|p| p.role == Role::Host).unwrap().id.clone();
    a.send(3, 2, &ClientMsg::Ban { participant: host_id.clone() });
    assert_eq!(a.errors(2), vec![ErrorCode::Forbidden]);
    let mut m = Hostile::new(M);
    let w = m.join(&mut a, 4, &room, "mallory", Some(&invite), None).unwrap();
    a.engine.set_role(4, &room, &w.participant, Role::Host).unwrap();
    a.pump();
    m.received(&mut a, 4);
    m.control(&mut a, 5, &room, &w.participant, ClientMsg::Ban { participant: host_id.clone() });
    assert_eq!(direct_errors(&m.received(&mut a, 5)), vec![(ErrorCode::Forbidden, Some("m1".into()))], "the owner (now moderator) cannot be banned");
    assert!(a.engine.bans(&room).unwrap().is_empty());

    // The remote Host lists bans and rotates the invite: the answers go to it only.
    m.control(&mut a, 6, &room, &w.participant, ClientMsg::Ban { participant: g.participant.clone() });
    a.clear();
    m.received(&mut a, 6);
    m.control(&mut a, 7, &room, &w.participant, ClientMsg::ListBans {});
    m.control(&mut a, 7, &room, &w.participant, ClientMsg::RotateInvite {});
    let got = m.received(&mut a, 7);
    let bans = got.iter().find_map(|x| match x {
        PeerMsg::Direct { participant, msg: ServerMsg::Bans { bans, .. }, .. } if *participant == w.participant => Some(bans.clone()),
        _ => None,
    });
    assert_eq!(bans.map(|b| b.len()), Some(1), "{got:?}");
    let new_invite = got
        .iter()
        .find_map(|x| match x {
            PeerMsg::Direct { msg: ServerMsg::Invite { invite, .. }, .. } => Some(invite.clone()),
            _ => None,
        })
        .expect("the new invite");
    assert_ne!(new_invite, invite);
    assert_eq!(a.engine.invite(&room).unwrap(), new_invite);
    assert!(a.inbox.values().flatten().all(|m| !matches!(m, ServerMsg::Invite { .. } | ServerMsg::Bans { .. })), "nobody else got them");
    // The old invite stops working.
    a.open(8, 5, ConnKind::Guest);
    assert_eq!(a.try_join(8, 5, &room, "late", Some(&invite)), Err(ErrorCode::BadInvite));
    assert!(a.try_join(8, 5, &room, "late", Some(&new_invite)).is_ok());
}

#[test]
fn a_local_moderator_rotates_the_invite_and_only_it_hears_the_new_one() {
    let (mut a, room, invite) = host();
    let g = a.join(0, 2, ConnKind::Guest, &room, "guest", Some(&invite));
    a.clear();
    a.send(1, 1, &ClientMsg::RotateInvite {});
    let msgs = a.take(1);
    let fresh = msgs.iter().find_map(|m| match m {
        ServerMsg::Invite { room: r, invite } if *r == room => Some(invite.clone()),
        _ => None,
    });
    assert_eq!(fresh.as_deref(), Some(a.engine.invite(&room).unwrap().as_str()), "{msgs:?}");
    assert!(a.take(2).is_empty(), "the guest hears nothing");
    let _ = g;
}

#[test]
fn bans_are_saved_and_hold_after_a_restart() {
    let (mut a, room, invite) = host();
    let mut m = Hostile::new(M);
    let w = m.join(&mut a, 0, &room, "mallory", Some(&invite), None).unwrap();
    let g = a.join(0, 3, ConnKind::Guest, &room, "guest", Some(&invite));
    a.engine.ban(1, &room, &w.participant).unwrap();
    a.engine.ban(1, &room, &g.participant).unwrap();
    a.pump();
    let listed = a.engine.bans(&room).unwrap();
    assert_eq!(listed.len(), 2);

    let slot = encode_slot(&a.engine.persisted());
    let SlotContent::Loaded { state, .. } = decode_slot(Some(&slot)) else { panic!("saved bans read back") };
    let restored = Engine::restore(state, Config::default(), A, Box::new(SeededEntropy::new(9)));
    let mut a = Node::from_engine(A, restored);
    assert_eq!(a.engine.bans(&room).unwrap(), listed);
    let mut m = Hostile::new(M);
    assert_eq!(m.join(&mut a, 10, &room, "mallory", Some(&invite), None).unwrap_err().code, ErrorCode::Banned);
    a.open(10, 4, ConnKind::Guest);
    let msg = ClientMsg::Join {
        room: room.clone(),
        name: "guest".into(),
        invite: Some(invite.clone()),
        host: None,
        resume: Some(Resume { token: g.resume_token.clone(), last_seq: 0 }),
    };
    a.send(10, 4, &msg);
    assert_eq!(a.errors(4), vec![ErrorCode::Banned]);
}

#[test]
fn the_ban_list_is_capped_and_a_ban_past_it_changes_nothing() {
    let (mut a, room, invite) = host();
    // Joins are spaced out: the room's join rate (docs/protocol.md, "Limits") is not tested here.
    let at = |i: u32| i as u64 * 250;
    for i in 0..MAX_BANS as u32 {
        let conn = 100 + i;
        let g = a.join(at(i), conn, ConnKind::Guest, &room, &format!("g{i}"), Some(&invite));
        a.engine.ban(at(i), &room, &g.participant).unwrap();
        a.pump();
        a.close(at(i), conn);
    }
    a.clear();
    assert_eq!(a.engine.bans(&room).unwrap().len(), MAX_BANS);
    let end = at(MAX_BANS as u32);
    let g = a.join(end, 9, ConnKind::Guest, &room, "one more", Some(&invite));
    let before = a.engine.room_snapshot(&room).unwrap();
    a.send(end, 1, &ClientMsg::Ban { participant: g.participant.clone() });
    assert_eq!(a.errors(1), vec![ErrorCode::TooManyBans]);
    assert_eq!(a.engine.room_snapshot(&room).unwrap(), before, "the participant stays");
    assert_eq!(a.engine.bans(&room).unwrap().len(), MAX_BANS);
    // Lifting one makes room for the next.
    let first = a.engine.bans(&room).unwrap()[0].ban_id.clone();
    a.engine.unban(end, &room, &first).unwrap();
    a.engine.ban(end, &room, &g.participant).unwrap();
    assert_eq!(a.engine.bans(&room).unwrap().len(), MAX_BANS);
}

#[test]
fn remembered_roles_are_capped_forgetting_the_oldest_not_in_the_room() {
    let (mut a, room, invite) = host();
    let n = MAX_REMEMBERED_ROLES + 40;
    let mut nodes: Vec<Hostile> = (0..n).map(|i| Hostile::new(&format!("n{i}.os"))).collect();
    // n0 stays in the room the whole time; the others join and leave.
    // Joins are spaced out: the room's join rate is not tested here.
    let at = |i: usize| i as u64 * 250;
    let stay = nodes[0].join(&mut a, 0, &room, "n0", Some(&invite), None).unwrap();
    for (i, node) in nodes.iter_mut().enumerate().skip(1) {
        let w = node.join(&mut a, at(i), &room, &format!("n{i}"), Some(&invite), None).unwrap();
        node.control(&mut a, at(i), &room, &w.participant, ClientMsg::Leave {});
        node.received(&mut a, at(i));
    }
    assert_eq!(a.engine.remembered_roles(&room).unwrap(), MAX_REMEMBERED_ROLES);
    assert!(a.engine.room_snapshot(&room).unwrap().participants.iter().any(|p| p.id == stay.participant));
    let roles = a.engine.persisted().rooms[0].roles.clone();
    assert!(roles.contains_key("n0.os"), "a node in the room keeps its role");
    assert!(roles.contains_key(&format!("n{}.os", n - 1)), "the newest is kept");
    assert!(!roles.contains_key("n1.os"), "the oldest not in the room is forgotten");
    // Forgotten: the invite again. Remembered: not needed.
    assert_eq!(nodes[1].join(&mut a, at(n), &room, "n1", None, None).unwrap_err().code, ErrorCode::BadInvite);
    nodes[n - 1].join(&mut a, at(n + 1), &room, "last", None, None).expect("a remembered role admits");
}

#[test]
fn sync_is_answered_only_to_nodes_holding_participants_in_the_room() {
    let (mut a, room, invite) = host();
    let mut m = Hostile::new(M);
    // Never admitted.
    m.send(&mut a, 0, PeerMsg::Sync { room: room.clone(), last_seq: 0 });
    let answer = m.received(&mut a, 0);
    assert!(matches!(&answer[..], [PeerMsg::SyncRefused { error, .. }] if error.code == ErrorCode::NotMember), "{answer:?}");
    // A member: answered (from 0, a node without a mirror, with the room whole).
    let w = m.join(&mut a, 1, &room, "mallory", Some(&invite), None).unwrap();
    m.send(&mut a, 2, PeerMsg::Sync { room: room.clone(), last_seq: 0 });
    let answer = m.received(&mut a, 2);
    assert!(matches!(&answer[..], [PeerMsg::Snapshot { .. }]), "{answer:?}");
    // Left (it still holds a role here): refused again, nothing of the room is sent.
    m.control(&mut a, 3, &room, &w.participant, ClientMsg::Leave {});
    m.received(&mut a, 3);
    a.send(4, 1, &ClientMsg::Chat { text: "private".into() });
    m.send(&mut a, 5, PeerMsg::Sync { room: room.clone(), last_seq: 0 });
    let answer = m.received(&mut a, 5);
    assert!(matches!(&answer[..], [PeerMsg::SyncRefused { error, .. }] if error.code == ErrorCode::NotMember), "{answer:?}");
}

#[test]
fn a_banned_user_of_a_real_peer_node_is_let_go_by_its_node() {
    let mut net = Net::new(&[A, "b.os"]);
    let room = net.room_on_a_with_bob_from_b();
    let bob = net.node("b.os").take(7).into_iter().find_map(|m| match m {
        ServerMsg::Welcome(w) => Some(w),
        _ => None,
    });
    let bob = bob.expect("bob joined");
    net.node(A).send(1, 1, &ClientMsg::Ban { participant: bob.participant.clone() });
    net.run(1);
    assert!(net.node("b.os").closed.contains(&7), "b.os closes its banned user's socket");
    let events = net.node("b.os").events(7);
    assert!(events.iter().any(|(_, e)| matches!(e, Event::Left { reason: LeaveReason::Banned, .. })), "{events:?}");
    // A new socket of bob's tries again, with the invite: banned.
    net.node("b.os").close(1, 7);
    let b = net.node("b.os");
    b.open(2, 8, ConnKind::Owner);
    let join = ClientMsg::Join { room: room.id.clone(), name: "bob".into(), invite: Some(room.invite.clone()), host: Some(A.into()), resume: None };
    b.send(2, 8, &join);
    net.run(2);
    assert_eq!(net.node("b.os").errors(8), vec![ErrorCode::Banned]);
    assert_eq!(net.node(A).engine.room_snapshot(&room.id).unwrap().participants.len(), 1);
}
