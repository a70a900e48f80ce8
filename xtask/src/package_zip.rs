//! The two zips kit writes: `pkg/api.zip` and the installable `target/<package>:<publisher>.zip`,
//! deflated, entries sorted, fixed mtime and mode so the same inputs give the same bytes.
use crate::layout;
use anyhow::Result;
use sha2::{Digest, Sha256};
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use zip::write::SimpleFileOptions;

/// The installable zip and its sha256, as kit prints them.
pub struct BuiltPackage {
    pub zip: PathBuf,
    pub sha256: String,
}

pub fn zip_api() -> Result<()> {
    zip_directory(&layout::root().join("api"), &layout::pkg_dir().join("api.zip"))
}

pub fn zip_pkg() -> Result<BuiltPackage> {
    let zip = layout::zip_path();
    fs::create_dir_all(layout::target_dir())?;
    zip_directory(&layout::pkg_dir(), &zip)?;
    let sha256 = format!("{:x}", Sha256::digest(fs::read(&zip)?));
    Ok(BuiltPackage { zip, sha256 })
}

fn zip_directory(dir: &Path, out: &Path) -> Result<()> {
    let options = SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .unix_permissions(0o755)
        .last_modified_time(zip::DateTime::from_date_and_time(2023, 6, 19, 0, 0, 0).expect("valid date"));
    let mut entries = Vec::new();
    collect(dir, &mut entries)?;
    entries.sort();
    // Write to a temporary name first: the zip may live inside the directory being zipped.
    let partial = out.with_extension("zip.partial");
    let mut writer = zip::ZipWriter::new(fs::File::create(&partial)?);
    for path in entries {
        if path == out || path == partial {
            continue;
        }
        let name = path.strip_prefix(dir)?.to_string_lossy().to_string();
        if path.is_dir() {
            writer.add_directory(name, options)?;
        } else {
            writer.start_file(name, options)?;
            writer.write_all(&fs::read(&path)?)?;
        }
    }
    writer.finish()?;
    fs::rename(partial, out)?;
    Ok(())
}

fn collect(dir: &Path, into: &mut Vec<PathBuf>) -> Result<()> {
    for entry in fs::read_dir(dir)? {
        let path = entry?.path();
        into.push(path.clone());
        if path.is_dir() {
            collect(&path, into)?;
        }
    }
    Ok(())
}
