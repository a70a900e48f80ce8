//! Installing a package zip as the app store does (`packages/app-store/app-store/src/utils.rs`):
//! unpack to the package drive `/<package>:<publisher>/pkg/`, then register every manifest entry
//! with its capabilities, grant the listed capabilities, and run the processes.
use crate::kernel::Kernel;
use crate::process;
use crate::types::*;
use crate::unzip::{unzip_into, UnzipError};
use serde::Deserialize;
use std::io::Read;
use std::sync::Arc;

#[derive(Debug, thiserror::Error)]
pub enum InstallError {
    #[error("package zip {0}: {1}")]
    BadZip(String, String),
    #[error("package has no manifest.json at the zip root")]
    NoManifest,
    #[error("manifest.json is invalid: {0}")]
    BadManifest(String),
    #[error("manifest entry {process}: {reason}")]
    BadEntry { process: String, reason: String },
    #[error("manifest entry {process}: wasm {path} not in the package")]
    MissingWasm { process: String, path: String },
    #[error("manifest entry {process}: wasm does not compile as a process component: {reason}")]
    BadComponent { process: String, reason: String },
    #[error("io: {0}")]
    Io(#[from] std::io::Error),
}

/// One `manifest.json` entry; every field is required, as upstream has no serde defaults.
#[derive(Debug, Clone, Deserialize)]
pub struct ManifestEntry {
    pub process_name: String,
    pub process_wasm_path: String,
    pub on_exit: OnExit,
    pub request_networking: bool,
    pub request_capabilities: Vec<serde_json::Value>,
    pub grant_capabilities: Vec<serde_json::Value>,
    pub public: bool,
}

impl From<UnzipError> for InstallError {
    fn from(e: UnzipError) -> Self {
        match e {
            UnzipError::BadZip(entry, reason) => InstallError::BadZip(entry, reason),
            UnzipError::Io(e) => InstallError::Io(e),
        }
    }
}

fn parse_cap(kernel: &Kernel, v: &serde_json::Value, process: &str) -> Result<Capability, InstallError> {
    let bad = |reason: String| InstallError::BadEntry { process: process.into(), reason };
    match v {
        serde_json::Value::String(s) => {
            let pid: ProcessId = s.parse().map_err(|e: IdParseError| bad(e.to_string()))?;
            Ok(Capability::messaging(kernel.address(pid)))
        }
        serde_json::Value::Object(o) => {
            let pid: ProcessId = o
                .get("process")
                .and_then(|p| p.as_str())
                .ok_or_else(|| bad(format!("capability {v} has no \"process\"")))?
                .parse()
                .map_err(|e: IdParseError| bad(e.to_string()))?;
            let params = o.get("params").ok_or_else(|| bad(format!("capability {v} has no \"params\"")))?;
            Ok(Capability { issuer: kernel.address(pid), params: params.to_string() })
        }
        _ => Err(bad(format!("capability {v} is neither a string nor an object"))),
    }
}

/// The package id a zip installs as (`package:publisher`), taken from the caller since the zip
/// does not name it (the app store takes it from the request).
pub fn install_package(kernel: &Arc<Kernel>, package_name: &str, publisher: &str, zip_bytes: &[u8]) -> Result<Vec<ProcessId>, InstallError> {
    let package_id = format!("{package_name}:{publisher}");
    // Refuse a bad manifest before touching the drive.
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(zip_bytes))
        .map_err(|e| InstallError::BadZip("unreadable".into(), e.to_string()))?;
    let manifest_bytes = {
        let mut f = archive.by_name("manifest.json").map_err(|_| InstallError::NoManifest)?;
        let mut b = Vec::new();
        f.read_to_end(&mut b)?;
        b
    };
    let manifest: Vec<ManifestEntry> =
        serde_json::from_slice(&manifest_bytes).map_err(|e| InstallError::BadManifest(e.to_string()))?;
    let mut prepared = Vec::new();
    for entry in &manifest {
        let id = ProcessId::new(&entry.process_name, package_name, publisher);
        if entry.process_name.contains(':') {
            return Err(InstallError::BadEntry { process: entry.process_name.clone(), reason: "process_name contains ':'".into() });
        }
        id.check_hypermap_safe()
            .map_err(|e| InstallError::BadEntry { process: entry.process_name.clone(), reason: e.to_string() })?;
        let wasm_name = entry.process_wasm_path.trim_start_matches('/');
        let stem = wasm_name.strip_suffix(".wasm").unwrap_or("");
        if stem.is_empty() || !stem.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-') {
            return Err(InstallError::BadEntry {
                process: entry.process_name.clone(),
                reason: format!("process_wasm_path {:?} must be /<a-z0-9->.wasm", entry.process_wasm_path),
            });
        }
        let wasm = {
            let mut f = archive.by_name(wasm_name).map_err(|_| InstallError::MissingWasm {
                process: entry.process_name.clone(),
                path: entry.process_wasm_path.clone(),
            })?;
            let mut b = Vec::new();
            f.read_to_end(&mut b)?;
            b
        };
        let component = process::compile(&wasm)
            .map_err(|e| InstallError::BadComponent { process: entry.process_name.clone(), reason: format!("{e:#}") })?;
        let mut caps = Vec::new();
        for c in &entry.request_capabilities {
            caps.push(parse_cap(kernel, c, &entry.process_name)?);
        }
        if entry.request_networking {
            caps.push(Capability::network(&kernel.our));
        }
        caps.push(crate::vfs::drive_cap(kernel, "read", &package_id, "pkg"));
        caps.push(crate::vfs::drive_cap(kernel, "write", &package_id, "pkg"));
        let mut grants = Vec::new();
        for g in &entry.grant_capabilities {
            let cap_on_target = parse_cap(kernel, g, &entry.process_name)?;
            // The grant gives the named process a cap issued by *our* new process.
            let holder = cap_on_target.issuer.process.clone();
            grants.push((holder, Capability { issuer: kernel.address(id.clone()), params: cap_on_target.params }));
        }
        prepared.push((id, entry.clone(), component, caps, grants));
    }

    let drive = crate::vfs::vfs_root(&kernel.home).join(&package_id).join("pkg");
    // Kill what an earlier install started, then replace the drive.
    for (id, ..) in &prepared {
        process::control(kernel, id, crate::kernel::Control::Kill);
        kernel.processes.lock().unwrap().remove(id);
    }
    if drive.exists() {
        std::fs::remove_dir_all(&drive)?;
    }
    unzip_into(zip_bytes, &drive)?;
    std::fs::write(drive.join(format!("{package_id}.zip")), zip_bytes)?;
    if let Ok(api) = std::fs::read(drive.join("api.zip")) {
        unzip_into(&api, &drive.join("api"))?;
    }

    let mut controls = Vec::new();
    for (id, entry, component, caps, _) in &prepared {
        let control = process::register(kernel, id.clone(), &entry.process_wasm_path, entry.on_exit.clone(), caps.clone(), entry.public);
        controls.push((id.clone(), component.clone(), control));
    }
    for (_, _, _, _, grants) in &prepared {
        for (holder, cap) in grants {
            kernel.add_caps(holder, [cap.clone()]);
        }
    }
    let ids = controls.iter().map(|(id, ..)| id.clone()).collect();
    for (id, component, control) in controls {
        process::run(kernel, id, component, control);
    }
    Ok(ids)
}
