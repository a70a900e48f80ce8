//! Who is calling over HTTP: the binding the request came on and the client's address.
//!
//! The macro routes a call by the name in its body, whatever bound path the request came on,
//! so every handler of the owner's API checks [`owner_only`]: on the unauthenticated
//! `/guest-api` binding only the four polling calls answer.
use crate::api_types::ApiError;
use hyperware_process_lib::hyperapp::{get_http_request, get_request_header, set_response_status};
use hyperware_process_lib::http::StatusCode;
use voice_chat_engine::ConnKind;

/// The unauthenticated binding of the polling calls.
pub const GUEST_API_PATH: &str = "/guest-api";

/// Owner for a request that came on one of the authenticated `/api` bindings (`/api`,
/// `/api/<...>`: the runtime checked the owner's cookie there), Guest for any other.
pub fn kind() -> ConnKind {
    let bound = get_http_request().map(|r| r.bound_path(None).trim_end_matches('/').to_string()).unwrap_or_default();
    if bound.ends_with("/api") || bound.contains("/api/") {
        ConnKind::Owner
    } else {
        ConnKind::Guest
    }
}

/// Refuses, with 403 `forbidden`, a call of the owner's API that did not come on `/api`.
pub fn owner_only() -> Result<(), ApiError> {
    match kind() {
        ConnKind::Owner => Ok(()),
        ConnKind::Guest => {
            crate::json_content();
            set_response_status(StatusCode::FORBIDDEN);
            Err(ApiError { code: "forbidden".into(), message: format!("{GUEST_API_PATH} takes only PollJoin, PollSend, Poll and PollLeave") })
        }
    }
}

/// The client's address as for a guest socket (the runtime's `forwarded_for`: the first
/// `X-Forwarded-For` entry, else `X-Real-IP`, else `Cf-Connecting-Ip`; else the request's
/// source address). The client may set these headers itself; docs/security.md says what the
/// per-address cap is worth.
pub fn client_addr() -> Option<String> {
    let first_forwarded = get_request_header("x-forwarded-for").and_then(|v| v.split(',').next().map(|s| s.trim().to_string()));
    let proxied = [first_forwarded, get_request_header("x-real-ip"), get_request_header("cf-connecting-ip")]
        .into_iter()
        .flatten()
        .map(|v| v.trim().to_string())
        .find(|v| !v.is_empty());
    proxied.or_else(|| get_http_request().and_then(|r| r.source_socket_addr().ok()).map(|a| a.to_string()))
}
