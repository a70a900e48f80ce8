//! End-to-end tests of the real voice-chat package on devnode; nothing lives here. The tests
//! in `tests/` install `target/voice-chat:template.zip` (build it first with
//! `cargo xtask build`, or `cargo xtask build --skip-ui` when `pkg/ui` exists) on devnode
//! clusters and drive it with real WebSocket and HTTP clients (`tests/common`):
//!
//! ```text
//! cargo test -p voice-chat-app-tests
//! ```
//!
//! The presence test waits out the app's real 60 s presence timeout, so the whole run takes
//! about two to three minutes.
