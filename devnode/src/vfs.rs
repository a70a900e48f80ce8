//! `vfs:distro:sys`: package drives under `<home>/vfs/<package-id>/<drive>/...`, with the
//! request and response formats of process_lib's `vfs` module and upstream `hyperdrive/src/vfs.rs`.
//! Path actions are stateless (each opens the path anew); `Seek` is refused (see docs/devnode.md).
use crate::kernel::Kernel;
use crate::modules::respond;
use crate::types::*;
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::io::Write;
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;
use tokio::sync::mpsc;

#[derive(Deserialize)]
struct VfsRequest {
    path: String,
    action: VfsAction,
}

#[derive(Deserialize)]
enum VfsAction {
    CreateDrive,
    CreateDir,
    CreateDirAll,
    CreateFile,
    OpenFile { create: bool },
    CloseFile,
    Write,
    WriteAll,
    Append,
    SyncAll,
    Read,
    ReadDir,
    ReadToEnd,
    ReadExact { length: u64 },
    ReadToString,
    Seek(serde::de::IgnoredAny),
    RemoveFile,
    RemoveDir,
    RemoveDirAll,
    Rename { new_path: String },
    Metadata,
    AddZip,
    CopyFile { new_path: String },
    Len,
    SetLen(u64),
    Hash,
}

#[derive(Serialize)]
enum FileType {
    File,
    Directory,
    Symlink,
    Other,
}

fn file_type(ft: std::fs::FileType) -> FileType {
    if ft.is_file() {
        FileType::File
    } else if ft.is_dir() {
        FileType::Directory
    } else if ft.is_symlink() {
        FileType::Symlink
    } else {
        FileType::Other
    }
}

pub fn vfs_root(home: &Path) -> PathBuf {
    home.join("vfs")
}

/// A normalised vfs path: `<package-id>/<drive>/<rest>` relative to the vfs root.
struct ParsedPath {
    package_id: String,
    drive: String,
    rel: String,
}

fn parse_path(path: &str) -> Result<ParsedPath, serde_json::Value> {
    let mut parts: Vec<&str> = Vec::new();
    for c in Path::new(path.trim_start_matches('/')).components() {
        match c {
            Component::Normal(s) => parts.push(s.to_str().unwrap_or("")),
            Component::CurDir => {}
            // The guard pops the parent; only `..` past the root is an error.
            Component::ParentDir if parts.pop().is_none() => {
                return Err(json!({"ParseError": {"error": "path escapes the vfs root", "path": path}}));
            }
            _ => {}
        }
    }
    if parts.is_empty() || parts[0].split(':').count() != 2 {
        return Err(json!({"ParseError": {"error": "no package id", "path": path}}));
    }
    Ok(ParsedPath {
        package_id: parts[0].to_string(),
        drive: parts.get(1).map(|s| s.to_string()).unwrap_or_default(),
        rel: parts.join("/"),
    })
}

fn io_err(e: std::io::Error) -> serde_json::Value {
    json!({"IOError": e.to_string()})
}

/// Reads a file of the caller's own package (used by `spawn`); `path` is inside the package drive.
pub fn read_package_file(kernel: &Kernel, caller: &ProcessId, path: &str) -> std::io::Result<Vec<u8>> {
    let full = format!("/{}/pkg/{}", caller.package_id(), path.trim_start_matches('/'));
    let p = parse_path(&full).map_err(|e| std::io::Error::other(e.to_string()))?;
    std::fs::read(vfs_root(&kernel.home).join(p.rel))
}

fn cap_params(kind: &str, drive: &str) -> String {
    json!({"kind": kind, "drive": drive}).to_string()
}

/// The capability that lets a process read or write one drive, as upstream issues it.
pub fn drive_cap(kernel: &Kernel, kind: &str, package_id: &str, drive: &str) -> Capability {
    Capability { issuer: kernel.address(vfs_id()), params: cap_params(kind, &format!("/{package_id}/{drive}")) }
}

pub async fn vfs_module(kernel: Arc<Kernel>, mut rx: mpsc::Receiver<InboxItem>) {
    let root = vfs_root(&kernel.home);
    let _ = std::fs::create_dir_all(&root);
    while let Some(item) = rx.recv().await {
        let Ok(km) = item else { continue };
        let Message::Request(req) = &km.message else { continue };
        let (body, blob) = match handle(&kernel, &root, &km, &req.body) {
            Ok((body, blob)) => (body, blob),
            Err(e) => (json!({ "Err": e }), None),
        };
        if req.expects_response.is_some() || km.rsvp.is_some() {
            respond(&kernel, vfs_id(), &km, serde_json::to_vec(&body).expect("json"), blob).await;
        }
    }
}

