//! Networking between nodes of one devnode (upstream `hyperdrive/src/net/` and the kernel's
//! network checks): true source, per-pair order, offline, request_networking, size limit, faults.
mod common;
use common::*;
use devnode::types::{Capability, Message, ProcessId, Request};
use devnode::{Cluster, ClusterOptions, Endpoint, Link};
use serde_json::{json, Value};
use std::time::{Duration, Instant};

async fn two_nodes() -> Cluster {
    Cluster::start(ClusterOptions::default().nodes(&["alice.os", "bob.os"])).await.unwrap()
}

const BOB_PROBE: &str = "bob.os@probe:probe:devnode.os";

fn send(target: &str, body: &str, expects: Option<u64>, context: Option<&str>) -> Value {
    json!({"SendRequest": {"target": target, "body": body, "expects_response": expects, "context": context}})
}

#[tokio::test]
async fn two_nodes_exchange_requests_and_an_offline_peer_gives_offline_in_about_a_second() {
    let cluster = two_nodes().await;
    let (mut alice, _) = Probe::install(cluster.node("alice.os"), probe_entry()).await;
    let (mut bob, _) = Probe::install(cluster.node("bob.os"), probe_entry()).await;

    alice.command(send(BOB_PROBE, "hello bob", Some(5), Some("c1"))).await;
    let got = bob.report().await;
    assert_eq!(got["Received"]["source"], "alice.os@probe:probe:devnode.os", "the true source");
    assert_eq!(got["Received"]["body"], "hello bob");
    bob.command(json!({"Respond": {"body": "hello alice"}})).await;
    let answer = alice.report().await;
    assert_eq!(answer["Received"]["kind"], "Response");
    assert_eq!(answer["Received"]["source"], BOB_PROBE);
    assert_eq!(answer["Received"]["context"], "c1");

    cluster.set_offline("bob.os", true);
    let t = Instant::now();
    alice.command(send(BOB_PROBE, "are you there", Some(30), Some("c2"))).await;
    let err = alice.report().await;
    let took = t.elapsed();
    assert_eq!(err["SendError"]["kind"], "Offline", "{err}");
    assert_eq!(err["SendError"]["context"], "c2");
    assert_eq!(err["SendError"]["target"], BOB_PROBE);
    assert!(took >= Duration::from_millis(800) && took < Duration::from_millis(3000), "offline after {took:?}");
    assert!(bob.sync("nothing").await.is_empty());
    // The same failure for a fire-and-forget request is dropped. The marker behind it in the
    // same queue fails the same way, in order, so its error arriving first proves none came.
    alice.command(send(BOB_PROBE, "shouting into the void", None, None)).await;
    alice.command(send(BOB_PROBE, "marker", Some(30), Some("marker"))).await;
    let next = alice.report().await;
    assert_eq!(next["SendError"]["context"], "marker", "errors of fire-and-forget requests are dropped, got {next}");
    assert!(alice.sync("quiet").await.is_empty(), "nothing after the marker either");

    cluster.set_offline("bob.os", false);
    alice.command(send(BOB_PROBE, "back", None, None)).await;
    assert_eq!(bob.report().await["Received"]["body"], "back");
    cluster.shutdown().await;
}

#[tokio::test]
async fn an_unknown_node_is_offline() {
    let cluster = two_nodes().await;
    let (mut alice, _) = Probe::install(cluster.node("alice.os"), probe_entry()).await;
    alice.command(send("carol.os@probe:probe:devnode.os", "x", Some(30), Some("c"))).await;
    let err = alice.report().await;
    assert_eq!(err["SendError"]["kind"], "Offline");
    cluster.shutdown().await;
}

#[tokio::test]
async fn request_networking_is_needed_to_send_and_to_receive() {
    let cluster = two_nodes().await;
    let mut no_net = probe_entry();
    no_net["request_networking"] = json!(false);
    let (mut alice, _) = Probe::install(cluster.node("alice.os"), no_net.clone()).await;
    let (mut bob, _) = Probe::install(cluster.node("bob.os"), probe_entry()).await;
    let t = Instant::now();
    alice.command(send(BOB_PROBE, "blocked", Some(30), Some("c"))).await;
    let err = alice.report().await;
    assert_eq!(err["SendError"]["kind"], "Timeout", "a sender without networking gets an immediate timeout");
    assert!(t.elapsed() < Duration::from_secs(2));
    assert!(bob.sync("a").await.is_empty());

    // Now bob lacks networking: alice's message is dropped silently; only her own timer fires.
    let cluster2 = two_nodes().await;
    let (mut alice, _) = Probe::install(cluster2.node("alice.os"), probe_entry()).await;
    let (mut bob, _) = Probe::install(cluster2.node("bob.os"), no_net).await;
    let t = Instant::now();
    alice.command(send(BOB_PROBE, "dropped", Some(1), Some("c"))).await;
    let err = alice.report().await;
    assert_eq!(err["SendError"]["kind"], "Timeout");
    assert!(t.elapsed() >= Duration::from_millis(950));
    assert!(bob.sync("b").await.is_empty(), "a receiver without networking never sees remote messages");
    cluster.shutdown().await;
    cluster2.shutdown().await;
}

