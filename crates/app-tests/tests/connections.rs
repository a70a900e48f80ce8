//! The app keeps below the node's 128-socket cap (shared by all apps) and tells the socket
//! over its own limit why it is closed, instead of leaving it to the runtime's silent refusal.
mod common;
use common::*;
use serde_json::json;

const APP_LIMIT: usize = 100; // docs/protocol.md, too_many_connections

#[tokio::test]
async fn the_socket_over_the_apps_limit_gets_a_clear_error_and_the_rest_keep_working() {
    let cluster = boot(&["alice.os"], &[]).await;
    let alice = cluster.node("alice.os");
    let api = Api::new(alice);
    let mut clients = Vec::new();
    for i in 0..APP_LIMIT {
        let c = Client::guest(alice, &format!("C{i}")).await;
        // The app learns of a socket with its first message; ping so each one counts.
        c.send_msg("ping", json!({"t": i}));
        c.text("pong", |v| v["type"] == "pong").await;
        clients.push(c);
    }
    assert_eq!(api.metrics().await["connections"], APP_LIMIT);

    let over = Client::guest(alice, "OVER").await;
    over.send_msg("ping", json!({"t": 0}));
    let err = over.text("the refusal", |v| v["type"] == "error").await;
    assert_eq!(err["code"], "too_many_connections", "{err}");
    over.wait_until("the refused socket to be closed", WAIT, |_, _, closed| closed).await;
    let errors: Vec<_> = over.texts().into_iter().filter(|v| v["type"] == "error").collect();
    assert_eq!(errors.len(), 1, "one clear error, nothing else: {errors:?}");
    assert!(over.texts().iter().all(|v| v["type"] != "pong"));

    // The others are unaffected, and a freed slot can be used again.
    let (room, invite) = api.create_room("Full house", true).await;
    let mut first = clients.remove(0);
    first.join(&room, "First", Some(&invite), None).await;
    let last = clients.pop().unwrap();
    last.close();
    drop(last);
    let connections = eventually("the closed socket to be forgotten", || {
        let api = api.clone();
        async move {
            let n = api.metrics().await["connections"].as_u64().unwrap();
            (n < APP_LIMIT as u64).then_some(n)
        }
    })
    .await;
    assert_eq!(connections, APP_LIMIT as u64 - 1);
    let mut again = Client::guest(alice, "AGAIN").await;
    again.join(&room, "Again", Some(&invite), None).await;
    first.event("joined", |e| e["participant"]["name"] == "Again").await;

    drop(clients);
    cluster.shutdown().await;
}
