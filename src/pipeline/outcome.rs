//! Every answer the pipeline can give, once. One exhaustive `match` per property
//! gives each reason its code, `ok`, `processed`, whether it settles the delivery
//! key and whether it warrants a failure email; a new reason must answer them all.

use crate::pipeline::time_gate::Gate;
use crate::pipeline::validation::ValidationFailure;
use crate::revel::order_plan::PlannedOrder;
use crate::tripleseat::event::date::DateProblem;
use crate::tripleseat::signature::SignatureError;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    RevelInjected {
        order_id: String,
    },
    /// The pipeline ran to its end without writing: the order it would have written.
    DryRun {
        plan: Box<PlannedOrder>,
    },
    ConnectorDisabled,
    MissingTriggerType,
    TriggerTypeNotActionable,
    DuplicateDelivery,
    LocationNotAllowed,
    TimeGateClosed(GateClosed),
    ValidationFailed(ValidationFailure),
    TripleseatAuthorizationDenied,
    AlreadyInjected {
        order_id: String,
    },
    SignatureVerificationFailed(SignatureError),
    PayloadTooLarge,
    InvalidJson,
    InvalidPayload,
    NoEventData,
    MissingSiteId,
    UnknownLocation,
    EventDataUnavailable,
    ItemsUnmatched {
        names: Vec<String>,
    },
    RevelWriteFailed,
    /// `resumable`: started from this invoice, so the sweep or a replay completes it;
    /// else made elsewhere or from an invoice that has changed since, left alone.
    RevelPartialOrder {
        order_id: String,
        resumable: bool,
    },
    RevelDuplicateOrder {
        order_ids: Vec<String>,
    },
    StoreUnavailable,
    RateLimited,
    InternalError,
}

/// Why the time gate is closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GateClosed {
    TooEarly,
    EventDayPassed,
    OutsideWindow,
    InvalidDateFormat,
    MissingData,
}

impl GateClosed {
    /// The full reason code.
    pub fn reason(self) -> &'static str {
        match self {
            GateClosed::TooEarly => "TIME_GATE_CLOSED_TOO_EARLY",
            GateClosed::EventDayPassed => "TIME_GATE_CLOSED_EVENT_DAY_PASSED",
            GateClosed::OutsideWindow => "TIME_GATE_CLOSED_OUTSIDE_WINDOW",
            GateClosed::InvalidDateFormat => "TIME_GATE_CLOSED_INVALID_DATE_FORMAT",
            GateClosed::MissingData => "TIME_GATE_CLOSED_MISSING_DATA",
        }
    }

    /// The code after `TIME_GATE_CLOSED_`.
    pub fn code(self) -> &'static str {
        &self.reason()["TIME_GATE_CLOSED_".len()..]
    }

    pub fn from_gate(gate: Gate) -> Option<GateClosed> {
        match gate {
            Gate::Open => None,
            Gate::TooEarly => Some(GateClosed::TooEarly),
            Gate::EventDayPassed => Some(GateClosed::EventDayPassed),
            Gate::OutsideWindow => Some(GateClosed::OutsideWindow),
        }
    }

    pub fn from_problem(problem: DateProblem) -> GateClosed {
        match problem {
            DateProblem::InvalidFormat => GateClosed::InvalidDateFormat,
            DateProblem::Missing => GateClosed::MissingData,
        }
    }
}

/// The answer to a request: its outcome, and what the run learnt on the way that
/// the answer reports. `http::contract` renders it from this alone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    pub outcome: Outcome,
    pub trigger: Option<String>,
    pub event_id: Option<String>,
    pub site_id: Option<String>,
    /// `None` when the run stopped before the gate.
    pub gate: Option<GateState>,
    pub dry_run: bool,
}

/// Where the time gate stood when the run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GateState {
    Open,
    Closed,
    /// The payload had no date and the run stopped before the API's.
    Unknown,
}

impl Answer {
    /// An answer given before anything was learnt (a refusal at the door).
    pub fn bare(outcome: Outcome, dry_run: bool) -> Answer {
        Answer {
            outcome,
            trigger: None,
            event_id: None,
            site_id: None,
            gate: None,
            dry_run,
        }
    }

