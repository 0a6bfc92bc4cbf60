//! The HTTP/1.1 server in front of the router, with the limits a public endpoint needs
//! (hyper's own connection settings, a tokio semaphore for the cap):
//!
//! * a client gets `HEADER_READ_TIMEOUT_SECS` to send a request's headers, counted from the
//!   moment the connection waits for them — on a new connection and between requests
//!   of a kept-alive one — so slowloris clients and idle connections are closed;
//! * at most `max_connections` are open at once. At the cap, the oldest connection
//!   with no request in the router (idle, or still sending its headers) is closed to
//!   make room, so a flood of slow clients cannot lock real ones out; when every
//!   connection has a request in the router, new ones wait in the kernel's backlog.
//!   A log line says when the cap bites;
//! * at shutdown, no new connection is taken, idle and half-sent ones are closed at
//!   once, and those with a request in the router finish it (the router's own
//!   deadlines bound them), all within the shutdown budget.
//!
//! The request body's own timeout is the pipeline's (`pipeline::read_body`).

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::ConnectInfo;
use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::{watch, Notify, Semaphore};
use tokio::task::JoinSet;
use tokio::time::Instant;
use tower_service::Service;

/// How often, at most, the cap being reached is logged.
const CAP_LOG_EVERY: Duration = Duration::from_secs(10);
/// After an accept error (e.g. out of file descriptors), the pause before the next.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// One open connection, as the cap sees it.
#[derive(Default)]
struct Open {
    /// Its requests in the router right now.
    in_flight: AtomicUsize,
    /// Told to close (to make room at the cap).
    shed: Notify,
}

/// Every open connection, oldest first.
#[derive(Default)]
struct Registry {
    next_id: AtomicU64,
    open: Mutex<BTreeMap<u64, Arc<Open>>>,
}

impl Registry {
    fn add(&self) -> (u64, Arc<Open>) {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let open = Arc::new(Open::default());
        self.lock().insert(id, Arc::clone(&open));
        (id, open)
    }

    fn remove(&self, id: u64) {
        self.lock().remove(&id);
    }

    /// Closes the oldest connection with nothing in the router; false if there is none.
    fn shed_oldest_idle(&self) -> bool {
        let mut open = self.lock();
        let idle = open
            .iter()
            .find(|(_, c)| c.in_flight.load(Ordering::SeqCst) == 0)
            .map(|(id, _)| *id);
        match idle.and_then(|id| open.remove(&id)) {
            Some(connection) => {
                connection.shed.notify_one();
                true
            }
            None => false,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<u64, Arc<Open>>> {
        self.open.lock().expect("invariant: never locked across a panic")
    }
}

/// The limits of `serve`.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// At most this many connections open at once.
    pub max_connections: usize,
    /// A client's time to send a request's headers (and a connection's time idle).
    pub header_read_timeout: Duration,
    /// From the shutdown signal to the last connection closed.
    pub shutdown_budget: Duration,
}

/// Serves `router` on `listener` until `shutdown` resolves, then closes what it can at
/// once and waits for requests in the router within the shutdown budget. Returns the
/// moment of the signal, when every connection is closed or the budget is spent.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: Limits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Instant {
    let Limits {
        max_connections,
        header_read_timeout,
        shutdown_budget: budget,
    } = limits;
    let connections = Arc::new(Semaphore::new(max_connections));
    let registry = Arc::new(Registry::default());
    let (stopping, stop) = watch::channel(false);
    let mut open = JoinSet::new();
    let mut last_cap_log: Option<Instant> = None;
    tokio::pin!(shutdown);
    loop {
        if connections.available_permits() == 0 {
            make_room(&registry, max_connections, &mut last_cap_log);
        }
        let permit = tokio::select! {
            permit = Arc::clone(&connections).acquire_owned() => permit.expect("invariant: the semaphore is never closed"),
            () = &mut shutdown => break,
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    tracing::error!(%error, "Connections: accept failed");
                    tokio::time::sleep(ACCEPT_BACKOFF).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let (id, handle) = registry.add();
        let registry = Arc::clone(&registry);
        let served = connection(stream, peer, router.clone(), header_read_timeout, stop.clone(), handle);
        open.spawn(async move {
            served.await;
            registry.remove(id);
            drop(permit);
        });
        // Finished connections are reaped as we go, so the set stays the size of what is open.
        while open.try_join_next().is_some() {}
    }
    let signalled = Instant::now();
    let _ = stopping.send(true);
    drop(listener);
    close_within(open, signalled + budget).await;
    signalled
}

/// At the cap: closes the oldest idle or half-sent connection, if there is one, and
/// says so at most every `CAP_LOG_EVERY`.
fn make_room(registry: &Registry, max_connections: usize, last_log: &mut Option<Instant>) {
    let shed = registry.shed_oldest_idle();
    if last_log.is_some_and(|at| at.elapsed() < CAP_LOG_EVERY) {
        return;
    }
    if shed {
        tracing::warn!(
            max_connections,
            "Connections: at the cap; closing the oldest idle or half-sent connection to make room"
        );
    } else {
        tracing::warn!(
            max_connections,
            "Connections: at the cap, every one with a request under way; new connections wait"
        );
    }
    *last_log = Some(Instant::now());
}

/// Waits for the open connections until `deadline`, then closes the rest.
async fn close_within(mut open: JoinSet<()>, deadline: Instant) {
    let closing = async { while open.join_next().await.is_some() {} };
    if tokio::time::timeout_at(deadline, closing).await.is_err() {
        tracing::warn!(
            open = open.len(),
            "Shutdown: connections still open at the budget were closed"
        );
        open.abort_all();
    }
}

async fn connection(
    stream: tokio::net::TcpStream,
    peer: SocketAddr,
    router: Router,
    header_read_timeout: Duration,
    mut stop: watch::Receiver<bool>,
    handle: Arc<Open>,
) {
    let counter = Arc::clone(&handle);
    let service = hyper::service::service_fn(move |mut request: hyper::Request<Incoming>| {
        request.extensions_mut().insert(ConnectInfo(peer));
        let mut router = router.clone();
        let counter = Arc::clone(&counter);
        counter.in_flight.fetch_add(1, Ordering::SeqCst);
        async move {
            let response = router.call(request.map(axum::body::Body::new)).await;
            counter.in_flight.fetch_sub(1, Ordering::SeqCst);
            Ok::<_, Infallible>(response.unwrap_or_else(|never| match never {}))
        }
    });
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(header_read_timeout);
    let conn = builder.serve_connection(TokioIo::new(stream), service);
    tokio::pin!(conn);
    tokio::select! {
        _ = conn.as_mut() => return,
        () = handle.shed.notified() => return,
        _ = stop.wait_for(|stopping| *stopping) => {}
    }
    // Shutting down: a connection with nothing in the router (idle, or still sending
    // its headers) is closed now; one with a request finishes it, then closes.
    if handle.in_flight.load(Ordering::SeqCst) == 0 {
        return;
    }
    conn.as_mut().graceful_shutdown();
    let _ = conn.await;
}
