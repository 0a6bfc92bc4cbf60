//! Logs as text or JSON (`LOG_FORMAT`), level from `RUST_LOG` (default info),
//! timestamps in `TIMEZONE`. The request span carries the correlation id, so it is
//! on every line.
//!
//! Lines are handed to a writer thread (`log_writer`), so a slow log pipe never stalls
//! a request: past a bound of lines waiting, new lines are dropped (and counted)
//! rather than block. The guard `init` returns writes what is waiting when it is
//! dropped, at the end of `main`.

mod log_writer;

pub use log_writer::LogGuard;

use std::io::{IsTerminal, Write};

use chrono_tz::Tz;
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::time::FormatTime;
use tracing_subscriber::EnvFilter;

/// RFC 3339 timestamps with milliseconds, in the configured timezone.
struct ZonedClock(Tz);

impl FormatTime for ZonedClock {
    fn format_time(&self, w: &mut Writer<'_>) -> std::fmt::Result {
        let now = chrono::Utc::now().with_timezone(&self.0);
        write!(w, "{}", now.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
    }
}

/// How log lines are written (`LOG_FORMAT`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

/// Standard output for the writer thread, which writes every line waiting at once:
/// one system call for all of them (`Stdout` writes at each newline), so a burst of
/// requests costs the log pipe a few. A write may then pass the pipe's 4 KiB atomic
/// size: another writer to the same output (none in this process) could land inside a line.
fn stdout() -> Box<dyn Write + Send> {
    #[cfg(unix)]
    {
        use std::os::fd::AsFd;
        if let Ok(fd) = std::io::stdout().as_fd().try_clone_to_owned() {
            return Box::new(std::fs::File::from(fd));
        }
    }
    Box::new(std::io::stdout())
}

/// Told from the writer thread, so the warning takes its turn among the lines.
fn report_dropped(lines: u64) {
    tracing::warn!(lines, "Log: lines dropped while the log output did not keep up");
}

/// `filter` is `RUST_LOG` as the configuration checked it. Keep the guard until exit.
pub fn init(format: LogFormat, timezone: Tz, filter: &str) -> LogGuard {
    let filter = EnvFilter::try_new(filter).unwrap_or_else(|_| EnvFilter::new("info"));
    let (writer, guard) = log_writer::start(stdout(), report_dropped);
    // Colour only for a person at a terminal; platforms' log viewers show raw escapes.
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        .with_timer(ZonedClock(timezone))
        .with_writer(writer)
        .with_ansi(std::io::stdout().is_terminal());
    let result = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().with_current_span(true).with_span_list(false).try_init(),
    };
    // A second init (an example building several apps) keeps the first subscriber.
    drop(result);
    guard
}
