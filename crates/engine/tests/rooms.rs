//! Room behaviour: joining, resuming, hand-over, hands, presence, relay, event log, persistence.

mod common;
use common::*;
use voice_chat_engine::audio::encode_ack;
use voice_chat_engine::protocol::{HandReason, LeaveReason, Resume};
use voice_chat_engine::{
    ClientMsg, Config, ConnKind, DropReason, Engine, ErrorCode, Event, EventsSince, PersistedState, Presence, Role,
    SeededEntropy, ServerMsg,
};

fn room_with(n: &mut Node, names: &[(&str, u32)]) -> (String, Vec<voice_chat_engine::Welcome>) {
    let room = n.create_room(open_settings());
    let ws = names.iter().map(|(name, c)| n.join(0, *c, ConnKind::Guest, &room.id, name, Some(&room.invite))).collect();
    n.clear();
    (room.id, ws)
}

#[test]
fn join_announces_to_others_and_welcomes_with_a_snapshot() {
    let mut n = Node::new("a.os");
    let room = n.create_room(open_settings());
    let a = n.join(0, 1, ConnKind::Owner, &room.id, "owner", None);
    assert_eq!(a.role, Role::Host);
    let snap = a.snapshot.as_ref().unwrap();
    assert_eq!(snap.participants.len(), 1);
    assert_eq!(a.seq, snap.seq);
    let b = n.join(0, 2, ConnKind::Guest, &room.id, "guest", Some(&room.invite));
    let events = n.events(1);
    assert!(matches!(&events[..], [(_, Event::Joined { participant })] if participant.id == b.participant));
    assert_eq!(events[0].0, b.seq, "the joiner's snapshot already includes its own join");
    assert_ne!(a.stream, b.stream);
    assert_ne!(a.resume_token, b.resume_token);
}

#[test]
fn explicit_leave_removes_at_once() {
    let mut n = Node::new("a.os");
    let (room, ws) = room_with(&mut n, &[("a", 1), ("b", 2)]);
    n.send(0, 2, &ClientMsg::Leave {});
    let ev = n.events(1);
    assert!(matches!(&ev[..], [(_, Event::Left { participant, reason: LeaveReason::Left })] if *participant == ws[1].participant));
    assert_eq!(n.engine.room_snapshot(&room).unwrap().participants.len(), 1);
    n.send(0, 2, &ClientMsg::Chat { text: "x".into() });
    assert_eq!(n.errors(2), vec![ErrorCode::NotJoined]);
}

#[test]
fn dropped_connection_resumes_with_token_and_gets_missed_events() {
    let mut n = Node::new("a.os");
    let (room, ws) = room_with(&mut n, &[("a", 1), ("b", 2)]);
    let b = &ws[1];
    n.close(100, 2);
    n.pump();
    assert!(matches!(&n.events(1)[..], [(_, Event::Reconnecting { .. })]));
    n.send(200, 1, &ClientMsg::Chat { text: "while you were away".into() });
    let last_seen = b.seq;
    n.open(300, 3, ConnKind::Guest);
    let resume = Resume { token: b.resume_token.clone(), last_seq: last_seen };
    n.send(300, 3, &ClientMsg::Join { room: room.clone(), name: "b".into(), invite: None, host: None, resume: Some(resume) });
    let msgs = n.take(3);
    let ServerMsg::Welcome(w) = &msgs[0] else { panic!("{msgs:?}") };
    assert!(w.resumed);
    assert_eq!((w.participant.as_str(), w.stream, w.role), (b.participant.as_str(), b.stream, b.role));
    assert!(w.snapshot.is_none());
    let replay: Vec<&Event> = msgs[1..].iter().map(|m| match m { ServerMsg::Event { event, .. } => event, o => panic!("{o:?}") }).collect();
    assert!(matches!(replay[0], Event::Reconnecting { .. }));
    assert!(matches!(replay[1], Event::Chat { .. }));
    assert!(matches!(replay[2], Event::Reconnected { .. }));
    assert_eq!(replay.len(), 3);
    assert_eq!(n.engine.room_snapshot(&room).unwrap().participants.len(), 2);
}

