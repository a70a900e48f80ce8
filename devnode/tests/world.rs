//! The process world's semantics (upstream `kernel/standard_host_v1.rs`), observed through the
//! probe process driven by a native tester endpoint.
mod common;
use common::*;
use devnode::types::*;
use devnode::{Cluster, ClusterOptions};
use serde_json::{json, Value};
use std::time::{Duration, Instant};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

fn tester_addr() -> String {
    "alice.os@tester:devnode:sys".into()
}

/// Waits for the next report that is not a Received of a response to the tester's own sends.
async fn next_request_to_tester(probe: &mut Probe) -> KernelMessage {
    loop {
        let item = probe.tester.recv(Duration::from_secs(20)).await.expect("a message to the tester");
        if let Ok(km) = item {
            return km;
        }
    }
}

#[tokio::test]
async fn probe_starts_and_answers_a_ping() {
    let cluster = one_node().await;
    let (mut probe, started) = Probe::install(cluster.node("alice.os"), probe_entry()).await;
    assert_eq!(started, json!({"Started": {"state": null}}));
    assert!(probe.sync("x").await.is_empty());
    cluster.shutdown().await;
}

#[tokio::test]
async fn receive_returns_messages_in_arrival_order() {
    let cluster = one_node().await;
    let (mut probe, _) = Probe::install(cluster.node("alice.os"), probe_entry()).await;
    for i in 0..20 {
        // Bodies that are not commands come back as Received reports.
        probe.tester.send(probe.address.clone(), Request::new(format!("m{i}")), None).await;
    }
    let reports = probe.sync("end").await;
    let bodies: Vec<String> = reports.iter().map(|r| r["Received"]["body"].as_str().unwrap().to_string()).collect();
    assert_eq!(bodies, (0..20).map(|i| format!("m{i}")).collect::<Vec<_>>());
    cluster.shutdown().await;
}

#[tokio::test]
async fn get_blob_is_the_current_message_and_last_blob_the_latest_ever() {
    let cluster = one_node().await;
    let (mut probe, _) = Probe::install(cluster.node("alice.os"), probe_entry()).await;
    let blob = |s: &str| Some(Blob { mime: None, bytes: s.as_bytes().to_vec() });
    probe.tester.send(probe.address.clone(), Request::new("with"), blob("B1")).await;
    probe.tester.send(probe.address.clone(), Request::new("without"), None).await;
    let r = probe.sync("a").await;
    assert_eq!(r[0]["Received"]["has_blob"], true);
    assert_eq!(r[0]["Received"]["blob"], "B1");
    assert_eq!(r[1]["Received"]["has_blob"], false);
    assert_eq!(r[1]["Received"]["blob"], Value::Null);
    assert_eq!(r[1]["Received"]["last_blob"], "B1");
    cluster.shutdown().await;
}

#[tokio::test]
async fn inherit_carries_the_last_blob_and_a_response_with_inherit_ignores_the_given_blob() {
    let cluster = one_node().await;
    let (mut probe, _) = Probe::install(cluster.node("alice.os"), probe_entry()).await;
    let q = probe
        .tester
        .send(probe.address.clone(), Request::new("question").expecting(30), Some(Blob { mime: None, bytes: b"B2".to_vec() }))
        .await;
    probe.sync("got-question").await;
    // A request that inherits, with no blob of its own, carries B2 and (no expects_response)
    // keeps the prompting message's id.
    probe.command(json!({"SendRequest": {"target": tester_addr(), "body": "fwd", "inherit": true}})).await;
    let fwd = next_request_to_tester(&mut probe).await;
    assert_eq!(fwd.message.body(), b"fwd");
    assert_eq!(fwd.blob.as_ref().unwrap().bytes, b"B2");
    assert_eq!(fwd.id, q, "inherit takes the prompting message's id");
    probe.command(json!({"Respond": {"body": "answer", "inherit": true, "blob": "IGNORED"}})).await;
    let answer = next_request_to_tester(&mut probe).await;
    assert!(matches!(answer.message, Message::Response(..)));
    assert_eq!(answer.id, q);
    assert_eq!(answer.blob.unwrap().bytes, b"B2");
    cluster.shutdown().await;
}

