//! TripleSeat's ways of reading (SPEC 20) against a fake that behaves as public
//! evidence says: the consent flow end to end, the fallbacks on 401/403, refresh
//! tokens that rotate across a restart and two instances, and report-only signatures.

use std::time::Duration;

use serde_json::Value;

use crate::admin::TOKEN;
use crate::helpers::{paid_event, status_change_webhook, AppBuilder, TestApp, TestStore};

/// What TripleSeat is told the service is reachable at; the tests stand in for the
/// browser, so only the path of the redirect matters.
const PUBLIC_BASE_URL: &str = "https://connector.example.com";

/// A dry-run app with every way of reading configured and the console on.
fn all_ways() -> AppBuilder {
    AppBuilder::new()
        .env("TRIPLESEAT_OAUTH_CLIENT_ID", fakes::tripleseat::OAUTH_CLIENT_ID)
        .env("TRIPLESEAT_OAUTH_CLIENT_SECRET", fakes::tripleseat::OAUTH_CLIENT_SECRET)
        .env("PUBLIC_BASE_URL", PUBLIC_BASE_URL)
        .env("ADMIN_TOKEN", TOKEN)
        .env("DRY_RUN", "true")
}

fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap()
}

fn location(response: &reqwest::Response) -> String {
    response.headers()["location"].to_str().unwrap().to_string()
}

/// The operator's browser: the console's connect link, TripleSeat's consent page
/// (the fake approves at once), back to the callback. Returns the callback's answer.
async fn give_consent(app: &TestApp) -> (u16, String) {
    let connect = connect(app).await;
    assert_eq!(connect.status().as_u16(), 302, "connect redirects to TripleSeat");
    follow_consent_link(app, &location(&connect), consent_cookie(&connect).as_deref()).await
}

/// The console's request for a consent link (redirects not followed).
async fn connect(app: &TestApp) -> reqwest::Response {
    no_redirects()
        .get(format!("{}/admin/tripleseat/connect", app.address))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap()
}

/// The `name=value` of the consent cookie the connect answer set.
fn consent_cookie(response: &reqwest::Response) -> Option<String> {
    let cookie = response.headers().get("set-cookie")?.to_str().ok()?;
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"),
        "{cookie}"
    );
    cookie.split(';').next().map(String::from)
}

/// From TripleSeat's authorize link on: the fake's consent page, then our callback,
/// with the browser's cookie when it has one.
async fn follow_consent_link(app: &TestApp, link: &str, cookie: Option<&str>) -> (u16, String) {
    let browser = no_redirects();
    let authorize = reqwest::Url::parse(link).unwrap();
    let query: Vec<(String, String)> = authorize.query_pairs().into_owned().collect();
    let redirect_uri = &query.iter().find(|(k, _)| k == "redirect_uri").unwrap().1;
    assert_eq!(redirect_uri, &format!("{PUBLIC_BASE_URL}/oauth/tripleseat/callback"));
    assert!(query.iter().any(|(k, v)| k == "state" && v.len() >= 32));
    let consent_page = browser.get(link).send().await.unwrap();
    assert_eq!(consent_page.status().as_u16(), 302);
    let back = location(&consent_page).replace(PUBLIC_BASE_URL, &app.address);
    let mut callback = browser.get(back);
    if let Some(cookie) = cookie {
        callback = callback.header("cookie", cookie);
    }
    let callback = callback.send().await.unwrap();
    let status = callback.status().as_u16();
    (status, callback.text().await.unwrap())
}

async fn reads_view(app: &TestApp) -> Value {
    let health: Value = app.get("/health").await.json().await.unwrap();
    health["tripleseat_reads"].clone()
}

fn authorization_of(read: &fakes::Recorded) -> String {
    match (read.headers.get("authorization"), read.headers.get("x-api-key")) {
        (Some(bearer), _) => bearer.to_str().unwrap().to_string(),
        (None, Some(_)) => "public key".into(),
        (None, None) => "none".into(),
    }
}

fn event_reads(app: &TestApp) -> Vec<String> {
    app.fakes
        .tripleseat
        .plan()
        .requests()
        .iter()
        .filter(|r| r.path.starts_with("/v1/events/"))
        .map(authorization_of)
        .collect()
}

