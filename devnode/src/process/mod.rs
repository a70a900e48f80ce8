//! The process host: one wasmtime component instance per process, with the
//! `hyperware:process/standard` imports implemented as upstream
//! `hyperdrive/src/kernel/standard_host_v1.rs` and the on-exit supervisor of
//! `hyperdrive/src/kernel/process.rs`.
//!
//! Layers, each using only those below it: `compile` (engine, component cache) and `bindings`
//! (bindings, conversions); `instance` (one run's state and message machinery); `world` (the
//! world's functions on that state); `backoff`; `supervisor` (runs instances, restarts them).
mod backoff;
mod bindings;
mod compile;
mod instance;
mod supervisor;
mod world;

pub use compile::{compile, engine};
pub use supervisor::{control, register, run, start};