#[tokio::test]
async fn an_unanswered_request_comes_back_as_a_timeout_with_its_context() {
    let cluster = one_node().await;
    let (mut probe, _) = Probe::install(cluster.node("alice.os"), probe_entry()).await;
    let start = Instant::now();
    probe
        .command(json!({"SendRequest": {"target": tester_addr(), "body": "hello?", "expects_response": 1, "context": "ctx-1", "blob": "b"}}))
        .await;
    let sent = next_request_to_tester(&mut probe).await;
    assert_eq!(sent.message.body(), b"hello?");
    let err = probe.report().await;
    assert!(start.elapsed() >= Duration::from_millis(950), "timeout came after {:?}", start.elapsed());
    assert_eq!(
        err,
        json!({"SendError": {"kind": "Timeout", "target": tester_addr(), "body": "hello?", "context": "ctx-1", "blob": "b"}})
    );
    // The late answer after the timeout is dropped.
    probe.tester.respond(&sent, Response::new("too late"), None).await;
    assert!(probe.sync("late").await.is_empty(), "a late response must be dropped");
    cluster.shutdown().await;
}

#[tokio::test]
async fn responses_reach_the_requester_with_its_context_and_fire_and_forget_answers_are_dropped() {
    let cluster = one_node().await;
    let (mut probe, _) = Probe::install(cluster.node("alice.os"), probe_entry()).await;
    probe.command(json!({"SendRequest": {"target": tester_addr(), "body": "q", "expects_response": 30, "context": "mine"}})).await;
    let q = next_request_to_tester(&mut probe).await;
    assert_eq!(q.rsvp.as_ref(), Some(&probe.address), "expects_response sets rsvp to the sender");
    probe.tester.respond(&q, Response::new("a"), Some(Blob { mime: None, bytes: b"rb".to_vec() })).await;
    let got = probe.report().await;
    assert_eq!(got["Received"]["kind"], "Response");
    assert_eq!(got["Received"]["source"], tester_addr());
    assert_eq!(got["Received"]["body"], "a");
    assert_eq!(got["Received"]["context"], "mine");
    assert_eq!(got["Received"]["blob"], "rb");

    probe.command(json!({"SendRequest": {"target": tester_addr(), "body": "faf"}})).await;
    let faf = next_request_to_tester(&mut probe).await;
    assert_eq!(faf.rsvp, None);
    probe.tester.respond(&faf, Response::new("ignored"), None).await;
    assert!(probe.sync("after-faf").await.is_empty(), "the answer to a fire-and-forget request is dropped");
    cluster.shutdown().await;
}

#[tokio::test]
async fn send_response_answers_the_last_request_that_expected_one() {
    let cluster = one_node().await;
    let (mut probe, _) = Probe::install(cluster.node("alice.os"), probe_entry()).await;
    let q1 = probe.tester.send(probe.address.clone(), Request::new("q1").expecting(30), None).await;
    probe.tester.send(probe.address.clone(), Request::new("q2-fire-and-forget"), None).await;
    probe.sync("s").await;
    probe.command(json!({"Respond": {"body": "r"}})).await;
    let r = next_request_to_tester(&mut probe).await;
    assert!(matches!(r.message, Message::Response(..)));
    assert_eq!(r.id, q1, "the answer goes to the last request that expected one");
    cluster.shutdown().await;
}

#[tokio::test]
async fn send_and_await_queues_other_messages_for_later_receives() {
    let cluster = one_node().await;
    let (mut probe, _) = Probe::install(cluster.node("alice.os"), probe_entry()).await;
    probe.command(json!({"SendAndAwait": {"target": tester_addr(), "body": "wait-for-me", "expects_response": 30}})).await;
    let q = next_request_to_tester(&mut probe).await;
    probe.tester.send(probe.address.clone(), Request::new("meanwhile-1"), None).await;
    probe.tester.send(probe.address.clone(), Request::new("meanwhile-2"), None).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    probe.tester.respond(&q, Response::new("done"), None).await;
    let r = probe.sync("after").await;
    assert_eq!(r.len(), 3, "{r:?}");
    assert_eq!(r[0]["AwaitResult"]["Ok"]["body"], "done");
    assert_eq!(r[0]["AwaitResult"]["Ok"]["context"], Value::Null);
    assert_eq!(r[1]["Received"]["body"], "meanwhile-1");
    assert_eq!(r[2]["Received"]["body"], "meanwhile-2");
    cluster.shutdown().await;
}

