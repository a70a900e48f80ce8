//! The owner's HTTP API on the real package: rooms, invites, typed errors with HTTP statuses,
//! authentication, and the UI pages (root and deep link).
mod common;
use common::*;
use serde_json::{json, Value};

fn settings(name: &str) -> Value {
    json!({"name": name, "capacity": 50, "default_role": "speaker", "guests_allowed": true, "guests_may_speak": false})
}

#[tokio::test]
async fn rooms_invites_errors_auth_and_pages_over_http() {
    let cluster = boot(&["alice.os"], &[]).await;
    let node = cluster.node("alice.os");
    let api = Api::new(node);

    let info = api.get("/api/info").await;
    assert_eq!(info["name"], "voice-chat");
    assert_eq!(info["protocol_version"], 1);
    assert_eq!(info["node"], "alice.os");
    assert_eq!(api.get("/api/rooms").await, json!([]));

    // Answers say they are JSON, so a browser shows them rather than downloading a file.
    let raw = api.http.get(format!("{}/api/info", api.base)).header("cookie", &api.cookie).send().await.unwrap();
    assert_eq!(raw.headers()["content-type"], "application/json");
    let raw = api.http.post(format!("{}/api", api.base)).header("cookie", &api.cookie).body(r#"{"GetRoom":"nope"}"#).send().await.unwrap();
    assert_eq!(raw.headers()["content-type"], "application/json");

    // The app puts a tile on the node's homepage, leading to its UI.
    let tiles = node.homepage_entries();
    let tile = tiles.iter().find(|t| t.label == "Voice Chat").unwrap_or_else(|| panic!("no homepage tile: {tiles:?}"));
    assert_eq!(tile.path.as_deref(), Some(format!("/{APP}/").as_str()));
    assert!(tile.icon.as_deref().is_some_and(|i| !i.is_empty()));

    // Create, list, get.
    let created = api.ok("CreateRoom", settings("  Standup  ")).await;
    let room = created["id"].as_str().unwrap().to_string();
    let invite = created["invite"].as_str().unwrap().to_string();
    assert!(!room.is_empty() && !invite.is_empty() && room != invite);
    let rooms = api.get("/api/rooms").await;
    assert_eq!(rooms.as_array().unwrap().len(), 1, "{rooms}");
    assert_eq!(rooms[0]["id"], room.as_str());
    assert_eq!(rooms[0]["settings"]["name"], "Standup", "the name is trimmed");
    assert_eq!(rooms[0]["participants"], 0);
    let snap = api.room(&room).await;
    assert_eq!(snap["room"], room.as_str());
    assert_eq!(snap["host"], "alice.os");
    assert_eq!(snap["settings"], json!({"name": "Standup", "capacity": 50, "default_role": "speaker", "guests_allowed": true, "guests_may_speak": false, "e2ee": false}));
    assert_eq!(snap["participants"], json!([]));
    assert_eq!(snap["hands"], json!([]));
    assert_eq!(snap["chat"], json!([]));

    // Invalid settings: 400 with the stable code, and no room appears.
    for bad in [
        json!({"name": "", "capacity": 50, "default_role": "speaker", "guests_allowed": false, "guests_may_speak": false}),
        json!({"name": "x".repeat(65), "capacity": 50, "default_role": "speaker", "guests_allowed": false, "guests_may_speak": false}),
        json!({"name": "ok", "capacity": 0, "default_role": "speaker", "guests_allowed": false, "guests_may_speak": false}),
        json!({"name": "ok", "capacity": 201, "default_role": "speaker", "guests_allowed": false, "guests_may_speak": false}),
        json!({"name": "ok", "capacity": 5, "default_role": "host", "guests_allowed": false, "guests_may_speak": false}),
    ] {
        assert_eq!(api.err("CreateRoom", bad.clone()).await, (400, "invalid_settings".to_string()), "{bad}");
    }
    let (status, code) = api.err("CreateRoom", json!({"name": "no other fields"})).await;
    assert_eq!((status, code.as_str()), (400, "invalid_input"));
    assert_eq!(api.get("/api/rooms").await.as_array().unwrap().len(), 1, "refused creates add nothing");

    // Update settings: a patch changes only its fields; an invalid one changes nothing.
    let updated = api.ok("UpdateSettings", json!([room, {"name": "Retro", "capacity": 10}])).await;
    assert_eq!(updated, json!({"name": "Retro", "capacity": 10, "default_role": "speaker", "guests_allowed": true, "guests_may_speak": false, "e2ee": false}));
    let before = api.room(&room).await;
    assert_eq!(before["settings"], updated);
    assert_eq!(api.err("UpdateSettings", json!([room, {"capacity": 500}])).await, (400, "invalid_settings".into()));
    assert_eq!(api.err("UpdateSettings", json!([room, {"default_role": "moderator"}])).await, (400, "invalid_settings".into()));
    assert_eq!(room_state(&api.room(&room).await), room_state(&before), "a refused patch changes nothing");

    // Unknown rooms and participants: 404 from every call that names them.
    let ghost = "no-such-room";
    for (call, arg) in [
        ("GetRoom", json!(ghost)),
        ("UpdateSettings", json!([ghost, {"name": "x"}])),
        ("CloseRoom", json!(ghost)),
        ("GetInvite", json!(ghost)),
        ("RotateInvite", json!(ghost)),
        ("MuteAll", json!(ghost)),
        ("ClearChat", json!(ghost)),
        ("ChatHistory", json!(ghost)),
        ("EventsSince", json!([ghost, 0])),
        ("Kick", json!([ghost, "p"])),
    ] {
        assert_eq!(api.err(call, arg.clone()).await, (404, "room_not_found".into()), "{call}({arg})");
    }
    for (call, arg) in [
        ("Kick", json!([room, "nobody"])),
        ("Mute", json!([room, "nobody", true])),
        ("SetRole", json!([room, "nobody", "viewer"])),
    ] {
        assert_eq!(api.err(call, arg.clone()).await, (404, "participant_not_found".into()), "{call}({arg})");
    }
    assert_eq!(api.err("SetRole", json!([room, "nobody", "overlord"])).await.0, 400, "an unknown role is invalid input");

    // Bodies the macro's router cannot place are refused with 400.
    for body in ["not json", r#"{"NoSuchCall": 1}"#] {
        let r = api.http.post(format!("{}/api", api.base)).header("cookie", &api.cookie).body(body).send().await.unwrap();
        assert_eq!(r.status(), 400, "body {body:?}");
    }

    // Invites: the token works for a guest; after rotation only the new one does, and the
    // guest already inside stays.
    assert_eq!(api.ok("GetInvite", json!(room)).await, json!(invite));
    let mut early = Client::guest(node, "early").await;
    early.join(&room, "Early", Some(&invite), None).await;
    let rotated = api.ok("RotateInvite", json!(room)).await;
    let rotated = rotated.as_str().unwrap().to_string();
    assert_ne!(rotated, invite);
    assert_eq!(api.ok("GetInvite", json!(room)).await, json!(rotated));
    let mut late = Client::guest(node, "late").await;
    let refused = late.try_join(&room, "Late", Some(&invite), None).await.unwrap_err();
    assert_eq!(refused["code"], "bad_invite");
    late.join(&room, "Late", Some(&rotated), None).await;
    let snap = api.room(&room).await;
    let names: Vec<&str> = snap["participants"].as_array().unwrap().iter().map(|p| p["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["Early", "Late"]);
    assert_eq!(participant(&snap, "Late")["role"], "viewer", "guests may not speak in this room");
    assert_eq!(participant(&snap, "Late")["guest"], true);

    // Owner moderation over HTTP reaches the participants.
    let late_id = late.participant.clone();
    api.ok("Mute", json!([room, late_id, true])).await;
    early.event("muted", |e| e["participant"] == late_id.as_str() && e["muted"] == true && e["by"].is_null()).await;
    api.ok("SetRole", json!([room, late_id, "speaker"])).await;
    late.event("role_changed", |e| e["participant"] == late_id.as_str() && e["role"] == "speaker").await;
    assert_eq!(participant(&api.room(&room).await, "Late")["role"], "speaker");

    // Chat history and missed events.
    early.send_msg("chat", json!({"text": "hello from Early"}));
    early.event("chat", |e| e["message"]["text"] == "hello from Early").await;
    let history = api.ok("ChatHistory", json!(room)).await;
    assert_eq!(history.as_array().unwrap().len(), 1);
    assert_eq!(history[0]["name"], "Early");
    assert_eq!(history[0]["text"], "hello from Early");
    let since = api.ok("EventsSince", json!([room, 0])).await;
    assert_eq!(since["type"], "missed");
    let kinds: Vec<&str> = since["events"].as_array().unwrap().iter().map(|e| e["event"]["kind"].as_str().unwrap()).collect();
    assert!(kinds.ends_with(&["joined", "joined", "muted", "role_changed", "chat"]), "{kinds:?}");
    let seqs: Vec<u64> = since["events"].as_array().unwrap().iter().map(|e| e["seq"].as_u64().unwrap()).collect();
    assert!(seqs.windows(2).all(|w| w[1] == w[0] + 1), "event seqs count up by one: {seqs:?}");
    let last = *seqs.last().unwrap();
    assert_eq!(api.ok("EventsSince", json!([room, last])).await, json!({"type": "missed", "events": []}));
    // A seq the room never reached (a client from before a restart, say) gets the snapshot.
    let ahead = api.ok("EventsSince", json!([room, last + 100])).await;
    assert_eq!(ahead["type"], "snapshot_needed");
    assert_eq!(ahead["snapshot"]["seq"], last);
    assert_eq!(ahead["snapshot"]["participants"].as_array().unwrap().len(), 2);
    api.ok("ClearChat", json!(room)).await;
    assert_eq!(api.ok("ChatHistory", json!(room)).await, json!([]));

    // Kick closes the guest's socket.
    api.ok("Kick", json!([room, late_id])).await;
    late.wait_until("the kicked guest's socket to close", WAIT, |_, _, closed| closed).await;
    early.event("left", |e| e["participant"] == late_id.as_str() && e["reason"] == "kicked").await;

    // Authentication: without the cookie the API answers the node's login page, and a create
    // attempt changes nothing.
    let anon = reqwest::Client::new();
    for r in [
        anon.get(format!("{}/api/info", api.base)).send().await.unwrap(),
        anon.get(format!("{}/api/rooms", api.base)).send().await.unwrap(),
        anon.post(format!("{}/api", api.base)).json(&json!({"CreateRoom": settings("sneaky")})).send().await.unwrap(),
    ] {
        assert_eq!(r.status(), 200);
        let text = r.text().await.unwrap();
        assert!(serde_json::from_str::<Value>(&text).is_err(), "anonymous callers get no JSON: {text}");
        assert!(text.to_lowercase().contains("password"), "the login page: {text}");
    }
    assert_eq!(api.get("/api/rooms").await.as_array().unwrap().len(), 1);

    // The UI at the root and at a room's deep link, for guests too (no cookie).
    let index = anon.get(format!("{}/", api.base)).send().await.unwrap();
    assert_eq!(index.status(), 200);
    let index = index.text().await.unwrap();
    assert!(index.to_lowercase().contains("<html"), "{index}");
    for path in [format!("/room/{room}"), "/room/unknown-room".to_string()] {
        let page = anon.get(format!("{}{path}", api.base)).send().await.unwrap();
        assert_eq!(page.status(), 200, "{path}");
        assert_eq!(page.text().await.unwrap(), index, "{path} serves the UI, which shows the room (or says it is unknown)");
    }

    // Too many rooms: 429 at the 33rd; the limit frees up when rooms close.
    let mut extra = Vec::new();
    for i in 0..31 {
        extra.push(api.ok("CreateRoom", settings(&format!("r{i}"))).await["id"].as_str().unwrap().to_string());
    }
    assert_eq!(api.err("CreateRoom", settings("one too many")).await, (429, "too_many_rooms".into()));
    for id in &extra {
        api.ok("CloseRoom", json!(id)).await;
    }

    // Close: the participant hears it, and the room is gone.
    api.ok("CloseRoom", json!(room)).await;
    early.event("closed", |e| e["by"].is_null()).await;
    assert_eq!(api.err("GetRoom", json!(room)).await, (404, "room_not_found".into()));
    assert_eq!(api.get("/api/rooms").await, json!([]));
    let from = early.text_count();
    early.send_msg("chat", json!({"text": "anyone?"}));
    early.error_after(from, "not_joined").await;

    cluster.shutdown().await;
}