#[test]
fn unknown_resume_token_is_a_fresh_join_with_the_normal_checks() {
    let mut n = Node::new("a.os");
    let (room, _) = room_with(&mut n, &[("a", 1)]);
    n.open(0, 5, ConnKind::Guest);
    let resume = Some(Resume { token: "bogus".into(), last_seq: 0 });
    n.send(0, 5, &ClientMsg::Join { room: room.clone(), name: "z".into(), invite: None, host: None, resume: resume.clone() });
    assert_eq!(n.errors(5), vec![ErrorCode::BadInvite]);
    let invite = n.engine.invite(&room).unwrap();
    n.send(0, 5, &ClientMsg::Join { room, name: "z".into(), invite: Some(invite), host: None, resume });
    assert!(matches!(&n.take(5)[..], [ServerMsg::Welcome(w)] if !w.resumed && w.snapshot.is_some()));
}

#[test]
fn resume_too_far_behind_gets_a_snapshot() {
    let cfg = Config { event_ring: 4, control_rate: voice_chat_engine::limits::RateLimit { burst: 100, per_second: 100 }, ..Config::default() };
    let mut n = Node::with_config("a.os", cfg);
    let (room, ws) = room_with(&mut n, &[("a", 1), ("b", 2)]);
    n.close(0, 2);
    for i in 0..6 {
        n.send(0, 1, &ClientMsg::Chat { text: format!("{i}") });
    }
    n.open(0, 3, ConnKind::Guest);
    let resume = Some(Resume { token: ws[1].resume_token.clone(), last_seq: ws[1].seq });
    n.send(0, 3, &ClientMsg::Join { room: room.clone(), name: "b".into(), invite: None, host: None, resume });
    let msgs = n.take(3);
    assert!(matches!(&msgs[..], [ServerMsg::Welcome(w)] if w.resumed && w.snapshot.as_ref().is_some_and(|s| s.chat.len() == 6)));
}

#[test]
fn ghosts_are_swept_after_the_timeout() {
    let mut n = Node::new("a.os");
    let (room, ws) = room_with(&mut n, &[("a", 1), ("b", 2)]);
    n.close(1_000, 2);
    n.pump();
    n.clear();
    // Keep "a" alive with pings; "b" is gone. Sweeps run every 30 s: the one at 60 s is
    // 59 s after the drop, so the one at 90 s removes it.
    for t in (10_000..=80_000).step_by(10_000) {
        n.send(t, 1, &ClientMsg::Ping { t: 0.0 });
        n.tick(t);
        n.pump();
    }
    assert!(n.events(1).iter().all(|(_, e)| !matches!(e, Event::GhostRemoved { .. })));
    n.send(90_000, 1, &ClientMsg::Ping { t: 0.0 });
    n.tick(90_000);
    n.pump();
    let ev = n.events(1);
    assert!(ev.iter().any(|(_, e)| matches!(e, Event::GhostRemoved { participant } if *participant == ws[1].participant)));
    assert_eq!(n.engine.room_snapshot(&room).unwrap().participants.len(), 1);
}

#[test]
fn silent_connections_become_ghosts_and_are_closed() {
    let mut n = Node::new("a.os");
    let (room, _) = room_with(&mut n, &[("a", 1)]);
    n.tick(30_000);
    n.tick(59_999);
    n.pump();
    assert_eq!(n.engine.room_snapshot(&room).unwrap().participants.len(), 1);
    n.tick(60_000);
    n.pump();
    assert_eq!(n.engine.room_snapshot(&room).unwrap().participants.len(), 0);
    assert_eq!(n.closed, vec![1]);
}

#[test]
fn ping_pong_echoes_client_time() {
    let mut n = Node::new("a.os");
    n.open(0, 1, ConnKind::Guest);
    n.send(42, 1, &ClientMsg::Ping { t: 123.5 });
    assert_eq!(n.take(1), vec![ServerMsg::Pong { t: 123.5, server_ms: 42 }]);
}

#[test]
fn host_leaving_hands_over_to_a_moderator_first() {
    let mut n = Node::new("a.os");
    let (room, ws) = room_with(&mut n, &[("h", 1), ("s", 2), ("m", 3)]);
    n.engine.set_role(0, &room, &ws[0].participant, Role::Host).unwrap();
    n.engine.set_role(0, &room, &ws[2].participant, Role::Moderator).unwrap();
    n.send(0, 1, &ClientMsg::Leave {});
    let snap = n.engine.room_snapshot(&room).unwrap();
    assert_eq!(snap.participants.iter().find(|p| p.name == "m").unwrap().role, Role::Host);
    assert_eq!(snap.participants.iter().find(|p| p.name == "s").unwrap().role, Role::Speaker);
}