#[tokio::test]
async fn messages_between_two_nodes_keep_their_order_under_latency() {
    let cluster = two_nodes().await;
    let (alice, _) = Probe::install(cluster.node("alice.os"), probe_entry()).await;
    let (mut bob, _) = Probe::install(cluster.node("bob.os"), probe_entry()).await;
    cluster.set_link("alice.os", "bob.os", Duration::from_millis(300), 0.0);
    let t = Instant::now();
    for i in 0..40 {
        alice.command(send(BOB_PROBE, &format!("n{i}"), None, None)).await;
    }
    let mut bodies = Vec::new();
    for _ in 0..40 {
        bodies.push(bob.report().await["Received"]["body"].as_str().unwrap().to_string());
    }
    assert!(t.elapsed() >= Duration::from_millis(300), "latency applied: {:?}", t.elapsed());
    assert_eq!(bodies, (0..40).map(|i| format!("n{i}")).collect::<Vec<_>>());
    cluster.shutdown().await;
}

#[tokio::test]
async fn a_lossy_link_loses_messages_and_the_sender_times_out() {
    let cluster = two_nodes().await;
    let (mut alice, _) = Probe::install(cluster.node("alice.os"), probe_entry()).await;
    let (mut bob, _) = Probe::install(cluster.node("bob.os"), probe_entry()).await;
    cluster.set_link("alice.os", "bob.os", Duration::ZERO, 1.0);
    alice.command(send(BOB_PROBE, "lost", Some(1), Some("c"))).await;
    assert_eq!(alice.report().await["SendError"]["kind"], "Timeout");
    assert!(bob.sync("s").await.is_empty());
    cluster.set_link("alice.os", "bob.os", Duration::ZERO, 0.0);
    alice.command(send(BOB_PROBE, "kept", None, None)).await;
    assert_eq!(bob.report().await["Received"]["body"], "kept");
    cluster.shutdown().await;
}

#[tokio::test]
async fn a_message_over_the_size_limit_is_lost_and_smaller_ones_pass() {
    let cluster = two_nodes().await;
    let (mut alice, _) = Probe::install(cluster.node("alice.os"), probe_entry()).await;
    let (mut bob, _) = Probe::install(cluster.node("bob.os"), probe_entry()).await;
    alice
        .command(json!({"SendRequest": {"target": BOB_PROBE, "body": "big", "expects_response": 2, "context": "big", "blob_size": 10_485_801}}))
        .await;
    let err = alice.report().await;
    assert_eq!(err["SendError"]["kind"], "Timeout", "no error but the sender's own timeout");
    assert!(bob.sync("s").await.is_empty());
    alice.command(json!({"SendRequest": {"target": BOB_PROBE, "body": "fits", "blob_size": 10_000_000}})).await;
    let got = bob.report().await;
    assert_eq!(got["Received"]["body"], "fits");
    assert_eq!(got["Received"]["blob"].as_str().unwrap().len(), 10_000_000);
    cluster.shutdown().await;
}

/// A native endpoint on `node` that may send and receive networked messages.
fn net_endpoint(cluster: &Cluster, node: &str) -> Endpoint {
    let id: ProcessId = "netpoint:devnode:sys".parse().unwrap();
    cluster.node(node).endpoint(id, true, vec![Capability::network(node)])
}

/// Sends `n` messages from alice to bob one at a time and returns each one's delay.
async fn one_way_delays(alice: &Endpoint, bob: &mut Endpoint, n: usize) -> Vec<Duration> {
    let mut delays = Vec::new();
    for i in 0..n {
        let t = Instant::now();
        alice.send(bob.address.clone(), Request::new(format!("d{i}")), None).await;
        let got = bob.recv(Duration::from_secs(10)).await.expect("delivered within 10 s").expect("a message");
        assert_eq!(got.message.body(), format!("d{i}").as_bytes());
        delays.push(t.elapsed());
    }
    delays
}

