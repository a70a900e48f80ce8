//! Requests to the voice-chat process on another node, in the runtime's JSON: the
//! `#[hyperapp]` macro reads a request body as `{"<Handler>": <args>}`, where `<Handler>` is
//! the `#[remote]` handler's name in CamelCase. Both handlers take their payload from the
//! blob, so the bodies are fixed; `cargo test -p xtask peer_request_bodies` ties each to its
//! handler (this crate cannot run native tests).
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
        // A forgotten peer's id is reused for another node.
        if self.addresses[i].as_ref().is_some_and(|a| a.node != node) {
            self.addresses[i] = None;
        }
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
