//! A control message the shell retried after a lost answer is applied once, even when a later
//! message got through first.

use voice_chat_engine::{Config, Engine, Input, PeerEnvelope, PeerMsg, PeerRefusal, Refusal, SeededEntropy};

fn take(engine: &mut Engine, now: u64, from: &str, body: &[u8]) -> Result<(), PeerRefusal> {
    engine.handle(now, Input::PeerControl { from, body }).map_err(|r| match r {
        Refusal::Peer(p) => p,
        other => panic!("{other:?}"),
    })
}

fn heartbeat(seq: u64) -> Vec<u8> {
    PeerEnvelope::new("session-of-b", seq, PeerMsg::Heartbeat { rooms: Vec::new() }).to_bytes()
}

#[test]
fn retried_envelopes_are_taken_once_in_any_order() {
    let mut a = Engine::new(Config::default(), "a.os", Box::new(SeededEntropy::new(7)));
    let first_time = |r: &Result<(), PeerRefusal>| !matches!(r, Err(PeerRefusal::Duplicate));
    assert!(first_time(&take(&mut a, 0, "b.os", &heartbeat(1))));
    assert!(first_time(&take(&mut a, 1, "b.os", &heartbeat(3))));
    // seq 2 timed out at the sender and was sent again; it arrives after 3.
    assert!(first_time(&take(&mut a, 2, "b.os", &heartbeat(2))));
    assert!(matches!(take(&mut a, 3, "b.os", &heartbeat(2)), Err(PeerRefusal::Duplicate)));
    assert!(matches!(take(&mut a, 4, "b.os", &heartbeat(3)), Err(PeerRefusal::Duplicate)));
    // Another node's numbering is its own.
    assert!(first_time(&take(&mut a, 5, "c.os", &heartbeat(2))));
}
