//! Talking to the voice-chat process on other nodes.
//!
//! Control envelopes expect an answer and are awaited in a task; a failed one is sent again
//! a couple of times, and only when every try fails (`offline`, `timeout`) is the engine told
//! the peer is unreachable. Audio batches are never retried
//! or awaited; they still ask for an answer, because the `#[hyperapp]` macro answers every
//! `#[remote]` request, and answering a fire-and-forget request would answer whichever
//! request last expected a response instead (runtime.md, "Delivery rules that bite"). Those
//! answers carry no context, so the macro files them under one key that is overwritten.
use hyperware_process_lib::hyperapp::{send, sleep, spawn, AppSendError};
use hyperware_process_lib::hyperware::process::standard as wit;
use hyperware_process_lib::{Address, Request};
use voice_chat_engine::PeerEnvelope;

/// Seconds a peer has to acknowledge a control message.
const CONTROL_TIMEOUT_S: u64 = 5;
/// Sends after the first before a peer counts as unreachable: a node that just restarted
/// loses its first messages for 5–10 s while its new key propagates (runtime.md).
const CONTROL_RETRIES: u32 = 2;
/// Wait before the first retry; doubled for each one after.
const RETRY_BASE_MS: u64 = 1_000;
/// Seconds before the runtime gives up on an audio batch's (ignored) answer.
const AUDIO_ANSWER_S: u64 = 2;

pub struct PeerLinks {
    our_process: wit::ProcessId,
    audio_request: wit::Request,
    scratch: wit::LazyLoadBlob,
}

impl PeerLinks {
    pub fn new(our_process: &hyperware_process_lib::ProcessId) -> Self {
        Self {
            our_process: wit::ProcessId {
                process_name: our_process.process().to_string(),
                package_name: our_process.package().to_string(),
                publisher_node: our_process.publisher().to_string(),
            },
            audio_request: wit::Request {
                inherit: false,
                expects_response: Some(AUDIO_ANSWER_S),
                body: br#"{"PeerAudio":null}"#.to_vec(),
                metadata: None,
                capabilities: Vec::new(),
            },
            scratch: wit::LazyLoadBlob { mime: None, bytes: Vec::with_capacity(16 * 1024) },
        }
    }

    pub fn send_audio(&mut self, node: &str, batch: &[u8]) {
        let target = wit::Address { node: node.to_string(), process: self.our_process.clone() };
        self.scratch.bytes.clear();
        self.scratch.bytes.extend_from_slice(batch);
        wit::send_request(&target, &self.audio_request, None, Some(&self.scratch));
    }

    /// Sends a control envelope; `on_unreachable` runs if the peer does not acknowledge it.
    pub fn send_control(&self, node: String, envelope: &PeerEnvelope, on_unreachable: impl FnOnce(&str) + 'static) {
        let body = format!(r#"{{"PeerMessage":{}}}"#, String::from_utf8_lossy(&envelope.to_bytes()));
        let target = Address::new(
            node.as_str(),
            hyperware_process_lib::ProcessId::new(
                Some(&self.our_process.process_name),
                &self.our_process.package_name,
                &self.our_process.publisher_node,
            ),
        );
        let body = body.into_bytes();
        spawn(async move {
            // The same envelope (same seq) is sent again: the peer takes a seq once, so a copy
            // whose first answer was lost is refused as a duplicate, which is an answer too.
            for attempt in 0..=CONTROL_RETRIES {
                if attempt > 0 {
                    let _ = sleep(RETRY_BASE_MS << (attempt - 1)).await;
                }
                let request = Request::to(target.clone()).body(body.clone()).expects_response(CONTROL_TIMEOUT_S);
                match send::<Result<(), String>>(request).await {
                    Err(AppSendError::SendError(_)) => continue,
                    // Ok(Err(refusal)) is an answer: the peer is alive and said no. An answer
                    // we cannot read still proves the peer is there.
                    Ok(_) | Err(AppSendError::BuildError(_)) => return,
                }
            }
            on_unreachable(&node);
        });
    }
}
