//! A node speaking the peer protocol by hand: a native endpoint registered as the voice-chat
//! process on a node that does not run the app, talking to alice.os's process (hostile and
//! non-member nodes in bad_input.rs, abuse_membership.rs, abuse_limits.rs).
use super::{app_id, WAIT};
use devnode::{Address, Capability, Endpoint, Message, Request, Response};
use serde_json::{json, Value};
use std::time::Duration;

pub struct FakePeer {
    pub ep: Endpoint,
    pub alice: Address,
    pub seq: u64,
    /// Peer envelopes alice's process sent us.
    pub received: Vec<Value>,
    /// Answers to our requests, by request id.
    pub answers: Vec<(u64, Value)>,
}

impl FakePeer {
    /// Registered as the voice-chat process on `node`.
    pub fn new(node: &devnode::Node) -> FakePeer {
        let ep = node.endpoint(app_id(), false, vec![Capability::network(node.name())]);
        FakePeer { ep, alice: Address::new("alice.os", app_id()), seq: 0, received: vec![], answers: vec![] }
    }

    pub async fn send_raw(&mut self, body: Value, blob: Option<Vec<u8>>) -> u64 {
        let blob = blob.map(|bytes| devnode::Blob { mime: None, bytes });
        self.ep.send(self.alice.clone(), Request::new(body.to_string()).expecting(5), blob).await
    }

    pub async fn send(&mut self, msg: Value) -> u64 {
        self.seq += 1;
        let envelope = json!({"v": 1, "session": "fake-session", "seq": self.seq, "msg": msg});
        self.send_raw(json!({ "PeerMessage": null }), Some(envelope.to_string().into_bytes())).await
    }

    pub async fn pump_until(&mut self, what: &str, done: impl Fn(&FakePeer) -> bool) {
        let deadline = tokio::time::Instant::now() + WAIT;
        while !done(self) {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            assert!(!left.is_zero(), "timed out waiting for {what}; received {:?}", self.received);
            let Some(item) = self.ep.recv(left.min(Duration::from_millis(200))).await else { continue };
            let Ok(km) = item else { continue };
            let body: Value = serde_json::from_slice(km.message.body()).unwrap_or(Value::Null);
            match &km.message {
                Message::Request(r) => {
                    if body.get("PeerMessage").is_some() {
                        let env = km.blob.as_ref().and_then(|b| serde_json::from_slice(&b.bytes).ok()).unwrap_or(Value::Null);
                        self.received.push(env);
                    }
                    if r.expects_response.is_some() {
                        self.ep.respond(&km, Response::new(r#"{"Ok":null}"#), None).await;
                    }
                }
                Message::Response(..) => self.answers.push((km.id, body)),
            }
        }
    }

    pub fn answer(&self, id: u64) -> Option<&Value> {
        self.answers.iter().find(|(i, _)| *i == id).map(|(_, v)| v)
    }

    pub fn answered(&self, id: u64) -> bool {
        self.answers.iter().any(|(i, _)| *i == id)
    }

    pub fn got(&self, msg_type: &str, pred: impl Fn(&Value) -> bool) -> bool {
        self.received.iter().any(|e| e["msg"]["type"] == msg_type && pred(&e["msg"]))
    }
}
