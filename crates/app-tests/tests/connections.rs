//! The app keeps below the node's 128-socket cap (shared by all apps) and tells the socket
//! over its own limit why it is closed, instead of leaving it to the runtime's silent refusal.
//! Guests may fill the limit but for the owner's reserve (tests/abuse_limits.rs has the
//! crowd of anonymous sockets).
mod common;
use common::*;

const APP_LIMIT: usize = 100; // docs/protocol.md, too_many_connections
const OWNER_RESERVE: usize = 8; // docs/protocol.md, Limits
/// Each room admits a burst of 30 joins through the invite check: spread the guests.
const ROOMS: usize = 4;

#[tokio::test]
async fn the_socket_over_the_apps_limit_gets_a_clear_error_and_the_rest_keep_working() {
    let cluster = boot(&["alice.os"], &[]).await;
    let alice = cluster.node("alice.os");
    let api = Api::new(alice);
    let mut rooms = Vec::new();
    for r in 0..ROOMS {
        rooms.push(api.create_room(&format!("Full house {r}"), true).await);
    }
    // Every socket must join a room within 10 s, so each one joins.
    let mut clients = Vec::new();
    for i in 0..APP_LIMIT - OWNER_RESERVE {
        let mut c = Client::guest(alice, &format!("C{i}")).await;
        let (room, invite) = &rooms[i % ROOMS];
        c.join(room, &format!("C{i}"), Some(invite), None).await;
        clients.push(c);
    }
    assert_eq!(api.metrics().await["connections"], APP_LIMIT - OWNER_RESERVE);

    // The guests' share is full.
    let over = Client::guest(alice, "OVER").await;
    over.send_msg("ping", serde_json::json!({"t": 0}));
    let err = over.text("the refusal", |v| v["type"] == "error").await;
    assert_eq!(err["code"], "too_many_connections", "{err}");
    over.wait_until("the refused socket to be closed", WAIT, |_, _, closed| closed).await;
    let errors: Vec<_> = over.texts().into_iter().filter(|v| v["type"] == "error").collect();
    assert_eq!(errors.len(), 1, "one clear error, nothing else: {errors:?}");
    assert!(over.texts().iter().all(|v| v["type"] != "pong"));

    // The owner's reserve is not, up to the app's limit; past it the owner is refused too.
    let mut owners = Vec::new();
    for i in 0..OWNER_RESERVE {
        let mut o = Client::owner(alice, &format!("O{i}")).await;
        o.join(&rooms[i % ROOMS].0, &format!("Owner{i}"), None, None).await;
        owners.push(o);
    }
    assert_eq!(api.metrics().await["connections"], APP_LIMIT);
    let owner_over = Client::owner(alice, "OWNER-OVER").await;
    owner_over.send_msg("ping", serde_json::json!({"t": 0}));
    let err = owner_over.text("the refusal", |v| v["type"] == "error").await;
    assert_eq!(err["code"], "too_many_connections", "{err}");

    // The others are unaffected, and a freed slot can be used again.
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
    let (room, invite) = &rooms[0];
    let mut again = Client::guest(alice, "AGAIN").await;
    again.join(room, "Again", Some(invite), None).await;
    clients[0].event("joined", |e| e["participant"]["name"] == "Again").await;

    drop(clients);
    drop(owners);
    cluster.shutdown().await;
}
