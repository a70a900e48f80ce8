//! `devnode up`: boot local nodes with packages installed and print where to open them.
use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use devnode::cluster::{Cluster, ClusterOptions, PackageSpec};
use std::path::PathBuf;
use std::sync::Arc;

#[derive(Parser)]
#[command(name = "devnode", about = "A local Hyperware node for development and tests")]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Boot nodes, install the package on each, print their URLs, and run until Ctrl-C.
    Up {
        /// Node names (repeat for several).
        #[arg(long = "node", default_values_t = ["alice.os".to_string(), "bob.os".to_string()])]
        nodes: Vec<String>,
        /// Package zip to install on every node (repeatable).
        #[arg(long = "package")]
        packages: Vec<PathBuf>,
        /// `package:publisher` of the package, when its file name does not tell.
        #[arg(long)]
        package_id: Option<String>,
        /// Home directory: each node keeps its state and drives in `<home>/<node>`.
        #[arg(long)]
        home: Option<PathBuf>,
        /// Login password for every node (random per node by default).
        #[arg(long)]
        password: Option<String>,
        /// First HTTP port (node i listens on port+i); ephemeral ports by default.
        #[arg(long)]
        port: Option<u16>,
        /// Port of the admin API (faults, URLs); ephemeral by default.
        #[arg(long, default_value_t = 0)]
        admin_port: u16,
        /// The app's process id, to print its URL.
        #[arg(long, default_value = "voice-chat:voice-chat:template.os")]
        app: String,
        /// Seconds an HTTP request waits for the app before 408.
        #[arg(long, default_value_t = devnode::http_server::DEFAULT_TIMEOUT_SECS)]
        http_timeout: u64,
        /// Allow `local_only` bindings from loopback clients (the node flag `--expose-local`).
        #[arg(long)]
        expose_local: bool,
        /// Echo node terminals up to this verbosity (0 = what a node prints by default).
        #[arg(long, default_value_t = 0)]
        verbosity: u8,
    },
}

#[tokio::main]
async fn main() -> Result<()> {
    let Cmd::Up { nodes, packages, package_id, home, password, port, admin_port, app, http_timeout, expose_local, verbosity } =
        Cli::parse().command;
    let opts = ClusterOptions {
        nodes,
        packages: packages.into_iter().map(|zip| PackageSpec { zip, package_id: package_id.clone() }).collect(),
        home,
        password,
        base_port: port,
        http_timeout_secs: http_timeout,
        expose_local,
        echo_verbosity: Some(verbosity),
    };
    let cluster = Cluster::start(opts).await?;
    let shared = Arc::new((cluster, Some(app.clone())));
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", admin_port)).await.context("binding the admin port")?;
    let admin_addr = listener.local_addr()?;
    let router = devnode::admin::router(shared.clone());
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    for n in shared.0.nodes() {
        println!("node {}", n.name());
        println!("  url:      {}", n.http_url());
        println!("  password: {}", n.password());
        println!("  login:    {}/login", n.http_url());
        println!("  app:      {}", n.app_url(&app));
    }
    println!("admin: http://{admin_addr}");
    // One machine-readable line for scripts that run devnode as a child process.
    println!(
        "DEVNODE_READY {}",
        serde_json::json!({ "admin": format!("http://{admin_addr}"), "nodes": devnode::admin::describe(&shared.0, Some(&app)) })
    );
    tokio::signal::ctrl_c().await?;
    Ok(())
}