#[tokio::test]
async fn before_consent_every_way_is_refused_and_after_it_reads_use_the_authorization_code() {
    let app = all_ways().spawn().await;
    app.fakes.tripleseat.behave_as_public_evidence_says();
    app.fakes.tripleseat.put_event(paid_event());
    assert_eq!(reads_view(&app).await["authorization_code"], "not connected");

    app.post_signed(&status_change_webhook())
        .await
        .assert_reason("TRIPLESEAT_AUTHORIZATION_DENIED");
    let tried = event_reads(&app);
    assert_eq!(tried.len(), 2, "client credentials, then the public key: {tried:?}");
    assert!(
        tried[0].starts_with("Bearer fake-token-") && tried[1] == "public key",
        "{tried:?}"
    );

    let (status, page) = give_consent(&app).await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("Connected"));
    app.post_signed(&status_change_webhook()).await.assert_reason("DRY_RUN");
    let last = event_reads(&app).pop().unwrap();
    assert!(last.starts_with("Bearer fake-code-token-"), "{last}");
    let view = reads_view(&app).await;
    assert_eq!(view["in_use"], "authorization_code");
    assert_eq!(view["authorization_code"], "connected");
    assert_eq!(
        view["ways"],
        serde_json::json!(["authorization_code", "client_credentials", "public_key"])
    );
    // Nothing secret shows anywhere in the view.
    assert!(!view.to_string().contains("fake-"), "{view}");
}

#[tokio::test]
async fn client_credentials_refused_on_events_hand_over_to_the_public_key_and_are_then_passed_over() {
    // A tenant whose public key can read but whose client-credentials token has no
    // resource owner, and who has not given consent.
    let app = all_ways().spawn().await;
    app.fakes.tripleseat.put_event(paid_event());
    app.fakes.tripleseat.refuse_client_credentials();
    app.post_signed(&status_change_webhook()).await.assert_reason("DRY_RUN");
    let reads = event_reads(&app);
    assert_eq!(reads.len(), 2, "{reads:?}");
    assert!(
        reads[0].starts_with("Bearer fake-token-") && reads[1] == "public key",
        "{reads:?}"
    );
    assert_eq!(reads_view(&app).await["in_use"], "public_key");
    // The refused way is not knocked on again for a while.
    app.post_signed(&status_change_webhook()).await.assert_reason("DRY_RUN");
    assert_eq!(event_reads(&app)[2..], ["public key".to_string()]);
}

#[tokio::test]
async fn a_cached_token_that_is_refused_is_renewed_once_before_the_next_way() {
    let app = all_ways().spawn().await;
    app.fakes.tripleseat.put_event(paid_event());
    app.post_signed(&status_change_webhook()).await.assert_reason("DRY_RUN");
    assert_eq!(reads_view(&app).await["in_use"], "client_credentials");
    app.fakes.tripleseat.refuse_client_credentials();
    app.post_signed(&status_change_webhook()).await.assert_reason("DRY_RUN");
    // The cached token might have been revoked: renewed once, then the next way.
    let reads = event_reads(&app);
    let tail: Vec<&str> = reads[1..].iter().map(String::as_str).collect();
    assert_eq!(tail.len(), 3, "{tail:?}");
    assert!(tail[0].starts_with("Bearer fake-token-") && tail[1].starts_with("Bearer fake-token-"));
    assert_ne!(tail[0], tail[1], "a new token was asked for");
    assert_eq!(tail[2], "public key");
    assert_eq!(reads_view(&app).await["in_use"], "public_key");
}

/// An app on `store` whose TripleSeat behaves as evidence says, consent given, and the
/// consent's access token stale at once (so the next read must refresh and rotate).
async fn connected_with_a_stale_token(store: &TestStore) -> TestApp {
    let app = all_ways().store(store).spawn().await;
    app.fakes.tripleseat.behave_as_public_evidence_says();
    app.fakes.tripleseat.put_event(paid_event());
    app.fakes.tripleseat.set_access_lifetime_secs(0);
    assert_eq!(give_consent(&app).await.0, 200);
    app
}

