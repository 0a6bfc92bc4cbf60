-- The connector's durable state (SPEC 17). Times are Unix milliseconds (UTC).
-- Written once for both backends in the SQL they share; the one phrase they spell
-- differently, an auto-assigned id (`INTEGER PRIMARY KEY AUTOINCREMENT`), is
-- rewritten for PostgreSQL by src/store/migrations.rs.

-- One row per run: webhook, test webhook, sweep, replay. No bodies, no secrets.
CREATE TABLE journal (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    at_ms           BIGINT  NOT NULL,
    correlation_id  TEXT    NOT NULL,
    source          TEXT    NOT NULL,
    instance_id     TEXT    NOT NULL,
    trigger_type    TEXT,
    event_id        TEXT,
    site_id         TEXT,
    reason          TEXT    NOT NULL,
    ok              BOOLEAN NOT NULL,
    processed       BOOLEAN NOT NULL,
    dry_run         BOOLEAN NOT NULL,
    revel_order_id  TEXT,
    duration_ms     BIGINT  NOT NULL
);
CREATE INDEX journal_by_time ON journal (at_ms);
CREATE INDEX journal_by_event ON journal (event_id, at_ms);

-- Settled delivery keys (SPEC 10) until they expire.
CREATE TABLE delivery_keys (
    delivery_key   TEXT   PRIMARY KEY,
    settled_at_ms  BIGINT NOT NULL,
    expires_at_ms  BIGINT NOT NULL
);
CREATE INDEX delivery_keys_by_expiry ON delivery_keys (expires_at_ms);

-- Leases: `event:<id>` before a Revel lookup and write, `sweep` for the sweep.
CREATE TABLE leases (
    name           TEXT   PRIMARY KEY,
    holder         TEXT   NOT NULL,
    expires_at_ms  BIGINT NOT NULL
);

-- The email outbox: stored before sending, marked after SendGrid's 202.
CREATE TABLE outbox (
    id                  INTEGER PRIMARY KEY AUTOINCREMENT,
    created_at_ms       BIGINT  NOT NULL,
    correlation_id      TEXT    NOT NULL,
    subject             TEXT    NOT NULL,
    body_text           TEXT    NOT NULL,
    body_html           TEXT    NOT NULL,
    status              TEXT    NOT NULL,
    attempts            BIGINT  NOT NULL DEFAULT 0,
    next_attempt_at_ms  BIGINT  NOT NULL,
    claimed_until_ms    BIGINT  NOT NULL DEFAULT 0,
    last_error          TEXT,
    sent_at_ms          BIGINT
);
CREATE INDEX outbox_by_due ON outbox (status, next_attempt_at_ms);

-- Each sweep run's summary.
CREATE TABLE sweep_runs (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    started_at_ms     BIGINT  NOT NULL,
    finished_at_ms    BIGINT  NOT NULL,
    instance_id       TEXT    NOT NULL,
    searched          BIGINT  NOT NULL,
    injected          BIGINT  NOT NULL,
    already_injected  BIGINT  NOT NULL,
    failed            BIGINT  NOT NULL,
    search_failures   BIGINT  NOT NULL,
    skipped           TEXT    NOT NULL,
    dry_run           BOOLEAN NOT NULL
);

-- Failure emails the sweep sent, so an event that keeps failing is reported once a day.
CREATE TABLE sweep_notices (
    day          TEXT   NOT NULL,
    event_id     TEXT   NOT NULL,
    reason       TEXT   NOT NULL,
    noted_at_ms  BIGINT NOT NULL,
    PRIMARY KEY (day, event_id, reason)
);

-- Runtime overrides of ENABLE_CONNECTOR and DRY_RUN (SPEC 18), and who changed what.
CREATE TABLE switches (
    name           TEXT    PRIMARY KEY,
    value          BOOLEAN NOT NULL,
    updated_at_ms  BIGINT  NOT NULL,
    note           TEXT
);
CREATE TABLE audit (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    at_ms        BIGINT NOT NULL,
    action       TEXT   NOT NULL,
    detail       TEXT   NOT NULL,
    source_addr  TEXT,
    note         TEXT
);
