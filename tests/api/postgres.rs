//! A throwaway PostgreSQL server for one test: `initdb` in a temporary directory, a
//! free loopback port, password authentication, and the server killed when the
//! handle drops. Run as root (as CI is), the server runs as the `postgres` user,
//! since PostgreSQL refuses to run as root.
//!
//! No PostgreSQL on the machine: with `CI=true` the test fails; elsewhere it is
//! skipped with a loud message (`scripts/test` installs it).

use std::net::TcpListener;
use std::os::unix::fs::chown;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use sqlx::Connection;

pub const PASSWORD: &str = "pg-test-password-7d3e";

pub struct Postgres {
    bin: PathBuf,
    dir: tempfile::TempDir,
    owner: Option<(u32, u32)>,
    pub port: u16,
    server: Option<Child>,
}

impl Postgres {
    /// A running server, or `None` (after saying so) when PostgreSQL is not installed
    /// and this is not CI.
    pub async fn start() -> Option<Postgres> {
        let Some(bin) = find_bin() else {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "PostgreSQL is required in CI: no initdb on PATH or in /usr/lib/postgresql/*/bin"
            );
            eprintln!("\n!!! SKIPPED: PostgreSQL is not installed (run scripts/test, which installs it) !!!\n");
            return None;
        };
        let owner = server_owner();
        let dir = tempfile::tempdir().expect("a temporary directory");
        if let Some((uid, gid)) = owner {
            chown(dir.path(), Some(uid), Some(gid)).expect("hand the directory to postgres");
        }
        let pwfile = dir.path().join("pwfile");
        std::fs::write(&pwfile, PASSWORD).unwrap();
        if let Some((uid, gid)) = owner {
            chown(&pwfile, Some(uid), Some(gid)).unwrap();
        }
        let init = as_owner(Command::new(bin.join("initdb")), owner)
            .args([
                "-U",
                "postgres",
                "--auth=scram-sha-256",
                "--no-sync",
                "-E",
                "UTF8",
                "--locale=C",
            ])
            .arg(format!("--pwfile={}", pwfile.display()))
            .arg("-D")
            .arg(dir.path().join("data"))
            .output()
            .expect("initdb runs");
        assert!(
            init.status.success(),
            "initdb failed: {}",
            String::from_utf8_lossy(&init.stderr)
        );
        let port = free_port();
        let mut postgres = Postgres {
            bin,
            dir,
            owner,
            port,
            server: None,
        };
        postgres.resume().await;
        Some(postgres)
    }

    /// A URL for `database` with the right password.
    pub fn url(&self, database: &str) -> String {
        format!("postgres://postgres:{PASSWORD}@127.0.0.1:{}/{database}", self.port)
    }

    /// A fresh, empty database.
    pub async fn database(&self, name: &str) -> String {
        let mut admin = sqlx::PgConnection::connect(&self.url("postgres")).await.unwrap();
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&mut admin)
            .await
            .unwrap();
        self.url(name)
    }

    /// Stops the server at once (as a crash or an outage would).
    pub fn stop(&mut self) {
        if let Some(mut server) = self.server.take() {
            let _ = Command::new("kill").args(["-QUIT", &server.id().to_string()]).status();
            let deadline = Instant::now() + Duration::from_secs(10);
            while server.try_wait().ok().flatten().is_none() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = server.kill();
            let _ = server.wait();
        }
    }

    /// Starts the server again on the same data and port, and waits until it answers.
    /// A server that exits at once (the old one's processes still hold the port, or
    /// crash recovery is still under way on a busy machine) is started again.
    pub async fn resume(&mut self) {
        self.server = Some(self.spawn());
        let url = self.url("postgres");
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if sqlx::PgConnection::connect(&url).await.is_ok() {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "postgres did not accept connections within 60 s"
            );
            let exited = self
                .server
                .as_mut()
                .is_some_and(|server| server.try_wait().ok().flatten().is_some());
            if exited {
                tokio::time::sleep(Duration::from_millis(200)).await;
                self.server = Some(self.spawn());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    fn spawn(&self) -> Child {
        let data = self.dir.path().join("data");
        as_owner(Command::new(self.bin.join("postgres")), self.owner)
            .arg("-D")
            .arg(&data)
            .args(["-p", &self.port.to_string(), "-c", "listen_addresses=127.0.0.1"])
            .arg("-c")
            .arg(format!("unix_socket_directories={}", self.dir.path().display()))
            // fsync off is safe here: the tests kill the server, never the machine.
            .args(["-c", "fsync=off", "-c", "full_page_writes=off"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("postgres starts")
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        self.stop();
    }
}

fn as_owner(mut command: Command, owner: Option<(u32, u32)>) -> Command {
    if let Some((uid, gid)) = owner {
        command.uid(uid).gid(gid);
    }
    command
}

/// initdb on PATH, else the newest Debian install.
fn find_bin() -> Option<PathBuf> {
    let on_path = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths).find(|dir| dir.join("initdb").is_file() && dir.join("postgres").is_file())
    });
    on_path.or_else(|| {
        let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
            .ok()?
            .filter_map(|entry| entry.ok().map(|e| e.path().join("bin")))
            .filter(|bin| bin.join("initdb").is_file())
            .collect();
        versions.sort_by_key(|bin| {
            bin.parent()
                .and_then(Path::file_name)
                .and_then(|v| v.to_str())
                .and_then(|v| v.parse::<u32>().ok())
                .unwrap_or(0)
        });
        versions.pop()
    })
}

/// As root, the uid and gid of the `postgres` user; otherwise the server runs as us.
fn server_owner() -> Option<(u32, u32)> {
    let me = Command::new("id").arg("-u").output().ok()?;
    if String::from_utf8_lossy(&me.stdout).trim() != "0" {
        return None;
    }
    let passwd = std::fs::read_to_string("/etc/passwd").expect("/etc/passwd");
    let line = passwd
        .lines()
        .find(|l| l.starts_with("postgres:"))
        .expect("running as root needs the postgres user (Debian's postgresql package creates it)");
    let fields: Vec<&str> = line.split(':').collect();
    Some((fields[2].parse().unwrap(), fields[3].parse().unwrap()))
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}
