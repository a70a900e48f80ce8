//! Unpacking a zip into a directory, refusing entries that would escape it. Used by the
//! installer (package zips) and by vfs (`AddZip`), so it sits below both.
use std::io::Read;
use std::path::Path;

#[derive(Debug, thiserror::Error)]
pub enum UnzipError {
    #[error("package zip {0}: {1}")]
    BadZip(String, String),
    #[error("io: {0}")]
    Io(#[from] std::io::Error),
}

pub fn unzip_into(zip_bytes: &[u8], dir: &Path) -> Result<(), UnzipError> {
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(zip_bytes))
        .map_err(|e| UnzipError::BadZip("unreadable".into(), e.to_string()))?;
    std::fs::create_dir_all(dir)?;
    for i in 0..archive.len() {
        let mut file = archive.by_index(i).map_err(|e| UnzipError::BadZip(format!("entry {i}"), e.to_string()))?;
        let Some(rel) = file.enclosed_name() else {
            return Err(UnzipError::BadZip(file.name().into(), "path escapes the package".into()));
        };
        let out = dir.join(rel);
        if file.is_dir() {
            std::fs::create_dir_all(&out)?;
        } else {
            if let Some(parent) = out.parent() {
                std::fs::create_dir_all(parent)?;
            }
            let mut bytes = Vec::new();
            file.read_to_end(&mut bytes)?;
            std::fs::write(&out, bytes)?;
        }
    }
    Ok(())
}
