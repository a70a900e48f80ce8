//! Cost of the audio hot path: N=50 participants, S=5 speakers (K=3 loudest forwarded).
//! Prints ns per delivered frame and heap allocations per frame, then runs criterion.

use criterion::{criterion_group, Criterion, Throughput};
use std::alloc::{GlobalAlloc, Layout, System};
use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;
use voice_chat_engine::audio::{encode_frame, FrameHeader, FLAG_VOICE};
use voice_chat_engine::protocol::ClientMsg;
use voice_chat_engine::{Config, ConnKind, Engine, Input, OutBuf, Output, SeededEntropy, ServerMsg, Settings};

/// Counts every allocation and reallocation made by the process.
struct Counting;

static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        System.alloc(layout)
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout)
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        System.realloc(ptr, layout, new_size)
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

const N: u32 = 50;
const S: u32 = 5;

struct Scenario {
    engine: Engine,
    buf: OutBuf,
    /// (conn, frame bytes) per speaker.
    speakers: Vec<(u32, Vec<u8>)>,
    now: u64,
    /// Peer nodes that hold `remote` of the N participants.
    peers: Vec<String>,
}

/// N participants in one room; `remote` of them sit behind 2 peer nodes.
fn scenario(remote: u32) -> Scenario {
    // Listeners in a bench neither ping nor ack: keep them from being swept as ghosts or
    // held back by flow control (both are off the per-frame path being measured).
    let cfg = Config { flow_window_frames: u32::MAX, presence_timeout_ms: u64::MAX, ..Config::default() };
    let mut engine = Engine::new(cfg, "host.os", Box::new(SeededEntropy::new(1)));
    let settings = Settings { capacity: 100, guests_allowed: true, guests_may_speak: true, ..Settings::default() };
    let room = engine.create_room(0, settings).unwrap();
    let mut streams = Vec::new();
    let mut buf = OutBuf::new();
    for c in 1..=(N - remote) {
        engine.handle(0, Input::Open { conn: c, kind: ConnKind::Guest }).unwrap();
        let join = ClientMsg::Join { room: room.id.clone(), name: format!("p{c}"), invite: Some(room.invite.clone()), host: None, resume: None };
        let text = voice_chat_engine::protocol::encode_client(&join, None);
        engine.handle(0, Input::Text { conn: c, text: text.as_bytes() }).unwrap();
        while let Some(out) = engine.poll_output(&mut buf) {
            if out == Output::Text {
                if let Ok(ServerMsg::Welcome(w)) = ServerMsg::from_json(std::str::from_utf8(&buf.bytes).unwrap()) {
                    streams.push((c, w.stream));
                }
            }
        }
    }
    let peers = vec!["peer1.os".to_string(), "peer2.os".to_string()];
    for i in 0..remote {
        let node = &peers[(i % 2) as usize];
        let msg = voice_chat_engine::PeerMsg::Join {
            room: room.id.clone(),
            join_ref: i as u64,
            name: format!("r{i}"),
            invite: Some(room.invite.clone()),
            resume: None,
        };
        let env = voice_chat_engine::PeerEnvelope::new(node, i as u64 + 1, msg);
        engine.handle(0, Input::PeerControl { from: node, body: &env.to_bytes() }).unwrap();
    }
    while engine.poll_output(&mut buf).is_some() {}
    let speakers = streams
        .iter()
        .take(S as usize)
        .enumerate()
        .map(|(i, (c, stream))| {
            let h = FrameHeader { flags: FLAG_VOICE, stream_id: *stream, sequence: 0, timestamp: 0, level: 10 + 5 * i as u8, payload_len: 80 };
            let mut f = Vec::new();
            encode_frame(&h, &[0x55; 80], &mut f).unwrap();
            (*c, f)
        })
        .collect();
    Scenario { engine, buf, speakers, now: 0, peers }
}

impl Scenario {
    /// One 20 ms round: every speaker sends a frame and the shell polls what it causes (its
    /// per-recipient push is simulated by touching the recipient list and payload); then
    /// the timers run.
    fn round(&mut self) -> (u64, u64) {
        self.now += 20;
        let mut delivered = 0u64;
        let mut to_peers = 0u64;
        for (conn, frame) in self.speakers.iter_mut() {
            let _ = self.engine.handle(self.now, Input::Binary { conn: *conn, frame });
            while let Some(o) = self.engine.poll_output(&mut self.buf) {
                match o {
                    Output::Binary => delivered += black_box(&self.buf.conns).len() as u64,
                    Output::PeerAudio { .. } => to_peers += black_box(&self.buf.bytes).len().min(1) as u64,
                    other => {
                        black_box(other);
                    }
                }
            }
        }
        let _ = self.engine.handle(self.now, Input::Timeout);
        while let Some(o) = self.engine.poll_output(&mut self.buf) {
            black_box(o);
        }
        (delivered, to_peers)
    }
}

fn report(label: &str, remote: u32) {
    let mut s = scenario(remote);
    for _ in 0..500 {
        s.round();
    }
    let rounds = 20_000u64;
    let allocs_before = ALLOCATIONS.load(Ordering::Relaxed);
    let start = Instant::now();
    let mut delivered = 0;
    let mut to_peers = 0;
    let mut frames_in = 0;
    for _ in 0..rounds {
        let (d, p) = s.round();
        delivered += d;
        to_peers += p;
        frames_in += S as u64;
    }
    let elapsed = start.elapsed().as_nanos() as f64;
    let allocs = ALLOCATIONS.load(Ordering::Relaxed) - allocs_before;
    let copies = delivered + to_peers;
    println!(
        "{label}: N={N} S={S} K=3, {} peers: {:.1} ns per delivered frame ({} local + {} peer copies per round), {:.3} allocations per incoming frame ({allocs} in {frames_in} frames)",
        s.peers.len().min(remote as usize),
        elapsed / copies as f64,
        delivered / rounds,
        to_peers / rounds,
        allocs as f64 / frames_in as f64,
    );
}

fn bench(c: &mut Criterion) {
    for (label, remote) in [("all-local", 0u32), ("10-remote", 10)] {
        let mut s = scenario(remote);
        for _ in 0..500 {
            s.round();
        }
        let per_round = {
            let (d, p) = s.round();
            d + p
        };
        let mut g = c.benchmark_group("relay_round");
        g.throughput(Throughput::Elements(per_round));
        g.bench_function(label, |b| b.iter(|| s.round()));
        g.finish();
    }
}

criterion_group!(benches, bench);

fn main() {
    report("all-local", 0);
    report("10-remote", 10);
    benches();
    Criterion::default().configure_from_args().final_summary();
}
