//! The real voice-chat package, installed from the zip that `cargo xtask build` writes, served
//! over real HTTP and WebSocket clients.
mod common;
use common::workspace_root;
use devnode::{Cluster, ClusterOptions};
use serde_json::Value;
use std::io::{BufRead, BufReader, Read};
use std::path::PathBuf;
use std::time::{Duration, Instant};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

const APP: &str = "voice-chat:voice-chat:template.os";

fn package_zip() -> PathBuf {
    let zip = workspace_root().join("target/voice-chat:template.zip");
    assert!(
        zip.exists(),
        "{} is missing: build the package first with `cargo xtask build` (these tests run the real app)",
        zip.display()
    );
    zip
}

fn index_html_in_zip() -> String {
    let bytes = std::fs::read(package_zip()).unwrap();
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
    let mut f = zip.by_name("ui/index.html").expect("the package carries ui/index.html");
    let mut s = String::new();
    f.read_to_string(&mut s).unwrap();
    s
}

async fn boot(nodes: &[&str]) -> Cluster {
    let cluster = Cluster::start(ClusterOptions::default().nodes(nodes).package(package_zip())).await.expect("boot with voice-chat");
    for n in cluster.nodes() {
        assert!(n.wait_bound(&format!("/{APP}/api/info"), false, Duration::from_secs(60)).await, "voice-chat bound /api/info");
        assert!(n.wait_bound(&format!("/{APP}/guest-ws"), true, Duration::from_secs(10)).await, "voice-chat bound /guest-ws");
        wait_ready(&n.http_url(), &n.login_cookie()).await;
    }
    cluster
}