#[tokio::test]
async fn a_rotated_refresh_token_is_stored_so_a_restart_never_presents_a_spent_one() {
    let store = TestStore::new();
    let app = connected_with_a_stale_token(&store).await;
    app.post_signed(&status_change_webhook()).await.assert_reason("DRY_RUN");
    assert_eq!(app.fakes.tripleseat.refreshes(), 1);
    let fakes = app.fakes.clone();
    app.stop().await;

    let restarted = all_ways().store(&store).fakes(&fakes).spawn().await;
    restarted
        .post_signed(&status_change_webhook())
        .await
        .assert_reason("DRY_RUN");
    assert_eq!(fakes.tripleseat.refreshes(), 2);
    assert_eq!(
        fakes.tripleseat.spent_refresh_uses(),
        0,
        "the restart used the rotated refresh token"
    );
    assert_eq!(fakes.tripleseat.valid_refresh_tokens(), 1);
    assert_eq!(reads_view(&restarted).await["in_use"], "authorization_code");
}

#[tokio::test]
async fn two_instances_refreshing_at_once_keep_one_valid_token() {
    let store = TestStore::new();
    let first = connected_with_a_stale_token(&store).await;
    // The consent's token is stale; the one the refresh brings lasts.
    first.fakes.tripleseat.set_access_lifetime_secs(7200);
    let second = all_ways().store(&store).fakes(&first.fakes).spawn().await;

    // Six different deliveries (each its own key), three on each instance at once.
    let hooks: Vec<Value> = (0..6)
        .map(|i| {
            let mut hook = status_change_webhook();
            hook["event"]["updated_at"] = format!("05/0{}/2026 10:00 AM", i + 1).into();
            hook
        })
        .collect();
    let runs: Vec<_> = hooks
        .iter()
        .enumerate()
        .map(|(i, hook)| {
            if i % 2 == 0 {
                first.post_signed(hook)
            } else {
                second.post_signed(hook)
            }
        })
        .collect();
    for answer in futures::future::join_all(runs).await {
        answer.assert_reason("DRY_RUN");
    }
    let tripleseat = &first.fakes.tripleseat;
    assert_eq!(
        tripleseat.refreshes(),
        1,
        "one instance refreshed; the other read its tokens"
    );
    assert_eq!(tripleseat.spent_refresh_uses(), 0);
    assert_eq!(tripleseat.valid_refresh_tokens(), 1);
}

#[tokio::test]
async fn a_refresh_token_tripleseat_refuses_says_consent_is_needed_and_falls_back() {
    let app = all_ways().spawn().await;
    app.fakes.tripleseat.put_event(paid_event());
    app.fakes.tripleseat.set_access_lifetime_secs(0);
    assert_eq!(give_consent(&app).await.0, 200);
    // An administrator removed the app's access on TripleSeat's side.
    app.fakes.tripleseat.revoke_consent();
    app.post_signed(&status_change_webhook()).await.assert_reason("DRY_RUN");
    let view = reads_view(&app).await;
    assert_eq!(view["in_use"], "client_credentials");
    assert_eq!(view["authorization_code"], "refused");
    // Consent given again: back to the authorization code.
    app.fakes.tripleseat.set_access_lifetime_secs(7200);
    assert_eq!(give_consent(&app).await.0, 200);
    app.post_signed(&status_change_webhook()).await.assert_reason("DRY_RUN");
    let view = reads_view(&app).await;
    assert_eq!(view["in_use"], "authorization_code");
    assert_eq!(view["authorization_code"], "connected");
}

#[tokio::test]
async fn an_expired_code_an_unknown_state_and_a_declined_consent_change_nothing() {
    let app = all_ways().spawn().await;
    app.fakes.tripleseat.set_code_lifetime(Duration::ZERO);
    let (status, page) = give_consent(&app).await;
    assert_eq!(status, 400);
    assert!(page.contains("refused the authorization code"), "{page}");

    let browser = no_redirects();
    for (query, expected) in [
        (
            "code=fake-code-1&state=not-a-state-we-gave",
            "unknown, used already or expired",
        ),
        ("error=access_denied&state=x", "access_denied"),
        ("", "needs its code and state"),
        ("error=%3Cscript%3E", "script"),
    ] {
        let answer = browser
            .get(format!("{}/oauth/tripleseat/callback?{query}", app.address))
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status().as_u16(), 400, "{query}");
        let page = answer.text().await.unwrap();
        assert!(page.contains(expected), "{query}: {page}");
        assert!(!page.contains("<script"), "nothing from the query is echoed as markup");
    }
    assert_eq!(reads_view(&app).await["authorization_code"], "not connected");
}

