//! WebSockets: the upgrade checks (cap of 128, owner cookie on authenticated bindings), one
//! task per connection that forwards every frame to the app in order, and pushes from the app
//! through a bounded outgoing queue that the server's single loop awaits.
use super::client_addr::{behind_proxy, forwarded_for};
use super::{HttpServer, HttpServerError, MAX_WEBSOCKETS, WS_OUTGOING_QUEUE};
use crate::types::*;
use axum::extract::ws::{Message as WsMessage, WebSocket};
use axum::http::HeaderMap;
use futures_util::{SinkExt, StreamExt};
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::sync::mpsc;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum WsMessageType {
    Text,
    Binary,
    Ping,
    Pong,
    Close,
}

impl HttpServer {
    pub fn open_websockets(&self) -> usize {
        self.ws_senders.lock().unwrap().len()
    }

    pub(super) async fn send_push(&self, source: &ProcessId, blob: Option<Blob>, channel_id: u32, ty: WsMessageType) -> Result<(), HttpServerError> {
        let Some(blob) = blob else { return Err(HttpServerError::NoBlob) };
        let msg = match ty {
            WsMessageType::Text => WsMessage::Text(String::from_utf8_lossy(&blob.bytes).into_owned().into()),
            WsMessageType::Binary => WsMessage::Binary(blob.bytes.into()),
            WsMessageType::Ping | WsMessageType::Pong if blob.bytes.len() > 125 => return Err(HttpServerError::WsPingPongTooLong),
            WsMessageType::Ping => WsMessage::Ping(blob.bytes.into()),
            WsMessageType::Pong => WsMessage::Pong(blob.bytes.into()),
            WsMessageType::Close => return self.close_channel(source, channel_id).await,
        };
        let sender = {
            let senders = self.ws_senders.lock().unwrap();
            match senders.get(&channel_id) {
                Some((owner, _)) if owner != source => return Err(HttpServerError::WsChannelNotFound),
                Some((_, s)) => s.clone(),
                None => return Err(HttpServerError::WsChannelNotFound),
            }
        };
        // Awaited inside the single loop: a client that stops reading stalls the server, as upstream.
        sender.send(msg).await.map_err(|_| HttpServerError::WsChannelNotFound)
    }

    pub(super) async fn close_channel(&self, source: &ProcessId, channel_id: u32) -> Result<(), HttpServerError> {
        let sender = {
            let senders = self.ws_senders.lock().unwrap();
            match senders.get(&channel_id) {
                None => return Ok(()),
                Some((owner, _)) if owner != source => return Err(HttpServerError::WsChannelNotFound),
                Some((_, s)) => s.clone(),
            }
        };
        let _ = sender.send(WsMessage::Close(None)).await;
        self.ws_senders.lock().unwrap().remove(&channel_id);
        Ok(())
    }

    pub(super) async fn ws_route(&self, uri: &axum::http::Uri, headers: &HeaderMap, peer: SocketAddr) -> Option<(ProcessId, String, Option<String>)> {
        if self.ws_senders.lock().unwrap().len() >= MAX_WEBSOCKETS {
            self.kernel.log.print(0, "http-server", "http-server: too many open websockets! rejecting incoming");
            return None;
        }
        let original = uri.path().strip_suffix('/').unwrap_or(uri.path());
        let bindings = self.ws_bindings.read().await;
        let m = bindings.recognize(original).ok()?;
        let bound = m.handler();
        let app = bound.app.clone()?;
        if bound.authenticated {
            let cookie = headers.get("cookie").and_then(|c| c.to_str().ok())?;
            if !self.auth_valid(cookie) {
                return None;
            }
        }
        if bound.extension && (!peer.ip().is_loopback() || behind_proxy(headers) || !self.expose_local) {
            return None;
        }
        if bound.extension {
            // The msgpack extension protocol is not implemented; refuse rather than misbehave.
            return None;
        }
        let formatted = format!(
            "/{}",
            original.trim_start_matches('/').strip_prefix(&app.to_string()).unwrap_or("").trim_start_matches('/')
        );
        Some((app, formatted, forwarded_for(headers)))
    }

    pub(super) async fn maintain_websocket(self: Arc<Self>, socket: WebSocket, app: ProcessId, path: String, peer: SocketAddr, forwarded_for: Option<String>) {
        let (mut write, mut read) = socket.split();
        let (tx, mut rx) = mpsc::channel::<WsMessage>(WS_OUTGOING_QUEUE);
        let mut tx = Some(tx);
        let channel_id = loop {
            let id: u32 = rand::random();
            let mut senders = self.ws_senders.lock().unwrap();
            if let std::collections::hash_map::Entry::Vacant(slot) = senders.entry(id) {
                slot.insert((app.clone(), tx.take().expect("inserted once")));
                break id;
            }
        };
        let open = serde_json::json!({"WebSocketOpen": {"path": path, "channel_id": channel_id, "source_socket_addr": peer.to_string(), "forwarded_for": forwarded_for}});
        self.send_to_app(&app, serde_json::to_vec(&open).expect("json"), None).await;
        let down = self.shutdown_signal();
        tokio::pin!(down);
        loop {
            tokio::select! {
                _ = &mut down => break,
                read = read.next() => match read {
                    Some(Ok(msg)) => {
                        let (ty, bytes): (WsMessageType, Vec<u8>) = match msg {
                            WsMessage::Text(t) => (WsMessageType::Text, t.as_str().as_bytes().to_vec()),
                            WsMessage::Binary(b) => (WsMessageType::Binary, b.to_vec()),
                            WsMessage::Ping(b) => (WsMessageType::Ping, b.to_vec()),
                            WsMessage::Pong(b) => (WsMessageType::Pong, b.to_vec()),
                            WsMessage::Close(f) => (WsMessageType::Close, f.map(|f| f.reason.as_str().as_bytes().to_vec()).unwrap_or_default()),
                        };
                        let body = serde_json::json!({"WebSocketPush": {"channel_id": channel_id, "message_type": ty}});
                        self.send_to_app(&app, serde_json::to_vec(&body).expect("json"), Some(Blob { mime: None, bytes })).await;
                    }
                    _ => break,
                },
                Some(out) = rx.recv() => {
                    if write.send(out).await.is_err() {
                        break;
                    }
                }
            }
        }
        self.ws_senders.lock().unwrap().remove(&channel_id);
        let close = serde_json::json!({ "WebSocketClose": channel_id });
        self.send_to_app(&app, serde_json::to_vec(&close).expect("json"), None).await;
        if let Ok(mut socket) = write.reunite(read) {
            let _ = socket.close().await;
        }
    }
}
