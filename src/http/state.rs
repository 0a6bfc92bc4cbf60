//! What every route handler is given: the pipeline's services, the places for runs,
//! the sweep, the admin gate and the test routes' budget.

use std::sync::Arc;

use governor::DefaultDirectRateLimiter;
use tokio::sync::Semaphore;

use super::access::AdminGate;
use crate::pipeline::Services;
use crate::sweep::Sweeper;

/// The state shared by every route, built once by `startup`.
pub struct AppState {
    pub services: Arc<Services>,
    /// One permit per pipeline run; shutdown takes them all to know runs are over.
    pub runs: Arc<Semaphore>,
    pub sweeper: Arc<Sweeper>,
    /// Present when `ADMIN_TOKEN` is set.
    pub admin: Option<AdminGate>,
    /// The `/test/*` routes' own budget, shared by all their callers.
    pub test_budget: DefaultDirectRateLimiter,
}
