//! Requests to the voice-chat process on another node, in the runtime's JSON: the
//! `#[hyperapp]` macro reads a request body as `{"<Handler>": <args>}`, where `<Handler>` is
//! the `#[remote]` handler's name in CamelCase. Both handlers take their payload from the
//! blob, so the bodies are fixed; the test below ties each to its handler.
use hyperware_process_lib::hyperapp::{send, spawn, AppSendError};
use hyperware_process_lib::hyperware::process::standard as wit;
use hyperware_process_lib::{Address, Request};

/// Body of a control request (`peer_message`); the envelope is the blob.
pub const PEER_MESSAGE_BODY: &[u8] = br#"{"PeerMessage":null}"#;
/// Body of an audio batch (`peer_audio`); the batch is the blob.
pub const PEER_AUDIO_BODY: &[u8] = br#"{"PeerAudio":null}"#;

/// Whether a control request reached the peer.
pub enum Delivery {
    /// Any answer, even a refusal or one we cannot read: the peer is there.
    Answered,
    /// `offline` or `timeout`.
    Failed,
}

pub struct PeerSender {
    our_process: wit::ProcessId,
    audio_request: wit::Request,
    /// Target address per interned peer id, built once.
    addresses: Vec<Option<wit::Address>>,
    scratch: wit::LazyLoadBlob,
}

impl PeerSender {
    /// `audio_answer_ms`: audio batches are fire-and-forget, but still ask for an answer,
    /// because the macro answers every `#[remote]` request, and answering one that expects
    /// none would answer whichever request last expected a response instead (runtime.md,
    /// "Delivery rules that bite").
    pub fn new(our_process: &hyperware_process_lib::ProcessId, audio_answer_ms: u64) -> Self {
        Self {
            our_process: wit::ProcessId {
                process_name: our_process.process().to_string(),
                package_name: our_process.package().to_string(),
                publisher_node: our_process.publisher().to_string(),
            },
            audio_request: wit::Request {
                inherit: false,
                expects_response: Some(audio_answer_ms.div_ceil(1000)),
                body: PEER_AUDIO_BODY.to_vec(),
                metadata: None,
                capabilities: Vec::new(),
            },
            addresses: Vec::new(),
            scratch: wit::LazyLoadBlob { mime: None, bytes: Vec::with_capacity(16 * 1024) },
        }
    }

    /// One audio batch; no allocation once this peer's address is known.
    pub fn send_audio(&mut self, peer: u32, node: &str, batch: &[u8]) {
        let i = peer as usize;
        if self.addresses.len() <= i {
            self.addresses.resize(i + 1, None);
        }
        let process = &self.our_process;
        let target = self.addresses[i].get_or_insert_with(|| wit::Address { node: node.to_string(), process: process.clone() });
        self.scratch.bytes.clear();
        self.scratch.bytes.extend_from_slice(batch);
        wit::send_request(target, &self.audio_request, None, Some(&self.scratch));
    }

    /// One try of a control request; `done` learns whether it was answered.
    pub fn send_control(&self, node: &str, envelope: &[u8], timeout_ms: u64, done: impl FnOnce(Delivery) + 'static) {
        let target = Address::new(
            node,
            hyperware_process_lib::ProcessId::new(
                Some(&self.our_process.process_name),
                &self.our_process.package_name,
                &self.our_process.publisher_node,
            ),
        );
        let request = Request::to(target)
            .body(PEER_MESSAGE_BODY.to_vec())
            .blob_bytes(envelope.to_vec())
            .expects_response(timeout_ms.div_ceil(1000));
        spawn(async move {
            let delivery = match send::<Result<(), String>>(request).await {
                Err(AppSendError::SendError(_)) => Delivery::Failed,
                Ok(_) | Err(AppSendError::BuildError(_)) => Delivery::Answered,
            };
            done(delivery);
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The macro's wire name of each `#[remote]` handler in lib.rs, as `{"<CamelCase>":null}`.
    fn remote_handler_bodies() -> Vec<String> {
        let source = include_str!("lib.rs");
        let mut bodies = Vec::new();
        let mut lines = source.lines();
        while let Some(line) = lines.next() {
            if line.trim() != "#[remote]" {
                continue;
            }
            let signature = lines.next().expect("a function follows #[remote]");
            let name = signature.trim().trim_start_matches("fn ").split('(').next().expect("fn name");
            let camel: String = name
                .split('_')
                .map(|part| {
                    let mut chars = part.chars();
                    chars.next().map(|c| c.to_ascii_uppercase().to_string() + chars.as_str()).unwrap_or_default()
                })
                .collect();
            assert!(signature.contains("(&mut self)"), "{name} takes its payload from the blob, not the body");
            bodies.push(format!(r#"{{"{camel}":null}}"#));
        }
        bodies
    }

    #[test]
    fn each_peer_request_body_names_a_remote_handler() {
        let bodies = remote_handler_bodies();
        for body in [PEER_MESSAGE_BODY, PEER_AUDIO_BODY] {
            let body = std::str::from_utf8(body).unwrap();
            assert!(bodies.iter().any(|b| b == body), "{body} matches no #[remote] handler in lib.rs: {bodies:?}");
        }
        assert_eq!(bodies.len(), 2, "every #[remote] handler has its body here");
    }
}
