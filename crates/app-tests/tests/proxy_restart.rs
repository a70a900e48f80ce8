//! Restarting the voice-chat process on a member node (not the host): its users reconnect to
//! their own node and resume, and their audio reaches the host's listeners again. The resume
//! is answered with a replay (no snapshot), so the restarted node must fetch the room itself.
mod common;
use common::*;
use serde_json::json;

#[tokio::test]
async fn users_of_a_restarted_member_node_are_heard_again() {
    let cluster = boot(&["alice.os", "bob.os"], &[]).await;
    let (alice, bob) = (cluster.node("alice.os"), cluster.node("bob.os"));
    let api = Api::new(alice);
    let (room, invite) = api.create_room("Restart B", true).await;
    let mut a0 = Client::owner(alice, "A0").await;
    a0.join(&room, "Alice", None, None).await;
    a0.start_heartbeat();
    let mut b1 = Client::owner(bob, "B1").await;
    b1.join(&room, "Bob", Some(&invite), Some("alice.os")).await;
    let marker = b1.send_marker("before", 20);
    a0.wait_marker(&marker).await;

    cluster.restart_process("bob.os", &app_id()).unwrap();
    assert!(bob.wait_running(&app_id(), WAIT).await);
    Api::new(bob).wait_ready().await;

    // B1's socket is unknown to bob's new process: it reconnects and resumes.
    let (token, last_seq) = (b1.resume_token.clone(), 0u64);
    let mut b1 = Client::owner(bob, "B1'").await;
    let from = b1.text_count();
    b1.send_msg("join", json!({"room": room, "name": "Bob", "host": "alice.os", "invite": invite, "resume": {"token": token, "last_seq": last_seq}}));
    let welcome = b1.join_answer(from).await.expect("rejoin through the restarted node");
    assert_eq!(welcome["resumed"], true, "the host still had B1: {welcome}");
    assert!(welcome["snapshot"].is_null(), "answered with a replay, the case without a snapshot: {welcome}");
    b1.start_heartbeat();
    for _ in 0..5 {
        b1.send_frame();
    }
    let marker = b1.send_marker("after", 20);
    a0.wait_marker(&marker).await;
    // And the other way: A0 is heard by B1 on the restarted node.
    let marker = a0.send_marker("to-b", 20);
    b1.wait_marker(&marker).await;
    cluster.shutdown().await;
}