fn handle(kernel: &Kernel, root: &Path, km: &KernelMessage, body: &[u8]) -> Result<(serde_json::Value, Option<Blob>), serde_json::Value> {
    let request: VfsRequest = serde_json::from_slice(body).map_err(|_| json!("MalformedRequest"))?;
    let p = parse_path(&request.path)?;
    let own_package = km.source.process.package_id() == p.package_id;
    let writes = !matches!(
        request.action,
        VfsAction::Read | VfsAction::ReadDir | VfsAction::ReadToEnd | VfsAction::ReadExact { .. } | VfsAction::ReadToString
            | VfsAction::Metadata | VfsAction::Len | VfsAction::Hash | VfsAction::OpenFile { create: false } | VfsAction::CloseFile
    );
    if !own_package && ![kernel_id(), vfs_id(), state_id()].contains(&km.source.process) {
        let kind = if writes { "write" } else { "read" };
        if !kernel.has_cap(&km.source.process, &drive_cap(kernel, kind, &p.package_id, &p.drive)) {
            return Err(json!(if writes { "NoWriteCap" } else { "NoReadCap" }));
        }
    }
    let full = root.join(&p.rel);
    let blob_bytes = || km.blob.as_ref().map(|b| b.bytes.clone()).ok_or(json!("NoBlob"));
    let ok = Ok((json!("Ok"), None));
    match request.action {
        VfsAction::CreateDrive | VfsAction::CreateDirAll => {
            std::fs::create_dir_all(&full).map_err(io_err)?;
            ok
        }
        VfsAction::CreateDir => {
            std::fs::create_dir(&full).map_err(io_err)?;
            ok
        }
        VfsAction::CreateFile => {
            std::fs::File::create(&full).map_err(io_err)?;
            ok
        }
        VfsAction::OpenFile { create } => {
            if create {
                std::fs::OpenOptions::new().create(true).append(true).open(&full).map_err(io_err)?;
            } else {
                std::fs::File::open(&full).map_err(io_err)?;
            }
            ok
        }
        VfsAction::CloseFile | VfsAction::SyncAll => ok,
        VfsAction::Write | VfsAction::WriteAll => {
            std::fs::write(&full, blob_bytes()?).map_err(io_err)?;
            ok
        }
        VfsAction::Append => {
            let mut f = std::fs::OpenOptions::new().append(true).open(&full).map_err(io_err)?;
            f.write_all(&blob_bytes()?).map_err(io_err)?;
            ok
        }
        VfsAction::Read | VfsAction::ReadToEnd => {
            let bytes = std::fs::read(&full).map_err(io_err)?;
            Ok((json!("Read"), Some(Blob { mime: None, bytes })))
        }
        VfsAction::ReadExact { length } => {
            let bytes = std::fs::read(&full).map_err(io_err)?;
            if (bytes.len() as u64) < length {
                return Err(json!({"IOError": "failed to fill whole buffer"}));
            }
            Ok((json!("Read"), Some(Blob { mime: None, bytes: bytes[..length as usize].to_vec() })))
        }
        VfsAction::ReadToString => {
            let s = std::fs::read_to_string(&full).map_err(io_err)?;
            Ok((json!({ "ReadToString": s }), None))
        }
        VfsAction::ReadDir => {
            let mut entries = Vec::new();
            for e in std::fs::read_dir(&full).map_err(io_err)? {
                let e = e.map_err(io_err)?;
                let ft = e.file_type().map_err(io_err)?;
                let name = e.file_name().to_string_lossy().into_owned();
                entries.push(json!({"path": format!("{}/{}", p.rel, name), "file_type": file_type(ft)}));
            }
            Ok((json!({ "ReadDir": entries }), None))
        }
        VfsAction::Metadata => {
            let m = std::fs::metadata(&full).map_err(io_err)?;
            Ok((json!({"Metadata": {"file_type": file_type(m.file_type()), "len": m.len()}}), None))
        }
        VfsAction::Len => {
            let m = std::fs::metadata(&full).map_err(io_err)?;
            Ok((json!({ "Len": m.len() }), None))
        }
        VfsAction::SetLen(len) => {
            let f = std::fs::OpenOptions::new().write(true).open(&full).map_err(io_err)?;
            f.set_len(len).map_err(io_err)?;
            ok
        }
        VfsAction::RemoveFile => {
            std::fs::remove_file(&full).map_err(io_err)?;
            ok
        }
        VfsAction::RemoveDir => {
            std::fs::remove_dir(&full).map_err(io_err)?;
            ok
        }
        VfsAction::RemoveDirAll => {
            std::fs::remove_dir_all(&full).map_err(io_err)?;
            ok
        }
        VfsAction::Rename { new_path } => {
            let np = parse_path(&new_path)?;
            std::fs::rename(&full, root.join(np.rel)).map_err(io_err)?;
            ok
        }
        VfsAction::CopyFile { new_path } => {
            let np = parse_path(&new_path)?;
            std::fs::copy(&full, root.join(np.rel)).map_err(io_err)?;
            ok
        }
        VfsAction::AddZip => {
            crate::unzip::unzip_into(&blob_bytes()?, &full).map_err(|e| json!({"IOError": e.to_string()}))?;
            ok
        }
        VfsAction::Hash => {
            use sha2::Digest;
            let bytes = std::fs::read(&full).map_err(io_err)?;
            let hash: [u8; 32] = sha2::Sha256::digest(&bytes).into();
            Ok((json!({ "Hash": hash }), None))
        }
        VfsAction::Seek(_) => Err(json!({"IOError": "devnode's vfs keeps no file cursors; Seek is not supported"})),
    }
}
