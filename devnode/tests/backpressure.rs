//! Backpressure as upstream has it: a full process inbox stalls the node's kernel, and a
//! WebSocket client that stops reading stalls the http-server and then the kernel. Nothing is
//! dropped in either case.
mod common;
use common::*;
use devnode::types::*;
use futures_util::StreamExt;
use serde_json::json;
use std::time::{Duration, Instant};
use tokio_tungstenite::tungstenite::Message as WsMsg;

#[tokio::test]
async fn a_full_inbox_stalls_the_whole_node_and_drops_nothing() {
    let cluster = one_node().await;
    let node = cluster.node("alice.os");
    let (mut probe, _) = Probe::install(node, probe_entry()).await;
    let mut other = node.endpoint("other:devnode:sys".parse().unwrap(), true, vec![]);
    probe.command(json!({"Sleep": {"ms": 2500}})).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    for i in 0..150 {
        probe.tester.send(probe.address.clone(), Request::new(format!("f{i}")), None).await;
    }
    let t = Instant::now();
    // A message between two other processes waits behind the probe's full inbox.
    probe.tester.send(other.address.clone(), Request::new("unrelated"), None).await;
    let got = other.recv(Duration::from_secs(10)).await.expect("delivered eventually");
    assert_eq!(got.unwrap().message.body(), b"unrelated");
    assert!(t.elapsed() >= Duration::from_millis(1500), "the kernel was stalled only {:?}", t.elapsed());
    assert_eq!(probe.report().await, json!({"Slept": 2500}));
    let reports = probe.sync("end").await;
    let bodies: Vec<&str> = reports.iter().map(|r| r["Received"]["body"].as_str().unwrap()).collect();
    assert_eq!(bodies, (0..150).map(|i| format!("f{i}")).collect::<Vec<_>>(), "all delivered, in order");
    cluster.shutdown().await;
}

#[tokio::test]
async fn a_websocket_client_that_stops_reading_stalls_the_node_until_it_reads_again() {
    let cluster = one_node().await;
    let node = cluster.node("alice.os");
    let (mut probe, _) = Probe::install(node, probe_entry()).await;
    probe
        .command(json!({"SendAndAwait": {"target": "alice.os@http-server:distro:sys", "expects_response": 3,
            "body": json!({"WebSocketBind": {"path": "/ws", "authenticated": false, "extension": false}}).to_string()}}))
        .await;
    assert_eq!(probe.report().await["AwaitResult"]["Ok"]["body"], "{\"Ok\":null}");
    let (mut ws, _) = tokio_tungstenite::connect_async(node.ws_url("/probe:probe:devnode.os/ws")).await.unwrap();
    let open: serde_json::Value = serde_json::from_str(probe.report().await["Received"]["body"].as_str().unwrap()).unwrap();
    let channel = open["WebSocketOpen"]["channel_id"].as_u64().unwrap();

    // Enough to fill both socket buffers (at their autotuning maximum), the connection's queue
    // of 100, the server's inbox of 32, and then some.
    let buffers: u64 = ["/proc/sys/net/ipv4/tcp_rmem", "/proc/sys/net/ipv4/tcp_wmem"]
        .iter()
        .map(|f| std::fs::read_to_string(f).ok().and_then(|s| s.split_whitespace().nth(2)?.parse().ok()).unwrap_or(8 << 20))
        .sum();
    let count = (buffers / 65536) as u32 + 100 + 32 + 150;
    probe.command(json!({"PushMany": {"channel_id": channel, "count": count, "size": 65536}})).await;
    // The pushes fill the socket, its queue of 100, the server's inbox of 32, then the kernel
    // waits: even the probe's report (queued behind the pushes) and a ping cannot get through.
    probe.command(json!({"Ping": "stalled?"})).await;
    assert!(probe.try_report(Duration::from_secs(2)).await.is_none(), "the node must be stalled by the slow client");

    let mut next = 0u32;
    while next < count {
        match ws.next().await.unwrap().unwrap() {
            WsMsg::Binary(b) => {
                assert_eq!(b.len(), 65536);
                assert_eq!(u32::from_be_bytes(b[..4].try_into().unwrap()), next, "in order, none dropped");
                next += 1;
            }
            other => panic!("unexpected frame {other:?}"),
        }
    }
    assert_eq!(probe.report().await, json!({"Pushed": count}));
    assert_eq!(probe.report().await, json!({"Pong": "stalled?"}), "the node resumes once the client reads");
    cluster.shutdown().await;
}