#[tokio::test]
async fn send_and_await_traps_without_expects_response_and_when_awaiting_itself() {
    let cluster = one_node().await;
    let node = cluster.node("alice.os");
    let (mut probe, _) = Probe::install(node, probe_entry()).await;
    probe.command(json!({"SendAndAwait": {"target": tester_addr(), "body": "x"}})).await;
    let restarted = probe.report().await;
    assert!(restarted.get("Started").is_some(), "the trap kills the process and on_exit restarts it: {restarted}");
    assert!(node.log().lines().iter().any(|l| l.text.contains("must expect response")));
    probe.command(json!({"SendAndAwait": {"target": "alice.os@probe:probe:devnode.os", "body": "me", "expects_response": 5}})).await;
    let restarted = probe.report().await;
    assert!(restarted.get("Started").is_some(), "{restarted}");
    assert!(node.log().lines().iter().any(|l| l.text.contains("cannot await a Request to `our`")));
    cluster.shutdown().await;
}

#[tokio::test]
async fn state_survives_process_restart_and_devnode_restart() {
    let home = tempfile::tempdir().unwrap();
    let opts = ClusterOptions::default().nodes(&["alice.os"]).home(home.path());
    let cluster = Cluster::start(opts.clone()).await.unwrap();
    let (mut probe, _) = Probe::install(cluster.node("alice.os"), probe_entry()).await;
    probe.command(json!({"SetState": "saved-1"})).await;
    assert_eq!(probe.report().await, json!({"StateSet": "saved-1"}));
    cluster.node("alice.os").restart_process(&probe_id()).unwrap();
    assert_eq!(probe.report().await, json!({"Started": {"state": "saved-1"}}));
    cluster.shutdown().await;

    let cluster = Cluster::start(opts.clone()).await.unwrap();
    let (mut probe, started) = Probe::install(cluster.node("alice.os"), probe_entry()).await;
    assert_eq!(started, json!({"Started": {"state": "saved-1"}}), "state is on disk under the node's home");
    probe.command(json!("ClearState")).await;
    assert_eq!(probe.report().await, json!("StateCleared"));
    probe.command(json!("GetState")).await;
    assert_eq!(probe.report().await, json!({"State": null}));
    cluster.shutdown().await;
}

#[tokio::test]
async fn get_state_leaves_last_blob_alone() {
    let cluster = one_node().await;
    let (mut probe, _) = Probe::install(cluster.node("alice.os"), probe_entry()).await;
    probe.command(json!({"SetState": "st"})).await;
    probe.report().await;
    probe.tester.send(probe.address.clone(), Request::new("b"), Some(Blob { mime: None, bytes: b"keep".to_vec() })).await;
    probe.sync("1").await;
    probe.command(json!("GetState")).await;
    assert_eq!(probe.report().await, json!({"State": "st"}));
    probe.command(json!("Blobs")).await;
    let b = probe.report().await;
    assert_eq!(b["Blobs"]["last_blob"], "keep");
    cluster.shutdown().await;
}

#[tokio::test]
async fn quick_repeated_crashes_back_off_two_then_four_seconds() {
    let cluster = one_node().await;
    let node = cluster.node("alice.os");
    let (mut probe, _) = Probe::install(node, probe_entry()).await;
    // A crash soon after start is the 2nd consecutive quick attempt: 2 s, then 4 s.
    let t = Instant::now();
    probe.command(json!("Trap")).await;
    assert!(probe.report().await.get("Started").is_some());
    let first = t.elapsed();
    let t = Instant::now();
    probe.command(json!("Trap")).await;
    assert!(probe.report().await.get("Started").is_some());
    let second = t.elapsed();
    assert!(first >= Duration::from_millis(1900) && first < Duration::from_millis(3500), "first backoff {first:?}");
    assert!(second >= Duration::from_millis(3900) && second < Duration::from_millis(6000), "second backoff {second:?}");
    assert!(node.log().lines().iter().any(|l| l.text.contains("probe trapped on command")), "the panic message is in the log");
    cluster.shutdown().await;
}

