//! The HTTP long-polling transport on the real package (docs/http-api.md, "Polling transport
//! (any participant)"): a guest over the unauthenticated `/guest-api` joins with the invite,
//! gets a WebSocket guest's chat in order and sends chat the socket gets; a socket guest
//! switches to polling with its resume token and gets what it missed; a wrong secret changes
//! nothing; `/guest-api` refuses the owner's calls; two held polls are each answered with their
//! own messages; a held poll with nothing to send answers empty after about 10 s.
mod common;
use common::*;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

/// A client of `/guest-api` (no cookie).
#[derive(Clone)]
struct Guest {
    url: String,
    http: reqwest::Client,
}

struct Answer {
    status: u16,
    content_type: String,
    body: Value,
}

impl Guest {
    fn new(api: &Api) -> Guest {
        Guest { url: format!("{}/guest-api", api.base), http: reqwest::Client::builder().timeout(Duration::from_secs(30)).build().unwrap() }
    }

    async fn call(&self, body: Value) -> Answer {
        let r = self.http.post(&self.url).json(&body).send().await.unwrap();
        let status = r.status().as_u16();
        let content_type = r.headers().get("content-type").map(|v| v.to_str().unwrap().to_string()).unwrap_or_default();
        let text = r.text().await.unwrap();
        Answer { status, content_type, body: serde_json::from_str(&text).unwrap_or(Value::String(text)) }
    }

    async fn ok(&self, body: Value) -> Value {
        let a = self.call(body.clone()).await;
        assert_eq!(a.status, 200, "{body} answered {} {}", a.status, a.body);
        a.body.get("Ok").cloned().unwrap_or_else(|| panic!("{body} answered {}", a.body))
    }
}

/// One polling participant: its session and cursor, and every message it got.
struct Poller {
    guest: Guest,
    session: String,
    cursor: u64,
    got: Vec<Value>,
}

impl Poller {
    async fn join(guest: &Guest, join: Value) -> Poller {
        let started = guest.ok(json!({ "PollJoin": join })).await;
        let mut p = Poller { guest: guest.clone(), session: started["session"].as_str().unwrap().to_string(), cursor: 0, got: Vec::new() };
        p.take(&started);
        p
    }

    fn take(&mut self, answer: &Value) {
        self.cursor = answer["cursor"].as_u64().unwrap();
        self.got.extend(answer["messages"].as_array().unwrap().iter().cloned());
    }

    /// One `Poll`; its answer.
    async fn poll(&mut self) -> Value {
        let answer = self.guest.ok(json!({ "Poll": [self.session, self.cursor] })).await;
        assert_eq!(answer["lost"], false);
        self.take(&answer);
        answer
    }

    /// Polls until a message matches.
    async fn until(&mut self, what: &str, pred: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(m) = self.got.iter().find(|m| pred(m)) {
                return m.clone();
            }
            assert!(Instant::now() < deadline, "no {what} over polling: {:?}", self.got);
            self.poll().await;
        }
    }

    async fn send(&self, ty: &str, mut fields: Value) {
        fields["v"] = json!(1);
        fields["type"] = json!(ty);
        let a = self.guest.ok(json!({ "PollSend": [self.session, fields] })).await;
        assert_eq!(a, Value::Null);
    }

    fn chats(&self) -> Vec<(u64, String)> {
        self.got
            .iter()
            .filter(|m| m["type"] == "event" && m["event"]["kind"] == "chat")
            .map(|m| (m["seq"].as_u64().unwrap(), m["event"]["message"]["text"].as_str().unwrap().to_string()))
            .collect()
    }
}

fn is_chat(text: &'static str) -> impl Fn(&Value) -> bool {
    move |m| m["type"] == "event" && m["event"]["kind"] == "chat" && m["event"]["message"]["text"] == text
}

