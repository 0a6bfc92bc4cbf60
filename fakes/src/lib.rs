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

/// The three simulated services together.
#[derive(Clone)]
pub struct Upstreams {
    pub tripleseat: FakeTripleseat,
    pub revel: FakeRevel,
    pub sendgrid: FakeSendgrid,
}

impl Upstreams {
    pub async fn start() -> Upstreams {
        Upstreams {
            tripleseat: FakeTripleseat::start().await,
            revel: FakeRevel::start().await,
            sendgrid: FakeSendgrid::start().await,
        }
    }

    /// The variables that point a connector at these services with credentials they
    /// accept, tenant ids for Revel, and email on. Signing key and locations are the caller's.
    pub fn connector_env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("TRIPLESEAT_API_BASE", self.tripleseat.url()),
            ("TRIPLESEAT_PUBLIC_API_KEY", tripleseat::PUBLIC_API_KEY.into()),
            (
                "TRIPLESEAT_AUTHORIZE_URL",
                format!("{}/oauth2/authorize", self.tripleseat.url()),
            ),
            ("REVEL_API_BASE", self.revel.url()),
            ("REVEL_API_KEY", revel::API_KEY.into()),
            ("REVEL_API_SECRET", revel::API_SECRET.into()),
            ("REVEL_USER_ID", "11".into()),
            ("REVEL_POS_STATION_ID", "22".into()),
            ("REVEL_DINING_OPTION_ID", "3".into()),
            ("REVEL_PAYMENT_TYPE_ID", "44".into()),
            ("REVEL_DISCOUNT_ID", "55".into()),
            ("SENDGRID_API_BASE", self.sendgrid.url()),
            ("SENDGRID_API_KEY", sendgrid::API_KEY.into()),
            ("TRIPLESEAT_EMAIL_SENDER", "connector@example.com".into()),
            ("TRIPLESEAT_EMAIL_RECIPIENTS", "ops@example.com".into()),
        ]
    }
}

/// Serves `router` on an ephemeral loopback port.
async fn serve(router: Router) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind a loopback port");
    let address = listener.local_addr().expect("a bound listener has an address");
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    address
}
