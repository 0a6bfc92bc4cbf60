-- TripleSeat OAuth 2.0 authorization-code tokens, the signature go-live record
-- (SPEC 20), and the answer a late write was given. Times are Unix milliseconds (UTC).

-- The one authorization an operator gave (`name` = 'authorization_code'). A refresh
-- may rotate the refresh token; `version` goes up by one with every write, so an
-- instance replaces the row only if nobody rotated it since it read it.
CREATE TABLE tripleseat_tokens (
    name                TEXT    PRIMARY KEY,
    access_token        TEXT    NOT NULL,
    access_expires_ms   BIGINT  NOT NULL,
    refresh_token       TEXT    NOT NULL,
    version             BIGINT  NOT NULL,
    connected_at_ms     BIGINT  NOT NULL,
    refreshed_at_ms     BIGINT  NOT NULL
);

-- Consent links handed out and not yet used: the callback takes a state once. A link
-- from the console is bound to the browser that asked for it (a cookie holds the state);
-- one from the tripleseat-connect command, run in the service's own shell, is not.
CREATE TABLE oauth_states (
    state          TEXT    PRIMARY KEY,
    created_at_ms  BIGINT  NOT NULL,
    expires_at_ms  BIGINT  NOT NULL,
    browser_bound  BOOLEAN NOT NULL
);

-- Which signature form a delivery matched (`timestamped`, `plain-hex`,
-- `plain-base64`, `none`) and the header's shape (names of its parts and their
-- lengths, never a value), for the go-live's report-only period.
ALTER TABLE journal ADD COLUMN signature_form TEXT;
ALTER TABLE journal ADD COLUMN signature_shape TEXT;

-- The reason the webhook was answered with, when the run ended otherwise: a write that
-- finished after the deadline was answered REVEL_WRITE_FAILED and ended REVEL_INJECTED.
ALTER TABLE journal ADD COLUMN answered_reason TEXT;
