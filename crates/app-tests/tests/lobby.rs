//! The `node.rooms` topic with the real package on devnode: the owner's socket, in no room,
//! subscribes and sees a room created over HTTP, joined by a guest, and closed over HTTP. A
//! guest's socket is refused it.
mod common;
use common::*;
use serde_json::json;

#[tokio::test]
async fn the_owners_node_rooms_sees_a_room_created_joined_and_closed() {
    let cluster = boot(&["alice.os"], &[]).await;
    let alice = cluster.node("alice.os");
    let api = Api::new(alice);

    let lobby = Client::owner(alice, "lobby").await;
    lobby.send_msg("subscribe", json!({"pattern": "node.rooms"}));
    let subscribed = lobby.text("subscribed", |v| v["type"] == "subscribed").await;
    assert_eq!(subscribed["topics"], json!(["node.rooms"]));
    let rooms = lobby.text("rooms", |v| v["type"] == "rooms").await;
    assert_eq!(rooms["rooms"], json!([]));

    let (room, invite) = api.create_room("Lobby test", true).await;
    let created = lobby.text("room_update: created", |v| v["type"] == "room_update" && v["room"]["id"] == room.as_str()).await;
    assert_eq!(created["room"]["name"], "Lobby test");
    assert_eq!(created["room"]["participants"], 0);
    assert_eq!(created["room"]["speaking"], json!([]));

    let mut guest = Client::guest(alice, "G1").await;
    guest.join(&room, "Guest", Some(&invite), None).await;
    lobby.text("room_update: one participant", |v| v["type"] == "room_update" && v["room"]["id"] == room.as_str() && v["room"]["participants"] == 1).await;

    // The guest may not watch the node's rooms.
    let from = guest.text_count();
    guest.send_msg("subscribe", json!({"pattern": "node.rooms", "ref": "g"}));
    assert_eq!(guest.error_after(from, "forbidden").await["ref"], "g");

    api.ok("CloseRoom", json!(room)).await;
    lobby.text("room_closed", |v| v["type"] == "room_closed" && v["id"] == room.as_str()).await;
    // Nothing of node.rooms reached the guest (its socket took the room's close before).
    guest.round_trip().await;
    assert!(guest.texts().iter().all(|v| !["rooms", "room_update", "room_closed"].contains(&v["type"].as_str().unwrap_or(""))));
    assert!(!lobby.is_closed());
}
