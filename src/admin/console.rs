//! `GET /admin`: the operator console, one self-contained page compiled into the
//! binary (no external assets, so it works offline and behind any proxy). It holds no
//! data itself; everything it shows comes from `/admin/api` with the token the
//! operator types once (kept in the tab's sessionStorage only).

use axum::http::header;
use axum::response::IntoResponse;

const PAGE: &str = include_str!("console.html");

pub async fn page() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
            (
                header::CONTENT_SECURITY_POLICY,
                "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
            ),
            (header::X_FRAME_OPTIONS, "DENY"),
            (header::REFERRER_POLICY, "no-referrer"),
        ],
        PAGE,
    )
}
