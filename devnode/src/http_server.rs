//! `http-server:distro:sys`: one axum listener on 127.0.0.1 per node, path bindings with
//! route-recognizer, owner authentication, and WebSockets with a bounded outgoing queue that
//! the server's single loop awaits on. Follows upstream `hyperdrive/src/http/server.rs`.
use crate::kernel::Kernel;
use crate::types::*;
use axum::body::Body;
use axum::extract::ws::{Message as WsMessage, WebSocket, WebSocketUpgrade};
use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response as HttpResp};
use futures_util::{SinkExt, StreamExt};
use route_recognizer::Router;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use tokio::sync::{mpsc, oneshot, RwLock};

/// Upstream `HTTP_SELF_IMPOSED_TIMEOUT` on a real (non-simulation) node.
pub const DEFAULT_TIMEOUT_SECS: u64 = 15;
/// Upstream `WS_SELF_IMPOSED_MAX_CONNECTIONS`, for all apps of a node together.
pub const MAX_WEBSOCKETS: usize = 128;
/// Each connection's outgoing queue (upstream `mpsc::channel(100)` in `maintain_websocket`).
pub const WS_OUTGOING_QUEUE: usize = 100;
/// Upstream `HTTP_CHANNEL_CAPACITY`.
pub const HTTP_SERVER_INBOX: usize = 32;

struct BoundPath {
    app: Option<ProcessId>,
    path: String,
    authenticated: bool,
    local_only: bool,
    static_content: Option<Blob>,
}

struct BoundWsPath {
    app: Option<ProcessId>,
    authenticated: bool,
    extension: bool,
}

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

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum WsMessageType {
    Text,
    Binary,
    Ping,
    Pong,
    Close,
}

#[derive(Serialize, Deserialize, Debug, Clone)]
pub struct HttpResponse {
    pub status: u16,
    pub headers: HashMap<String, String>,
}

#[derive(Serialize)]
enum HttpServerError {
    MalformedRequest,
    NoBlob,
    InvalidSourceProcess,
    WsPingPongTooLong,
    WsChannelNotFound,
}

#[derive(Serialize)]
struct JwtClaims {
    username: String,
    subdomain: Option<String>,
    expiration: u64,
}

#[derive(Deserialize)]
struct CheckedClaims {
    username: String,
    subdomain: Option<String>,
    expiration: u64,
}

#[derive(Deserialize)]
struct LoginInfo {
    password_hash: String,
    #[serde(default)]
    subdomain: Option<String>,
}

/// Where the handler of one HTTP request waits for the app's answer.
type Responder = oneshot::Sender<(HttpResponse, Vec<u8>)>;

pub struct HttpServer {
    kernel: Arc<Kernel>,
    our: String,
    password: String,
    jwt_secret: Vec<u8>,
    expose_local: bool,
    default_timeout: u64,
    bindings: RwLock<Router<BoundPath>>,
    ws_bindings: RwLock<Router<BoundWsPath>>,
    responders: Mutex<HashMap<u64, (String, Responder)>>,
    ws_senders: Mutex<HashMap<u32, (ProcessId, mpsc::Sender<WsMessage>)>>,
    shutdown: tokio::sync::watch::Sender<bool>,
}

pub struct HttpServerOptions {
    pub password: String,
    /// The node's JWT secret; stable across reboots (upstream keeps it in the keyfile), so a
    /// login survives a node restart.
    pub jwt_secret: Vec<u8>,
    pub expose_local: bool,
    pub default_timeout_secs: u64,
}