#[test]
fn host_leaving_without_moderators_hands_over_to_the_longest_present_speaker() {
    let mut n = Node::new("a.os");
    let (room, ws) = room_with(&mut n, &[("h", 1), ("v", 2), ("s1", 3), ("s2", 4)]);
    n.engine.set_role(0, &room, &ws[0].participant, Role::Host).unwrap();
    n.engine.set_role(0, &room, &ws[1].participant, Role::Viewer).unwrap();
    n.pump();
    n.clear();
    n.send(0, 1, &ClientMsg::Leave {});
    let ev = n.events(3);
    assert!(ev.iter().any(|(_, e)| matches!(e, Event::RoleChanged { participant, role: Role::Host, by: None } if *participant == ws[2].participant)));
    assert_eq!(n.engine.room_snapshot(&room).unwrap().participants.iter().filter(|p| p.role == Role::Host).count(), 1);
}

#[test]
fn raised_hands_form_an_ordered_queue() {
    let mut n = Node::new("a.os");
    let (room, ws) = room_with(&mut n, &[("h", 1), ("v1", 2), ("v2", 3)]);
    n.engine.set_role(0, &room, &ws[0].participant, Role::Host).unwrap();
    for w in &ws[1..] {
        n.engine.set_role(0, &room, &w.participant, Role::Viewer).unwrap();
    }
    n.send(0, 3, &ClientMsg::RaiseHand {});
    n.send(0, 2, &ClientMsg::RaiseHand {});
    assert_eq!(n.engine.room_snapshot(&room).unwrap().hands, vec![ws[2].participant.clone(), ws[1].participant.clone()]);
    n.send(0, 2, &ClientMsg::RaiseHand {});
    assert_eq!(n.engine.room_snapshot(&room).unwrap().hands.len(), 2, "raising twice keeps one place");
    n.clear();
    n.send(0, 1, &ClientMsg::AcceptHand { participant: ws[2].participant.clone() });
    let ev = n.events(3);
    assert!(matches!(&ev[..], [(_, Event::HandLowered { reason: HandReason::Accepted, .. }), (_, Event::RoleChanged { role: Role::Speaker, .. })]));
    n.send(0, 1, &ClientMsg::DismissHand { participant: ws[1].participant.clone() });
    let snap = n.engine.room_snapshot(&room).unwrap();
    assert!(snap.hands.is_empty());
    assert_eq!(snap.participants.iter().find(|p| p.name == "v1").unwrap().role, Role::Viewer);
    n.send(0, 1, &ClientMsg::DismissHand { participant: ws[1].participant.clone() });
    assert_eq!(n.errors(1), vec![ErrorCode::HandNotRaised]);
    n.send(0, 2, &ClientMsg::LowerHand {});
    assert_eq!(n.errors(2), vec![ErrorCode::HandNotRaised]);
}

#[test]
fn typing_indicator_expires_by_itself_and_ends_with_chat() {
    let mut n = Node::new("a.os");
    let (_, ws) = room_with(&mut n, &[("a", 1), ("b", 2)]);
    let presence = |n: &mut Node| -> Vec<Presence> {
        n.take(2).into_iter().filter_map(|m| match m { ServerMsg::Presence { event, .. } => Some(event), _ => None }).collect()
    };
    n.send(0, 1, &ClientMsg::Typing {});
    n.send(1000, 1, &ClientMsg::Typing {});
    assert_eq!(presence(&mut n), vec![Presence::Typing { participant: ws[0].participant.clone(), typing: true }]);
    n.tick(5_999);
    n.pump();
    assert!(presence(&mut n).is_empty());
    n.tick(6_000);
    n.pump();
    assert_eq!(presence(&mut n), vec![Presence::Typing { participant: ws[0].participant.clone(), typing: false }]);
    n.send(7_000, 1, &ClientMsg::Typing {});
    n.send(7_100, 1, &ClientMsg::Chat { text: "done".into() });
    let p = presence(&mut n);
    assert_eq!(p.last(), Some(&Presence::Typing { participant: ws[0].participant.clone(), typing: false }));
}

