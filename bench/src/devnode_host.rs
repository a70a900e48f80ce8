//! Runs one devnode with the voice-chat package, in its own process so that its CPU and
//! memory are the app's (wasm, kernel, http-server) and nothing of the load generator's.
use anyhow::Result;
use devnode::{Cluster, ClusterOptions, PackageSpec};
use std::path::PathBuf;

pub const NODE: &str = "bench.os";

pub async fn serve(package: PathBuf) -> Result<()> {
    let opts = ClusterOptions {
        nodes: vec![NODE.to_string()],
        packages: vec![PackageSpec { zip: package, package_id: None }],
        ..ClusterOptions::default()
    };
    let cluster = Cluster::start(opts).await?;
    let node = &cluster.nodes()[0];
    println!(
        "DEVNODE_READY {}",
        serde_json::json!({ "url": node.http_url(), "cookie": node.login_cookie(), "pid": std::process::id() })
    );
    // The driver closes our stdin to stop us, so the node's home directory is removed.
    let mut lines = tokio::io::AsyncBufReadExt::lines(tokio::io::BufReader::new(tokio::io::stdin()));
    while let Ok(Some(_)) = lines.next_line().await {}
    cluster.shutdown().await;
    Ok(())
}