#[tokio::test]
async fn a_restart_after_a_healthy_run_is_immediate() {
    let cluster = one_node().await;
    let (mut probe, _) = Probe::install(cluster.node("alice.os"), probe_entry()).await;
    // Healthy = ran at least 5 × the current backoff (1 s).
    tokio::time::sleep(Duration::from_millis(5200)).await;
    let t = Instant::now();
    probe.command(json!("Trap")).await;
    assert!(probe.report().await.get("Started").is_some());
    assert!(t.elapsed() < Duration::from_millis(1500), "restart took {:?} (a backoff would be 2 s)", t.elapsed());
    cluster.shutdown().await;
}

#[tokio::test]
async fn on_exit_none_removes_the_process() {
    let cluster = one_node().await;
    let node = cluster.node("alice.os");
    let mut entry = probe_entry();
    entry["on_exit"] = json!("None");
    let (mut probe, _) = Probe::install(node, entry).await;
    probe.command(json!("Exit")).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(!node.running(&probe_id()));
    assert!(probe.try_report(Duration::from_millis(500)).await.is_none());
    cluster.shutdown().await;
}

#[tokio::test]
async fn print_to_terminal_goes_to_the_node_log_with_its_verbosity() {
    let cluster = one_node().await;
    let node = cluster.node("alice.os");
    let (mut probe, _) = Probe::install(node, probe_entry()).await;
    probe.command(json!({"Print": {"verbosity": 2, "text": "hello terminal"}})).await;
    probe.sync("p").await;
    let line = node
        .log()
        .wait_for(Duration::from_secs(5), |l| l.text.contains("hello terminal"))
        .await
        .expect("the print is in the node log");
    assert_eq!(line.verbosity, 2);
    assert_eq!(line.source, "probe:probe:devnode.os");
    assert_eq!(line.text, "probe:devnode.os: hello terminal");
    cluster.shutdown().await;
}

#[tokio::test]
async fn a_refused_local_send_is_an_immediate_timeout_not_offline() {
    let cluster = one_node().await;
    let (mut probe, _) = Probe::install(cluster.node("alice.os"), probe_entry()).await;
    let t = Instant::now();
    // No such process.
    probe.command(json!({"SendRequest": {"target": "alice.os@nobody:nowhere:x.os", "body": "a", "expects_response": 30, "context": "c1"}})).await;
    let r = probe.report().await;
    assert_eq!(r["SendError"]["kind"], "Timeout");
    assert_eq!(r["SendError"]["context"], "c1");
    // homepage is not public and the probe did not request it.
    probe.command(json!({"SendRequest": {"target": "alice.os@homepage:homepage:sys", "body": "\"Remove\"", "expects_response": 30, "context": "c2"}})).await;
    let r = probe.report().await;
    assert_eq!(r["SendError"]["kind"], "Timeout");
    assert_eq!(r["SendError"]["context"], "c2");
    assert!(t.elapsed() < Duration::from_secs(2), "refusals are immediate: {:?}", t.elapsed());
    cluster.shutdown().await;
}

#[tokio::test]
async fn timer_replies_reach_only_an_app_that_granted_timer() {
    let cluster = Cluster::start(ClusterOptions::default().nodes(&["alice.os"])).await.unwrap();
    let (mut probe, _) = Probe::install(cluster.node("alice.os"), probe_entry()).await;
    let t = Instant::now();
    probe
        .command(json!({"SendRequest": {"target": "alice.os@timer:distro:sys", "body": "{\"SetTimer\":200}", "expects_response": 3, "context": "tick"}}))
        .await;
    let r = probe.report().await;
    assert_eq!(r["Received"]["kind"], "Response");
    assert_eq!(r["Received"]["body"], "");
    assert_eq!(r["Received"]["context"], "tick");
    assert!(t.elapsed() >= Duration::from_millis(190) && t.elapsed() < Duration::from_secs(2), "{:?}", t.elapsed());
    cluster.shutdown().await;

    let cluster = one_node().await;
    let mut entry = probe_entry();
    entry["grant_capabilities"] = json!(["http-server:distro:sys", "tester:devnode:sys"]);
    let (mut probe, _) = Probe::install(cluster.node("alice.os"), entry).await;
    probe
        .command(json!({"SendRequest": {"target": "alice.os@timer:distro:sys", "body": "{\"SetTimer\":100}", "expects_response": 1, "context": "tick"}}))
        .await;
    let r = probe.report().await;
    assert_eq!(r["SendError"]["kind"], "Timeout", "without the grant the timer's reply is dropped: {r}");
    cluster.shutdown().await;
}

