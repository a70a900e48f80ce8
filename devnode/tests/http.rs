//! http-server behaviour (upstream `hyperdrive/src/http/server.rs`) seen by a real HTTP and
//! WebSocket client and by the probe process.
mod common;
use common::*;
use devnode::{Cluster, ClusterOptions};
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use std::time::{Duration, Instant};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message as WsMsg;

const HTTP: &str = "alice.os@http-server:distro:sys";
const PREFIX: &str = "/probe:probe:devnode.os";

async fn action(probe: &mut Probe, body: Value, blob: Option<&str>) -> Value {
    probe
        .command(json!({"SendAndAwait": {"target": HTTP, "body": body.to_string(), "expects_response": 3, "blob": blob}}))
        .await;
    probe.report().await
}

async fn bind(probe: &mut Probe, path: &str, authenticated: bool, local_only: bool) {
    let r = action(probe, json!({"Bind": {"path": path, "authenticated": authenticated, "local_only": local_only, "cache": false}}), None).await;
    assert_eq!(r["AwaitResult"]["Ok"]["body"], "{\"Ok\":null}", "bind {path}: {r}");
}

/// The next Http request the probe received, as the parsed IncomingHttpRequest.
async fn next_http(probe: &mut Probe) -> (Value, Value) {
    let r = probe.report().await;
    let received = r["Received"].clone();
    assert_eq!(received["source"], "alice.os@http-server:distro:sys", "{r}");
    let body: Value = serde_json::from_str(received["body"].as_str().unwrap()).unwrap();
    (body["Http"].clone(), received)
}

async fn respond(probe: &Probe, status: u16, headers: Value, body: &str) {
    probe
        .command(json!({"Respond": {"body": json!({"status": status, "headers": headers}).to_string(), "blob": body}}))
        .await;
}

fn client() -> reqwest::Client {
    reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap()
}

#[tokio::test]
async fn bound_paths_are_prefixed_and_requests_carry_upstreams_fields() {
    let cluster = one_node().await;
    let node = cluster.node("alice.os");
    let (mut probe, _) = Probe::install(node, probe_entry()).await;
    bind(&mut probe, "/api/thing/:id", false, false).await;
    let url = format!("{}{PREFIX}/api/thing/4%202/?x=1&y=a%20b", node.http_url());
    let req = tokio::spawn(async move {
        client().post(url).header("X-Custom", "v").header("x-rep", "1").header("x-rep", "2").body("payload").send().await.unwrap()
    });
    let (http, received) = next_http(&mut probe).await;
    assert_eq!(http["method"], "POST");
    assert_eq!(http["url"], format!("http://127.0.0.1{PREFIX}/api/thing/4%202"), "no query, no trailing slash, raw path");
    assert_eq!(http["bound_path"], format!("{PREFIX}/api/thing/:id"));
    assert_eq!(http["url_params"], json!({"id": "4%202"}));
    assert_eq!(http["query_params"], json!({"x": "1", "y": "a b"}));
    assert_eq!(http["headers"]["x-custom"], "v");
    assert_eq!(http["headers"]["x-rep"], "2", "a repeated header keeps its last value");
    assert!(http["source_socket_addr"].as_str().unwrap().starts_with("127.0.0.1:"));
    assert_eq!(received["blob"], "payload");
    respond(&probe, 201, json!({"x-answer": "yes"}), "made").await;
    let resp = req.await.unwrap();
    assert_eq!(resp.status(), 201);
    assert_eq!(resp.headers()["x-answer"], "yes");
    assert_eq!(resp.text().await.unwrap(), "made");
    // Without the process prefix nothing is bound.
    let resp = client().get(format!("{}/api/thing/1", node.http_url())).send().await.unwrap();
    assert_eq!(resp.status(), 404);
    cluster.shutdown().await;
}

