//! Every limit refuses with its typed error and changes nothing.

mod common;
use common::*;
use voice_chat_engine::{ClientMsg, Config, ConnKind, DropReason, ErrorCode, Input, Refusal, ServerMsg, Settings};

#[test]
fn control_message_size_cap() {
    let mut n = Node::new("a.os");
    let room = n.create_room(open_settings());
    n.join(0, 1, ConnKind::Guest, &room.id, "x", Some(&room.invite));
    let text = format!(r#"{{"v":1,"type":"chat","text":"{}"}}"#, "a".repeat(64 * 1024));
    n.send_json(0, 1, &text);
    assert_eq!(n.errors(1), vec![ErrorCode::TooLarge]);
    assert!(n.engine.chat_history(&room.id).unwrap().is_empty());
}

#[test]
fn control_rate_limit() {
    let mut n = Node::new("a.os");
    n.open(0, 1, ConnKind::Guest);
    let burst = Config::default().control_rate.burst;
    for _ in 0..burst {
        n.send(0, 1, &ClientMsg::Ping { t: 1.0 });
    }
    assert!(n.errors(1).is_empty());
    n.send(0, 1, &ClientMsg::Ping { t: 1.0 });
    assert_eq!(n.errors(1), vec![ErrorCode::RateLimited]);
    assert_eq!(n.engine.metrics().control_rate_limited, 1);
    n.send(1000, 1, &ClientMsg::Ping { t: 1.0 });
    assert!(matches!(n.take(1).as_slice(), [ServerMsg::Pong { .. }]));
}

#[test]
fn audio_rate_limit() {
    let mut n = Node::new("a.os");
    let room = n.create_room(open_settings());
    let w = n.join(0, 1, ConnKind::Guest, &room.id, "x", Some(&room.invite));
    n.join(0, 2, ConnKind::Guest, &room.id, "y", Some(&room.invite));
    let burst = Config::default().audio_rate.burst;
    for i in 0..burst {
        let mut f = frame(w.stream, i, 20);
        n.binary(0, 1, &mut f).unwrap();
        n.binary(0, 2, &mut voice_chat_engine::audio::encode_ack(i + 1)).unwrap();
    }
    let mut f = frame(w.stream, burst, 20);
    assert_eq!(n.binary(0, 1, &mut f), Err(DropReason::RateLimited));
    assert_eq!(n.engine.metrics().frames_dropped.rate_limited, 1);
}

#[test]
fn audio_frame_size_cap() {
    let mut n = Node::new("a.os");
    let room = n.create_room(open_settings());
    n.join(0, 1, ConnKind::Guest, &room.id, "x", Some(&room.invite));
    let mut big = vec![0u8; 1537];
    big[0] = 1;
    assert_eq!(n.binary(0, 1, &mut big), Err(DropReason::Malformed));
    assert_eq!(n.engine.metrics().frames_dropped.malformed, 1);
}

#[test]
fn rooms_per_node() {
    let cfg = Config { max_rooms: 2, ..Config::default() };
    let mut n = Node::with_config("a.os", cfg);
    n.create_room(Settings::default());
    n.create_room(Settings::default());
    assert_eq!(n.engine.create_room(0, Settings::default()).unwrap_err().code, ErrorCode::TooManyRooms);
    assert_eq!(n.engine.list_rooms().len(), 2);
}

#[test]
fn participants_per_room() {
    let mut n = Node::new("a.os");
    let room = n.create_room(Settings { capacity: 2, ..open_settings() });
    n.join(0, 1, ConnKind::Guest, &room.id, "a", Some(&room.invite));
    n.join(0, 2, ConnKind::Guest, &room.id, "b", Some(&room.invite));
    n.open(0, 3, ConnKind::Guest);
    assert_eq!(n.try_join(0, 3, &room.id, "c", Some(&room.invite)), Err(ErrorCode::RoomFull));
    assert_eq!(n.engine.room_snapshot(&room.id).unwrap().participants.len(), 2);
    // Capacity above the node's maximum is invalid.
    let too_big = Settings { capacity: Config::default().max_participants + 1, ..Settings::default() };
    assert_eq!(n.engine.create_room(0, too_big).unwrap_err().code, ErrorCode::InvalidSettings);
}

#[test]
fn chat_length() {
    let mut n = Node::new("a.os");
    let room = n.create_room(open_settings());
    n.join(0, 1, ConnKind::Guest, &room.id, "x", Some(&room.invite));
    n.send(0, 1, &ClientMsg::Chat { text: "é".repeat(2001) });
    assert_eq!(n.errors(1), vec![ErrorCode::InvalidChat]);
    n.send(0, 1, &ClientMsg::Chat { text: "   ".into() });
    assert_eq!(n.errors(1), vec![ErrorCode::InvalidChat]);
    n.send(0, 1, &ClientMsg::Chat { text: "é".repeat(2000) });
    assert!(n.errors(1).is_empty());
    assert_eq!(n.engine.chat_history(&room.id).unwrap().len(), 1);
}

#[test]
fn chat_history_is_bounded() {
    let cfg = Config { chat_history: 3, control_rate: voice_chat_engine::limits::RateLimit { burst: 100, per_second: 100 }, ..Config::default() };
    let mut n = Node::with_config("a.os", cfg);
    let room = n.create_room(open_settings());
    n.join(0, 1, ConnKind::Guest, &room.id, "x", Some(&room.invite));
    for i in 0..5 {
        n.send(0, 1, &ClientMsg::Chat { text: format!("m{i}") });
    }
    let texts: Vec<String> = n.engine.chat_history(&room.id).unwrap().into_iter().map(|m| m.text).collect();
    assert_eq!(texts, ["m2", "m3", "m4"]);
}

#[test]
fn display_names_trimmed_capped_unique() {
    let mut n = Node::new("a.os");
    let room = n.create_room(open_settings());
    let w = n.join(0, 1, ConnKind::Guest, &room.id, "  Ann  ", Some(&room.invite));
    let snap = n.engine.room_snapshot(&room.id).unwrap();
    assert_eq!(snap.participants.iter().find(|p| p.id == w.participant).unwrap().name, "Ann");
    n.open(0, 2, ConnKind::Guest);
    assert_eq!(n.try_join(0, 2, &room.id, "ANN", Some(&room.invite)), Err(ErrorCode::NameTaken));
    assert_eq!(n.try_join(0, 2, &room.id, &"x".repeat(33), Some(&room.invite)), Err(ErrorCode::InvalidName));
    assert_eq!(n.try_join(0, 2, &room.id, "  ", Some(&room.invite)), Err(ErrorCode::InvalidName));
    assert_eq!(n.try_join(0, 2, &room.id, "a\u{7}b", Some(&room.invite)), Err(ErrorCode::InvalidName));
    assert!(n.try_join(0, 2, &room.id, &"x".repeat(32), Some(&room.invite)).is_ok());
}

#[test]
fn settings_validation() {
    let mut n = Node::new("a.os");
    let room = n.create_room(Settings::default());
    let bad = [
        voice_chat_engine::SettingsPatch { name: Some(" ".into()), ..Default::default() },
        voice_chat_engine::SettingsPatch { capacity: Some(0), ..Default::default() },
        voice_chat_engine::SettingsPatch { default_role: Some(voice_chat_engine::Role::Host), ..Default::default() },
    ];
    for patch in bad {
        assert_eq!(n.engine.update_settings(0, &room.id, patch).unwrap_err().code, ErrorCode::InvalidSettings);
    }
    assert_eq!(n.engine.room_snapshot(&room.id).unwrap().settings, Settings::default());
}

#[test]
fn decode_errors_are_typed_and_echo_ref() {
    let mut n = Node::new("a.os");
    n.open(0, 1, ConnKind::Owner);
    let cases = [
        ("not json", ErrorCode::Malformed, None),
        (r#"[1,2]"#, ErrorCode::Malformed, None),
        (r#"{"type":"ping","t":1}"#, ErrorCode::Malformed, None),
        (r#"{"v":2,"type":"ping","t":1,"ref":"a"}"#, ErrorCode::UnsupportedVersion, Some("a")),
        (r#"{"v":1,"type":"dance","ref":"b"}"#, ErrorCode::UnknownType, Some("b")),
        (r#"{"v":1,"type":"chat","ref":"c"}"#, ErrorCode::Malformed, Some("c")),
        (r#"{"v":1,"type":"leave"}"#, ErrorCode::NotJoined, None),
    ];
    for (text, code, reference) in cases {
        n.send_json(1000, 1, text);
        match n.take(1).as_slice() {
            [ServerMsg::Error { code: c, reference: r, .. }] => {
                assert_eq!(*c, code, "{text}");
                assert_eq!(r.as_deref(), reference, "{text}");
            }
            other => panic!("{text}: {other:?}"),
        }
    }
}

#[test]
fn unknown_connection_is_told_to_reconnect() {
    let mut n = Node::new("a.os");
    n.send_json(0, 9, r#"{"v":1,"type":"ping","t":1}"#);
    assert_eq!(n.errors(9), vec![ErrorCode::UnknownConnection]);
    assert_eq!(n.closed, vec![9]);
}

#[test]
fn guests_need_permission_and_the_invite() {
    let mut n = Node::new("a.os");
    let closed = n.create_room(Settings::default());
    let open = n.create_room(open_settings());
    n.open(0, 1, ConnKind::Guest);
    assert_eq!(n.try_join(0, 1, &closed.id, "g", Some(&closed.invite)), Err(ErrorCode::GuestsNotAllowed));
    assert_eq!(n.try_join(0, 1, &open.id, "g", None), Err(ErrorCode::BadInvite));
    assert_eq!(n.try_join(0, 1, &open.id, "g", Some("wrong")), Err(ErrorCode::BadInvite));
    assert_eq!(n.try_join(0, 1, "nope", "g", Some(&open.invite)), Err(ErrorCode::RoomNotFound));
    // A rotated invite stops the old one.
    let fresh = n.engine.rotate_invite(0, &open.id).unwrap();
    assert_eq!(n.try_join(0, 1, &open.id, "g", Some(&open.invite)), Err(ErrorCode::BadInvite));
    assert!(n.try_join(0, 1, &open.id, "g", Some(&fresh)).is_ok());
    n.send(0, 1, &ClientMsg::Join { room: open.id.clone(), name: "again".into(), invite: Some(fresh), host: None, resume: None });
    assert_eq!(n.errors(1), vec![ErrorCode::AlreadyJoined]);
}

#[test]
fn guests_who_may_not_speak_join_as_viewers() {
    let mut n = Node::new("a.os");
    let room = n.create_room(Settings { guests_allowed: true, ..Settings::default() });
    let w = n.join(0, 1, ConnKind::Guest, &room.id, "g", Some(&room.invite));
    assert_eq!(w.role, voice_chat_engine::Role::Viewer);
    let o = n.join(0, 2, ConnKind::Owner, &room.id, "owner", None);
    assert_eq!(o.role, voice_chat_engine::Role::Host);
}

#[test]
fn connection_cap_refuses_with_a_reason_and_closes() {
    // No owner reserve here (tests/abuse_limits.rs has it): guests may fill all 2.
    let cfg = Config { max_connections: 2, owner_reserved_connections: 0, ..Config::default() };
    let mut n = Node::with_config("a.os", cfg);
    let room = n.create_room(open_settings());
    n.join(0, 1, ConnKind::Guest, &room.id, "x", Some(&room.invite));
    n.open(0, 2, ConnKind::Guest);
    n.clear();
    assert_eq!(n.input(0, Input::Open { conn: 3, kind: ConnKind::Guest }), Err(Refusal::SocketLimit));
    assert_eq!(n.errors(3), vec![ErrorCode::TooManyConnections]);
    assert!(n.inbox.is_empty(), "only the refused socket hears of it");
    assert_eq!(n.closed, vec![3]);
    assert_eq!(n.engine.metrics().connections_refused, 1);
    assert_eq!(n.engine.metrics().connections, 2);
    // The refused socket stays refused (without another word) until the runtime drops it.
    assert_eq!(n.input(0, Input::Open { conn: 3, kind: ConnKind::Guest }), Err(Refusal::SocketLimit));
    assert!(n.errors(3).is_empty());
    // Once a socket goes, the next one is welcome again.
    n.close(0, 2);
    assert_eq!(n.input(0, Input::Open { conn: 4, kind: ConnKind::Guest }), Ok(()));
}
