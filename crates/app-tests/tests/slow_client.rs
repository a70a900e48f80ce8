//! One WebSocket client that stops reading must not hold up audio for the others or the
//! node's HTTP server (runtime.md, "Queues and backpressure"): the app stops pushing audio to
//! a client that does not acknowledge, and still delivers control messages to it.
mod common;
use common::*;
use serde_json::json;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

const FRAMES: usize = 200; // 4 s of 20 ms frames
const WINDOW: usize = 24; // docs/protocol.md, flow_window_frames

#[tokio::test]
async fn a_stalled_client_does_not_delay_audio_or_http_for_the_others() {
    let cluster = boot(&["alice.os", "bob.os"], &[]).await;
    let (alice, bob) = (cluster.node("alice.os"), cluster.node("bob.os"));
    let api = Api::new(alice);
    let bob_api = Api::new(bob);
    let (room, invite) = api.create_room("Busy", true).await;
    let mut speaker = Client::owner(alice, "S").await;
    speaker.join(&room, "Speaker", None, None).await;
    let mut l1 = Client::guest(alice, "L1").await;
    l1.join(&room, "Listener one", Some(&invite), None).await;
    let mut l2 = Client::guest(alice, "L2").await;
    l2.join(&room, "Listener two", Some(&invite), None).await;
    let mut slow = Client::guest(alice, "SLOW").await;
    slow.join(&room, "Frozen tab", Some(&invite), None).await;
    // The same on bob: one of its users listens, the other freezes; bob's fan-out of
    // alice's audio must respect the same window.
    let mut bl = Client::owner(bob, "BL").await;
    bl.join(&room, "Bob listening", Some(&invite), Some("alice.os")).await;
    let mut bslow = Client::owner(bob, "BSLOW").await;
    bslow.join(&room, "Bob frozen", Some(&invite), Some("alice.os")).await;
    speaker.event("joined", |e| e["participant"]["name"] == "Bob frozen").await;
    bl.event("joined", |e| e["participant"]["name"] == "Bob frozen").await;
    let skips_before = api.metrics().await["flow_control_skips"].as_u64().unwrap();
    let bob_skips_before = bob_api.metrics().await["flow_control_skips"].as_u64().unwrap();

    slow.stop_reading();
    bslow.stop_reading();
    // HTTP keeps answering while the speaker talks: probe /api/info throughout.
    let talking = Arc::new(AtomicBool::new(true));
    let probe = {
        let (api, talking) = (api.clone(), talking.clone());
        tokio::spawn(async move {
            let mut answered = 0;
            while talking.load(Ordering::SeqCst) {
                let r = tokio::time::timeout(
                    Duration::from_secs(5),
                    api.http.get(format!("{}/api/info", api.base)).header("cookie", &api.cookie).send(),
                )
                .await;
                let r = r.expect("GET /api/info answers within 5 s while a client is stalled").expect("GET /api/info");
                assert_eq!(r.status(), 200);
                answered += 1;
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            answered
        })
    };
    for _ in 0..FRAMES {
        speaker.send_frame();
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // A control message while the client is stalled: it must get it once it reads again.
    speaker.send_msg("chat", json!({"text": "did you hear that?"}));
    for l in [&l1, &l2, &bl] {
        l.event("chat", |e| e["message"]["text"] == "did you hear that?").await;
    }
    talking.store(false, Ordering::SeqCst);
    let answered = probe.await.expect("the HTTP probe task");
    assert!(answered >= 5, "HTTP answered throughout the stall ({answered} probes)");

    for l in [&l1, &l2, &bl] {
        let deadline = tokio::time::Instant::now() + WAIT;
        while frames_from(l, "S").len() < FRAMES && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let got = frames_from(l, "S").len();
        assert!(got >= FRAMES * 95 / 100, "{} received {got} of {FRAMES} frames while another client was stalled", l.label);
    }
    let skips = api.metrics().await["flow_control_skips"].as_u64().unwrap() - skips_before;
    assert!(
        skips >= (FRAMES - WINDOW - 8) as u64,
        "the server skipped audio for the stalled client instead of queueing it: {skips} skips"
    );

    let bob_skips = bob_api.metrics().await["flow_control_skips"].as_u64().unwrap() - bob_skips_before;
    assert!(bob_skips >= (FRAMES - WINDOW - 8) as u64, "bob skipped audio for its stalled user: {bob_skips} skips");
    bslow.resume_reading();
    bslow.event("chat", |e| e["message"]["text"] == "did you hear that?").await;
    let bob_stalled_got = frames_from(&bslow, "S").len();
    assert!(bob_stalled_got <= WINDOW + 8, "at most about one window went to bob's stalled user: {bob_stalled_got}");

    // Reading again: what was pushed before the window closed, then the chat, then audio again.
    slow.resume_reading();
    slow.event("chat", |e| e["message"]["text"] == "did you hear that?").await;
    let during_stall = frames_from(&slow, "S").len();
    assert!(during_stall <= WINDOW + 8, "at most about one window of audio went to the stalled client: {during_stall}");
    for _ in 0..20 {
        speaker.send_frame();
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    slow.wait_until("audio again after catching up", WAIT, |_, f, _| {
        f.iter().filter(|f| f.payload.starts_with(b"S#")).count() >= during_stall + 15
    })
    .await;
    let seqs: Vec<u32> = frames_from(&slow, "S").iter().map(|f| f.header.sequence).collect();
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "audio skipped, never reordered: {seqs:?}");

    cluster.shutdown().await;
}