#[tokio::test]
async fn unmatched_paths_fall_back_to_the_root_binding_wildcards_need_a_character_and_unbind_gives_404() {
    let cluster = one_node().await;
    let node = cluster.node("alice.os");
    let (mut probe, _) = Probe::install(node, probe_entry()).await;
    bind(&mut probe, "/", false, false).await;
    bind(&mut probe, "/a/*rest", false, false).await;
    bind(&mut probe, "/gone", false, false).await;
    let r = action(&mut probe, json!({"Unbind": {"path": "/gone"}}), None).await;
    assert_eq!(r["AwaitResult"]["Ok"]["body"], "{\"Ok\":null}");

    for (path, bound, params) in [
        ("/room/abc", PREFIX.to_string(), json!({})),
        ("/a", PREFIX.to_string(), json!({})),
        ("/a/b/c", format!("{PREFIX}/a/*rest"), json!({"rest": "b/c"})),
    ] {
        let url = format!("{}{PREFIX}{path}", node.http_url());
        let req = tokio::spawn(async move { client().get(url).send().await.unwrap() });
        let (http, _) = next_http(&mut probe).await;
        assert_eq!(http["bound_path"], bound, "{path}");
        assert_eq!(http["url_params"], params, "{path}");
        respond(&probe, 200, json!({}), "ok").await;
        assert_eq!(req.await.unwrap().status(), 200);
    }
    let resp = client().get(format!("{}{PREFIX}/gone", node.http_url())).send().await.unwrap();
    assert_eq!(resp.status(), 404, "an unbound path does not fall back");
    cluster.shutdown().await;
}

#[tokio::test]
async fn authenticated_paths_show_the_login_page_with_200_until_the_owner_logs_in() {
    let cluster = Cluster::start(ClusterOptions { password: Some("pw".into()), ..ClusterOptions::default() }).await.unwrap();
    let node = cluster.node("alice.os");
    let (mut probe, _) = Probe::install(node, probe_entry()).await;
    bind(&mut probe, "/secret", true, false).await;
    let url = format!("{}{PREFIX}/secret", node.http_url());
    let resp = client().get(&url).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    assert!(resp.headers().get("content-type").is_none(), "upstream sends the login page without a content-type");
    let page = resp.text().await.unwrap();
    assert!(page.contains("alice.os") && page.contains("password"), "login page: {page}");
    assert!(probe.sync("none").await.is_empty(), "the app never saw the request");

    let bad = client().post(format!("{}/login", node.http_url())).body(r#"{"password_hash":"nope"}"#).send().await.unwrap();
    assert_eq!(bad.status(), 500);
    let good = client().post(format!("{}/login", node.http_url())).body(r#"{"password_hash":"pw","subdomain":null}"#).send().await.unwrap();
    assert_eq!(good.status(), 200);
    let set_cookie = good.headers()["set-cookie"].to_str().unwrap().to_string();
    assert!(set_cookie.starts_with("hyperware-auth_alice.os="), "{set_cookie}");
    let cookie = set_cookie.split(';').next().unwrap().to_string();

    let u = url.clone();
    let c = cookie.clone();
    let req = tokio::spawn(async move { client().get(u).header("cookie", c).send().await.unwrap() });
    let (http, _) = next_http(&mut probe).await;
    assert_eq!(http["bound_path"], format!("{PREFIX}/secret"));
    respond(&probe, 200, json!({"content-type": "text/plain"}), "for the owner").await;
    assert_eq!(req.await.unwrap().text().await.unwrap(), "for the owner");
    // A cookie signed by another node's secret is no login.
    let forged = format!("hyperware-auth_alice.os={}", cookie.split('=').nth(1).unwrap().replace('a', "b"));
    let page = client().get(&url).header("cookie", forged).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("password"));
    cluster.shutdown().await;
}

#[tokio::test]
async fn an_unanswered_request_gets_408_after_the_timeout_and_an_unparsable_reply_500() {
    let cluster = one_node().await;
    let node = cluster.node("alice.os");
    let (mut probe, _) = Probe::install(node, probe_entry()).await;
    bind(&mut probe, "/slow", false, false).await;
    let url = format!("{}{PREFIX}/slow", node.http_url());
    let t = Instant::now();
    let resp = client().get(&url).header("X-Hyperware-Http-Server-Timeout", "1").send().await.unwrap();
    assert_eq!(resp.status(), 408);
    assert!(t.elapsed() >= Duration::from_millis(950) && t.elapsed() < Duration::from_secs(3), "{:?}", t.elapsed());
    let (http, _) = next_http(&mut probe).await;
    assert_eq!(http["method"], "GET");

    let u = url.clone();
    let req = tokio::spawn(async move { client().get(u).send().await.unwrap() });
    next_http(&mut probe).await;
    probe.command(json!({"Respond": {"body": "not json"}})).await;
    assert_eq!(req.await.unwrap().status(), 500);
    cluster.shutdown().await;
}

#[tokio::test]
async fn cached_binds_serve_get_only_and_our_js_names_the_node() {
    let cluster = one_node().await;
    let node = cluster.node("alice.os");
    let (mut probe, _) = Probe::install(node, probe_entry()).await;
    let r = action(&mut probe, json!({"Bind": {"path": "/static.txt", "authenticated": false, "local_only": false, "cache": true}}), Some("static body")).await;
    assert_eq!(r["AwaitResult"]["Ok"]["body"], "{\"Ok\":null}");
    let r = action(&mut probe, json!({"Bind": {"path": "/nob", "authenticated": false, "local_only": false, "cache": true}}), None).await;
    assert_eq!(r["AwaitResult"]["Ok"]["body"], "{\"Err\":\"NoBlob\"}");
    let url = format!("{}{PREFIX}/static.txt", node.http_url());
    let resp = client().get(&url).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "text/plain");
    assert_eq!(resp.text().await.unwrap(), "static body");
    let req = tokio::spawn(async move { client().post(url).body("x").send().await.unwrap() });
    let (http, _) = next_http(&mut probe).await;
    assert_eq!(http["method"], "POST", "other methods on a cached path go to the app");
    respond(&probe, 204, json!({}), "").await;
    assert_eq!(req.await.unwrap().status(), 204);

    let js = client().get(format!("{}/our.js", node.http_url())).send().await.unwrap();
    assert_eq!(js.headers()["content-type"], "application/javascript");
    assert_eq!(js.text().await.unwrap(), "window.our = {}; window.our.node = 'alice.os';");
    cluster.shutdown().await;
}

