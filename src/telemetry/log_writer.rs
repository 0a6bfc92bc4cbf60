//! The log's writer thread. A request appends its line to a shared buffer and goes on;
//! the thread wakes at the first line, lets the rest of a burst gather for `LINGER`,
//! and writes everything waiting in one system call. A line costs the request one
//! copy under an uncontended lock: no allocation of its own, no wake-up of the
//! thread while it is already awake, never a wait for the output.
//!
//! Past `MOST_WAITING` bytes waiting (a log pipe that stopped reading), new lines are
//! dropped rather than block, and counted in a warning once the output moves again.
//! The buffer grows with a burst and is let go after it, so an idle process holds
//! almost nothing here (tracing-appender's writer, used before, allocated a queue of
//! 16,384 line slots, 512 KiB, at startup, and copied each line into a `Vec` of its own).

use std::io::{self, Write};
use std::sync::mpsc;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread;
use std::time::Duration;

/// Bytes of lines that may wait: about 25,000 lines of 170 bytes.
const MOST_WAITING: usize = 4 << 20;
/// How long the thread lets a burst's lines gather before writing them.
const LINGER: Duration = Duration::from_millis(5);
/// A buffer a burst grew past this is let go rather than kept while idle.
const KEPT_CAPACITY: usize = 64 << 10;
/// How long exit waits for the last lines to be written.
const FLUSH_AT_EXIT: Duration = Duration::from_secs(1);

#[derive(Default)]
struct Waiting {
    text: Vec<u8>,
    dropped: u64,
    /// The thread waits for a line: the next line wakes it.
    thread_asleep: bool,
    closing: bool,
}

/// The lines waiting for the writer thread.
pub struct Lines {
    waiting: Mutex<Waiting>,
    wake: Condvar,
    most_waiting: usize,
}

impl Lines {
    fn lock(&self) -> MutexGuard<'_, Waiting> {
        self.waiting.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn push(&self, line: &[u8]) {
        let mut waiting = self.lock();
        if waiting.text.len() + line.len() > self.most_waiting {
            waiting.dropped += 1;
            return;
        }
        waiting.text.extend_from_slice(line);
        let wake = std::mem::take(&mut waiting.thread_asleep);
        drop(waiting);
        if wake {
            self.wake.notify_one();
        }
    }
}

