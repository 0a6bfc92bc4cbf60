//! What can go wrong reading TripleSeat, shared by the read API and its authorizer.

use crate::upstream::Failure;

/// What went wrong reading TripleSeat, in terms the pipeline decides on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TripleseatError {
    #[error("TripleSeat refused the credentials (401/403 or a login page)")]
    Denied,
    #[error("TripleSeat read credentials are not configured")]
    NotConfigured,
    #[error("TripleSeat answered HTTP {0}")]
    Status(u16),
    #[error("TripleSeat rate limit (429) persisted")]
    RateLimited,
    #[error("TripleSeat did not answer in time")]
    Timeout,
    #[error("TripleSeat could not be reached")]
    Unreachable,
    #[error("TripleSeat answered with a body that is not the expected JSON")]
    Malformed,
}

/// A request that never got an answer: retried, as a timeout or as unreachable.
pub(super) fn transport_failure(error: reqwest::Error) -> Failure<TripleseatError> {
    if error.is_timeout() {
        Failure::Retry(TripleseatError::Timeout)
    } else {
        Failure::Retry(TripleseatError::Unreachable)
    }
}