#[tokio::test]
async fn local_only_paths_need_expose_local() {
    let cluster = one_node().await;
    let node = cluster.node("alice.os");
    let (mut probe, _) = Probe::install(node, probe_entry()).await;
    bind(&mut probe, "/local", false, true).await;
    let resp = client().get(format!("{}{PREFIX}/local", node.http_url())).send().await.unwrap();
    assert_eq!(resp.status(), 403);
    cluster.shutdown().await;

    let cluster = Cluster::start(ClusterOptions { expose_local: true, ..ClusterOptions::default() }).await.unwrap();
    let node = cluster.node("alice.os");
    let (mut probe, _) = Probe::install(node, probe_entry()).await;
    bind(&mut probe, "/local", false, true).await;
    let url = format!("{}{PREFIX}/local", node.http_url());
    let proxied = client().get(&url).header("x-forwarded-for", "1.2.3.4").send().await.unwrap();
    assert_eq!(proxied.status(), 403, "proxy headers count as not local");
    let req = tokio::spawn(async move { client().get(url).send().await.unwrap() });
    next_http(&mut probe).await;
    respond(&probe, 200, json!({}), "local").await;
    assert_eq!(req.await.unwrap().status(), 200);
    cluster.shutdown().await;
}

#[tokio::test]
async fn an_app_without_the_http_server_grant_never_sees_requests() {
    let cluster = one_node().await;
    let node = cluster.node("alice.os");
    let mut entry = probe_entry();
    entry["grant_capabilities"] = json!(["timer:distro:sys", "tester:devnode:sys"]);
    let (mut probe, _) = Probe::install(node, entry).await;
    // The bind happens, but its Ok cannot reach the app: the call times out.
    let r = action(&mut probe, json!({"Bind": {"path": "/x", "authenticated": false, "local_only": false, "cache": false}}), None).await;
    assert_eq!(r["AwaitResult"]["Err"], "Timeout");
    let resp = client()
        .get(format!("{}{PREFIX}/x", node.http_url()))
        .header("X-Hyperware-Http-Server-Timeout", "1")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 408);
    assert!(probe.sync("nothing").await.is_empty());
    cluster.shutdown().await;
}

async fn ws_bind(probe: &mut Probe, path: &str, authenticated: bool) {
    let r = action(probe, json!({"WebSocketBind": {"path": path, "authenticated": authenticated, "extension": false}}), None).await;
    assert_eq!(r["AwaitResult"]["Ok"]["body"], "{\"Ok\":null}");
}

fn push_body(r: &Value) -> Value {
    serde_json::from_str(r["Received"]["body"].as_str().unwrap()).unwrap()
}

