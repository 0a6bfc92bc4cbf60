//! The HTTP server: where it listens, how many connections it holds, how long it
//! waits for a client, and how long a shutdown may take.

use std::net::IpAddr;
use std::time::Duration;

use super::env::RawEnv;
use super::parse::expected;
use super::parse::{invalid, ConfigError};

#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// `HOST`, default 0.0.0.0.
    pub host: IpAddr,
    /// `PORT`, default 8000.
    pub port: u16,
    /// `MAX_CONNECTIONS`, default 1024: open HTTP connections at most; more wait.
    pub max_connections: usize,
    /// `HEADER_READ_TIMEOUT_SECS`, default 10: a client's time to send a request's
    /// headers, and a kept-alive connection's time idle between requests.
    pub header_read_timeout: Duration,
    /// `SHUTDOWN_BUDGET_SECS`, default 25: SIGTERM to exit, everything included.
    pub shutdown_budget: Duration,
}

impl ServerConfig {
    pub(super) fn read(raw: &mut RawEnv) -> Result<ServerConfig, ConfigError> {
        let max_connections: usize = expected(
            "MAX_CONNECTIONS",
            raw.max_connections.take(),
            1024,
            "a whole number of connections, 1 or more",
        )?;
        let header_read_timeout: u64 = expected(
            "HEADER_READ_TIMEOUT_SECS",
            raw.header_read_timeout_secs.take(),
            10,
            "a whole number of seconds, 1 or more",
        )?;
        if max_connections == 0 {
            return Err(invalid("MAX_CONNECTIONS", "must be at least 1"));
        }
        if header_read_timeout == 0 {
            return Err(invalid("HEADER_READ_TIMEOUT_SECS", "must be at least 1"));
        }
        Ok(ServerConfig {
            host: expected(
                "HOST",
                raw.host.take(),
                IpAddr::from([0, 0, 0, 0]),
                "an IP address such as 127.0.0.1 or 0.0.0.0",
            )?,
            port: expected("PORT", raw.port.take(), 8000, "a port number 1-65535")?,
            max_connections,
            header_read_timeout: Duration::from_secs(header_read_timeout),
            shutdown_budget: Duration::from_secs(expected(
                "SHUTDOWN_BUDGET_SECS",
                raw.shutdown_budget_secs.take(),
                25,
                "a whole number of seconds",
            )?),
        })
    }
}
