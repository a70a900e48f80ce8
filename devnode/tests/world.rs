//! The process world's semantics, observed through the probe process.
mod common;
use common::*;
use serde_json::json;

#[tokio::test]
async fn probe_starts_and_answers_a_ping() {
    let cluster = one_node().await;
    let (mut probe, started) = Probe::install(cluster.node("alice.os"), probe_entry()).await;
    assert_eq!(started, json!({"Started": {"state": null}}));
    assert!(probe.sync("x").await.is_empty());
    cluster.shutdown().await;
}
