//! HTTP long-polling sessions (docs/http-api.md, "Polling transport (any participant)"): a
//! session is a connection like a socket whose pushes wait in a bounded queue for `Poll`,
//! with caps of its own, an idle expiry that disconnects like a dropped socket, and no audio.

mod common;
use common::*;
use voice_chat_engine::protocol::{encode_client, LeaveReason, Resume};
use voice_chat_engine::{ClientMsg, Config, ConnKind, EngineError, ErrorCode, Event, Input, PollAnswer, PollStart, PollStep, ServerMsg, Welcome};

const A: &str = "a.os";

fn join_json(room: &str, name: &str, invite: Option<&str>, resume: Option<Resume>) -> String {
    encode_client(&ClientMsg::Join { room: room.into(), name: name.into(), invite: invite.map(Into::into), host: None, resume }, None)
}

fn parse(messages: &[String]) -> Vec<ServerMsg> {
    messages.iter().map(|m| ServerMsg::from_json(m).expect("server JSON")).collect()
}

fn welcome_of(messages: &[String]) -> Welcome {
    parse(messages)
        .into_iter()
        .find_map(|m| match m {
            ServerMsg::Welcome(w) => Some(w),
            _ => None,
        })
        .expect("a welcome")
}

fn guest_session(a: &mut Node, now: u64, room: &str, invite: &str, name: &str, addr: &str) -> Result<PollStart, EngineError> {
    let r = a.engine.poll_join(now, ConnKind::Guest, Some(addr), join_json(room, name, Some(invite), None).as_bytes());
    a.pump();
    r
}

/// A Poll that must answer at once.
fn poll_now(a: &mut Node, now: u64, session: &str, cursor: u64) -> PollAnswer {
    let step = a.engine.poll(now, session, cursor).expect("session known");
    a.pump();
    match step {
        PollStep::Answer(answer) => answer,
        PollStep::Wait { .. } => panic!("nothing to answer"),
    }
}

fn send(a: &mut Node, now: u64, session: &str, msg: &ClientMsg) -> Result<(), EngineError> {
    let r = a.engine.poll_send(now, session, encode_client(msg, Some("p1")).as_bytes());
    a.pump();
    r
}

fn chat_texts(msgs: &[ServerMsg]) -> Vec<(u64, String)> {
    msgs.iter()
        .filter_map(|m| match m {
            ServerMsg::Event { seq, event: Event::Chat { message }, .. } => Some((*seq, message.text.clone())),
            _ => None,
        })
        .collect()
}

fn setup() -> (Node, voice_chat_engine::RoomCreated) {
    let mut a = Node::new(A);
    let room = a.create_room(open_settings());
    (a, room)
}

#[test]
fn a_session_joins_gets_chat_in_order_and_sends_chat_sockets_receive() {
    let (mut a, room) = setup();
    let start = guest_session(&mut a, 1, &room.id, &room.invite, "Poller", "203.0.113.1:5000").unwrap();
    let w = welcome_of(&start.messages);
    assert_eq!(w.room, room.id);
    assert_eq!(start.cursor, start.messages.len() as u64);
    assert_eq!(a.engine.poll_session_kind(&start.session), Some(ConnKind::Guest));

    a.join(2, 1, ConnKind::Guest, &room.id, "Socket", Some(&room.invite));
    for (i, text) in ["one", "two", "three"].iter().enumerate() {
        a.send(3 + i as u64, 1, &ClientMsg::Chat { text: text.to_string() });
    }
    let got = poll_now(&mut a, 10, &start.session, start.cursor);
    let chats = chat_texts(&parse(&got.messages));
    assert_eq!(chats.iter().map(|(_, t)| t.as_str()).collect::<Vec<_>>(), ["one", "two", "three"]);
    assert!(chats.windows(2).all(|w| w[1].0 == w[0].0 + 1), "consecutive seq: {chats:?}");
    assert!(!got.lost);
    // Acknowledged by the next cursor: nothing again.
    assert_eq!(a.engine.poll(11, &start.session, got.cursor).unwrap(), PollStep::Wait { ticket: 2 });

    a.take(1);
    send(&mut a, 12, &start.session, &ClientMsg::Chat { text: "from http".into() }).unwrap();
    assert_eq!(chat_texts(&a.take(1)).iter().map(|(_, t)| t.as_str()).collect::<Vec<_>>(), ["from http"]);
    // The session sees its own chat too, as a socket does.
    let got = poll_now(&mut a, 13, &start.session, got.cursor);
    assert_eq!(chat_texts(&parse(&got.messages)).len(), 1);
    // The shell never sees the session's virtual connection.
    assert!(a.inbox.keys().all(|c| *c == 1), "outputs only for the socket: {:?}", a.inbox.keys());
}