#[test]
fn speaking_indicator_follows_levels_with_hysteresis() {
    let mut n = Node::new("a.os");
    let (_, ws) = room_with(&mut n, &[("a", 1), ("b", 2)]);
    let mut speaking_events = Vec::new();
    for i in 0..20u32 {
        let t = i as u64 * 20;
        let level = if i == 10 { 127 } else { 20 };
        let mut f = frame(ws[0].stream, i, level);
        n.binary(t, 1, &mut f).unwrap();
        n.binary(t, 2, &mut encode_ack(i + 1)).unwrap();
        n.tick(t);
        n.pump();
        for m in n.take(2) {
            if let ServerMsg::Presence { event: Presence::Speaking { speaking, .. }, .. } = m {
                speaking_events.push((t, speaking));
            }
        }
    }
    assert_eq!(speaking_events, vec![(40, true)], "one quiet frame must not flicker");
    n.tick(380 + 499);
    n.pump();
    assert!(n.take(2).is_empty());
    n.tick(380 + 500);
    n.pump();
    assert!(matches!(&n.take(2)[..], [ServerMsg::Presence { event: Presence::Speaking { speaking: false, .. }, .. }]));
}

#[test]
fn relay_is_mix_minus_and_rewrites_the_stream_id() {
    let mut n = Node::new("a.os");
    let (_, ws) = room_with(&mut n, &[("a", 1), ("b", 2), ("c", 3)]);
    let mut f = frame(999, 1, 20);
    let relay = n.binary(0, 1, &mut f).unwrap();
    let mut to = relay.conns.to_vec();
    to.sort();
    assert_eq!(to, vec![2, 3]);
    assert_eq!(voice_chat_engine::audio::decode_frame(&f).unwrap().stream_id, ws[0].stream);
}

#[test]
fn muted_viewer_and_outsider_frames_are_dropped_and_counted() {
    let mut n = Node::new("a.os");
    let (room, ws) = room_with(&mut n, &[("a", 1), ("b", 2), ("c", 3)]);
    n.engine.mute(0, &room, &ws[0].participant, true).unwrap();
    n.engine.set_role(0, &room, &ws[1].participant, Role::Viewer).unwrap();
    n.send(0, 3, &ClientMsg::SelfMute { muted: true });
    assert_eq!(n.binary(0, 1, &mut frame(1, 1, 20)), Err(DropReason::Muted));
    assert_eq!(n.binary(0, 2, &mut frame(1, 1, 20)), Err(DropReason::NotAllowed));
    assert_eq!(n.binary(0, 3, &mut frame(1, 1, 20)), Err(DropReason::Muted));
    n.open(0, 4, ConnKind::Guest);
    assert_eq!(n.binary(0, 4, &mut frame(1, 1, 20)), Err(DropReason::NotMember));
    assert_eq!(n.binary(0, 77, &mut frame(1, 1, 20)), Err(DropReason::UnknownConnection));
    let d = n.engine.metrics().frames_dropped;
    assert_eq!((d.muted, d.not_allowed, d.not_member, d.unknown_connection), (2, 1, 1, 1));
    n.engine.mute(0, &room, &ws[0].participant, false).unwrap();
    assert!(n.binary(0, 1, &mut frame(1, 2, 20)).is_ok());
}

#[test]
fn only_the_k_loudest_speakers_are_forwarded() {
    let mut n = Node::new("a.os");
    let names: Vec<(String, u32)> = (1..=5).map(|i| (format!("p{i}"), i)).collect();
    let refs: Vec<(&str, u32)> = names.iter().map(|(s, c)| (s.as_str(), *c)).collect();
    let (_, ws) = room_with(&mut n, &refs);
    // Levels: p1 loudest ... p4 quietest; K = 3.
    let mut passed = Vec::new();
    for (i, level) in [(0usize, 10u8), (1, 20), (2, 30), (3, 40)] {
        let r = n.binary(0, (i + 1) as u32, &mut frame(ws[i].stream, 1, level)).map(|r| r.conns.len());
        passed.push(r.is_ok());
    }
    assert_eq!(passed, vec![true, true, true, false]);
    assert_eq!(n.engine.metrics().frames_dropped.not_loudest, 1);
    // p4 gets louder than p3: it now passes.
    assert!(n.binary(20, 4, &mut frame(ws[3].stream, 2, 5)).is_ok());
    assert_eq!(n.binary(20, 3, &mut frame(ws[2].stream, 2, 30)), Err(DropReason::NotLoudest));
}