    /// The gate as the answer reports it: closed whenever the outcome says so.
    pub fn time_gate(&self) -> Option<GateState> {
        match self.outcome.closes_time_gate() {
            true => Some(GateState::Closed),
            false => self.gate,
        }
    }

    /// The dry run's plan, on `DRY_RUN`.
    pub fn planned_order(&self) -> Option<&PlannedOrder> {
        match &self.outcome {
            Outcome::DryRun { plan } => Some(plan),
            _ => None,
        }
    }
}

impl Outcome {
    /// The stable reason code of the contract.
    pub fn reason(&self) -> &'static str {
        match self {
            Outcome::RevelInjected { .. } => "REVEL_INJECTED",
            Outcome::DryRun { .. } => "DRY_RUN",
            Outcome::ConnectorDisabled => "CONNECTOR_DISABLED",
            Outcome::MissingTriggerType => "MISSING_TRIGGER_TYPE",
            Outcome::TriggerTypeNotActionable => "TRIGGER_TYPE_NOT_ACTIONABLE",
            Outcome::DuplicateDelivery => "DUPLICATE_DELIVERY",
            Outcome::LocationNotAllowed => "LOCATION_NOT_ALLOWED",
            Outcome::TimeGateClosed(why) => why.reason(),
            Outcome::ValidationFailed(rule) => rule.reason(),
            Outcome::TripleseatAuthorizationDenied => "TRIPLESEAT_AUTHORIZATION_DENIED",
            Outcome::AlreadyInjected { .. } => "ALREADY_INJECTED",
            Outcome::SignatureVerificationFailed(why) => why.reason(),
            Outcome::PayloadTooLarge => "PAYLOAD_TOO_LARGE",
            Outcome::InvalidJson => "INVALID_JSON",
            Outcome::InvalidPayload => "INVALID_PAYLOAD",
            Outcome::NoEventData => "NO_EVENT_DATA",
            Outcome::MissingSiteId => "MISSING_SITE_ID",
            Outcome::UnknownLocation => "UNKNOWN_LOCATION",
            Outcome::EventDataUnavailable => "EVENT_DATA_UNAVAILABLE",
            Outcome::ItemsUnmatched { .. } => "ITEMS_UNMATCHED",
            Outcome::RevelWriteFailed => "REVEL_WRITE_FAILED",
            Outcome::RevelPartialOrder { .. } => "REVEL_PARTIAL_ORDER",
            Outcome::RevelDuplicateOrder { .. } => "REVEL_DUPLICATE_ORDER",
            Outcome::StoreUnavailable => "STORE_UNAVAILABLE",
            Outcome::RateLimited => "RATE_LIMITED",
            Outcome::InternalError => "INTERNAL_ERROR",
        }
    }

    /// `false`: the delivery was invalid or processing failed.
    pub fn is_ok(&self) -> bool {
        match self {
            Outcome::RevelInjected { .. }
            | Outcome::DryRun { .. }
            | Outcome::ConnectorDisabled
            | Outcome::MissingTriggerType
            | Outcome::TriggerTypeNotActionable
            | Outcome::DuplicateDelivery
            | Outcome::LocationNotAllowed
            | Outcome::TripleseatAuthorizationDenied
            | Outcome::AlreadyInjected { .. } => true,
            // An invoice line that cannot be read is a data problem someone must fix.
            Outcome::ValidationFailed(rule) => !matches!(rule, ValidationFailure::UnreadableLineItem(_)),
            Outcome::TimeGateClosed(why) => matches!(
                why,
                GateClosed::TooEarly | GateClosed::EventDayPassed | GateClosed::OutsideWindow
            ),
            Outcome::SignatureVerificationFailed(_)
            | Outcome::PayloadTooLarge
            | Outcome::InvalidJson
            | Outcome::InvalidPayload
            | Outcome::NoEventData
            | Outcome::MissingSiteId
            | Outcome::UnknownLocation
            | Outcome::EventDataUnavailable
            | Outcome::ItemsUnmatched { .. }
            | Outcome::RevelWriteFailed
            | Outcome::RevelPartialOrder { .. }
            | Outcome::RevelDuplicateOrder { .. }
            | Outcome::StoreUnavailable
            | Outcome::RateLimited
            | Outcome::InternalError => false,
        }
    }

    /// `true`: the pipeline ran to its end.
    pub fn is_processed(&self) -> bool {
        matches!(self, Outcome::RevelInjected { .. } | Outcome::DryRun { .. })
    }

    /// Whether a redelivery of the same key should be answered `DUPLICATE_DELIVERY`:
    /// final verdicts yes, failures no (so a redelivery can succeed).
    pub fn settles_key(&self) -> bool {
        match self {
            Outcome::RevelInjected { .. }
            | Outcome::AlreadyInjected { .. }
            | Outcome::ValidationFailed(_)
            | Outcome::TripleseatAuthorizationDenied => true,
            Outcome::TimeGateClosed(why) => matches!(
                why,
                GateClosed::TooEarly | GateClosed::EventDayPassed | GateClosed::OutsideWindow
            ),
            Outcome::DryRun { .. }
            | Outcome::ConnectorDisabled
            | Outcome::MissingTriggerType
            | Outcome::TriggerTypeNotActionable
            | Outcome::DuplicateDelivery
            | Outcome::LocationNotAllowed
            | Outcome::SignatureVerificationFailed(_)
            | Outcome::PayloadTooLarge
            | Outcome::InvalidJson
            | Outcome::InvalidPayload
            | Outcome::NoEventData
            | Outcome::MissingSiteId
            | Outcome::UnknownLocation
            | Outcome::EventDataUnavailable
            | Outcome::ItemsUnmatched { .. }
            | Outcome::RevelWriteFailed
            | Outcome::RevelPartialOrder { .. }
            | Outcome::RevelDuplicateOrder { .. }
            | Outcome::StoreUnavailable
            | Outcome::RateLimited
            | Outcome::InternalError => false,
        }
    }

    /// Failures after signature verification are emailed; skips, duplicates,
    /// denials and anything a stranger could send unsigned are not.
    pub fn warrants_failure_email(&self) -> bool {
        match self {
            Outcome::SignatureVerificationFailed(_) | Outcome::PayloadTooLarge | Outcome::RateLimited => false,
            other => !other.is_ok(),
        }
    }

    /// `"CLOSED"` for any closed gate.
    pub fn closes_time_gate(&self) -> bool {
        matches!(self, Outcome::TimeGateClosed(_))
    }

    /// The order id to report, on inject and already-injected (and a partial order).
    pub fn revel_order_id(&self) -> Option<&str> {
        match self {
            Outcome::RevelInjected { order_id }
            | Outcome::AlreadyInjected { order_id }
            | Outcome::RevelPartialOrder { order_id, .. } => Some(order_id),
            Outcome::RevelDuplicateOrder { order_ids } => order_ids.first().map(String::as_str),
            _ => None,
        }
    }

    /// The reason in words, for emails and logs.
    pub fn explanation(&self) -> &'static str {
        match self {
            Outcome::RevelInjected { .. } => "the order was created in Revel",
            Outcome::DryRun { .. } => "the pipeline ran to its end without writing (dry run)",
            Outcome::ConnectorDisabled => "the connector is switched off (ENABLE_CONNECTOR=false)",
            Outcome::MissingTriggerType => "the delivery has no webhook_trigger_type",
            Outcome::TriggerTypeNotActionable => "this trigger type never leads to an order",
            Outcome::DuplicateDelivery => "this delivery was already received",
            Outcome::LocationNotAllowed => "the site is not in ALLOWED_LOCATIONS",
            Outcome::TimeGateClosed(GateClosed::TooEarly) => "the event is on a later day",
            Outcome::TimeGateClosed(GateClosed::EventDayPassed) => "the event's day has passed",
            Outcome::TimeGateClosed(GateClosed::OutsideWindow) => "it is outside the injection window",
            Outcome::TimeGateClosed(GateClosed::InvalidDateFormat) => {
                "the event date is in a format that cannot be read"
            }
            Outcome::TimeGateClosed(GateClosed::MissingData) => "the event has no date",
            Outcome::ValidationFailed(ValidationFailure::StatusNotInjectable) => {
                "the event's status is not one that is injected"
            }
            Outcome::ValidationFailed(ValidationFailure::NoBillingInvoice) => "the event has no invoice",
            Outcome::ValidationFailed(ValidationFailure::InvoiceNotClosed) => "the invoice still has an amount due",
            Outcome::ValidationFailed(ValidationFailure::PaymentInsufficient) => {
                "payments do not cover the invoice total"
            }
            Outcome::ValidationFailed(ValidationFailure::NoLineItems) => "the invoice has no line items",
            Outcome::ValidationFailed(ValidationFailure::UnreadableLineItem(_)) => {
                "an invoice line cannot be read (no price, no or a non-whole quantity, or amounts too large): nothing was ordered, so no item is left out"
            }
            Outcome::TripleseatAuthorizationDenied => "TripleSeat refused the connector's credentials",
            Outcome::AlreadyInjected { .. } => "Revel already holds this event's order",
            Outcome::SignatureVerificationFailed(_) => "the delivery's signature could not be verified",
            Outcome::PayloadTooLarge => "the body is larger than WEBHOOK_MAX_BYTES",
            Outcome::InvalidJson => "the body is not JSON",
            Outcome::InvalidPayload => "the body is JSON but not an object",
            Outcome::NoEventData => "the delivery names no event",
            Outcome::MissingSiteId => "no site id could be found for the event",
            Outcome::UnknownLocation => "the site is not in the locations map",
            Outcome::EventDataUnavailable => "the event could not be read from TripleSeat",
            Outcome::ItemsUnmatched { .. } => "some line items match no Revel product",
            Outcome::RevelWriteFailed => "the order could not be written to Revel",
            Outcome::RevelPartialOrder { .. } => "the Revel order was started but could not be completed",
            Outcome::RevelDuplicateOrder { .. } => "Revel holds more than one order for this event",
            Outcome::RateLimited => "the test endpoints' own rate limit was reached; try again in a moment",
            Outcome::StoreUnavailable => "the connector's database could not be reached; nothing was written",
            Outcome::InternalError => "an internal error occurred",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn every_outcome() -> Vec<Outcome> {
        let id = || "1".to_string();
        let mut all = vec![
            Outcome::RevelInjected { order_id: id() },
            Outcome::DryRun {
                plan: Box::new(PlannedOrder::default()),
            },
            Outcome::ConnectorDisabled,
            Outcome::MissingTriggerType,
            Outcome::TriggerTypeNotActionable,
            Outcome::DuplicateDelivery,
            Outcome::LocationNotAllowed,
            Outcome::TripleseatAuthorizationDenied,
            Outcome::AlreadyInjected { order_id: id() },
            Outcome::PayloadTooLarge,
            Outcome::InvalidJson,
            Outcome::InvalidPayload,
            Outcome::NoEventData,
            Outcome::MissingSiteId,
            Outcome::UnknownLocation,
            Outcome::EventDataUnavailable,
            Outcome::ItemsUnmatched { names: vec![] },
            Outcome::RevelWriteFailed,
            Outcome::RevelPartialOrder {
                order_id: id(),
                resumable: true,
            },
            Outcome::RevelDuplicateOrder {
                order_ids: vec![id(), id()],
            },
            Outcome::StoreUnavailable,
            Outcome::RateLimited,
            Outcome::InternalError,
        ];
        all.extend(
            [
                GateClosed::TooEarly,
                GateClosed::EventDayPassed,
                GateClosed::OutsideWindow,
                GateClosed::InvalidDateFormat,
                GateClosed::MissingData,
            ]
            .map(Outcome::TimeGateClosed),
        );
        all.extend(
            [
                ValidationFailure::StatusNotInjectable,
                ValidationFailure::NoBillingInvoice,
                ValidationFailure::InvoiceNotClosed,
                ValidationFailure::PaymentInsufficient,
                ValidationFailure::NoLineItems,
                ValidationFailure::UnreadableLineItem(crate::tripleseat::event::UnreadableLine {
                    line: "line 1".into(),
                    problem: "it has no price".into(),
                }),
            ]
            .map(Outcome::ValidationFailed),
        );
        all.extend(
            [
                SignatureError::SigningKeyNotConfigured,
                SignatureError::MissingSignatureHeader,
                SignatureError::MalformedSignatureHeader,
                SignatureError::TimestampOutOfTolerance,
                SignatureError::Mismatch,
            ]
            .map(Outcome::SignatureVerificationFailed),
        );
        all
    }

    /// One row of the reason table in `docs/contract.md`, read from the doc itself so
    /// the two cannot drift: (reason, ok, processed, settles the key, failure email).
    type Row = (String, bool, bool, bool, bool);

    /// Codes written `_REST` in a row continue the row's first code's family prefix.
    const FAMILIES: &[&str] = &["TIME_GATE_CLOSED", "VALIDATION_FAILED", "SIGNATURE_VERIFICATION_FAILED"];

    fn contract_table() -> Vec<Row> {
        let doc = include_str!("../../docs/contract.md");
        let start = doc
            .find("| reason | ok | processed | settles the delivery key | failure email |")
            .expect("docs/contract.md has the reason table");
        let word = |cell: &str, yes: &str| cell.split_whitespace().next() == Some(yes);
        let mut rows = Vec::new();
        for line in doc[start..].lines().skip(2).take_while(|l| l.starts_with('|')) {
            let cells: Vec<&str> = line.trim_matches('|').split('|').collect();
            assert_eq!(cells.len(), 5, "a reason row has five cells: {line}");
            let codes: Vec<&str> = cells[0].split('`').skip(1).step_by(2).collect();
            let family = FAMILIES
                .iter()
                .find(|f| codes[0].starts_with(**f))
                .copied()
                .unwrap_or("");
            for code in codes {
                let reason = if code.starts_with('_') {
                    format!("{family}{code}")
                } else {
                    code.to_string()
                };
                rows.push((
                    reason,
                    word(cells[1], "true"),
                    word(cells[2], "true"),
                    word(cells[3], "yes"),
                    word(cells[4], "yes"),
                ));
            }
        }
        rows
    }

    #[test]
    fn every_reason_has_the_contracts_ok_processed_settling_and_email() {
        let table = contract_table();
        let outcomes = every_outcome();
        assert_eq!(
            outcomes.len(),
            table.len(),
            "every variant is in docs/contract.md's table, once"
        );
        for outcome in outcomes {
            let reason = outcome.reason();
            let (_, ok, processed, settles, emails) = table
                .iter()
                .find(|(code, ..)| *code == reason)
                .unwrap_or_else(|| panic!("{reason} is not in docs/contract.md"));
            assert_eq!(outcome.is_ok(), *ok, "{reason}: ok");
            assert_eq!(outcome.is_processed(), *processed, "{reason}: processed");
            assert_eq!(outcome.settles_key(), *settles, "{reason}: settles the key");
            assert_eq!(outcome.warrants_failure_email(), *emails, "{reason}: failure email");
            assert!(!outcome.explanation().is_empty());
        }
    }

    #[test]
    fn failure_emails_skip_skips_duplicates_denials_and_unsigned_noise() {
        for outcome in every_outcome() {
            let expected = !outcome.is_ok()
                && !matches!(
                    outcome,
                    Outcome::SignatureVerificationFailed(_) | Outcome::PayloadTooLarge | Outcome::RateLimited
                );
            assert_eq!(outcome.warrants_failure_email(), expected, "{}", outcome.reason());
        }
        assert!(!Outcome::TripleseatAuthorizationDenied.warrants_failure_email());
        assert!(!Outcome::DuplicateDelivery.warrants_failure_email());
    }
}