#[test]
fn an_unknown_secret_is_refused_and_nothing_else_changes() {
    let (mut a, room) = setup();
    let start = guest_session(&mut a, 1, &room.id, &room.invite, "Poller", "203.0.113.1").unwrap();
    a.join(2, 1, ConnKind::Guest, &room.id, "Socket", Some(&room.invite));
    a.take(1);
    let mut wrong = start.session.clone();
    wrong.replace_range(0..1, if wrong.starts_with('A') { "B" } else { "A" });
    let chat = ClientMsg::Chat { text: "forged".into() };
    assert_eq!(send(&mut a, 3, &wrong, &chat).unwrap_err().code, ErrorCode::UnknownSession);
    assert_eq!(a.engine.poll(3, &wrong, 0).unwrap_err().code, ErrorCode::UnknownSession);
    assert_eq!(a.engine.poll_leave(3, &wrong).unwrap_err().code, ErrorCode::UnknownSession);
    assert_eq!(EngineError::new(ErrorCode::UnknownSession).http_status(), 404);
    a.pump();
    // Marker: a ping answered after the attempts is the only thing the socket got.
    a.send(4, 1, &ClientMsg::Ping { t: 1.0 });
    assert!(matches!(a.take(1).as_slice(), [ServerMsg::Pong { .. }]));
    // And the real session is untouched: it still has just its welcome and the socket's join.
    let got = poll_now(&mut a, 5, &start.session, 0);
    assert!(chat_texts(&parse(&got.messages)).is_empty());
}

#[test]
fn a_refused_join_keeps_no_session() {
    let (mut a, room) = setup();
    let err = guest_session(&mut a, 1, &room.id, "wrong-invite-token-xxxx", "Poller", "203.0.113.1").unwrap_err();
    assert_eq!(err.code, ErrorCode::BadInvite);
    assert_eq!(a.engine.poll_session_count(), 0);
    let not_join = a.engine.poll_join(2, ConnKind::Guest, None, encode_client(&ClientMsg::Ping { t: 0.0 }, None).as_bytes());
    assert_eq!(not_join.unwrap_err().code, ErrorCode::Malformed);
    assert_eq!(a.engine.poll_session_count(), 0);
    assert!(a.inbox.is_empty() && a.closed.is_empty(), "nothing for the shell: {:?}", a.inbox);
}

#[test]
fn sessions_are_capped_per_node_and_per_address_and_the_owner_is_exempt_per_address() {
    let mut a = Node::with_config(A, Config { room_join_rate: voice_chat_engine::limits::RateLimit { burst: 1000, per_second: 1000 }, ..Config::default() });
    let room = a.create_room(voice_chat_engine::Settings { capacity: 200, ..open_settings() });
    for i in 0..4 {
        guest_session(&mut a, 1, &room.id, &room.invite, &format!("g{i}"), "198.51.100.7:1").unwrap();
    }
    let err = guest_session(&mut a, 1, &room.id, &room.invite, "g4", "198.51.100.7:2").unwrap_err();
    assert_eq!((err.code, err.http_status()), (ErrorCode::TooManySessions, 429));
    // The same address's /64 for IPv6, another address is fine.
    guest_session(&mut a, 1, &room.id, &room.invite, "other", "198.51.100.8").unwrap();
    // The owner's sessions do not count per address.
    for i in 0..6 {
        let join = join_json(&room.id, &format!("owner{i}"), None, None);
        a.engine.poll_join(1, ConnKind::Owner, Some("198.51.100.7"), join.as_bytes()).unwrap();
    }
    let mut n = a.engine.poll_session_count();
    assert_eq!(n, 11);
    while n < 64 {
        guest_session(&mut a, 1, &room.id, &room.invite, &format!("x{n}"), &format!("192.0.2.{n}")).unwrap();
        n += 1;
    }
    let err = guest_session(&mut a, 1, &room.id, &room.invite, "late", "192.0.2.200").unwrap_err();
    assert_eq!(err.code, ErrorCode::TooManySessions);
    let join = join_json(&room.id, "owner-late", None, None);
    assert_eq!(a.engine.poll_join(1, ConnKind::Owner, None, join.as_bytes()).unwrap_err().code, ErrorCode::TooManySessions);
    // Sessions do not take socket slots: a socket still opens and joins.
    a.join(2, 1, ConnKind::Guest, &room.id, "Socket", Some(&room.invite));
}