#[tokio::test]
async fn a_state_is_good_once() {
    let app = all_ways().spawn().await;
    let connect = connect(&app).await;
    let link = location(&connect);
    let cookie = consent_cookie(&connect);
    assert_eq!(follow_consent_link(&app, &link, cookie.as_deref()).await.0, 200);
    let (status, page) = follow_consent_link(&app, &link, cookie.as_deref()).await;
    assert_eq!(status, 400);
    assert!(page.contains("used already"), "{page}");
}

#[tokio::test]
async fn a_console_link_completes_only_in_the_browser_that_asked_for_it() {
    let app = all_ways().spawn().await;
    let connect = connect(&app).await;
    // Someone else, holding the link but not the cookie, approves with their account.
    let (status, page) = follow_consent_link(&app, &location(&connect), None).await;
    assert_eq!(status, 400);
    assert!(page.contains("started in another browser"), "{page}");
    let (status, _) = follow_consent_link(&app, &location(&connect), Some("tripleseat_consent=forged")).await;
    assert_eq!(status, 400, "the link is used up either way");
    assert_eq!(reads_view(&app).await["authorization_code"], "not connected");
}

#[tokio::test]
async fn connect_needs_the_admin_token_and_names_what_is_missing() {
    let app = all_ways().without("PUBLIC_BASE_URL").spawn().await;
    let browser = no_redirects();
    let url = format!("{}/admin/tripleseat/connect", app.address);
    assert_eq!(browser.get(&url).send().await.unwrap().status().as_u16(), 401);
    let answer = browser.get(&url).bearer_auth(TOKEN).send().await.unwrap();
    assert_eq!(answer.status().as_u16(), 409);
    assert!(answer.text().await.unwrap().contains("PUBLIC_BASE_URL"));
    // The console asks for the link as JSON.
    let app = all_ways().spawn().await;
    let answer: Value = no_redirects()
        .get(format!("{}/admin/tripleseat/connect", app.address))
        .bearer_auth(TOKEN)
        .header("accept", "application/json")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let link = answer["authorize_url"].as_str().unwrap();
    assert!(
        link.starts_with(&format!("{}/oauth2/authorize?", app.fakes.tripleseat.url())),
        "{link}"
    );
    assert!(!link.contains(fakes::tripleseat::OAUTH_CLIENT_SECRET));
}

#[tokio::test]
async fn report_only_never_writes_and_journals_which_form_matched() {
    let app = AppBuilder::new()
        .env("WEBHOOK_SIGNATURE_SCHEME", "report-only")
        .env("DRY_RUN", "true")
        .spawn()
        .await;
    let delivery = crate::helpers::webhook("UPDATE_EVENT", paid_event());
    let bytes = delivery.to_string().into_bytes();
    let good = app.sign(&bytes);
    app.post_raw("/webhook", bytes.clone(), &[("x-signature", &good)])
        .await
        .assert_reason("DRY_RUN");
    let mut other = delivery.clone();
    other["event"]["updated_at"] = "01/01/2030 10:00 AM".into();
    let forged = connector::tripleseat::signature::sign_plain(
        &connector::secret::Secret::new("not-the-key"),
        other.to_string().as_bytes(),
    );
    app.post_raw(
        "/webhook",
        other.to_string().into_bytes(),
        &[("x-tripleseat-signature", &forged)],
    )
    .await
    .assert_reason("DRY_RUN");
    assert!(app.orders().is_empty(), "report-only never writes");

    let rows = app.journal_rows(2).await;
    let (newest, oldest) = (&rows[0], &rows[1]);
    assert_eq!(oldest.signature_form.as_deref(), Some("timestamped"));
    assert_eq!(
        oldest.signature_shape.as_deref(),
        Some("t=10 digits, v1=64 hex; headers: x-signature")
    );
    assert_eq!(newest.signature_form.as_deref(), Some("none"));
    assert_eq!(
        newest.signature_shape.as_deref(),
        Some("absent; headers: x-tripleseat-signature")
    );
    assert!(rows.iter().all(|r| r.dry_run));
    let health: Value = app.get("/health").await.json().await.unwrap();
    assert_eq!(health["signature_scheme"], "report-only");
}

