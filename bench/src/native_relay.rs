//! The floor of what a relay costs: tokio + tungstenite, every valid audio frame copied once
//! (to write the sender's stream id, as voice-chat does) and handed to every other client of
//! the room. No JSON, no roles, no loudest-K choice, no flow control: a client that lags
//! loses frames once its 100-frame queue (the runtime's socket queue size) is full.
use anyhow::Result;
use futures_util::{SinkExt, StreamExt};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU16, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::handshake::server::{Request, Response};
use tokio_tungstenite::tungstenite::Message;
use voice_chat_engine::audio::{decode_frame, set_stream_id, KIND_AUDIO};

const QUEUE: usize = 100;

type Members = Mutex<Vec<(u64, mpsc::Sender<Message>)>>;

#[derive(Default)]
struct Relay {
    rooms: Mutex<HashMap<String, Arc<Members>>>,
    next_id: AtomicU64,
    next_stream: AtomicU16,
    dropped: AtomicU64,
}

pub async fn serve(port: u16) -> Result<()> {
    let listener = TcpListener::bind(("127.0.0.1", port)).await?;
    let port = listener.local_addr()?.port();
    println!("NATIVE_READY {}", serde_json::json!({ "port": port, "pid": std::process::id() }));
    let relay = Arc::new(Relay::default());
    let stats = relay.clone();
    tokio::spawn(async move {
        // The driver closes our stdin to stop us; say what was lost before going.
        let mut sink = Vec::new();
        let _ = tokio::io::AsyncReadExt::read_to_end(&mut tokio::io::stdin(), &mut sink).await;
        println!("NATIVE_DROPPED {}", stats.dropped.load(Ordering::Relaxed));
        std::process::exit(0);
    });
    loop {
        let (tcp, _) = listener.accept().await?;
        let relay = relay.clone();
        tokio::spawn(async move {
            let _ = connection(relay, tcp).await;
        });
    }
}

// The handshake callback's error type (an HTTP response) is tungstenite's, not ours.
#[allow(clippy::result_large_err)]
async fn connection(relay: Arc<Relay>, tcp: TcpStream) -> Result<()> {
    tcp.set_nodelay(true)?;
    let mut path = String::new();
    let ws = tokio_tungstenite::accept_hdr_async(tcp, |req: &Request, resp: Response| {
        path = req.uri().path().to_string();
        Ok(resp)
    })
    .await?;
    let (mut sink, mut stream) = ws.split();
    let id = relay.next_id.fetch_add(1, Ordering::Relaxed);
    let stream_id = relay.next_stream.fetch_add(1, Ordering::Relaxed).wrapping_add(1);
    let (tx, mut rx) = mpsc::channel::<Message>(QUEUE);
    let members = relay.rooms.lock().unwrap().entry(path).or_default().clone();
    members.lock().unwrap().push((id, tx));
    let writer = tokio::spawn(async move {
        // Feed everything already queued, then flush once: one syscall for a burst.
        while let Some(msg) = rx.recv().await {
            if sink.feed(msg).await.is_err() {
                return;
            }
            while let Ok(msg) = rx.try_recv() {
                if sink.feed(msg).await.is_err() {
                    return;
                }
            }
            if sink.flush().await.is_err() {
                return;
            }
        }
    });
    while let Some(msg) = stream.next().await {
        let Message::Binary(bytes) = msg? else { continue };
        if bytes.first() != Some(&KIND_AUDIO) || decode_frame(&bytes).is_err() {
            continue;
        }
        let mut frame = bytes.to_vec();
        set_stream_id(&mut frame, stream_id);
        let frame = tokio_tungstenite::tungstenite::Bytes::from(frame);
        let others = members.lock().unwrap();
        for (other, tx) in others.iter() {
            if *other != id && tx.try_send(Message::Binary(frame.clone())).is_err() {
                relay.dropped.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
    members.lock().unwrap().retain(|(other, _)| *other != id);
    writer.abort();
    Ok(())
}