#[test]
fn sequence_gaps_are_counted() {
    let mut n = Node::new("a.os");
    let (_, ws) = room_with(&mut n, &[("a", 1), ("b", 2)]);
    for seq in [1u32, 2, 5, 6, 6, 10] {
        n.binary(0, 1, &mut frame(ws[0].stream, seq, 20)).unwrap();
        n.binary(0, 2, &mut encode_ack(100)).unwrap();
    }
    assert_eq!(n.engine.metrics().sequence_gaps, 2);
}

#[test]
fn flow_control_skips_lagging_clients_and_resumes_after_acks() {
    let mut n = Node::new("a.os");
    let (_, ws) = room_with(&mut n, &[("a", 1), ("b", 2)]);
    let mut delivered = 0;
    for seq in 0..30u32 {
        let r = n.binary(seq as u64 * 20, 1, &mut frame(ws[0].stream, seq, 20)).unwrap();
        delivered += r.conns.len();
    }
    assert_eq!(delivered, 24);
    assert_eq!(n.engine.metrics().flow_control_skips, 6);
    n.binary(600, 2, &mut encode_ack(24)).unwrap();
    let r = n.binary(620, 1, &mut frame(ws[0].stream, 31, 20)).unwrap();
    assert_eq!(r.conns, &[2]);
    // An ack beyond what was sent cannot open the window for ever.
    n.binary(640, 2, &mut encode_ack(1_000_000)).unwrap();
    let mut more = 0;
    for seq in 32..100u32 {
        more += n.binary(700 + seq as u64 * 20, 1, &mut frame(ws[0].stream, seq, 20)).unwrap().conns.len();
    }
    assert_eq!(more, 24);
}

#[test]
fn control_messages_are_never_held_back_by_flow_control() {
    let mut n = Node::new("a.os");
    let (_, ws) = room_with(&mut n, &[("a", 1), ("b", 2)]);
    for seq in 0..40u32 {
        let _ = n.binary(seq as u64 * 20, 1, &mut frame(ws[0].stream, seq, 20));
    }
    n.send(1000, 1, &ClientMsg::Chat { text: "still here".into() });
    assert!(n.events(2).iter().any(|(_, e)| matches!(e, Event::Chat { .. })));
}

#[test]
fn events_since_returns_missed_or_asks_for_a_snapshot() {
    let cfg = Config { event_ring: 3, ..Config::default() };
    let mut n = Node::with_config("a.os", cfg);
    let (room, _) = room_with(&mut n, &[("a", 1)]);
    let s0 = n.engine.room_snapshot(&room).unwrap().seq;
    n.send(0, 1, &ClientMsg::Chat { text: "1".into() });
    n.send(0, 1, &ClientMsg::Chat { text: "2".into() });
    match n.engine.events_since(&room, s0).unwrap() {
        EventsSince::Missed { events } => assert_eq!(events.iter().map(|e| e.seq).collect::<Vec<_>>(), vec![s0 + 1, s0 + 2]),
        other => panic!("{other:?}"),
    }
    assert_eq!(n.engine.events_since(&room, s0 + 2).unwrap(), EventsSince::Missed { events: vec![] });
    n.send(0, 1, &ClientMsg::Chat { text: "3".into() });
    n.send(0, 1, &ClientMsg::Chat { text: "4".into() });
    assert!(matches!(n.engine.events_since(&room, s0).unwrap(), EventsSince::SnapshotNeeded { .. }));
    assert!(matches!(n.engine.events_since(&room, s0 + 99).unwrap(), EventsSince::SnapshotNeeded { .. }));
    // The same over the socket.
    n.take(1);
    n.send(0, 1, &ClientMsg::Sync { last_seq: s0 + 2 });
    assert_eq!(n.events(1).len(), 2);
    n.send(0, 1, &ClientMsg::Sync { last_seq: 0 });
    assert!(matches!(&n.take(1)[..], [ServerMsg::Snapshot { .. }]));
}