#[test]
fn sockets_at_their_cap_leave_sessions_open() {
    let mut a = Node::with_config(A, Config { max_connections: 2, owner_reserved_connections: 0, ..Config::default() });
    let room = a.create_room(open_settings());
    a.join(1, 1, ConnKind::Guest, &room.id, "s1", Some(&room.invite));
    a.join(1, 2, ConnKind::Guest, &room.id, "s2", Some(&room.invite));
    a.open(1, 3, ConnKind::Guest);
    assert_eq!(a.errors(3), [ErrorCode::TooManyConnections]);
    let start = guest_session(&mut a, 2, &room.id, &room.invite, "Poller", "203.0.113.9").unwrap();
    welcome_of(&start.messages);
}

#[test]
fn a_session_not_polled_for_30_s_disconnects_and_resumes_by_token_over_a_socket_or_a_new_session() {
    let (mut a, room) = setup();
    a.join(0, 1, ConnKind::Guest, &room.id, "Socket", Some(&room.invite));
    let start = guest_session(&mut a, 0, &room.id, &room.invite, "Poller", "203.0.113.1").unwrap();
    let w = welcome_of(&start.messages);
    a.take(1);
    // The runtime's socket list never names sessions: they stay.
    a.input(500, Input::LiveSockets { conns: &[1] }).unwrap();
    assert_eq!(a.engine.poll_session_count(), 1);
    // Polled at 20 s: alive at 45 s.
    poll_now_or_wait(&mut a, 20_000, &start.session, start.cursor);
    tick_until(&mut a, 45_000);
    assert_eq!(a.engine.poll_session_count(), 1);
    assert!(!a.take(1).iter().any(|m| matches!(m, ServerMsg::Event { event: Event::Reconnecting { .. }, .. })));
    tick_until(&mut a, 50_100);
    assert_eq!(a.engine.poll_session_count(), 0);
    let events = a.events(1);
    assert!(events.iter().any(|(_, e)| matches!(e, Event::Reconnecting { participant } if *participant == w.participant)), "{events:?}");
    assert_eq!(a.engine.poll(50_200, &start.session, 0).unwrap_err().code, ErrorCode::UnknownSession);

    // Resumed over a new session: the same participant, and the chat it missed.
    a.send(50_300, 1, &ClientMsg::Chat { text: "missed".into() });
    let resume = Resume { token: w.resume_token.clone(), last_seq: w.seq };
    let again = a.engine.poll_join(50_400, ConnKind::Guest, Some("203.0.113.1"), join_json(&room.id, "Poller", None, Some(resume)).as_bytes()).unwrap();
    a.pump();
    let msgs = parse(&again.messages);
    let w2 = welcome_of(&again.messages);
    assert!(w2.resumed && w2.participant == w.participant);
    assert!(chat_texts(&msgs).iter().any(|(_, t)| t == "missed"), "{msgs:?}");

    // And over a socket after that session expires too.
    tick_until(&mut a, 81_000);
    assert_eq!(a.engine.poll_session_count(), 0);
    a.open(81_100, 7, ConnKind::Guest);
    let resume = Resume { token: w2.resume_token.clone(), last_seq: w2.seq };
    a.send(81_100, 7, &ClientMsg::Join { room: room.id.clone(), name: "Poller".into(), invite: None, host: None, resume: Some(resume) });
    let back = a.take(7);
    assert!(back.iter().any(|m| matches!(m, ServerMsg::Welcome(w3) if w3.resumed && w3.participant == w.participant)), "{back:?}");
}