#[tokio::test]
async fn a_bad_manifest_is_refused_with_a_clear_error_and_installs_nothing() {
    let cluster = one_node().await;
    let node = cluster.node("alice.os");
    let mut missing_field = probe_entry();
    missing_field.as_object_mut().unwrap().remove("public");
    let err = node.install(&probe_zip(&[missing_field]), PROBE_PACKAGE).unwrap_err();
    assert!(format!("{err:#}").contains("missing field `public`"), "{err:#}");
    let mut bad_name = probe_entry();
    bad_name["process_name"] = json!("Probe_1");
    let err = node.install(&probe_zip(&[bad_name]), PROBE_PACKAGE).unwrap_err();
    assert!(format!("{err:#}").contains("not hypermap-safe"), "{err:#}");
    let mut bad_wasm = probe_entry();
    bad_wasm["process_wasm_path"] = json!("/missing.wasm");
    let err = node.install(&probe_zip(&[bad_wasm]), PROBE_PACKAGE).unwrap_err();
    assert!(format!("{err:#}").contains("not in the package"), "{err:#}");
    let err = node.install(b"not a zip", PROBE_PACKAGE).unwrap_err();
    assert!(format!("{err:#}").contains("zip"), "{err:#}");
    assert!(!node.running(&probe_id()));
    cluster.shutdown().await;
}

#[tokio::test]
async fn homepage_add_and_remove_are_accepted_from_an_app_with_the_capability() {
    let cluster = one_node().await;
    let node = cluster.node("alice.os");
    let mut entry = probe_entry();
    entry["request_capabilities"].as_array_mut().unwrap().push(json!("homepage:homepage:sys"));
    let (mut probe, _) = Probe::install(node, entry).await;
    let add = json!({"Add": {"label": "Probe", "icon": null, "path": "/", "widget": null}}).to_string();
    probe.command(json!({"SendRequest": {"target": "alice.os@homepage:homepage:sys", "body": add}})).await;
    probe.sync("a").await;
    let t = Instant::now();
    while node.homepage_entries().is_empty() && t.elapsed() < Duration::from_secs(5) {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let entries = node.homepage_entries();
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].label, "Probe");
    assert_eq!(entries[0].path.as_deref(), Some("/probe:probe:devnode.os/"));
    probe.command(json!({"SendRequest": {"target": "alice.os@homepage:homepage:sys", "body": "\"Remove\""}})).await;
    probe.sync("b").await;
    let t = Instant::now();
    while !node.homepage_entries().is_empty() && t.elapsed() < Duration::from_secs(5) {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(node.homepage_entries().is_empty());
    cluster.shutdown().await;
}

#[tokio::test]
async fn install_grants_the_manifest_capabilities() {
    let cluster = one_node().await;
    let (mut probe, _) = Probe::install(cluster.node("alice.os"), probe_entry()).await;
    probe.command(json!("OurCaps")).await;
    let caps = probe.report().await["Caps"].clone();
    let has = |issuer: &str, params: &str| caps.as_array().unwrap().iter().any(|c| c["issuer"] == issuer && c["params"] == params);
    assert!(has("alice.os@http-server:distro:sys", "\"messaging\""), "{caps}");
    assert!(has("alice.os@vfs:distro:sys", "\"messaging\""), "{caps}");
    assert!(has("alice.os@kernel:distro:sys", "\"network\""), "{caps}");
    assert!(has("alice.os@vfs:distro:sys", &json!({"kind": "read", "drive": "/probe:devnode.os/pkg"}).to_string()), "{caps}");
    assert!(!has("alice.os@homepage:homepage:sys", "\"messaging\""), "only what the manifest asks for");
    cluster.shutdown().await;
}

