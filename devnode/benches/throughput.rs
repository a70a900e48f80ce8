//! How fast devnode moves messages, so a slow test can be told apart from a slow devnode.
//! `cargo bench -p devnode --bench throughput` prints:
//! - WebSocket pushes from a process to a reading client (frames/s, MB/s);
//! - requests into a process that reports each one back (messages/s, two kernel hops each).
#[path = "../tests/common/mod.rs"]
mod common;
use common::*;
use devnode::types::*;
use futures_util::StreamExt;
use serde_json::json;
use std::time::Instant;
use tokio_tungstenite::tungstenite::Message as WsMsg;

#[tokio::main]
async fn main() {
    let cluster = one_node().await;
    let node = cluster.node("alice.os");
    let (mut probe, _) = Probe::install(node, probe_entry()).await;
    probe
        .command(json!({"SendAndAwait": {"target": "alice.os@http-server:distro:sys", "expects_response": 3,
            "body": json!({"WebSocketBind": {"path": "/ws", "authenticated": false, "extension": false}}).to_string()}}))
        .await;
    probe.report().await;
    let (mut ws, _) = tokio_tungstenite::connect_async(node.ws_url("/probe:probe:devnode.os/ws")).await.unwrap();
    let open: serde_json::Value = serde_json::from_str(probe.report().await["Received"]["body"].as_str().unwrap()).unwrap();
    let channel = open["WebSocketOpen"]["channel_id"].as_u64().unwrap();

    for (count, size) in [(20_000u32, 200usize), (2_000, 16_384)] {
        let t = Instant::now();
        probe.command(json!({"PushMany": {"channel_id": channel, "count": count, "size": size}})).await;
        let mut got = 0;
        while got < count {
            if let WsMsg::Binary(_) = ws.next().await.unwrap().unwrap() {
                got += 1;
            }
        }
        let secs = t.elapsed().as_secs_f64();
        probe.report().await;
        println!(
            "ws push {count} x {size} B: {:.0} frames/s, {:.1} MB/s",
            count as f64 / secs,
            (count as usize * size) as f64 / secs / 1e6
        );
    }

    let n = 20_000;
    let t = Instant::now();
    for i in 0..n {
        probe.tester.send(probe.address.clone(), Request::new(format!("m{i}")), None).await;
    }
    let reports = probe.sync("end").await;
    assert_eq!(reports.len(), n);
    println!("request into a process and its report back: {:.0} messages/s", n as f64 / t.elapsed().as_secs_f64());
    cluster.shutdown().await;
}
