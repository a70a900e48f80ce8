//! Sans-IO room engine of voice-chat (see docs/protocol.md).
