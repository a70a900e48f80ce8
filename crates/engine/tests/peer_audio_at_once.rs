//! A frame for a peer node leaves with the input that brought it (issue 11): no tick between,
//! and the batch holds only frames of that input.

mod common;
use common::*;
use voice_chat_engine::audio::{next_batch_record, BatchRecord};
use voice_chat_engine::{ClientMsg, ConnKind, ServerMsg, Welcome};

const A: &str = "a.os";
const B: &str = "b.os";
const C: &str = "c.os";

fn remote_join(net: &mut Net, node: &str, conn: u32, name: &str, room: &str, invite: &str) -> Welcome {
    let n = net.node(node);
    n.open(0, conn, ConnKind::Owner);
    let join = ClientMsg::Join { room: room.into(), name: name.into(), invite: Some(invite.into()), host: Some(A.into()), resume: None };
    n.send(0, conn, &join);
    net.run(0);
    net.node(node).take(conn).into_iter().find_map(|m| if let ServerMsg::Welcome(w) = m { Some(w) } else { None }).expect("welcome")
}

fn frames_in(batch: &[u8]) -> usize {
    let mut pos = 0;
    let mut n = 0;
    while let Some(r) = next_batch_record(batch, &mut pos) {
        if let Ok(BatchRecord::Frame(_)) = r {
            n += 1;
        }
    }
    n
}

#[test]
fn a_frame_for_a_peer_leaves_with_its_input_and_a_batch_holds_only_that_input() {
    let mut net = Net::new(&[A, B, C]);
    let room = net.node(A).create_room(open_settings());
    let alice = net.node(A).join(0, 1, ConnKind::Owner, &room.id, "alice", None);
    let bob = remote_join(&mut net, B, 7, "bob", &room.id, &room.invite);
    remote_join(&mut net, C, 9, "carol", &room.id, &room.invite);

    // Alice speaks: the copies for B and C are outputs of this very input.
    let relay = net.node(A).binary(20, 1, &mut frame(alice.stream, 1, 20)).unwrap();
    assert_eq!(relay.peer_copies, 2);
    let out: Vec<(String, usize)> = net.node(A).audio_out.iter().map(|(n, b)| (n.clone(), frames_in(b))).collect();
    assert_eq!(out, vec![(B.to_string(), 1), (C.to_string(), 1)]);
    net.node(A).audio_out.clear();

    // A batch of two frames from B: A forwards both to C in one batch, at once.
    let mut batch = Vec::new();
    voice_chat_engine::audio::append_room_marker(&room.id, &mut batch);
    batch.extend_from_slice(&frame(bob.stream, 1, 20));
    batch.extend_from_slice(&frame(bob.stream, 2, 20));
    net.node(A).peer_audio(40, B, &mut batch);
    let out: Vec<(String, usize)> = net.node(A).audio_out.iter().map(|(n, b)| (n.clone(), frames_in(b))).collect();
    assert_eq!(out, vec![(C.to_string(), 2)], "one batch for C with both frames, none back to B");

    // Nothing is left waiting for a later tick.
    net.node(A).audio_out.clear();
    net.node(A).tick(60);
    assert!(net.node(A).audio_out.is_empty());
}
