//! devnode binds the process world from its committed copy of the WIT; it must stay the one
//! hyperware_process_lib 3.0.0 ships (which kit puts in target/wit for every process).
mod common;
use std::process::Command;

#[test]
fn the_committed_wit_equals_the_one_in_hyperware_process_lib() {
    let out = Command::new(env!("CARGO"))
        .args(["metadata", "--format-version", "1"])
        .current_dir(common::workspace_root())
        .output()
        .expect("cargo metadata runs");
    assert!(out.status.success(), "cargo metadata failed: {}", String::from_utf8_lossy(&out.stderr));
    let meta: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let lib = meta["packages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "hyperware_process_lib" && p["version"] == "3.0.0")
        .expect("hyperware_process_lib 3.0.0 is in the workspace's dependency graph");
    let manifest = std::path::Path::new(lib["manifest_path"].as_str().unwrap());
    let upstream = std::fs::read_to_string(manifest.parent().unwrap().join("hyperware-wit/hyperware.wit")).unwrap();
    let ours = std::fs::read_to_string(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("wit/hyperware.wit")).unwrap();
    assert_eq!(ours, upstream, "devnode/wit/hyperware.wit differs from process_lib's copy");
}