fn spread(delays: &[Duration]) -> Duration {
    *delays.iter().max().unwrap() - *delays.iter().min().unwrap()
}

#[tokio::test]
async fn jitter_spreads_delays_within_its_bound_and_keeps_order() {
    let cluster = two_nodes().await;
    let alice = net_endpoint(&cluster, "alice.os");
    let mut bob = net_endpoint(&cluster, "bob.os");
    let latency = Duration::from_millis(20);
    let jitter = Duration::from_millis(400);

    cluster.set_link("alice.os", "bob.os", latency, 0.0);
    let steady = one_way_delays(&alice, &mut bob, 20).await;
    assert!(steady.iter().all(|d| *d >= latency), "latency applied: {steady:?}");
    assert!(spread(&steady) < Duration::from_millis(100), "without jitter delays are steady: {steady:?}");

    cluster.set_link_faults("alice.os", "bob.os", Link { latency, jitter, loss: 0.0 });
    let jittered = one_way_delays(&alice, &mut bob, 20).await;
    assert!(jittered.iter().all(|d| *d >= latency), "latency still applied: {jittered:?}");
    // Loopback adds a few ms at most; 250 ms of slack keeps a loaded machine from failing it.
    assert!(jittered.iter().all(|d| *d <= latency + jitter + Duration::from_millis(250)), "jitter is bounded: {jittered:?}");
    // 20 uniform draws from [0, 400 ms] all within 150 ms of each other: probability ~2e-7.
    assert!(spread(&jittered) >= Duration::from_millis(150), "jitter spreads delays: {jittered:?}");

    // Back to back, jittered messages still arrive in the order sent (one connection per pair).
    for i in 0..40 {
        alice.send(bob.address.clone(), Request::new(format!("n{i}")), None).await;
    }
    let mut bodies = Vec::new();
    for _ in 0..40 {
        let got = bob.recv(Duration::from_secs(10)).await.expect("delivered within 10 s").expect("a message");
        assert!(matches!(got.message, Message::Request(_)));
        bodies.push(String::from_utf8(got.message.body().to_vec()).unwrap());
    }
    assert_eq!(bodies, (0..40).map(|i| format!("n{i}")).collect::<Vec<_>>());
    cluster.shutdown().await;
}

#[tokio::test]
async fn the_admin_api_sets_jitter_and_refuses_bad_link_values_without_changing_the_link() {
    let shared = std::sync::Arc::new((two_nodes().await, None));
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await.unwrap();
    let admin = format!("http://{}", listener.local_addr().unwrap());
    let router = devnode::admin::router(shared.clone());
    let server = tokio::spawn(async move { axum_serve(listener, router).await });
    let cluster = &shared.0;
    let alice = net_endpoint(cluster, "alice.os");
    let mut bob = net_endpoint(cluster, "bob.os");
    let client = reqwest::Client::new();
    let post = |body: Value| {
        let (client, admin) = (client.clone(), admin.clone());
        async move { client.post(format!("{admin}/link")).json(&body).send().await.unwrap().status().as_u16() }
    };

    assert_eq!(post(json!({"a": "alice.os", "b": "bob.os", "jitter_ms": 400})).await, 200);
    let jittered = one_way_delays(&alice, &mut bob, 20).await;
    assert!(spread(&jittered) >= Duration::from_millis(150), "jitter from the admin API applies: {jittered:?}");
    assert!(jittered.iter().all(|d| *d <= Duration::from_millis(650)), "{jittered:?}");

    assert_eq!(post(json!({"a": "alice.os", "b": "bob.os"})).await, 200, "no fields: no faults");
    for bad in [
        json!({"a": "alice.os", "b": "zed.os", "jitter_ms": 10}),
        json!({"a": "alice.os", "b": "bob.os", "jitter_ms": 60_001}),
        json!({"a": "alice.os", "b": "bob.os", "latency_ms": 60_001}),
        json!({"a": "alice.os", "b": "bob.os", "loss": 1.5}),
        json!({"a": "alice.os", "b": "bob.os", "jitter_ms": -1}),
    ] {
        let status = post(bad.clone()).await;
        assert!((400..500).contains(&status), "{bad} refused, got {status}");
    }
    let steady = one_way_delays(&alice, &mut bob, 20).await;
    // A refused 60 s latency or jitter would show here; 1 s leaves room for a loaded machine.
    assert!(steady.iter().all(|d| *d < Duration::from_secs(1)), "refused requests changed nothing: {steady:?}");
    server.abort();
}

async fn axum_serve(listener: tokio::net::TcpListener, router: axum::Router) {
    let _ = axum::serve(listener, router).await;
}
