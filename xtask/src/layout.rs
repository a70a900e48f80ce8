//! Where things are: the package's names and paths, in one place.
use std::path::PathBuf;

pub const PACKAGE_NAME: &str = "voice-chat";
pub const PUBLISHER: &str = "template.os";
pub const PROCESS_CRATE: &str = "voice-chat";

pub fn root() -> PathBuf {
    // xtask lives one level below the workspace root.
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask has a parent directory")
        .to_path_buf()
}

pub fn target_dir() -> PathBuf {
    root().join("target")
}

pub fn pkg_dir() -> PathBuf {
    root().join("pkg")
}

/// kit names the zip `<package>:<publisher without its last extension>.zip`.
pub fn zip_path() -> PathBuf {
    let publisher = PUBLISHER.rsplit_once('.').map_or(PUBLISHER, |(head, _)| head);
    target_dir().join(format!("{PACKAGE_NAME}:{publisher}.zip"))
}

pub fn process_wasm() -> PathBuf {
    pkg_dir().join(format!("{PROCESS_CRATE}.wasm"))
}