#[test]
fn report_only_is_refused_unless_dry_run_is_on() {
    let error = connector::config::Config::from_pairs([("WEBHOOK_SIGNATURE_SCHEME", "report-only")]).unwrap_err();
    assert!(error.to_string().starts_with("WEBHOOK_SIGNATURE_SCHEME:"), "{error}");
    assert!(error.to_string().contains("DRY_RUN=true"), "{error}");
}

#[tokio::test]
async fn the_tripleseat_connect_command_prints_a_link_the_running_service_takes() {
    let store = TestStore::new();
    let app = all_ways().store(&store).spawn().await;
    let settings = [
        ("DATABASE_URL", store.url()),
        ("TRIPLESEAT_API_BASE", app.fakes.tripleseat.url()),
        (
            "TRIPLESEAT_AUTHORIZE_URL",
            format!("{}/oauth2/authorize", app.fakes.tripleseat.url()),
        ),
        ("TRIPLESEAT_OAUTH_CLIENT_ID", fakes::tripleseat::OAUTH_CLIENT_ID.into()),
        (
            "TRIPLESEAT_OAUTH_CLIENT_SECRET",
            fakes::tripleseat::OAUTH_CLIENT_SECRET.into(),
        ),
    ];
    let output = crate::binary::connector_command()
        .arg("tripleseat-connect")
        .envs(settings.iter().cloned())
        .env("PUBLIC_BASE_URL", PUBLIC_BASE_URL)
        .output()
        .await
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert!(stderr.contains("/oauth/tripleseat/callback"), "{stderr}");
    let link = String::from_utf8(output.stdout).unwrap();
    assert!(!link.contains(fakes::tripleseat::OAUTH_CLIENT_SECRET));
    let (status, page) = follow_consent_link(&app, link.trim(), None).await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(reads_view(&app).await["authorization_code"], "connected");

    let missing = crate::binary::connector_command()
        .arg("tripleseat-connect")
        .envs(settings.iter().cloned())
        .output()
        .await
        .unwrap();
    assert_eq!(missing.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("PUBLIC_BASE_URL"));
}

#[tokio::test]
async fn a_refresh_whose_caller_gives_up_still_stores_the_rotated_token() {
    let app = all_ways().deadline(Duration::from_millis(300)).spawn().await;
    app.fakes.tripleseat.behave_as_public_evidence_says();
    app.fakes.tripleseat.put_event(paid_event());
    app.fakes.tripleseat.set_access_lifetime_secs(0);
    assert_eq!(give_consent(&app).await.0, 200);
    // TripleSeat takes longer to refresh than the webhook may wait.
    app.fakes.tripleseat.plan().fail(
        Some("POST"),
        "/oauth2/token",
        fakes::Fault::Hang(Duration::from_millis(500)),
        1,
    );
    app.post_signed(&status_change_webhook())
        .await
        .assert_reason("EVENT_DATA_UNAVAILABLE");
    // The refresh finished on its own and its rotated tokens were stored.
    let mut version = 0;
    for _ in 0..100 {
        version = app.services.store.tripleseat_tokens().await.unwrap().unwrap().version;
        if version == 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(version, 2, "the rotation was stored although its caller had given up");
    let mut hook = status_change_webhook();
    hook["event"]["updated_at"] = "05/16/2026 09:30 AM".into();
    app.post_signed(&hook).await.assert_reason("DRY_RUN");
    assert_eq!(
        app.fakes.tripleseat.spent_refresh_uses(),
        0,
        "no spent refresh token presented"
    );
}
