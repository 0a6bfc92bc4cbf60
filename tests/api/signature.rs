//! Signature verification over real HTTP: both header forms, tolerance, failures, fail-closed.

use base64::Engine;
use connector::secret::Secret;
use connector::tripleseat::signature::{sign, sign_plain};
use serde_json::json;

use crate::helpers::{paid_event, spawn_app, webhook, AppBuilder, SIGNING_KEY};

fn body() -> Vec<u8> {
    webhook("UPDATE_EVENT", paid_event()).to_string().into_bytes()
}

#[tokio::test]
async fn valid_signatures_in_every_accepted_form_pass() {
    let app = AppBuilder::new().env("DRY_RUN", "true").spawn().await;
    let key = Secret::new(SIGNING_KEY);
    let now = app.now().timestamp();
    let body = body();
    let good = sign(&key, &body, now);
    let good_mac = good.split("v1=").nth(1).unwrap().to_string();
    let plain = sign_plain(&key, &body);
    let b64 = base64::engine::general_purpose::STANDARD.encode(hex::decode(&plain).unwrap());
    let headers = [
        ("timestamped", good.clone()),
        ("reordered with spaces", format!("v1={good_mac}, t={now}")),
        (
            "several v1, one valid",
            format!("t={now},v1={},v1={good_mac}", "ab".repeat(32)),
        ),
        ("bare hex MAC", plain),
        ("bare base64 MAC", b64),
    ];
    for (description, header) in headers {
        let answer = app
            .post_raw("/webhook", body.clone(), &[("x-signature", &header)])
            .await;
        // Dry runs never settle the key, so the same body can be sent again.
        assert_eq!(
            answer.json["reason"],
            json!("DRY_RUN"),
            "{description}: {:#}",
            answer.json
        );
    }
}

#[tokio::test]
async fn invalid_signatures_are_refused_with_their_code() {
    let app = spawn_app().await;
    let key = Secret::new(SIGNING_KEY);
    let now = app.now().timestamp();
    let body = body();
    let cases = [
        (
            "wrong key",
            Some(sign(&Secret::new("another-key"), &body, now)),
            body.clone(),
            "MISMATCH",
        ),
        (
            "tampered body",
            Some(sign(&key, &body, now)),
            b"{\"webhook_trigger_type\":\"UPDATE_EVENT\"}".to_vec(),
            "MISMATCH",
        ),
        (
            "stale timestamp",
            Some(sign(&key, &body, now - 301)),
            body.clone(),
            "TIMESTAMP_OUT_OF_TOLERANCE",
        ),
        (
            "future timestamp",
            Some(sign(&key, &body, now + 301)),
            body.clone(),
            "TIMESTAMP_OUT_OF_TOLERANCE",
        ),
        (
            "malformed header",
            Some("sha1=abc".to_string()),
            body.clone(),
            "MALFORMED_SIGNATURE_HEADER",
        ),
        ("no header", None, body.clone(), "MISSING_SIGNATURE_HEADER"),
    ];
    for (description, header, body, code) in cases {
        let headers: Vec<(&str, &str)> = header.as_deref().map(|h| vec![("x-signature", h)]).unwrap_or_default();
        let answer = app.post_raw("/webhook", body, &headers).await;
        let reason = format!("SIGNATURE_VERIFICATION_FAILED_{code}");
        assert_eq!(answer.json["reason"], json!(reason), "{description}: {:#}", answer.json);
        answer.assert_reason(&reason);
        assert_eq!(answer.ok_processed(), (false, false), "{description}");
        assert_eq!(
            answer.json["trigger"],
            json!(null),
            "nothing is parsed before the signature passes"
        );
    }
    assert!(app.fakes.tripleseat.plan().requests().is_empty());
    assert!(app.fakes.revel.plan().requests().is_empty());
    assert!(app.settled_emails().await.is_empty(), "unsigned noise sends no email");
}

#[tokio::test]
async fn without_a_key_every_delivery_fails_closed() {
    let app = AppBuilder::new()
        .without("TRIPLESEAT_WEBHOOK_SIGNING_KEY")
        .spawn()
        .await;
    let body = body();
    let header = sign(&Secret::new(SIGNING_KEY), &body, app.now().timestamp());
    let answer = app.post_raw("/webhook", body, &[("x-signature", &header)]).await;
    answer.assert_reason("SIGNATURE_VERIFICATION_FAILED_SIGNING_KEY_NOT_CONFIGURED");
    let health: serde_json::Value = app.get("/health").await.json().await.unwrap();
    assert_eq!(health["signing_key_configured"], json!(false));
}

#[tokio::test]
async fn the_older_route_is_the_same_signed_pipeline() {
    let app = spawn_app().await;
    let unsigned = app.post_raw("/webhooks/tripleseat", body(), &[]).await;
    unsigned.assert_reason("SIGNATURE_VERIFICATION_FAILED_MISSING_SIGNATURE_HEADER");
    let body = body();
    let header = app.sign(&body);
    let signed = app
        .post_raw("/webhooks/tripleseat", body, &[("x-signature", &header)])
        .await;
    signed.assert_reason("REVEL_INJECTED");
}

#[tokio::test]
async fn a_pinned_scheme_refuses_the_other_form() {
    let app = AppBuilder::new()
        .env("WEBHOOK_SIGNATURE_SCHEME", "timestamped")
        .spawn()
        .await;
    let body = body();
    let plain = sign_plain(&Secret::new(SIGNING_KEY), &body);
    let answer = app.post_raw("/webhook", body, &[("x-signature", &plain)]).await;
    answer.assert_reason("SIGNATURE_VERIFICATION_FAILED_MALFORMED_SIGNATURE_HEADER");
}
