//! Runs devnode with the voice-chat package, in its own process so that its CPU and memory
//! are the app's (wasm, kernel, http-server) and nothing of the load generator's. One node, or
//! with `--peer` a second one for the cross-node row (listeners on the peer node).
use anyhow::Result;
use devnode::{Cluster, ClusterOptions, PackageSpec};
use std::path::PathBuf;

pub const NODE: &str = "bench.os";
pub const PEER: &str = "peer.os";

pub async fn serve(package: PathBuf, peer: bool) -> Result<()> {
    let mut nodes = vec![NODE.to_string()];
    if peer {
        nodes.push(PEER.to_string());
    }
    // Any zip holds the same package (e.g. the 0.1.0 fixture, named after its version).
    let package_id = Some("voice-chat:template.os".to_string());
    let opts = ClusterOptions { nodes, packages: vec![PackageSpec { zip: package, package_id }], ..ClusterOptions::default() };
    let cluster = Cluster::start(opts).await?;
    let node = &cluster.nodes()[0];
    let peers: Vec<_> =
        cluster.nodes()[1..].iter().map(|n| serde_json::json!({ "node": n.name(), "url": n.http_url(), "cookie": n.login_cookie() })).collect();
    println!(
        "DEVNODE_READY {}",
        serde_json::json!({ "url": node.http_url(), "cookie": node.login_cookie(), "pid": std::process::id(), "peers": peers })
    );
    // The driver closes our stdin to stop us, so the nodes' home directory is removed.
    let mut lines = tokio::io::AsyncBufReadExt::lines(tokio::io::BufReader::new(tokio::io::stdin()));
    while let Ok(Some(_)) = lines.next_line().await {}
    cluster.shutdown().await;
    Ok(())
}
