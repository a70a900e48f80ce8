//! Every cell of the permission matrix (docs/protocol.md), exercised through the engine.

mod common;
use common::*;
use voice_chat_engine::roles::{may_assign, permits};
use voice_chat_engine::{Action, ClientMsg, ConnKind, ErrorCode, Event, Role, ServerMsg, SettingsPatch};

/// The matrix as documented: (action, [Host, Moderator, Speaker, Viewer]).
const MATRIX: [(Action, [bool; 4]); 12] = [
    (Action::Speak, [true, true, true, false]),
    (Action::Chat, [true, true, true, true]),
    (Action::RaiseHand, [false, false, false, true]),
    (Action::ManageHands, [true, true, false, false]),
    (Action::MuteOthers, [true, true, false, false]),
    (Action::MuteAll, [true, true, false, false]),
    (Action::Kick, [true, true, false, false]),
    (Action::SetRole, [true, true, false, false]),
    (Action::ChangeSettings, [true, false, false, false]),
    (Action::CloseRoom, [true, false, false, false]),
    (Action::ClearChat, [true, true, false, false]),
    (Action::ShareKeys, [true, true, false, false]),
];

const ROLES: [Role; 4] = [Role::Host, Role::Moderator, Role::Speaker, Role::Viewer];
const ACTOR: u32 = 10;
const TARGET: u32 = 11;
const LISTENER: u32 = 12;

struct Setup {
    node: Node,
    room: String,
    target: String,
    actor_stream: u16,
}

/// A room with: the actor in `role`, a Viewer target with a raised hand, a Speaker listener.
fn setup(role: Role) -> Setup {
    setup_room(role, false)
}

/// [`setup`], in an end-to-end encrypted room when `e2ee`.
fn setup_room(role: Role, e2ee: bool) -> Setup {
    let mut node = Node::new("host.os");
    let room = node.create_room(voice_chat_engine::Settings { e2ee, ..open_settings() });
    let a = node.join(0, ACTOR, ConnKind::Guest, &room.id, "actor", Some(&room.invite));
    let t = node.join(0, TARGET, ConnKind::Guest, &room.id, "target", Some(&room.invite));
    node.join(0, LISTENER, ConnKind::Guest, &room.id, "listener", Some(&room.invite));
    node.engine.set_role(0, &room.id, &t.participant, Role::Viewer).unwrap();
    node.engine.set_role(0, &room.id, &a.participant, role).unwrap();
    node.pump();
    node.send(0, TARGET, &ClientMsg::RaiseHand {});
    node.clear();
    Setup { node, room: room.id, target: t.participant, actor_stream: a.stream }
}

/// Performs `action` as the actor; Ok(true) if it took effect, Ok(false) if refused Forbidden.
fn attempt(s: &mut Setup, action: Action) -> bool {
    let target = s.target.clone();
    let msg = match action {
        Action::Speak => {
            let mut f = frame(s.actor_stream, 1, 20);
            let r = s.node.binary(0, ACTOR, &mut f).map(|r| r.conns.to_vec());
            return match r {
                Ok(conns) => {
                    assert!(conns.contains(&LISTENER));
                    true
                }
                Err(voice_chat_engine::DropReason::NotAllowed) => false,
                Err(other) => panic!("unexpected drop {other:?}"),
            };
        }
        Action::Chat => ClientMsg::Chat { text: "hi".into() },
        Action::RaiseHand => ClientMsg::RaiseHand {},
        Action::ManageHands => ClientMsg::AcceptHand { participant: target },
        Action::MuteOthers => ClientMsg::Mute { participant: target },
        Action::MuteAll => ClientMsg::MuteAll {},
        Action::Kick => ClientMsg::Kick { participant: target },
        Action::SetRole => ClientMsg::SetRole { participant: target, role: Role::Speaker },
        Action::ChangeSettings => ClientMsg::UpdateSettings { settings: SettingsPatch { name: Some("new".into()), ..Default::default() } },
        Action::CloseRoom => ClientMsg::CloseRoom {},
        Action::ClearChat => ClientMsg::ClearChat {},
        Action::ShareKeys => {
            // Not an event: the addressee gets its wrapped key, nobody else anything.
            let keys = vec![voice_chat_engine::WrappedKey { to: target, wrapped: "w".into() }];
            s.node.send(0, ACTOR, &ClientMsg::E2eeKeys { epoch: 1, keys });
            assert!(s.node.take(LISTENER).is_empty());
            let got = s.node.take(TARGET).iter().any(|m| matches!(m, ServerMsg::E2eeKey { .. }));
            return match s.node.errors(ACTOR).as_slice() {
                [] if got => true,
                [ErrorCode::Forbidden] if !got => false,
                other => panic!("share_keys: unexpected errors {other:?} (delivered: {got})"),
            };
        }
    };
    s.node.send(0, ACTOR, &msg);
    let msgs = s.node.take(LISTENER);
    let errors = s.node.errors(ACTOR);
    match errors.as_slice() {
        [] => {
            assert!(msgs.iter().any(|m| matches!(m, ServerMsg::Event { .. })), "{action:?} took effect without an event");
            true
        }
        [ErrorCode::Forbidden] => {
            assert!(msgs.is_empty(), "refused {action:?} still changed something: {msgs:?}");
            false
        }
        other => panic!("{action:?}: unexpected errors {other:?}"),
    }
}

