//! What processes ask of http-server (upstream `HttpServerAction`) and its `{"Ok":null}` /
//! `{"Err":...}` replies: binds, unbinds, WebSocket pushes and closes.
use super::routes::{BoundPath, BoundWsPath};
use super::websocket::WsMessageType;
use super::{HttpResponse, HttpServer, HttpServerError};
use crate::types::*;
use serde::Deserialize;
use std::sync::Arc;
use tokio::sync::mpsc;

/// Upstream's `HttpServerAction`; variants devnode only refuses keep their fields for the wire format.
#[allow(dead_code)]
#[derive(Deserialize)]
enum HttpServerAction {
    Bind { path: String, authenticated: bool, local_only: bool, cache: bool },
    SecureBind { path: String, cache: bool },
    Unbind { path: String },
    WebSocketBind { path: String, authenticated: bool, extension: bool },
    WebSocketSecureBind { path: String, extension: bool },
    WebSocketUnbind { path: String },
    WebSocketOpen { path: String, channel_id: u32 },
    WebSocketPush { channel_id: u32, message_type: WsMessageType },
    WebSocketExtPushOutgoing { channel_id: u32, message_type: WsMessageType, desired_reply_type: serde_json::Value },
    WebSocketExtPushData { id: u64, hyperware_message_type: serde_json::Value, blob: Vec<u8> },
    WebSocketClose(u32),
}


impl HttpServer {
    /// The server's single loop: each message from a process is handled to the end, including
    /// awaiting room in a WebSocket's outgoing queue, before the next one.
    pub async fn run_loop(self: Arc<Self>, mut rx: mpsc::Receiver<InboxItem>) {
        while let Some(item) = rx.recv().await {
            if let Ok(km) = item {
                self.handle_app_message(km).await;
            }
        }
    }

    pub(super) async fn action_response(&self, id: u64, target: Address, result: Result<(), HttpServerError>) {
        self.kernel
            .send(KernelMessage {
                id,
                source: self.kernel.address(http_server_id()),
                target,
                rsvp: None,
                message: Message::Response(Response::new(serde_json::to_vec(&result).expect("json")), None),
                blob: None,
            })
            .await;
    }

    pub(super) async fn handle_app_message(&self, km: KernelMessage) {
        let expects_response = match &km.message {
            Message::Response(resp, _) => {
                let Some((_path, sender)) = self.responders.lock().unwrap().remove(&km.id) else { return };
                // An unparsable reply drops the sender, which the waiting handler turns into 500.
                if let Ok(parsed) = serde_json::from_slice::<HttpResponse>(&resp.body) {
                    let _ = sender.send((parsed, km.blob.map(|b| b.bytes).unwrap_or_default()));
                }
                return;
            }
            Message::Request(req) => req.expects_response,
        };
        let Ok(action) = serde_json::from_slice::<HttpServerAction>(km.message.body()) else {
            self.kernel.log.print(1, "http-server", format!("http-server: got malformed request from {}", km.source));
            self.action_response(km.id, km.source, Err(HttpServerError::MalformedRequest)).await;
            return;
        };
        let source = km.source.process.clone();
        match action {
            HttpServerAction::Bind { path, authenticated, local_only, cache } => {
                if let Err(e) = self.bind(&km, &source, &path, authenticated, local_only, cache).await {
                    self.action_response(km.id, km.source, Err(e)).await;
                    return;
                }
            }
            // Secure subdomains need a DNS name per app; on 127.0.0.1 devnode binds the path
            // authenticated, which is what a same-origin UI sees (docs/devnode.md).
            HttpServerAction::SecureBind { path, cache } => {
                if let Err(e) = self.bind(&km, &source, &path, true, false, cache).await {
                    self.action_response(km.id, km.source, Err(e)).await;
                    return;
                }
            }
            HttpServerAction::Unbind { path } => {
                let path = Self::format_path(&source, &path);
                self.bindings.write().await.add(
                    &path.clone(),
                    BoundPath { app: None, path, authenticated: false, local_only: false, static_content: None },
                );
            }
            HttpServerAction::WebSocketBind { path, authenticated, extension } => {
                if source.check_hypermap_safe().is_err() {
                    self.action_response(km.id, km.source, Err(HttpServerError::InvalidSourceProcess)).await;
                    return;
                }
                let path = Self::format_path(&source, &path);
                self.ws_bindings.write().await.add(&path, BoundWsPath { app: Some(source.clone()), authenticated, extension });
            }
            HttpServerAction::WebSocketSecureBind { path, extension } => {
                if source.check_hypermap_safe().is_err() {
                    self.action_response(km.id, km.source, Err(HttpServerError::InvalidSourceProcess)).await;
                    return;
                }
                let path = Self::format_path(&source, &path);
                self.ws_bindings.write().await.add(&path, BoundWsPath { app: Some(source.clone()), authenticated: true, extension });
            }
            HttpServerAction::WebSocketUnbind { path } => {
                let path = Self::format_path(&source, &path);
                self.ws_bindings.write().await.add(&path, BoundWsPath { app: None, authenticated: false, extension: false });
            }
            HttpServerAction::WebSocketOpen { .. } | HttpServerAction::WebSocketExtPushData { .. } => {
                self.action_response(km.id, km.source, Err(HttpServerError::MalformedRequest)).await;
                return;
            }
            HttpServerAction::WebSocketPush { channel_id, message_type } => {
                if let Err(e) = self.send_push(&source, km.blob.clone(), channel_id, message_type).await {
                    self.action_response(km.id, km.source, Err(e)).await;
                    return;
                }
            }
            HttpServerAction::WebSocketExtPushOutgoing { .. } => {
                // Extension sockets are refused at the upgrade in devnode, so there is no channel.
                self.action_response(km.id, km.source, Err(HttpServerError::WsChannelNotFound)).await;
                return;
            }
            HttpServerAction::WebSocketClose(channel_id) => {
                if let Err(e) = self.close_channel(&source, channel_id).await {
                    self.action_response(km.id, km.source, Err(e)).await;
                    return;
                }
            }
        }
        if km.rsvp.is_some() || expects_response.is_some() {
            let target = km.rsvp.clone().unwrap_or(km.source);
            self.action_response(km.id, target, Ok(())).await;
        }
    }
}
