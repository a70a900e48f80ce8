//! Incoming HTTP requests to bound paths: auth and local-only checks, cached content, and the
//! `Http` request to the app with upstream's fields, answered within the timeout or 408.
use super::client_addr::behind_proxy;
use super::HttpServer;
use crate::types::*;
use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response as HttpResp};
use std::collections::HashMap;
use std::net::SocketAddr;
use tokio::sync::oneshot;

impl HttpServer {
    pub(super) async fn http_request(&self, method: Method, uri: &axum::http::Uri, headers: HeaderMap, body: Vec<u8>, peer: SocketAddr) -> HttpResp {
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