impl HttpServer {
    pub fn new(kernel: Arc<Kernel>, opts: HttpServerOptions) -> Arc<HttpServer> {
        let our = kernel.our.clone();
        let mut bindings = Router::new();
        // The homepage's static /our.js, served as the real homepage binds it.
        bindings.add(
            "/our.js",
            BoundPath {
                app: Some(homepage_id()),
                path: "/our.js".into(),
                authenticated: false,
                local_only: false,
                static_content: Some(Blob {
                    mime: Some("application/javascript".into()),
                    bytes: format!("window.our = {{}}; window.our.node = '{our}';").into_bytes(),
                }),
            },
        );
        Arc::new(HttpServer {
            kernel,
            our,
            password: opts.password,
            jwt_secret: opts.jwt_secret,
            shutdown: tokio::sync::watch::channel(false).0,
            expose_local: opts.expose_local,
            default_timeout: opts.default_timeout_secs,
            bindings: RwLock::new(bindings),
            ws_bindings: RwLock::new(Router::new()),
            responders: Mutex::new(HashMap::new()),
            ws_senders: Mutex::new(HashMap::new()),
        })
    }

    /// A valid owner cookie value (`hyperware-auth_<node>=<jwt>`), as `POST /login` sets it.
    pub fn owner_cookie(&self) -> String {
        format!("hyperware-auth_{}={}", self.our, self.make_jwt(None))
    }

    /// Stops serving, as a node going down does: the listener stops (see `Node`), open
    /// WebSockets end, and requests waiting for the app fail.
    pub fn begin_shutdown(&self) {
        self.shutdown.send_replace(true);
        self.responders.lock().unwrap().clear();
        self.ws_senders.lock().unwrap().clear();
    }

