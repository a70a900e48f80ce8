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
    while let Ok(Some(line)) = lines.next_line().await {
        if line.trim() == "nodelay" {
            println!("NODELAY_SET {}", set_nodelay_on_all_sockets());
        }
    }
    cluster.shutdown().await;
    Ok(())
}

/// devnode's HTTP listener (axum::serve) leaves Nagle's algorithm on, while the runtime's
/// (warp 0.3 `serve().run()`) sets TCP_NODELAY on every accepted socket. Small audio pushes
/// then wait for the client's delayed ACK. To measure the app as a real node serves it
/// without changing devnode, the driver asks us (once every client is connected, before the
/// window) to set TCP_NODELAY on each TCP socket this process holds. Returns how many took it.
fn set_nodelay_on_all_sockets() -> usize {
    let Ok(dir) = std::fs::read_dir("/proc/self/fd") else { return 0 };
    let mut set = 0;
    for entry in dir.flatten() {
        let is_socket = std::fs::read_link(entry.path()).is_ok_and(|t| t.to_string_lossy().starts_with("socket:"));
        let Some(fd) = entry.file_name().to_str().and_then(|n| n.parse::<i32>().ok()) else { continue };
        if !is_socket {
            continue;
        }
        let one: libc::c_int = 1;
        // SAFETY: fd is open in this process; setsockopt fails harmlessly on non-TCP sockets.
        let rc = unsafe {
            libc::setsockopt(
                fd,
                libc::IPPROTO_TCP,
                libc::TCP_NODELAY,
                &one as *const libc::c_int as *const libc::c_void,
                std::mem::size_of::<libc::c_int>() as libc::socklen_t,
            )
        };
        if rc == 0 {
            set += 1;
        }
    }
    set
}