fn poll_now_or_wait(a: &mut Node, now: u64, session: &str, cursor: u64) {
    a.engine.poll(now, session, cursor).unwrap();
    a.pump();
}

fn tick_until(a: &mut Node, until: u64) {
    while let Some(at) = a.engine.poll_timeout().filter(|t| *t <= until) {
        a.tick(at);
        a.inbox.retain(|c, _| *c == 1 || *c == 7);
    }
}

#[test]
fn an_overflowing_queue_reports_lost_until_acknowledged_and_sync_recovers() {
    // A small queue, and an event ring smaller than the gap: sync answers with a snapshot.
    let cfg = Config { poll_queue_messages: 8, event_ring: 16, control_rate: voice_chat_engine::limits::RateLimit { burst: 100, per_second: 100 }, ..Config::default() };
    let mut a = Node::with_config(A, cfg);
    let room = a.create_room(open_settings());
    let start = guest_session(&mut a, 0, &room.id, &room.invite, "Poller", "203.0.113.1").unwrap();
    let w = welcome_of(&start.messages);
    a.join(1, 1, ConnKind::Guest, &room.id, "Socket", Some(&room.invite));
    for i in 0..20 {
        a.send(2, 1, &ClientMsg::Chat { text: format!("m{i}") });
    }
    let got = poll_now(&mut a, 3, &start.session, start.cursor);
    assert!(got.lost);
    assert_eq!(got.messages.len(), 8);
    let chats = chat_texts(&parse(&got.messages));
    assert_eq!(chats.last().unwrap().1, "m19", "the newest are kept");
    // Asked again with the same cursor (the answer went astray): lost again.
    assert!(poll_now(&mut a, 3, &start.session, start.cursor).lost);
    // Acknowledged: no longer lost.
    a.send(4, 1, &ClientMsg::Chat { text: "after".into() });
    let got2 = poll_now(&mut a, 5, &start.session, got.cursor);
    assert!(!got2.lost, "{got2:?}");
    // The protocol's recovery: sync from the last seq the client had before the gap.
    send(&mut a, 6, &start.session, &ClientMsg::Sync { last_seq: w.seq }).unwrap();
    let got3 = poll_now(&mut a, 7, &start.session, got2.cursor);
    assert!(!got3.lost);
    let snapshot = parse(&got3.messages)
        .into_iter()
        .find_map(|m| match m {
            ServerMsg::Snapshot { snapshot, .. } => Some(snapshot),
            _ => None,
        })
        .expect("a snapshot");
    let texts: Vec<&str> = snapshot.chat.iter().map(|c| c.text.as_str()).collect();
    assert!((0..20).all(|i| texts.contains(&format!("m{i}").as_str())), "the snapshot holds everything missed: {texts:?}");
}

#[test]
fn a_session_never_gets_audio() {
    let (mut a, room) = setup();
    let start = guest_session(&mut a, 0, &room.id, &room.invite, "Poller", "203.0.113.1").unwrap();
    let w = a.join(1, 1, ConnKind::Guest, &room.id, "Speaker", Some(&room.invite));
    a.join(1, 2, ConnKind::Guest, &room.id, "Listener", Some(&room.invite));
    // Even after asking for everything.
    send(&mut a, 2, &start.session, &ClientMsg::Subscribe { pattern: format!("room.{}.**", room.id) }).unwrap();
    let mut f = frame(w.stream, 1, 10);
    let relay = a.binary(3, 1, &mut f).expect("relayed");
    assert_eq!(relay.conns, [2], "to the socket only");
    assert!(a.binaries.iter().all(|(to, _)| to.iter().all(|c| *c < 1000)));
    let got = poll_now(&mut a, 4, &start.session, start.cursor);
    assert!(got.messages.iter().all(|m| !m.contains("audio_frame")));
}

