//! `http-server:distro:sys`: one axum listener on 127.0.0.1 per node, path bindings with
//! route-recognizer, owner authentication, and WebSockets with a bounded outgoing queue that
//! the server's single loop awaits on. Follows upstream `hyperdrive/src/http/server.rs`.
//!
//! `routes` (bindings), `auth` (login, JWT), `client_addr` (proxy headers) are the ground
//! floor; `websocket` and `incoming` (HTTP requests to apps) use them; `actions` (what
//! processes ask) uses routes and websockets; this module wires them to the listener.
mod actions;
mod auth;
mod client_addr;
mod incoming;
mod routes;
mod websocket;

pub use websocket::WsMessageType;

use crate::kernel::Kernel;
use crate::types::*;
use axum::extract::ws::{Message as WsMessage, WebSocketUpgrade};
use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response as HttpResp};
use route_recognizer::Router;
use routes::{BoundPath, BoundWsPath};
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

#[derive(Serialize, Deserialize, Debug, Clone)]
pub struct HttpResponse {
    pub status: u16,
    pub headers: HashMap<String, String>,
}

/// The error replies of http-server's actions (upstream `HttpServerError`).
#[derive(Serialize)]
enum HttpServerError {
    MalformedRequest,
    NoBlob,
    InvalidSourceProcess,
    WsPingPongTooLong,
    WsChannelNotFound,
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


    /// Every request of the node's listener comes here (upstream's ws, login and http filters, in that order).
    pub async fn handle(self: Arc<Self>, ConnectInfo(peer): ConnectInfo<SocketAddr>, req: axum::extract::Request) -> HttpResp {
        let (mut parts, body) = req.into_parts();
        let is_upgrade = parts.headers.get("upgrade").and_then(|v| v.to_str().ok()).is_some_and(|v| v.eq_ignore_ascii_case("websocket"));
        if is_upgrade {
            if let Some(ws) = self.ws_route(&parts.uri, &parts.headers, peer).await {
                if let Ok(upgrade) = WebSocketUpgrade::from_request_parts(&mut parts, &()).await {
                    let (app, path, forwarded_for) = ws;
                    let server = self.clone();
                    return upgrade
                        .on_upgrade(move |socket| server.maintain_websocket(socket, app, path, peer, forwarded_for))
                        .into_response();
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

    pub(super) async fn send_to_app(&self, app: &ProcessId, body: Vec<u8>, blob: Option<Blob>) {
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
}