#[tokio::test]
async fn websocket_frames_of_every_kind_reach_the_app_in_order_and_close_is_reported() {
    let cluster = one_node().await;
    let node = cluster.node("alice.os");
    let (mut probe, _) = Probe::install(node, probe_entry()).await;
    ws_bind(&mut probe, "/ws", false).await;
    let (mut ws, _) = tokio_tungstenite::connect_async(node.ws_url(&format!("{PREFIX}/ws"))).await.unwrap();
    let open = push_body(&probe.report().await);
    assert_eq!(open["WebSocketOpen"]["path"], "/ws");
    let channel = open["WebSocketOpen"]["channel_id"].as_u64().unwrap();

    ws.send(WsMsg::text("hi")).await.unwrap();
    ws.send(WsMsg::binary(vec![b'b', b'1'])).await.unwrap();
    ws.send(WsMsg::Ping(b"pg".to_vec().into())).await.unwrap();
    for (ty, blob) in [("Text", "hi"), ("Binary", "b1"), ("Ping", "pg")] {
        let r = probe.report().await;
        assert_eq!(push_body(&r), json!({"WebSocketPush": {"channel_id": channel, "message_type": ty}}));
        assert_eq!(r["Received"]["blob"], blob);
    }
    // App → client push.
    probe
        .command(json!({"SendRequest": {"target": HTTP, "body": json!({"WebSocketPush": {"channel_id": channel, "message_type": "Text"}}).to_string(), "blob": "to client"}}))
        .await;
    loop {
        match ws.next().await.unwrap().unwrap() {
            WsMsg::Text(t) => {
                assert_eq!(t.as_str(), "to client");
                break;
            }
            WsMsg::Pong(_) => continue,
            other => panic!("unexpected {other:?}"),
        }
    }
    ws.close(None).await.unwrap();
    let r = probe.report().await;
    assert_eq!(push_body(&r), json!({"WebSocketPush": {"channel_id": channel, "message_type": "Close"}}));
    let r = probe.report().await;
    assert_eq!(push_body(&r), json!({"WebSocketClose": channel}));
    // Pushing to the closed channel is WsChannelNotFound for a caller that asks.
    let r = action(&mut probe, json!({"WebSocketPush": {"channel_id": channel, "message_type": "Text"}}), Some("late")).await;
    assert_eq!(r["AwaitResult"]["Ok"]["body"], "{\"Err\":\"WsChannelNotFound\"}");
    cluster.shutdown().await;
}

#[tokio::test]
async fn the_app_closing_a_socket_still_gets_websocket_close() {
    let cluster = one_node().await;
    let node = cluster.node("alice.os");
    let (mut probe, _) = Probe::install(node, probe_entry()).await;
    ws_bind(&mut probe, "/ws", false).await;
    let (mut ws, _) = tokio_tungstenite::connect_async(node.ws_url(&format!("{PREFIX}/ws"))).await.unwrap();
    let channel = push_body(&probe.report().await)["WebSocketOpen"]["channel_id"].as_u64().unwrap();
    probe.command(json!({"SendRequest": {"target": HTTP, "body": json!({"WebSocketClose": channel}).to_string()}})).await;
    let mut closed = false;
    while let Some(Ok(m)) = ws.next().await {
        if matches!(m, WsMsg::Close(_)) {
            closed = true;
        }
    }
    assert!(closed, "the client saw a close frame");
    let mut saw_close = false;
    for _ in 0..2 {
        let r = probe.report().await;
        if push_body(&r) == json!({"WebSocketClose": channel}) {
            saw_close = true;
            break;
        }
    }
    assert!(saw_close);
    cluster.shutdown().await;
}

#[tokio::test]
async fn an_authenticated_websocket_needs_the_owner_cookie_at_the_upgrade() {
    let cluster = one_node().await;
    let node = cluster.node("alice.os");
    let (mut probe, _) = Probe::install(node, probe_entry()).await;
    ws_bind(&mut probe, "/owner", true).await;
    let url = node.ws_url(&format!("{PREFIX}/owner"));
    assert!(tokio_tungstenite::connect_async(url.as_str()).await.is_err(), "no cookie: refused");
    let mut req = url.as_str().into_client_request().unwrap();
    req.headers_mut().insert("cookie", node.login_cookie().parse().unwrap());
    let (_ws, resp) = tokio_tungstenite::connect_async(req).await.unwrap();
    assert_eq!(resp.status(), 101);
    let open = push_body(&probe.report().await);
    assert_eq!(open["WebSocketOpen"]["path"], "/owner");
    // WebSocket paths never fall back to a root binding.
    assert!(tokio_tungstenite::connect_async(node.ws_url(&format!("{PREFIX}/other"))).await.is_err());
    cluster.shutdown().await;
}