#[test]
fn a_kicked_or_banned_session_is_closed_and_stays_out() {
    let (mut a, room) = setup();
    let start = guest_session(&mut a, 0, &room.id, &room.invite, "Poller", "203.0.113.1").unwrap();
    let w = welcome_of(&start.messages);
    a.engine.ban(1, &room.id, &w.participant).unwrap();
    a.pump();
    assert!(a.closed.is_empty(), "the shell is not asked to close a virtual connection");
    // The session gets what was queued, then it is gone.
    let got = poll_now(&mut a, 2, &start.session, start.cursor);
    assert!(parse(&got.messages).iter().any(|m| matches!(m, ServerMsg::Event { event: Event::Left { reason: LeaveReason::Banned, .. }, .. })));
    assert_eq!(a.engine.poll(3, &start.session, got.cursor).unwrap_err().code, ErrorCode::UnknownSession);
    assert_eq!(send(&mut a, 3, &start.session, &ClientMsg::Chat { text: "x".into() }).unwrap_err().code, ErrorCode::UnknownSession);
    // Its resume token is banned, over a new session too.
    let resume = Resume { token: w.resume_token.clone(), last_seq: 0 };
    let err = a.engine.poll_join(4, ConnKind::Guest, Some("203.0.113.1"), join_json(&room.id, "Poller", Some(&room.invite), Some(resume)).as_bytes()).unwrap_err();
    assert_eq!(err.code, ErrorCode::Banned);
    assert_eq!(a.engine.poll_session_count(), 0);

    // A kick closes it the same way.
    let start = guest_session(&mut a, 5, &room.id, &room.invite, "Other", "203.0.113.2").unwrap();
    let w = welcome_of(&start.messages);
    a.engine.kick(6, &room.id, &w.participant).unwrap();
    a.pump();
    let got = poll_now(&mut a, 7, &start.session, start.cursor);
    assert!(parse(&got.messages).iter().any(|m| matches!(m, ServerMsg::Event { event: Event::Left { reason: LeaveReason::Kicked, .. }, .. })));
    assert_eq!(a.engine.poll(8, &start.session, got.cursor).unwrap_err().code, ErrorCode::UnknownSession);
}

