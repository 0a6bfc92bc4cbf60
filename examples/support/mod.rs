//! What the load and abuse tools share: the release binary, a free port and a
//! process's memory.

/// The release build of the connector, beside this example's own binary.
pub fn release_binary() -> std::path::PathBuf {
    let binary = std::env::current_exe()
        .unwrap()
        .parent()
        .unwrap()
        .parent()
        .unwrap()
        .join("tripleseat-revel-connector");
    assert!(
        binary.exists(),
        "build the binary first: cargo build --release ({})",
        binary.display()
    );
    binary
}

/// A port nobody listens on right now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A `/proc/<pid>/status` field in KiB (`VmRSS:`, `VmHWM:`), 0 if unreadable.
pub fn status_field(pid: u32, field: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

/// The connector on 127.0.0.1:`port`, run in `cwd` with nothing of the developer's
/// (no `.env`), against the simulated `upstreams`, site 15901 mapped to Revel
/// establishment 4 in `timezone`, warn-level logs, the sweep off. Callers add the rest.
pub fn connector_command(
    binary: &std::path::Path,
    cwd: &std::path::Path,
    port: u16,
    signing_key: &str,
    upstreams: &fakes::Upstreams,
    timezone: &str,
) -> tokio::process::Command {
    let locations = serde_json::json!({"15901": {"name": "Summerlin", "revel_establishment": 4, "timezone": timezone}});
    let mut command = tokio::process::Command::new(binary);
    command
        .env_clear()
        .current_dir(cwd)
        .env("HOST", "127.0.0.1")
        .env("PORT", port.to_string())
        .env("RUST_LOG", "warn")
        .env("LOCATIONS_JSON", locations.to_string())
        .env("TRIPLESEAT_WEBHOOK_SIGNING_KEY", signing_key)
        .envs(upstreams.connector_env())
        .env("SWEEP_INTERVAL_SECS", "0")
        .kill_on_drop(true);
    command
}
