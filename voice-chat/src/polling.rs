//! The HTTP long-polling transport's handlers (docs/http-api.md, "Polling transport (any
//! participant)"). Every rule is in the engine (`voice_chat_engine::poll_sessions`); here a
//! `Poll` with nothing to answer is held by sleeping on the runtime's timer and asking the
//! engine again, until it has something or `poll_hold_ms` passed.
//!
//! Holding across `sleep(..).await` answers the right request with the right status and
//! headers: the runtime puts back the prompting message (the HTTP request) when the timer's
//! answer arrives, and the process library's response future puts back the HTTP context it
//! captured at the `await` (status, headers; hyperapp.rs `ResponseFuture`). Two held polls
//! answered each with its own messages and `Content-Type` are checked on devnode
//! (`crates/app-tests/tests/http_poll.rs`).
use crate::api_types::ApiError;
use crate::clock::now_ms;
use crate::{answer, caller, shell};
use hyperware_process_lib::hyperapp::sleep;
use serde_json::{json, Value};
use voice_chat_engine::{EngineError, PollAnswer, PollStep};

/// `PollJoin`: `{"session", "cursor", "messages"}`.
pub fn join(message: Value) -> Result<Value, ApiError> {
    let kind = caller::kind();
    let addr = caller::client_addr();
    let text = message.to_string();
    let started = answer(shell::with(|s| s.engine.poll_join(now_ms(), kind, addr.as_deref(), text.as_bytes())))?;
    Ok(json!({"session": started.session, "cursor": started.cursor, "messages": to_values(&started.messages)}))
}

/// `PollSend`: `null` when taken.
pub fn send(session: &str, message: Value) -> Result<(), ApiError> {
    let text = message.to_string();
    answer(shell::with(|s| s.engine.poll_send(now_ms(), session, text.as_bytes())))
}

/// `PollLeave`: `null`.
pub fn leave(session: &str) -> Result<(), ApiError> {
    answer(shell::with(|s| s.engine.poll_leave(now_ms(), session)))
}

/// `Poll`: `{"cursor", "messages", "lost"}`, at once or after holding.
pub async fn poll(session: String, cursor: u64) -> Result<Value, ApiError> {
    let started = now_ms();
    let (hold_ms, check_ms) = shell::with(|s| (s.engine.config().poll_hold_ms, s.engine.config().poll_check_ms));
    let mut step = shell::with(|s| s.engine.poll(now_ms(), &session, cursor));
    loop {
        match step {
            Ok(PollStep::Wait { ticket }) => {
                let _ = sleep(check_ms).await;
                let give_up = now_ms().saturating_sub(started) >= hold_ms;
                step = shell::with(|s| s.engine.poll_again(now_ms(), &session, ticket, give_up));
            }
            Ok(PollStep::Answer(got)) => return answer(Ok::<_, EngineError>(answer_json(got))),
            Err(err) => return answer(Err(err)),
        }
    }
}

fn answer_json(got: PollAnswer) -> Value {
    json!({"cursor": got.cursor, "messages": to_values(&got.messages), "lost": got.lost})
}

/// The engine's messages are JSON it wrote itself.
fn to_values(messages: &[String]) -> Vec<Value> {
    messages.iter().map(|m| serde_json::from_str(m).unwrap_or(Value::Null)).collect()
}