#[tokio::test]
async fn vfs_reads_the_package_drive_and_refuses_another_packages_drive_without_a_cap() {
    let cluster = one_node().await;
    let (mut probe, _) = Probe::install(cluster.node("alice.os"), probe_entry()).await;
    let vfs = "alice.os@vfs:distro:sys";
    let ask = |path: &str, action: Value| json!({"SendAndAwait": {"target": vfs, "expects_response": 5, "body": json!({"path": path, "action": action}).to_string()}});
    probe.command(ask("/probe:devnode.os/pkg", json!("ReadDir"))).await;
    let r = probe.report().await;
    let dir: Value = serde_json::from_str(r["AwaitResult"]["Ok"]["body"].as_str().unwrap()).unwrap();
    let mut names: Vec<String> = dir["ReadDir"].as_array().unwrap().iter().map(|e| e["path"].as_str().unwrap().to_string()).collect();
    names.sort();
    assert_eq!(names, ["probe:devnode.os/pkg/manifest.json", "probe:devnode.os/pkg/probe.wasm", "probe:devnode.os/pkg/probe:devnode.os.zip"]);
    probe.command(ask("/probe:devnode.os/pkg/manifest.json", json!("Read"))).await;
    let r = probe.report().await;
    assert_eq!(r["AwaitResult"]["Ok"]["body"], "\"Read\"");
    assert!(r["AwaitResult"]["Ok"]["blob"].as_str().unwrap().contains("probe.wasm"));
    probe.command(ask("/probe:devnode.os/pkg/manifest.json", json!("Metadata"))).await;
    let r = probe.report().await;
    let meta: Value = serde_json::from_str(r["AwaitResult"]["Ok"]["body"].as_str().unwrap()).unwrap();
    assert_eq!(meta["Metadata"]["file_type"], "File");
    probe.command(ask("/other:pkg.os/pkg", json!("ReadDir"))).await;
    assert_eq!(probe.report().await["AwaitResult"]["Ok"]["body"], "{\"Err\":\"NoReadCap\"}");
    probe.command(ask("/probe:devnode.os/pkg/../../other:pkg.os/pkg", json!("ReadDir"))).await;
    assert_eq!(probe.report().await["AwaitResult"]["Ok"]["body"], "{\"Err\":\"NoReadCap\"}", "`..` is normalised before the check");
    cluster.shutdown().await;
}

#[tokio::test]
async fn spawn_starts_a_child_from_the_package_drive() {
    let cluster = one_node().await;
    let node = cluster.node("alice.os");
    let (mut probe, _) = Probe::install(node, probe_entry()).await;
    probe.command(json!({"Spawn": {"name": "child", "wasm_path": "/probe.wasm"}})).await;
    let mut reports = vec![probe.report().await, probe.report().await];
    reports.sort_by_key(|r| r.to_string());
    assert!(reports.iter().any(|r| r == &json!({"Spawned": {"Ok": "child:probe:devnode.os"}})), "{reports:?}");
    assert!(reports.iter().any(|r| r.get("Started").is_some()), "the child runs: {reports:?}");
    probe.command(json!({"Spawn": {"name": "child", "wasm_path": "/probe.wasm"}})).await;
    assert_eq!(probe.report().await, json!({"Spawned": {"Err": "NameTaken"}}));
    probe.command(json!({"Spawn": {"name": "other", "wasm_path": "/missing.wasm"}})).await;
    assert_eq!(probe.report().await, json!({"Spawned": {"Err": "NoFileAtPath"}}));
    cluster.shutdown().await;
}