    /// Resolves once `begin_shutdown` was called.
    pub fn shutdown_signal(&self) -> impl std::future::Future<Output = ()> + Send + 'static {
        let mut rx = self.shutdown.subscribe();
        async move {
            let _ = rx.wait_for(|down| *down).await;
        }
    }

    /// Whether `path` (the full path, with the process prefix) is bound exactly, for HTTP or
    /// (with `websocket`) for WebSockets.
    pub async fn is_bound(&self, path: &str, websocket: bool) -> bool {
        let path = path.strip_suffix('/').unwrap_or(path);
        if websocket {
            let b = self.ws_bindings.read().await;
            b.recognize(path).is_ok_and(|m| m.handler().app.is_some() && m.params().iter().next().is_none())
        } else {
            let b = self.bindings.read().await;
            b.recognize(path).is_ok_and(|m| m.handler().app.is_some() && m.handler().path == path)
        }
    }

    pub fn open_websockets(&self) -> usize {
        self.ws_senders.lock().unwrap().len()
    }

    fn make_jwt(&self, subdomain: Option<String>) -> String {
        let claims = JwtClaims {
            username: self.our.clone(),
            subdomain,
            expiration: (std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs()) + 60 * 60 * 24 * 30,
        };
        jsonwebtoken::encode(&jsonwebtoken::Header::default(), &claims, &jsonwebtoken::EncodingKey::from_secret(&self.jwt_secret))
            .expect("HS256 encoding of plain claims")
    }

    /// Upstream `auth_token_valid` for a non-secure binding.
    fn auth_valid(&self, cookie_header: &str) -> bool {
        let label = format!("hyperware-auth_{}", self.our);
        let token = cookie_header.split("; ").find_map(|entry| {
            let parts: Vec<&str> = entry.split('=').collect();
            (parts.len() == 2 && parts[0] == label).then(|| parts[1].to_string())
        });
        let Some(token) = token.filter(|t| !t.is_empty()) else { return false };
        let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::HS256);
        validation.required_spec_claims.clear();
        validation.validate_exp = false;
        let Ok(data) = jsonwebtoken::decode::<CheckedClaims>(&token, &jsonwebtoken::DecodingKey::from_secret(&self.jwt_secret), &validation)
        else {
            return false;
        };
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
        data.claims.username == self.our && data.claims.subdomain.is_none() && data.claims.expiration > now
    }

    async fn action_response(&self, id: u64, target: Address, result: Result<(), HttpServerError>) {
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

    fn format_path(process: &ProcessId, path: &str) -> String {
        let norm = path.strip_suffix('/').unwrap_or(path);
        if *process == homepage_id() {
            norm.to_string()
        } else if path.starts_with('/') {
            format!("/{process}{norm}")
        } else {
            format!("/{process}/{norm}")
        }
    }

    /// The server's single loop: each message from a process is handled to the end, including
    /// awaiting room in a WebSocket's outgoing queue, before the next one.
    pub async fn run_loop(self: Arc<Self>, mut rx: mpsc::Receiver<InboxItem>) {
        while let Some(item) = rx.recv().await {
            if let Ok(km) = item {
                self.handle_app_message(km).await;
            }
        }
    }

    /// Bind and SecureBind: a path of the sending process, static when `cache` (the blob).
    async fn bind(&self, km: &KernelMessage, source: &ProcessId, path: &str, authenticated: bool, local_only: bool, cache: bool) -> Result<(), HttpServerError> {
        source.check_hypermap_safe().map_err(|_| HttpServerError::InvalidSourceProcess)?;
        let static_content = match (cache, &km.blob) {
            (false, _) => None,
            (true, Some(blob)) => Some(blob.clone()),
            (true, None) => return Err(HttpServerError::NoBlob),
        };
        let path = Self::format_path(source, path);
        self.kernel.log.print(3, "http-server", format!("http: binding {path}"));
        self.bindings.write().await.add(
            &path.clone(),
            BoundPath { app: Some(source.clone()), path, authenticated, local_only, static_content },
        );
        Ok(())
    }

    async fn handle_app_message(&self, km: KernelMessage) {
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

    async fn send_push(&self, source: &ProcessId, blob: Option<Blob>, channel_id: u32, ty: WsMessageType) -> Result<(), HttpServerError> {
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

    async fn close_channel(&self, source: &ProcessId, channel_id: u32) -> Result<(), HttpServerError> {
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

    fn login_page(&self) -> String {
        LOGIN_HTML.replace("${node}", &self.our)
    }

    /// Every request of the node's listener comes here (upstream's ws, login and http filters, in that order).
    pub async fn handle(self: Arc<Self>, ConnectInfo(peer): ConnectInfo<SocketAddr>, req: axum::extract::Request) -> HttpResp {
        let (mut parts, body) = req.into_parts();
        let is_upgrade = parts.headers.get("upgrade").and_then(|v| v.to_str().ok()).is_some_and(|v| v.eq_ignore_ascii_case("websocket"));
        if is_upgrade {
            if let Some(ws) = self.ws_route(&parts.uri, &parts.headers, peer).await {
                if let Ok(upgrade) = WebSocketUpgrade::from_request_parts(&mut parts, &()).await {
                    let (app, path) = ws;
                    let server = self.clone();
                    return upgrade.on_upgrade(move |socket| server.maintain_websocket(socket, app, path, peer)).into_response();
                }
            }
            // A refused upgrade falls through to the HTTP handler, as warp's `.or` chain does upstream.
        }
        let path = parts.uri.path().to_string();
        if path == "/login" {
            return match parts.method {
                Method::GET => (StatusCode::OK, axum::response::Html(self.login_page())).into_response(),
                Method::POST => {
                    let bytes = match axum::body::to_bytes(body, 16 * 1024).await {
                        Ok(b) => b,
                        Err(_) => return StatusCode::PAYLOAD_TOO_LARGE.into_response(),
                    };
                    self.login(&parts.headers, &bytes)
                }
                _ => StatusCode::METHOD_NOT_ALLOWED.into_response(),
            };
        }
        let bytes = match axum::body::to_bytes(body, usize::MAX).await {
            Ok(b) => b,
            Err(_) => return StatusCode::BAD_REQUEST.into_response(),
        };
        self.http_request(parts.method, &parts.uri, parts.headers, bytes.to_vec(), peer).await
    }

    fn login(&self, headers: &HeaderMap, body: &[u8]) -> HttpResp {
        let Ok(info) = serde_json::from_slice::<LoginInfo>(body) else {
            return (StatusCode::BAD_REQUEST, axum::Json("Failed to parse login info")).into_response();
        };
        if info.password_hash != self.password {
            return (StatusCode::INTERNAL_SERVER_ERROR, axum::Json("Failed to decode keyfile: wrong password")).into_response();
        }
        let host = headers.get("host").and_then(|h| h.to_str().ok()).unwrap_or("localhost");
        let host_only = host.rsplit_once(':').map(|(h, _)| h).unwrap_or(host);
        let is_localhost = host_only.contains("localhost");
        let subdomain = if is_localhost { info.subdomain.clone().filter(|s| !s.is_empty()) } else { None };
        let token = self.make_jwt(subdomain.clone());
        let cookie = match subdomain {
            None => format!("hyperware-auth_{}={token}; domain=.{host_only};", self.our),
            Some(sub) => {
                let sub: String = sub.chars().filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | ':' | '.')).collect();
                format!("hyperware-auth_{}@{sub}={token};", self.our)
            }
        };
        let mut resp = (StatusCode::OK, axum::Json(base64::Engine::encode(&base64::engine::general_purpose::STANDARD, self.our.as_bytes()))).into_response();
        if let Ok(v) = HeaderValue::from_str(&cookie) {
            resp.headers_mut().append("set-cookie", v);
        }
        resp
    }

    async fn ws_route(&self, uri: &axum::http::Uri, headers: &HeaderMap, peer: SocketAddr) -> Option<(ProcessId, String)> {
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
        Some((app, formatted))
    }

    async fn maintain_websocket(self: Arc<Self>, socket: WebSocket, app: ProcessId, path: String, peer: SocketAddr) {
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
        let open = serde_json::json!({"WebSocketOpen": {"path": path, "channel_id": channel_id, "source_socket_addr": peer.to_string(), "forwarded_for": null}});
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

    async fn send_to_app(&self, app: &ProcessId, body: Vec<u8>, blob: Option<Blob>) {
        self.kernel
            .send(KernelMessage {
                id: rand::random(),
                source: self.kernel.address(http_server_id()),
                target: self.kernel.address(app.clone()),
                rsvp: None,
                message: Message::Request(Request::new(body)),
                blob,
            })
            .await;
    }

    async fn http_request(&self, method: Method, uri: &axum::http::Uri, headers: HeaderMap, body: Vec<u8>, peer: SocketAddr) -> HttpResp {
        let raw_path = uri.path();
        let original = raw_path.strip_suffix('/').unwrap_or(raw_path).to_string();
        let base = original.split('/').nth(1).unwrap_or("").to_string();
        let bindings = self.bindings.read().await;
        let m = match bindings.recognize(&original) {
            Ok(m) => m,
            Err(_) => match bindings.recognize(&base) {
                Ok(m) => m,
                Err(_) => return StatusCode::NOT_FOUND.into_response(),
            },
        };
        let bound = m.handler();
        let Some(app) = bound.app.clone() else { return StatusCode::NOT_FOUND.into_response() };
        let serialized = serialize_headers(&headers);
        if bound.authenticated && !self.auth_valid(serialized.get("cookie").map(String::as_str).unwrap_or("")) {
            // Upstream sends the page with no content-type at all; browsers sniff it as HTML.
            return HttpResp::builder().status(StatusCode::OK).body(Body::from(self.login_page())).expect("plain response");
        }
        if bound.local_only && (!peer.ip().is_loopback() || behind_proxy(&headers) || !self.expose_local) {
            return StatusCode::FORBIDDEN.into_response();
        }
        if method == Method::GET {
            if let Some(content) = &bound.static_content {
                return HttpResp::builder()
                    .status(StatusCode::OK)
                    .header("content-type", content.mime.clone().unwrap_or_else(|| "text/plain".into()))
                    .body(Body::from(content.bytes.clone()))
                    .expect("valid static response");
            }
        }
        let timeout = headers
            .get("x-hyperware-http-server-timeout")
            .and_then(|t| t.to_str().ok())
            .and_then(|t| t.parse::<u64>().ok())
            .unwrap_or(self.default_timeout);
        let url_params: HashMap<String, String> = m.params().iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        let query_params: HashMap<String, String> =
            form_urlencoded::parse(uri.query().unwrap_or("").as_bytes()).into_owned().collect();
        let host = headers.get("host").and_then(|h| h.to_str().ok()).unwrap_or("localhost");
        let host_only = host.rsplit_once(':').map(|(h, _)| h).unwrap_or(host);
        let incoming = serde_json::json!({"Http": {
            "source_socket_addr": peer.to_string(),
            "method": method.to_string(),
            "url": format!("http://{host_only}{original}"),
            "bound_path": bound.path,
            "headers": serialized,
            "url_params": url_params,
            "query_params": query_params,
        }});
        drop(bindings);
        let id: u64 = rand::random();
        let (tx, rx) = oneshot::channel();
        self.responders.lock().unwrap().insert(id, (original.clone(), tx));
        self.kernel
            .send(KernelMessage {
                id,
                source: self.kernel.address(http_server_id()),
                target: self.kernel.address(app),
                rsvp: None,
                message: Message::Request(Request::new(serde_json::to_vec(&incoming).expect("json")).expecting(timeout)),
                blob: Some(Blob { mime: None, bytes: body }),
            })
            .await;
        let result = tokio::time::timeout(std::time::Duration::from_secs(timeout), rx).await;
        let (response, body) = match result {
            Ok(Ok(r)) => r,
            Ok(Err(_)) => return StatusCode::INTERNAL_SERVER_ERROR.into_response(),
            Err(_) => {
                self.responders.lock().unwrap().remove(&id);
                return StatusCode::REQUEST_TIMEOUT.into_response();
            }
        };
        let status = StatusCode::from_u16(response.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut resp = (status, body).into_response();
        for (k, v) in response.headers {
            if let (Ok(name), Ok(value)) = (axum::http::HeaderName::from_bytes(k.as_bytes()), HeaderValue::from_str(&v)) {
                resp.headers_mut().insert(name, value);
            }
        }
        resp
    }
}

fn serialize_headers(headers: &HeaderMap) -> HashMap<String, String> {
    headers.iter().map(|(k, v)| (k.to_string(), v.to_str().unwrap_or("").to_string())).collect()
}

fn behind_proxy(headers: &HeaderMap) -> bool {
    ["x-forwarded-for", "x-forwarded-proto", "x-forwarded-host", "x-real-ip"].iter().any(|h| headers.contains_key(*h))
}

/// devnode's own login page: the real one hashes the password in the browser; devnode's
/// password is compared as given, so this page sends it as `password_hash` unchanged.
const LOGIN_HTML: &str = r#"<!doctype html>
<html><head><meta charset="utf-8"><title>Login - ${node}</title></head>
<body>
<h1>${node}</h1>
<p>devnode login: enter this node's password.</p>
<form id="login"><input id="password" type="password" autofocus placeholder="password"><button type="submit">Log in</button></form>
<p id="error"></p>
<script>
document.getElementById('login').addEventListener('submit', async (e) => {
  e.preventDefault();
  const r = await fetch('/login', { method: 'POST', credentials: 'include', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ password_hash: document.getElementById('password').value, subdomain: null }) });
  if (r.ok) { location.reload(); } else { document.getElementById('error').textContent = 'wrong password'; }
});
</script>
</body></html>
"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bound_paths_get_the_process_prefix_and_lose_a_trailing_slash() {
        let p = ProcessId::new("voice-chat", "voice-chat", "template.os");
        assert_eq!(HttpServer::format_path(&p, "/"), "/voice-chat:voice-chat:template.os");
        assert_eq!(HttpServer::format_path(&p, "/api/"), "/voice-chat:voice-chat:template.os/api");
        assert_eq!(HttpServer::format_path(&p, "api"), "/voice-chat:voice-chat:template.os/api");
        assert_eq!(HttpServer::format_path(&homepage_id(), "/our.js"), "/our.js");
    }
}
