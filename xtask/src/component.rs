//! Compiling a process crate for wasm32-wasip1 and turning the core module into a component
//! with the WASI preview1 reactor adapter of wasmtime 33, as kit does with wasm-tools 1.225.
use crate::layout;
use crate::package_zip::{self, BuiltPackage};
use crate::step::{run, step};
use anyhow::{bail, Context, Result};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use wasi_preview1_component_adapter_provider::{
    WASI_SNAPSHOT_PREVIEW1_ADAPTER_NAME, WASI_SNAPSHOT_PREVIEW1_REACTOR_ADAPTER,
};

const WASM_TARGET: &str = "wasm32-wasip1";

pub fn build_package(skip_ui: bool) -> Result<BuiltPackage> {
    require_wasm_target()?;
    if skip_ui {
        if !layout::pkg_dir().join("ui/index.html").exists() {
            bail!("--skip-ui needs an existing pkg/ui (serve_ui panics without it)");
        }
    } else {
        step("UI: npm install && npm run build:copy", crate::ui_build::build_ui)?;
    }
    step("target/wit: hyperware.wit + api/*.wit", crate::wit_dir::assemble)?;
    let module = step("cargo build voice-chat for wasm32-wasip1 (release)", || {
        compile_module(layout::PROCESS_CRATE)
    })?;
    step("componentize with the wasi preview1 reactor adapter", || {
        componentize(&module, &layout::process_wasm())
    })?;
    step("pkg/api.zip from api/", package_zip::zip_api)?;
    let built = step("zip pkg/ into the installable package", package_zip::zip_pkg)?;
    println!("package: {}", built.zip.display());
    println!("sha256:  {}", built.sha256);
    Ok(built)
}

pub fn build_component(package: &str, out: &Path) -> Result<()> {
    require_wasm_target()?;
    let module = step(&format!("cargo build {package} for {WASM_TARGET} (release)"), || {
        compile_module(package)
    })?;
    step("componentize", || componentize(&module, out))?;
    println!("component: {}", out.display());
    Ok(())
}

fn compile_module(package: &str) -> Result<PathBuf> {
    run(Command::new("cargo")
        .args(["build", "-p", package, "--release", "--no-default-features"])
        .args(["--target", WASM_TARGET, "--target-dir"])
        .arg(layout::target_dir())
        .current_dir(layout::root()))?;
    let module = layout::target_dir()
        .join(WASM_TARGET)
        .join("release")
        .join(format!("{}.wasm", package.replace('-', "_")));
    if !module.exists() {
        bail!("cargo did not produce {}", module.display());
    }
    Ok(module)
}

pub fn componentize(module: &Path, out: &Path) -> Result<()> {
    let bytes = fs::read(module).with_context(|| format!("reading {}", module.display()))?;
    let component = wit_component::ComponentEncoder::default()
        .module(&bytes)?
        .validate(true)
        .adapter(WASI_SNAPSHOT_PREVIEW1_ADAPTER_NAME, WASI_SNAPSHOT_PREVIEW1_REACTOR_ADAPTER)?
        .encode()
        .context("wit-component could not build the component")?;
    if let Some(parent) = out.parent() {
        fs::create_dir_all(parent)?;
    }
    fs::write(out, component)?;
    Ok(())
}

fn require_wasm_target() -> Result<()> {
    let out = Command::new("rustc")
        .args(["--print", "sysroot"])
        .current_dir(layout::root())
        .output()
        .context("running rustc --print sysroot")?;
    let sysroot = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
    if !sysroot.join("lib/rustlib").join(WASM_TARGET).exists() {
        bail!("the Rust target {WASM_TARGET} is not installed: run `rustup target add {WASM_TARGET}`");
    }
    Ok(())
}
