//! A small admin HTTP API on its own loopback port, so tests outside Rust (Node.js e2e) can
//! read the nodes' URLs and inject faults. Routes are listed in docs/devnode.md.
use crate::cluster::Cluster;
use crate::net::Link;
use crate::types::ProcessId;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Duration;

#[derive(Deserialize)]
pub struct LinkBody {
    pub a: String,
    pub b: String,
    #[serde(default)]
    pub latency_ms: u64,
    #[serde(default)]
    pub jitter_ms: u64,
    #[serde(default)]
    pub loss: f64,
}

/// The largest latency or jitter the admin API accepts (a minute: far beyond any real link).
pub const MAX_LINK_DELAY_MS: u64 = 60_000;

/// What `devnode up` prints and `GET /nodes` returns for each node.
pub fn describe(cluster: &Cluster, app_process: Option<&str>) -> Value {
    Value::Array(
        cluster
            .nodes()
            .iter()
            .map(|n| {
                json!({
                    "node": n.name(),
                    "url": n.http_url(),
                    "password": n.password(),
                    "cookie": n.login_cookie(),
                    "app_url": app_process.map(|p| n.app_url(p)),
                })
            })
            .collect(),
    )
}

type Shared = Arc<(Cluster, Option<String>)>;

fn err(status: StatusCode, msg: String) -> (StatusCode, Json<Value>) {
    (status, Json(json!({ "error": msg })))
}

pub fn router(cluster: Arc<(Cluster, Option<String>)>) -> axum::Router {
    axum::Router::new()
        .route("/nodes", get(|State(s): State<Shared>| async move { Json(describe(&s.0, s.1.as_deref())) }))
        .route(
            "/nodes/{node}/offline",
            post(|State(s): State<Shared>, Path(node): Path<String>| async move { set_offline(&s.0, &node, true) }),
        )
        .route(
            "/nodes/{node}/online",
            post(|State(s): State<Shared>, Path(node): Path<String>| async move { set_offline(&s.0, &node, false) }),
        )
        .route(
            "/nodes/{node}/restart/{process}",
            post(|State(s): State<Shared>, Path((node, process)): Path<(String, String)>| async move {
                let pid: ProcessId = process.parse().map_err(|e| err(StatusCode::BAD_REQUEST, format!("{e}")))?;
                s.0.restart_process(&node, &pid).map_err(|e| err(StatusCode::NOT_FOUND, format!("{e}")))?;
                Ok::<_, (StatusCode, Json<Value>)>(Json(json!({"ok": true})))
            }),
        )
        .route(
            "/nodes/{node}/reboot",
            post(|State(s): State<Shared>, Path(node): Path<String>| async move {
                s.0.reboot_node(&node).await.map_err(|e| err(StatusCode::NOT_FOUND, format!("{e:#}")))?;
                Ok::<_, (StatusCode, Json<Value>)>(Json(json!({"ok": true})))
            }),
        )
        .route(
            "/nodes/{node}/log",
            get(|State(s): State<Shared>, Path(node): Path<String>| async move {
                let n = s.0.try_node(&node).ok_or_else(|| err(StatusCode::NOT_FOUND, format!("no node {node}")))?;
                let lines: Vec<Value> =
                    n.log().lines().into_iter().map(|l| json!({"verbosity": l.verbosity, "source": l.source, "text": l.text})).collect();
                Ok::<_, (StatusCode, Json<Value>)>(Json(Value::Array(lines)))
            }),
        )
        .route(
            "/link",
            post(|State(s): State<Shared>, Json(b): Json<LinkBody>| async move {
                if s.0.try_node(&b.a).is_none() || s.0.try_node(&b.b).is_none() {
                    return Err(err(StatusCode::BAD_REQUEST, "unknown node".into()));
                }
                if !(0.0..=1.0).contains(&b.loss) {
                    return Err(err(StatusCode::BAD_REQUEST, "loss outside [0, 1]".into()));
                }
                if b.latency_ms > MAX_LINK_DELAY_MS || b.jitter_ms > MAX_LINK_DELAY_MS {
                    return Err(err(StatusCode::BAD_REQUEST, format!("latency_ms and jitter_ms are at most {MAX_LINK_DELAY_MS}")));
                }
                let link = Link { latency: Duration::from_millis(b.latency_ms), jitter: Duration::from_millis(b.jitter_ms), loss: b.loss };
                s.0.set_link_faults(&b.a, &b.b, link);
                Ok(Json(json!({"ok": true})))
            }),
        )
        .with_state(cluster)
}

fn set_offline(cluster: &Cluster, node: &str, offline: bool) -> Result<Json<Value>, (StatusCode, Json<Value>)> {
    if cluster.try_node(node).is_none() {
        return Err(err(StatusCode::NOT_FOUND, format!("no node {node}")));
    }
    cluster.set_offline(node, offline);
    Ok(Json(json!({"ok": true})))
}