#[test]
fn matrix_function_matches_the_documented_table() {
    for (action, row) in MATRIX {
        for (i, role) in ROLES.iter().enumerate() {
            assert_eq!(permits(*role, action), row[i], "{role:?} {action:?}");
        }
    }
}

#[test]
fn every_cell_through_the_engine() {
    let mut cells = 0;
    for (action, row) in MATRIX {
        for (i, role) in ROLES.iter().enumerate() {
            let mut s = setup_room(*role, action == Action::ShareKeys);
            let before = s.node.engine.room_snapshot(&s.room).map(|r| r.seq);
            let done = attempt(&mut s, action);
            assert_eq!(done, row[i], "{role:?} {action:?}");
            if !done {
                assert_eq!(s.node.engine.room_snapshot(&s.room).map(|r| r.seq), before, "{role:?} {action:?} logged an event");
            }
            cells += 1;
        }
    }
    assert_eq!(cells, 48);
}

#[test]
fn moderators_cannot_touch_equals_or_the_host() {
    let mut s = setup(Role::Moderator);
    let host = s.node.join(0, 20, ConnKind::Guest, &s.room, "boss", Some(&s.node.engine.invite(&s.room).unwrap()));
    s.node.engine.set_role(0, &s.room, &host.participant, Role::Host).unwrap();
    let other = s.node.join(0, 21, ConnKind::Guest, &s.room, "mod2", Some(&s.node.engine.invite(&s.room).unwrap()));
    s.node.engine.set_role(0, &s.room, &other.participant, Role::Moderator).unwrap();
    s.node.pump();
    s.node.clear();
    for victim in [&host.participant, &other.participant] {
        for msg in [
            ClientMsg::Mute { participant: victim.clone() },
            ClientMsg::Kick { participant: victim.clone() },
            ClientMsg::SetRole { participant: victim.clone(), role: Role::Viewer },
        ] {
            s.node.send(0, ACTOR, &msg);
            assert_eq!(s.node.errors(ACTOR), vec![ErrorCode::Forbidden], "{msg:?}");
        }
    }
    // A moderator may not make moderators.
    s.node.send(0, ACTOR, &ClientMsg::SetRole { participant: s.target.clone(), role: Role::Moderator });
    assert_eq!(s.node.errors(ACTOR), vec![ErrorCode::Forbidden]);
    assert!(!may_assign(Role::Moderator, Role::Viewer, Role::Moderator));
    assert!(may_assign(Role::Moderator, Role::Viewer, Role::Speaker));
}

#[test]
fn nobody_targets_themselves() {
    let mut s = setup(Role::Host);
    let me = s.node.engine.room_snapshot(&s.room).unwrap().participants.iter().find(|p| p.name == "actor").unwrap().id.clone();
    for msg in [ClientMsg::Mute { participant: me.clone() }, ClientMsg::Kick { participant: me.clone() }, ClientMsg::SetRole { participant: me.clone(), role: Role::Viewer }] {
        s.node.send(0, ACTOR, &msg);
        assert_eq!(s.node.errors(ACTOR), vec![ErrorCode::Forbidden], "{msg:?}");
    }
}

#[test]
fn host_handing_the_room_over_steps_down_to_moderator() {
    let mut s = setup(Role::Host);
    s.node.send(0, ACTOR, &ClientMsg::SetRole { participant: s.target.clone(), role: Role::Host });
    assert!(s.node.errors(ACTOR).is_empty());
    let snap = s.node.engine.room_snapshot(&s.room).unwrap();
    let role = |n: &str| snap.participants.iter().find(|p| p.name == n).unwrap().role;
    assert_eq!(role("target"), Role::Host);
    assert_eq!(role("actor"), Role::Moderator);
    assert_eq!(snap.participants.iter().filter(|p| p.role == Role::Host).count(), 1);
}

#[test]
fn owner_http_actions_outrank_the_host() {
    let mut s = setup(Role::Host);
    let actor = s.node.engine.room_snapshot(&s.room).unwrap().participants.iter().find(|p| p.name == "actor").unwrap().id.clone();
    s.node.engine.mute(0, &s.room, &actor, true).unwrap();
    s.node.engine.kick(0, &s.room, &actor).unwrap();
    s.node.pump();
    assert!(s.node.closed.contains(&ACTOR));
    let events = s.node.events(LISTENER);
    assert!(events.iter().any(|(_, e)| matches!(e, Event::Left { reason: voice_chat_engine::protocol::LeaveReason::Kicked, .. })));
    // Owner cannot chat or raise a hand: those need a participant.
    assert_eq!(s.node.engine.mute(0, &s.room, "nobody", true).unwrap_err().code, ErrorCode::ParticipantNotFound);
}