#[tokio::test]
async fn at_most_128_websockets_are_open_on_a_node() {
    let cluster = one_node().await;
    let node = cluster.node("alice.os");
    let (mut probe, _) = Probe::install(node, probe_entry()).await;
    ws_bind(&mut probe, "/ws", false).await;
    let url = node.ws_url(&format!("{PREFIX}/ws"));
    let mut sockets = Vec::new();
    for _ in 0..128 {
        sockets.push(tokio_tungstenite::connect_async(url.as_str()).await.expect("one of the first 128").0);
    }
    assert_eq!(node.open_websockets(), 128);
    assert!(tokio_tungstenite::connect_async(url.as_str()).await.is_err(), "the 129th is refused");
    sockets.pop().unwrap().close(None).await.unwrap();
    drop(sockets.pop());
    let t = Instant::now();
    while node.open_websockets() > 126 && t.elapsed() < Duration::from_secs(5) {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(tokio_tungstenite::connect_async(url.as_str()).await.is_ok(), "room again after closes");
    cluster.shutdown().await;
}

#[tokio::test]
async fn the_route_with_more_fixed_segments_wins() {
    let cluster = one_node().await;
    let node = cluster.node("alice.os");
    let (mut probe, _) = Probe::install(node, probe_entry()).await;
    bind(&mut probe, "/a/:x", false, false).await;
    bind(&mut probe, "/a/b", false, false).await;
    bind(&mut probe, "/f/:name.json", false, false).await;
    for (path, bound, params) in [
        ("/a/b", format!("{PREFIX}/a/b"), json!({})),
        ("/a/c", format!("{PREFIX}/a/:x"), json!({"x": "c"})),
        ("/f/list.json", format!("{PREFIX}/f/:name.json"), json!({"name": "list"})),
    ] {
        let url = format!("{}{PREFIX}{path}", node.http_url());
        let req = tokio::spawn(async move { client().get(url).send().await.unwrap() });
        let (http, _) = next_http(&mut probe).await;
        assert_eq!(http["bound_path"], bound, "{path}");
        assert_eq!(http["url_params"], params, "{path}");
        respond(&probe, 200, json!({}), "").await;
        assert_eq!(req.await.unwrap().status(), 200);
    }
    cluster.shutdown().await;
}

#[tokio::test]
async fn websocket_open_tells_the_app_the_client_address_and_the_proxy_reported_one() {
    let cluster = one_node().await;
    let node = cluster.node("alice.os");
    let (mut probe, _) = Probe::install(node, probe_entry()).await;
    ws_bind(&mut probe, "/ws", false).await;

    let (ws, _) = tokio_tungstenite::connect_async(node.ws_url(&format!("{PREFIX}/ws"))).await.unwrap();
    let client_addr = match ws.get_ref() {
        tokio_tungstenite::MaybeTlsStream::Plain(tcp) => tcp.local_addr().unwrap().to_string(),
        _ => unreachable!("plain ws:// to loopback"),
    };
    let open = push_body(&probe.report().await);
    assert_eq!(open["WebSocketOpen"]["source_socket_addr"], client_addr.as_str(), "{open}");
    assert_eq!(open["WebSocketOpen"]["forwarded_for"], Value::Null, "no proxy header, no forwarded_for");

    let mut request = node.ws_url(&format!("{PREFIX}/ws")).into_client_request().unwrap();
    request.headers_mut().insert("x-forwarded-for", "203.0.113.7, 10.0.0.1".parse().unwrap());
    let (_ws2, _) = tokio_tungstenite::connect_async(request).await.unwrap();
    let open = push_body(&probe.report().await);
    assert_eq!(open["WebSocketOpen"]["forwarded_for"], "203.0.113.7", "{open}");
    assert!(open["WebSocketOpen"]["source_socket_addr"].as_str().unwrap().starts_with("127.0.0.1:"));
    drop(ws);
    cluster.shutdown().await;
}