/// What the fmt layer writes each line to (one `write_all` a line).
impl Write for &Lines {
    fn write(&mut self, line: &[u8]) -> io::Result<usize> {
        self.push(line);
        Ok(line.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// The writer the fmt layer is given.
#[derive(Clone)]
pub struct LineWriter(Arc<Lines>);

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for LineWriter {
    type Writer = &'a Lines;

    fn make_writer(&'a self) -> &'a Lines {
        &self.0
    }
}

/// Keep it until exit: dropping it writes the lines still waiting, waiting at most
/// `FLUSH_AT_EXIT` for an output that does not take them.
#[must_use = "dropping the guard stops the log writer"]
pub struct LogGuard {
    lines: Arc<Lines>,
    finished: mpsc::Receiver<()>,
    flush_bound: Duration,
}

impl Drop for LogGuard {
    fn drop(&mut self) {
        {
            let mut waiting = self.lines.lock();
            waiting.closing = true;
            waiting.thread_asleep = false;
        }
        self.lines.wake.notify_one();
        // `Disconnected` as soon as the thread is done.
        let _ = self.finished.recv_timeout(self.flush_bound);
    }
}

/// The writer thread, writing to `output`; `report_dropped` is told how many lines were
/// dropped since it was last told, from the writer thread, before the next write.
pub fn start(output: Box<dyn Write + Send>, report_dropped: fn(u64)) -> (LineWriter, LogGuard) {
    start_with(output, report_dropped, MOST_WAITING, FLUSH_AT_EXIT)
}

fn start_with(
    output: Box<dyn Write + Send>,
    report_dropped: impl Fn(u64) + Send + 'static,
    most_waiting: usize,
    flush_bound: Duration,
) -> (LineWriter, LogGuard) {
    let lines = Arc::new(Lines {
        waiting: Mutex::new(Waiting::default()),
        wake: Condvar::new(),
        most_waiting,
    });
    let (done, finished) = mpsc::channel();
    let thread_lines = Arc::clone(&lines);
    thread::Builder::new()
        .name("log-writer".into())
        .spawn(move || {
            write_until_closed(&thread_lines, output, report_dropped);
            drop(done);
        })
        .expect("invariant: a thread can be started at startup");
    let guard = LogGuard {
        lines: Arc::clone(&lines),
        finished,
        flush_bound,
    };
    (LineWriter(lines), guard)
}

fn write_until_closed(lines: &Lines, mut output: Box<dyn Write + Send>, report_dropped: impl Fn(u64)) {
    let mut batch = Vec::new();
    loop {
        let closing = {
            let mut waiting = lines.lock();
            while waiting.text.is_empty() && !waiting.closing {
                waiting.thread_asleep = true;
                waiting = lines.wake.wait(waiting).unwrap_or_else(PoisonError::into_inner);
            }
            waiting.closing
        };
        if !closing {
            thread::sleep(LINGER);
        }
        let dropped = {
            let mut waiting = lines.lock();
            std::mem::swap(&mut waiting.text, &mut batch);
            std::mem::take(&mut waiting.dropped)
        };
        if dropped > 0 {
            report_dropped(dropped);
        }
        // A failed write has nowhere to be reported: its lines are lost, as on a closed pipe.
        let _ = output.write_all(&batch).and_then(|()| output.flush());
        batch.clear();
        if batch.capacity() > KEPT_CAPACITY {
            batch = Vec::new();
        }
        if closing && lines.lock().text.is_empty() {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::time::Instant;

    /// An output that records each write, and holds every write while `held` is set.
    #[derive(Clone, Default)]
    struct Recorded {
        writes: Arc<Mutex<Vec<Vec<u8>>>>,
        held: Arc<(Mutex<bool>, Condvar)>,
    }

    impl Recorded {
        fn hold(&self, held: bool) {
            *self.held.0.lock().unwrap() = held;
            self.held.1.notify_all();
        }
        fn text(&self) -> String {
            String::from_utf8(self.writes.lock().unwrap().concat()).unwrap()
        }
        fn writes(&self) -> usize {
            self.writes.lock().unwrap().len()
        }
    }

    impl Write for Recorded {
        fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
            let (held, released) = &*self.held;
            let mut held = held.lock().unwrap();
            while *held {
                held = released.wait(held).unwrap();
            }
            self.writes.lock().unwrap().push(bytes.to_vec());
            Ok(bytes.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    fn write_line(writer: &LineWriter, line: &str) {
        use tracing_subscriber::fmt::MakeWriter;
        writer.make_writer().write_all(line.as_bytes()).unwrap();
    }

    /// Polls `done` every millisecond for at most five seconds.
    fn eventually(done: impl Fn() -> bool) -> bool {
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(5) {
            if done() {
                return true;
            }
            thread::sleep(Duration::from_millis(1));
        }
        false
    }

    #[test]
    fn a_burst_of_lines_is_written_whole_and_in_order() {
        let output = Recorded::default();
        let (writer, guard) = start_with(Box::new(output.clone()), |_| {}, MOST_WAITING, FLUSH_AT_EXIT);
        let lines: Vec<String> = (0..2_000).map(|n| format!("line {n}\n")).collect();
        for line in &lines {
            write_line(&writer, line);
        }
        drop(guard);
        assert_eq!(output.text(), lines.concat());
    }

    #[test]
    fn lines_that_trickle_in_are_gathered_into_a_few_writes() {
        let output = Recorded::default();
        let (writer, guard) = start_with(Box::new(output.clone()), |_| {}, MOST_WAITING, FLUSH_AT_EXIT);
        // 200 lines 50 µs apart: each would wake the thread on its own, and be written
        // on its own, without the linger.
        for n in 0..200 {
            let next = Instant::now() + Duration::from_micros(50);
            write_line(&writer, &format!("line {n}\n"));
            while Instant::now() < next {
                std::hint::spin_loop();
            }
        }
        drop(guard);
        assert_eq!(output.text().lines().count(), 200);
        assert!(output.writes() <= 10, "{} writes", output.writes());
    }

    #[test]
    fn lines_written_while_idle_reach_the_output_without_the_guard() {
        let output = Recorded::default();
        let (writer, _guard) = start_with(Box::new(output.clone()), |_| {}, MOST_WAITING, FLUSH_AT_EXIT);
        for round in 0..3 {
            write_line(&writer, &format!("round {round}\n"));
            assert!(
                eventually(|| output.text().contains(&format!("round {round}\n"))),
                "{round}"
            );
        }
    }

    #[test]
    fn past_the_bound_lines_are_dropped_then_counted_once_the_output_moves() {
        let output = Recorded::default();
        let reported = Arc::new(AtomicU64::new(0));
        let counter = Arc::clone(&reported);
        let (writer, guard) = start_with(
            Box::new(output.clone()),
            move |dropped| {
                counter.fetch_add(dropped, Ordering::SeqCst);
            },
            100,
            FLUSH_AT_EXIT,
        );
        output.hold(true);
        write_line(&writer, "first\n");
        // The thread has taken the first line and is stuck writing it.
        assert!(eventually(|| writer.0.lock().text.is_empty()));
        let line = "0123456789\n";
        for _ in 0..20 {
            write_line(&writer, line);
        }
        let kept = 100 / line.len();
        assert_eq!(writer.0.lock().text.len(), kept * line.len());
        assert_eq!(writer.0.lock().dropped, (20 - kept) as u64);
        output.hold(false);
        drop(guard);
        assert_eq!(output.text(), format!("first\n{}", line.repeat(kept)));
        assert_eq!(reported.load(Ordering::SeqCst), (20 - kept) as u64);
    }

    #[test]
    fn exit_waits_a_bounded_time_for_an_output_that_does_not_take_lines() {
        let output = Recorded::default();
        output.hold(true);
        let bound = Duration::from_millis(200);
        let (writer, guard) = start_with(Box::new(output.clone()), |_| {}, MOST_WAITING, bound);
        write_line(&writer, "stuck\n");
        let start = Instant::now();
        drop(guard);
        assert!(
            start.elapsed() >= bound,
            "returned before the bound: the line was not written"
        );
        assert!(start.elapsed() < Duration::from_secs(5));
        output.hold(false);
        assert!(eventually(|| output.text() == "stuck\n"));
    }

    #[test]
    fn a_buffer_grown_by_a_burst_is_let_go() {
        let output = Recorded::default();
        let (writer, guard) = start_with(Box::new(output.clone()), |_| {}, MOST_WAITING, FLUSH_AT_EXIT);
        output.hold(true);
        write_line(&writer, "first\n");
        assert!(eventually(|| writer.0.lock().text.is_empty()));
        let big = "x".repeat(1023) + "\n";
        for _ in 0..256 {
            write_line(&writer, &big);
        }
        output.hold(false);
        assert!(eventually(|| output.text().len() == 6 + 256 * 1024));
        write_line(&writer, "after\n");
        assert!(eventually(|| output.text().ends_with("after\n")));
        assert!(writer.0.lock().text.capacity() <= KEPT_CAPACITY);
        drop(guard);
    }
}