#[tokio::test]
async fn guests_poll_over_http_beside_websockets() {
    let cluster = boot(&["alice.os"], &[]).await;
    let node = cluster.node("alice.os");
    let api = Api::new(node);
    api.wait_ready().await;
    let (room, invite) = api.create_room("Polled", true).await;
    let guest = Guest::new(&api);

    let mut sock = Client::guest(node, "sock").await;
    sock.join(&room, "Sock", Some(&invite), None).await;

    // A guest joins over /guest-api with the invite: the welcome comes in the answer.
    let mut poller = Poller::join(&guest, json!({"v": 1, "type": "join", "room": room, "name": "Poller", "invite": invite})).await;
    let welcome = poller.got.iter().find(|m| m["type"] == "welcome").cloned().expect("welcome in the PollJoin answer");
    assert_eq!(welcome["room"], room.as_str());

    // Every chat of the socket, in order, with consecutive seq.
    for text in ["c1", "c2", "c3", "c4", "c5"] {
        sock.send_msg("chat", json!({"text": text}));
    }
    poller.until("the last chat", is_chat("c5")).await;
    let chats = poller.chats();
    assert_eq!(chats.iter().map(|(_, t)| t.as_str()).collect::<Vec<_>>(), ["c1", "c2", "c3", "c4", "c5"]);
    assert!(chats.windows(2).all(|w| w[1].0 == w[0].0 + 1), "{chats:?}");

    // Chat sent over polling reaches the socket.
    poller.send("chat", json!({"text": "from http"})).await;
    sock.event("chat", |e| e["message"]["text"] == "from http").await;

    // A wrong secret: unknown_session (404), and the socket sees nothing (marker: its pong).
    let from = sock.text_count();
    let mut wrong = poller.session.clone();
    wrong.replace_range(0..1, if wrong.starts_with('A') { "B" } else { "A" });
    let a = guest.call(json!({"PollSend": [wrong, {"v": 1, "type": "chat", "text": "forged"}]})).await;
    assert_eq!((a.status, a.body["Err"]["code"].as_str()), (404, Some("unknown_session")), "{}", a.body);
    let a = guest.call(json!({"Poll": [wrong, 0]})).await;
    assert_eq!((a.status, a.body["Err"]["code"].as_str()), (404, Some("unknown_session")));
    sock.round_trip().await;
    let after: Vec<Value> = sock.texts()[from..].to_vec();
    assert!(after.iter().all(|m| m["type"] == "pong"), "only the marker's pong: {after:?}");

    // /guest-api takes only the polling calls: the owner's are refused with 403 forbidden.
    let a = guest.call(json!({"CreateRoom": {"name": "x", "capacity": 5, "default_role": "speaker", "guests_allowed": true, "guests_may_speak": true}})).await;
    assert_eq!((a.status, a.body["Err"]["code"].as_str()), (403, Some("forbidden")), "{}", a.body);
    let a = guest.call(json!({"Kick": [room, poller.session]})).await;
    assert_eq!(a.status, 403);
    let a = guest.call(json!("ListRooms")).await;
    assert_eq!((a.status, a.body["Err"]["code"].as_str()), (403, Some("forbidden")), "{}", a.body);
    assert_eq!(api.get("/api/rooms").await.as_array().unwrap().len(), 1, "no room was created");

    // A socket guest switches to polling with its resume token and gets what it missed.
    let mut switcher = Client::guest(node, "switcher").await;
    let w = switcher.join(&room, "Switcher", Some(&invite), None).await;
    let last_seq = w["seq"].as_u64().unwrap();
    let token = switcher.resume_token.clone();
    switcher.close();
    sock.send_msg("chat", json!({"text": "missed"}));
    sock.event("chat", |e| e["message"]["text"] == "missed").await;
    let mut switched =
        Poller::join(&guest, json!({"v": 1, "type": "join", "room": room, "name": "Switcher", "resume": {"token": token, "last_seq": last_seq}})).await;
    let resumed = switched.until("the resumed welcome", |m| m["type"] == "welcome").await;
    assert_eq!(resumed["resumed"], true);
    assert_eq!(resumed["participant"], w["participant"]);
    switched.until("the chat it missed", is_chat("missed")).await;

    // Two held polls at once, on two sessions: each is answered with its own messages.
    poller.caught_up(1.0).await;
    switched.caught_up(2.0).await;
    let (pg, sg) = (poller.guest.clone(), switched.guest.clone());
    let (ps, pc, ss, sc) = (poller.session.clone(), poller.cursor, switched.session.clone(), switched.cursor);
    let held_a = tokio::spawn(async move { pg.call(json!({"Poll": [ps, pc]})).await });
    let held_b = tokio::spawn(async move { sg.call(json!({"Poll": [ss, sc]})).await });
    // Only the first session pings: only its held poll has a pong.
    poller.send("ping", json!({"t": 4242.0})).await;
    let a = held_a.await.unwrap();
    assert_eq!(a.status, 200);
    assert_eq!(a.content_type, "application/json", "a held answer keeps its headers");
    let msgs = a.body["Ok"]["messages"].as_array().unwrap().clone();
    assert!(msgs.iter().any(|m| m["type"] == "pong" && m["t"] == 4242.0), "{msgs:?}");
    assert!(!msgs.iter().any(is_chat("both")));
    sock.send_msg("chat", json!({"text": "both"}));
    let b = held_b.await.unwrap();
    assert_eq!(b.status, 200);
    assert_eq!(b.content_type, "application/json", "the other held answer keeps its headers too");
    let msgs = b.body["Ok"]["messages"].as_array().unwrap().clone();
    assert!(msgs.iter().any(is_chat("both")), "{msgs:?}");
    assert!(!msgs.iter().any(|m| m["type"] == "pong"), "the other session's pong is not here: {msgs:?}");

    // A held poll with nothing to send answers after about 10 s, empty.
    switched.take(&b.body["Ok"]);
    let started = Instant::now();
    let a = guest.call(json!({"Poll": [switched.session, switched.cursor]})).await;
    let held = started.elapsed();
    assert_eq!(a.status, 200, "{}", a.body);
    assert_eq!(a.content_type, "application/json");
    assert_eq!(a.body["Ok"]["messages"], json!([]));
    assert_eq!(a.body["Ok"]["cursor"], switched.cursor);
    assert!(held >= Duration::from_secs(9) && held < Duration::from_secs(14), "held {held:?}");

    // PollLeave: the socket sees the poller leave.
    guest.ok(json!({"PollLeave": poller.session})).await;
    sock.event("left", |e| e["participant"] == welcome["participant"]).await;
}

impl Poller {
    /// A positive marker: a ping's pong. Everything queued for this session before it has
    /// been fetched when this returns (the next `Poll` acknowledges it).
    async fn caught_up(&mut self, t: f64) {
        self.send("ping", json!({"t": t})).await;
        self.until("the marker's pong", |m| m["type"] == "pong" && m["t"] == t).await;
    }
}