#[test]
fn a_flooding_session_is_rate_limited_and_oversize_is_too_large() {
    let (mut a, room) = setup();
    let start = guest_session(&mut a, 0, &room.id, &room.invite, "Poller", "203.0.113.1").unwrap();
    let mut refused = None;
    for i in 0..50 {
        if let Err(e) = send(&mut a, 1, &start.session, &ClientMsg::Ping { t: i as f64 }) {
            refused = Some((i, e.code));
            break;
        }
    }
    let (at, code) = refused.expect("refused at some point");
    assert_eq!(code, ErrorCode::RateLimited);
    assert!(at >= 10 && at <= 20, "the control bucket's burst: {at}");
    let huge = format!(r#"{{"v":1,"type":"chat","text":"{}"}}"#, "x".repeat(70 * 1024));
    let err = a.engine.poll_send(10_000, &start.session, huge.as_bytes()).unwrap_err();
    assert_eq!(err.code, ErrorCode::TooLarge);
}

#[test]
fn a_second_poll_answers_the_held_one_empty_and_leave_ends_the_session() {
    let (mut a, room) = setup();
    let start = guest_session(&mut a, 0, &room.id, &room.invite, "Poller", "203.0.113.1").unwrap();
    let PollStep::Wait { ticket: first } = a.engine.poll(1, &start.session, start.cursor).unwrap() else { panic!("nothing queued") };
    assert_eq!(a.engine.poll_again(2, &start.session, first, false).unwrap(), PollStep::Wait { ticket: first });
    let PollStep::Wait { ticket: second } = a.engine.poll(3, &start.session, start.cursor).unwrap() else { panic!() };
    assert_eq!(a.engine.poll_again(4, &start.session, first, false).unwrap(), PollStep::Answer(PollAnswer { cursor: start.cursor, messages: vec![], lost: false }));
    // Given up after the hold: answered empty.
    assert_eq!(a.engine.poll_again(5, &start.session, second, true).unwrap(), PollStep::Answer(PollAnswer { cursor: start.cursor, messages: vec![], lost: false }));
    // Something arrives for a held poll: answered.
    let PollStep::Wait { ticket } = a.engine.poll(6, &start.session, start.cursor).unwrap() else { panic!() };
    a.join(7, 1, ConnKind::Guest, &room.id, "Socket", Some(&room.invite));
    let PollStep::Answer(got) = a.engine.poll_again(8, &start.session, ticket, false).unwrap() else { panic!("the join arrived") };
    assert_eq!(got.messages.len(), 1);
    a.take(1);
    a.engine.poll_leave(9, &start.session).unwrap();
    a.pump();
    assert!(a.events(1).iter().any(|(_, e)| matches!(e, Event::Left { reason: LeaveReason::Left, .. })));
    assert_eq!(a.engine.poll_session_count(), 0);
}

#[test]
fn a_runtime_socket_with_a_sessions_id_takes_it_and_the_session_ends_as_dropped() {
    let (mut a, room) = setup();
    let start = guest_session(&mut a, 0, &room.id, &room.invite, "Poller", "203.0.113.1").unwrap();
    let w = welcome_of(&start.messages);
    a.join(1, 1, ConnKind::Guest, &room.id, "Socket", Some(&room.invite));
    a.take(1);
    // Session ids count down from u32::MAX.
    assert!(!a.engine.is_open(u32::MAX), "a session's id is no open socket to the shell");
    // Nothing comes in under a session's id without a socket opening first.
    a.send(2, u32::MAX, &ClientMsg::Chat { text: "not a socket".into() });
    assert_eq!(a.binary(2, u32::MAX, &mut frame(w.stream, 1, 10)), Err(voice_chat_engine::DropReason::UnknownConnection));
    assert!(a.events(1).is_empty() && a.engine.poll_session_count() == 1);
    a.open(2, u32::MAX, ConnKind::Guest);
    assert_eq!(a.engine.poll_session_count(), 0);
    assert!(a.events(1).iter().any(|(_, e)| matches!(e, Event::Reconnecting { participant } if *participant == w.participant)));
    a.send(3, u32::MAX, &ClientMsg::Join { room: room.id.clone(), name: "New".into(), invite: Some(room.invite.clone()), host: None, resume: None });
    assert!(a.take(u32::MAX).iter().any(|m| matches!(m, ServerMsg::Welcome(_))));
}

#[test]
fn the_owners_session_joins_a_room_on_another_node_and_its_welcome_comes_in_a_later_poll() {
    let mut net = Net::new(&["a.os", "b.os"]);
    let room = net.node("a.os").create_room(open_settings());
    net.node("a.os").join(0, 1, ConnKind::Owner, &room.id, "alice", None);
    let join = encode_client(
        &ClientMsg::Join { room: room.id.clone(), name: "bob".into(), invite: Some(room.invite.clone()), host: Some("a.os".into()), resume: None },
        None,
    );
    // A guest's session may not reach another node's room, as a guest socket may not.
    let err = net.node("b.os").engine.poll_join(0, ConnKind::Guest, Some("203.0.113.1"), join.as_bytes()).unwrap_err();
    assert_eq!(err.code, ErrorCode::Forbidden);
    let b = net.node("b.os");
    let start = b.engine.poll_join(0, ConnKind::Owner, None, join.as_bytes()).unwrap();
    b.pump();
    assert!(start.messages.is_empty(), "the host answers later: {:?}", start.messages);
    let PollStep::Wait { ticket } = b.engine.poll(1, &start.session, start.cursor).unwrap() else { panic!("nothing yet") };
    net.run(2);
    let b = net.node("b.os");
    let PollStep::Answer(got) = b.engine.poll_again(3, &start.session, ticket, false).unwrap() else { panic!("the welcome came") };
    let w = welcome_of(&got.messages);
    assert_eq!((w.room.as_str(), w.host.as_str()), (room.id.as_str(), "a.os"));
    // Chat both ways through the host.
    send(b, 4, &start.session, &ClientMsg::Chat { text: "hi from b".into() }).unwrap();
    net.run(4);
    assert!(chat_texts(&net.node("a.os").take(1)).iter().any(|(_, t)| t == "hi from b"));
    net.node("a.os").send(5, 1, &ClientMsg::Chat { text: "hi from a".into() });
    net.run(5);
    let got = poll_now(net.node("b.os"), 6, &start.session, got.cursor);
    assert!(chat_texts(&parse(&got.messages)).iter().any(|(_, t)| t == "hi from a"), "{:?}", got.messages);
    assert!(net.node("b.os").inbox.is_empty(), "b's shell saw nothing for the session");
}
