//! CPU time and memory of a server process, from /proc, so each relay is charged only for
//! what its own process spent.
use anyhow::{Context, Result};

#[derive(Clone, Copy, Debug)]
pub struct CpuSample {
    pub user_secs: f64,
    pub sys_secs: f64,
}

fn clock_ticks_per_sec() -> f64 {
    // USER_HZ is 100 on every Linux we run on; getconf tells if a kernel differs.
    std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse::<f64>().ok())
        .unwrap_or(100.0)
}

pub fn cpu(pid: u32) -> Result<CpuSample> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).with_context(|| format!("reading /proc/{pid}/stat"))?;
    // The command name may hold spaces and parentheses: fields start after the last ')'.
    let rest = &stat[stat.rfind(')').context("malformed /proc stat")? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // After the name: state is field 3, utime field 14, stime field 15 (1-based, man proc).
    let utime: f64 = fields.get(11).context("no utime")?.parse()?;
    let stime: f64 = fields.get(12).context("no stime")?.parse()?;
    let hz = clock_ticks_per_sec();
    Ok(CpuSample { user_secs: utime / hz, sys_secs: stime / hz })
}

/// (VmHWM, VmRSS) in KiB.
pub fn memory_kib(pid: u32) -> Result<(u64, u64)> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).with_context(|| format!("reading /proc/{pid}/status"))?;
    let field = |name: &str| -> u64 {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    Ok((field("VmHWM:"), field("VmRSS:")))
}

/// What a server process spent between two samples, and its memory at the end.
#[derive(Clone, Copy, Debug, Default, serde::Serialize)]
pub struct ServerUsage {
    pub user_secs: f64,
    pub sys_secs: f64,
    pub peak_kib: u64,
    pub rss_kib: u64,
}

pub fn usage_between(pid: u32, start: CpuSample) -> Result<ServerUsage> {
    let end = cpu(pid)?;
    let (peak_kib, rss_kib) = memory_kib(pid)?;
    Ok(ServerUsage { user_secs: end.user_secs - start.user_secs, sys_secs: end.sys_secs - start.sys_secs, peak_kib, rss_kib })
}