#[test]
fn close_room_ends_it_for_everyone() {
    let mut n = Node::new("a.os");
    let (room, _) = room_with(&mut n, &[("a", 1), ("b", 2)]);
    n.engine.close_room(0, &room).unwrap();
    n.pump();
    assert!(matches!(n.events(2).last(), Some((_, Event::Closed { by: None }))));
    assert!(n.engine.list_rooms().is_empty());
    n.send(0, 2, &ClientMsg::Chat { text: "x".into() });
    assert_eq!(n.errors(2), vec![ErrorCode::NotJoined]);
    assert_eq!(n.engine.close_room(0, &room).unwrap_err().code, ErrorCode::RoomNotFound);
}

#[test]
fn clear_chat_and_settings_changes_are_events() {
    let mut n = Node::new("a.os");
    let (room, _) = room_with(&mut n, &[("a", 1)]);
    n.send(0, 1, &ClientMsg::Chat { text: "x".into() });
    n.engine.clear_chat(0, &room).unwrap();
    let patch = voice_chat_engine::SettingsPatch { name: Some("Renamed".into()), ..Default::default() };
    let s = n.engine.update_settings(0, &room, patch).unwrap();
    n.pump();
    assert_eq!(s.name, "Renamed");
    let ev = n.events(1);
    assert!(matches!(&ev[..], [(_, Event::Chat { .. }), (_, Event::ChatCleared { by: None }), (_, Event::SettingsChanged { .. })]));
    assert!(n.engine.chat_history(&room).unwrap().is_empty());
}

#[test]
fn state_survives_a_restart_and_clients_rejoin() {
    let mut n = Node::new("a.os");
    let room = n.create_room(open_settings());
    let o = n.join(0, 1, ConnKind::Owner, &room.id, "owner", None);
    let g = n.join(0, 2, ConnKind::Guest, &room.id, "g", Some(&room.invite));
    n.engine.set_role(0, &room.id, &g.participant, Role::Moderator).unwrap();
    n.send(0, 1, &ClientMsg::Chat { text: "remember me".into() });
    assert!(n.persist_requests >= 1);
    let saved = n.engine.persisted().to_bytes();
    let seq_before = n.engine.room_snapshot(&room.id).unwrap().seq;

    let state = PersistedState::from_bytes(&saved).unwrap();
    let mut m = Node::from_engine("a.os", Engine::restore(state, Config::default(), "a.os", Box::new(SeededEntropy::new(5))));
    let snap = m.engine.room_snapshot(&room.id).unwrap();
    assert_eq!(snap.seq, seq_before);
    assert_eq!(snap.chat.len(), 1);
    assert_eq!(m.engine.invite(&room.id).unwrap(), room.invite);
    // Old channels are unknown to the new engine: told to reconnect.
    m.send_json(0, 1, r#"{"v":1,"type":"ping","t":0}"#);
    assert_eq!(m.errors(1), vec![ErrorCode::UnknownConnection]);
    // The owner gets its role back; sequence numbers continue.
    let o2 = m.join(0, 11, ConnKind::Owner, &room.id, "owner", None);
    assert_eq!(o2.role, o.role);
    assert!(o2.seq > seq_before);
    // Resume tokens died with the process: a fresh join.
    m.open(0, 12, ConnKind::Guest);
    let resume = Some(Resume { token: g.resume_token.clone(), last_seq: seq_before });
    m.send(0, 12, &ClientMsg::Join { room: room.id.clone(), name: "g".into(), invite: Some(room.invite.clone()), host: None, resume });
    assert!(matches!(&m.take(12)[..], [ServerMsg::Welcome(w)] if !w.resumed));
}

#[test]
fn metrics_serialize_with_gauges() {
    let mut n = Node::new("a.os");
    room_with(&mut n, &[("a", 1), ("b", 2)]);
    let m = n.engine.metrics();
    assert_eq!((m.rooms, m.participants, m.connections), (1, 2, 2));
    let json = serde_json::to_value(&m).unwrap();
    assert_eq!(json["frames_dropped"]["not_loudest"], 0);
}