/// The app binds its paths from `init`; wait until `/api/info` answers as JSON.
async fn wait_ready(base: &str, cookie: &str) {
    let t = Instant::now();
    while t.elapsed() < Duration::from_secs(60) {
        if let Ok(r) = reqwest::Client::new().get(format!("{base}/{APP}/api/info")).header("cookie", cookie).send().await {
            if r.status() == 200 {
                if let Ok(text) = r.text().await {
                    if serde_json::from_str::<Value>(&text).is_ok() {
                        return;
                    }
                }
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("voice-chat did not answer /api/info on {base} within 60 s");
}

#[tokio::test]
async fn the_package_installs_from_its_zip_and_serves_the_ui_at_root_and_deep_links() {
    let cluster = boot(&["alice.os"]).await;
    let node = cluster.node("alice.os");
    let index = index_html_in_zip();
    let client = reqwest::Client::new();
    for path in ["/", "/room/r-123", "/room/r-123/"] {
        let resp = client.get(format!("{}/{APP}{path}", node.http_url())).header("cookie", node.login_cookie()).send().await.unwrap();
        assert_eq!(resp.status(), 200, "{path}");
        assert_eq!(resp.text().await.unwrap(), index, "{path} serves the UI's index.html");
    }
    let drive = node.kernel().home.join("vfs/voice-chat:template.os/pkg");
    assert!(drive.join("voice-chat.wasm").exists() && drive.join("manifest.json").exists());
    assert!(drive.join("voice-chat:template.os.zip").exists(), "the zip is kept on the drive, as the app store does");
    cluster.shutdown().await;
}

#[tokio::test]
async fn the_api_needs_the_owner_login_and_answers_json() {
    let cluster = boot(&["alice.os"]).await;
    let node = cluster.node("alice.os");
    let client = reqwest::Client::new();
    let url = format!("{}/{APP}/api/info", node.http_url());
    let anon = client.get(&url).send().await.unwrap();
    assert_eq!(anon.status(), 200);
    assert!(anon.text().await.unwrap().contains("password"), "an anonymous visitor gets the login page");
    let info: Value = client.get(&url).header("cookie", node.login_cookie()).send().await.unwrap().json().await.unwrap();
    assert_eq!(info["name"], "voice-chat");
    assert!(info["protocol_version"].is_u64(), "{info}");
    let our = client.get(format!("{}/our.js", node.http_url())).send().await.unwrap().text().await.unwrap();
    assert_eq!(our, "window.our = {}; window.our.node = 'alice.os';");
    cluster.shutdown().await;
}

#[tokio::test]
async fn the_owner_socket_needs_the_cookie_and_the_guest_socket_does_not() {
    let cluster = boot(&["alice.os"]).await;
    let node = cluster.node("alice.os");
    let owner = node.ws_url(&format!("/{APP}/ws"));
    assert!(tokio_tungstenite::connect_async(owner.as_str()).await.is_err());
    let mut req = owner.as_str().into_client_request().unwrap();
    req.headers_mut().insert("cookie", node.login_cookie().parse().unwrap());
    let (_ws, resp) = tokio_tungstenite::connect_async(req).await.expect("owner socket with cookie");
    assert_eq!(resp.status(), 101);
    let (_guest, resp) = tokio_tungstenite::connect_async(node.ws_url(&format!("/{APP}/guest-ws"))).await.expect("guest socket");
    assert_eq!(resp.status(), 101);
    assert_eq!(node.open_websockets(), 2);
    cluster.shutdown().await;
}

#[tokio::test]
async fn devnode_up_boots_two_nodes_prints_their_urls_and_takes_faults_over_its_admin_api() {
    let home = tempfile::tempdir().unwrap();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_devnode"))
        .args(["up", "--node", "alice.os", "--node", "bob.os", "--password", "pw", "--package"])
        .arg(package_zip())
        .arg("--home")
        .arg(home.path())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let ready = tokio::task::spawn_blocking(move || {
        for line in BufReader::new(stdout).lines() {
            let line = line.unwrap();
            if let Some(json) = line.strip_prefix("DEVNODE_READY ") {
                return serde_json::from_str::<Value>(json).unwrap();
            }
        }
        panic!("devnode up ended without DEVNODE_READY");
    })
    .await
    .unwrap();
    let nodes = ready["nodes"].as_array().unwrap();
    assert_eq!(nodes.len(), 2);
    for n in nodes {
        assert_eq!(n["password"], "pw");
        assert!(n["app_url"].as_str().unwrap().ends_with(&format!("/{APP}/")));
        wait_ready(n["url"].as_str().unwrap(), n["cookie"].as_str().unwrap()).await;
        let page = reqwest::get(n["app_url"].as_str().unwrap()).await.unwrap();
        assert_eq!(page.status(), 200);
    }
    let admin = ready["admin"].as_str().unwrap();
    let client = reqwest::Client::new();
    assert!(client.post(format!("{admin}/nodes/bob.os/offline")).send().await.unwrap().status().is_success());
    assert!(client.post(format!("{admin}/nodes/bob.os/online")).send().await.unwrap().status().is_success());
    let link = client.post(format!("{admin}/link")).json(&serde_json::json!({"a": "alice.os", "b": "bob.os", "latency_ms": 50, "loss": 0.1})).send().await.unwrap();
    assert!(link.status().is_success());
    let bad = client.post(format!("{admin}/link")).json(&serde_json::json!({"a": "alice.os", "b": "zed.os"})).send().await.unwrap();
    assert_eq!(bad.status(), 400);
    let restart = client.post(format!("{admin}/nodes/alice.os/restart/{APP}")).send().await.unwrap();
    assert!(restart.status().is_success());
    wait_ready(nodes[0]["url"].as_str().unwrap(), nodes[0]["cookie"].as_str().unwrap()).await;
    let reboot = client.post(format!("{admin}/nodes/bob.os/reboot")).send().await.unwrap();
    assert!(reboot.status().is_success());
    wait_ready(nodes[1]["url"].as_str().unwrap(), nodes[1]["cookie"].as_str().unwrap()).await;
    let missing = client.post(format!("{admin}/nodes/alice.os/restart/nope:nope:x.os")).send().await.unwrap();
    assert_eq!(missing.status(), 404);
    child.kill().unwrap();
    child.wait().unwrap();
}
