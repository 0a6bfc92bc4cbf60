//! Simulated TripleSeat, Revel and SendGrid servers on 127.0.0.1 for the
//! connector's tests and its sandbox. Each keeps state like the real service,
//! records every request it receives, and can be told to fail on chosen calls
//! (an HTTP status, 429 with `Retry-After`, an HTML login page, a hang, or a hang
//! *after* a write was stored, the ambiguous case).

pub mod faults;
pub mod revel;
pub mod sendgrid;
pub mod tripleseat;

use std::net::SocketAddr;

use axum::Router;
use tokio::net::TcpListener;

pub use faults::{Fault, Recorded};
pub use revel::FakeRevel;
pub use sendgrid::FakeSendgrid;
pub use tripleseat::FakeTripleseat;

/// Serves `router` on an ephemeral loopback port.
async fn serve(router: Router) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind a loopback port");
    let address = listener.local_addr().expect("a bound listener has an address");
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    address
}