#[tokio::test]
async fn a_process_waiting_to_restart_does_not_exist_for_local_senders() {
    let cluster = one_node().await;
    let node = cluster.node("alice.os");
    let mut peer = probe_entry();
    peer["process_name"] = json!("peer");
    peer["request_capabilities"].as_array_mut().unwrap().push(json!("probe:probe:devnode.os"));
    let (mut probe, _) = Probe::install(node, probe_entry()).await;
    // A second package entry from the same wasm, installed beside the probe.
    node.install(&probe_zip(&[probe_entry(), peer]), PROBE_PACKAGE).unwrap();
    let peer_addr = Address::new("alice.os", "peer:probe:devnode.os".parse().unwrap());
    let mut started = 0;
    while started < 2 {
        if let Some(Ok(km)) = probe.tester.recv(Duration::from_secs(20)).await {
            if serde_json::from_slice::<Value>(km.message.body()).unwrap().get("Started").is_some() {
                started += 1;
            }
        }
    }
    // The probe crashes right after start, so it waits 2 s before its next run.
    probe.command(json!("Trap")).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!node.running(&probe_id()));
    let t = Instant::now();
    let cmd = json!({"SendRequest": {"target": "alice.os@probe:probe:devnode.os", "body": "anyone?", "expects_response": 30, "context": "p"}});
    probe.tester.send(peer_addr.clone(), Request::new(cmd.to_string()), None).await;
    loop {
        let km = probe.tester.recv(Duration::from_secs(20)).await.expect("peer reports").unwrap();
        let r: Value = serde_json::from_slice(km.message.body()).unwrap();
        if km.source == peer_addr {
            assert_eq!(r["SendError"]["kind"], "Timeout", "{r}");
            assert_eq!(r["SendError"]["context"], "p");
            break;
        }
    }
    assert!(t.elapsed() < Duration::from_secs(1), "immediate, not after 30 s: {:?}", t.elapsed());
    cluster.shutdown().await;
}

#[tokio::test]
async fn a_rebooted_node_keeps_its_port_login_packages_and_saved_state_and_drops_its_sockets() {
    let cluster = one_node().await;
    let node = cluster.node("alice.os");
    let (mut probe, _) = Probe::install(node, probe_entry()).await;
    probe.command(json!({"SetState": "before-reboot"})).await;
    assert_eq!(probe.report().await, json!({"StateSet": "before-reboot"}));
    probe
        .command(json!({"SendAndAwait": {"target": "alice.os@http-server:distro:sys", "expects_response": 3,
            "body": json!({"WebSocketBind": {"path": "/ws", "authenticated": false, "extension": false}}).to_string()}}))
        .await;
    probe.report().await;
    let (mut ws, _) = tokio_tungstenite::connect_async(node.ws_url("/probe:probe:devnode.os/ws")).await.unwrap();
    probe.report().await;
    let cookie = node.login_cookie();
    let port = node.port();

    cluster.reboot_node("alice.os").await.unwrap();
    use futures_util::StreamExt;
    let ended = tokio::time::timeout(Duration::from_secs(5), async {
        while let Some(Ok(_)) = ws.next().await {}
    })
    .await;
    assert!(ended.is_ok(), "the open socket ends with the node");
    assert_eq!(node.port(), port);
    assert!(node.wait_running(&probe_id(), Duration::from_secs(10)).await, "installed packages come back");
    // Test endpoints are gone with the old kernel; attach a new tester and ask.
    let tester = node.endpoint(tester_id(), true, vec![Capability::messaging(Address::new("alice.os", probe_id()))]);
    let mut probe = Probe { tester, address: Address::new("alice.os", probe_id()) };
    probe.command(json!("GetState")).await;
    assert_eq!(probe.report().await, json!({"State": "before-reboot"}));
    // A login survives the reboot: the cookie made before it still opens an authenticated
    // socket. (Comparing cookies would not do: each carries its expiry in seconds.)
    probe
        .command(json!({"SendAndAwait": {"target": "alice.os@http-server:distro:sys", "expects_response": 3,
            "body": json!({"WebSocketBind": {"path": "/owner", "authenticated": true, "extension": false}}).to_string()}}))
        .await;
    probe.report().await;
    let mut req = node.ws_url("/probe:probe:devnode.os/owner").into_client_request().unwrap();
    req.headers_mut().insert("cookie", cookie.parse().unwrap());
    let (_owner, resp) = tokio_tungstenite::connect_async(req).await.expect("the login made before the reboot is accepted");
    assert_eq!(resp.status(), 101);
    let mut anonymous = node.ws_url("/probe:probe:devnode.os/owner").into_client_request().unwrap();
    anonymous.headers_mut().insert("cookie", "hyperware-auth_alice.os=none".parse().unwrap());
    assert!(tokio_tungstenite::connect_async(anonymous).await.is_err(), "and a made-up one is not");
    let js = reqwest::get(format!("{}/our.js", node.http_url())).await.unwrap();
    assert_eq!(js.status(), 200, "serving again on the same port");
    cluster.shutdown().await;
}
