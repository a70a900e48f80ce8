//! Pushing to browsers through the runtime's http-server, without allocating per frame.
//!
//! process_lib's `send_ws_push` serializes the push request and clones the payload for every
//! recipient. On the relay path that is thousands of allocations a second, so each
//! connection's request is built once and reused, and the payload goes out of one scratch
//! buffer through the raw `send-request` import (the host copies it anyway).
use hyperware_process_lib::hyperware::process::standard as wit;
use std::collections::HashMap;

pub struct WsPusher {
    http_server: wit::Address,
    binary: HashMap<u32, wit::Request>,
    scratch: wit::LazyLoadBlob,
}

fn push_request(channel_id: u32, message_type: &str) -> wit::Request {
    let body = format!(r#"{{"WebSocketPush":{{"channel_id":{channel_id},"message_type":"{message_type}"}}}}"#);
    wit::Request {
        inherit: false,
        expects_response: None,
        body: body.into_bytes(),
        metadata: None,
        capabilities: Vec::new(),
    }
}

impl WsPusher {
    pub fn new(our_node: &str) -> Self {
        Self {
            http_server: wit::Address {
                node: our_node.to_string(),
                process: wit::ProcessId {
                    process_name: "http-server".into(),
                    package_name: "distro".into(),
                    publisher_node: "sys".into(),
                },
            },
            binary: HashMap::new(),
            scratch: wit::LazyLoadBlob { mime: None, bytes: Vec::with_capacity(2048) },
        }
    }

    /// One audio frame to many connections: no allocation once each connection has pushed once.
    pub fn push_binary(&mut self, conns: &[u32], frame: &[u8]) {
        if conns.is_empty() {
            return;
        }
        self.scratch.bytes.clear();
        self.scratch.bytes.extend_from_slice(frame);
        for &conn in conns {
            let request = self.binary.entry(conn).or_insert_with(|| push_request(conn, "Binary"));
            wit::send_request(&self.http_server, request, None, Some(&self.scratch));
        }
    }

    /// Control messages are rarer; they may allocate.
    pub fn push_text(&mut self, conns: &[u32], text: &[u8]) {
        let blob = wit::LazyLoadBlob { mime: None, bytes: text.to_vec() };
        for &conn in conns {
            wit::send_request(&self.http_server, &push_request(conn, "Text"), None, Some(&blob));
        }
    }

    pub fn close(&mut self, conn: u32) {
        self.binary.remove(&conn);
        let request = wit::Request {
            inherit: false,
            expects_response: None,
            body: format!(r#"{{"WebSocketClose":{conn}}}"#).into_bytes(),
            metadata: None,
            capabilities: Vec::new(),
        };
        wit::send_request(&self.http_server, &request, None, None);
    }

    pub fn forget(&mut self, conn: u32) {
        self.binary.remove(&conn);
    }

    /// Drops the cached requests of sockets the runtime no longer has.
    pub fn retain(&mut self, live: &[u32]) {
        self.binary.retain(|conn, _| live.contains(conn));
    }
}
