//! The engine's clock: wall-clock milliseconds, because chat timestamps and room creation
//! times are persisted and shown to people across restarts.
pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}
