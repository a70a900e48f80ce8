//! `target/wit`: the hyperware WIT that process_lib ships plus the app's `api/*.wit`, flat,
//! as kit lays it out before compiling (the macro reads `../target/wit`).
use crate::layout;
use anyhow::{bail, Context, Result};
use std::fs;
use std::path::PathBuf;
use std::process::Command;

pub fn assemble() -> Result<()> {
    let wit_dir = layout::target_dir().join("wit");
    if wit_dir.exists() {
        fs::remove_dir_all(&wit_dir)?;
    }
    fs::create_dir_all(&wit_dir)?;
    fs::copy(hyperware_wit()?, wit_dir.join("hyperware.wit"))?;
    for entry in fs::read_dir(layout::root().join("api"))? {
        let path = entry?.path();
        if path.extension().is_some_and(|e| e == "wit") {
            fs::copy(&path, wit_dir.join(path.file_name().expect("file has a name")))?;
        }
    }
    Ok(())
}

/// kit downloads hyperware-wit v1.0.0; process_lib 3.0.0 ships the same file, so we take it
/// from the crate source cargo already has.
pub fn hyperware_wit() -> Result<PathBuf> {
    let out = Command::new("cargo")
        .args(["metadata", "--format-version", "1"])
        .current_dir(layout::root())
        .output()
        .context("running cargo metadata")?;
    if !out.status.success() {
        bail!("cargo metadata failed: {}", String::from_utf8_lossy(&out.stderr));
    }
    let meta: serde_json::Value = serde_json::from_slice(&out.stdout)?;
    let manifest = meta["packages"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|p| p["name"] == "hyperware_process_lib")
        .and_then(|p| p["manifest_path"].as_str())
        .context("hyperware_process_lib is not in the dependency graph")?;
    let wit = PathBuf::from(manifest)
        .parent()
        .expect("manifest has a directory")
        .join("hyperware-wit/hyperware.wit");
    if !wit.exists() {
        bail!("{} is missing", wit.display());
    }
    Ok(wit)
}

/// Compares the committed `api/` with what kit would generate from the handlers.
pub fn check_or_write_api(write: bool) -> Result<()> {
    let api_dir = layout::root().join("api");
    let expected = crate::wit_gen::generate(&layout::root().join(layout::PROCESS_CRATE))?;
    if write {
        for entry in fs::read_dir(&api_dir)? {
            let path = entry?.path();
            if path.extension().is_some_and(|e| e == "wit") {
                fs::remove_file(path)?;
            }
        }
        for (name, content) in &expected {
            fs::write(api_dir.join(name), content)?;
            println!("wrote api/{name}");
        }
        return Ok(());
    }
    let differences = api_differences(&api_dir, &expected)?;
    if !differences.is_empty() {
        bail!(
            "api/ does not match the #[hyperapp] handlers ({}); run `cargo xtask wit --write`",
            differences.join("; ")
        );
    }
    println!("api/ matches the handlers ({} files)", expected.len());
    Ok(())
}

pub fn api_differences(api_dir: &std::path::Path, expected: &[(String, String)]) -> Result<Vec<String>> {
    let mut differences = Vec::new();
    let mut committed = Vec::new();
    for entry in fs::read_dir(api_dir)? {
        let path = entry?.path();
        if path.extension().is_some_and(|e| e == "wit") {
            committed.push(path.file_name().unwrap().to_string_lossy().to_string());
        }
    }
    for (name, content) in expected {
        match fs::read_to_string(api_dir.join(name)) {
            Ok(found) if &found == content => {}
            Ok(_) => differences.push(format!("api/{name} differs")),
            Err(_) => differences.push(format!("api/{name} is missing")),
        }
    }
    for name in committed {
        if !expected.iter().any(|(n, _)| *n == name) {
            differences.push(format!("api/{name} is not generated from the handlers"));
        }
    }
    Ok(differences)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn committed_api_matches_the_handlers() {
        let expected = crate::wit_gen::generate(&layout::root().join(layout::PROCESS_CRATE))
            .expect("the process crate's handlers translate to WIT");
        let differences = api_differences(&layout::root().join("api"), &expected).unwrap();
        assert!(differences.is_empty(), "{differences:?}: run `cargo xtask wit --write`");
    }

    #[test]
    fn a_changed_file_is_reported() {
        let dir = std::env::temp_dir().join(format!("wit-check-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        fs::write(dir.join("a.wit"), "interface a {}\n").unwrap();
        fs::write(dir.join("stale.wit"), "x").unwrap();
        let expected = vec![
            ("a.wit".to_string(), "interface a { }\n".to_string()),
            ("b.wit".to_string(), "world b {}\n".to_string()),
        ];
        let mut differences = api_differences(&dir, &expected).unwrap();
        differences.sort();
        assert_eq!(
            differences,
            vec!["api/a.wit differs", "api/b.wit is missing", "api/stale.wit is not generated from the handlers"]
        );
        fs::remove_dir_all(dir).unwrap();
    }
}
