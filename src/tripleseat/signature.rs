//! Webhook signature verification, a pure function of (header, body, key, scheme,
//! tolerance, now). The same module signs, for the `sign` subcommand and tests.
//!
//! Two forms are accepted: `t=<unix>,v1=<hex>` over `"<t>.<body>"`, and a
//! bare HMAC-SHA256 of the body in hex or base64. MACs are compared in constant time.

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

use crate::secret::Secret;

type HmacSha256 = Hmac<Sha256>;

/// Why a delivery's signature was refused; each is one `SIGNATURE_VERIFICATION_FAILED_*` code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("no signing key is configured")]
    SigningKeyNotConfigured,
    #[error("the X-Signature header is missing")]
    MissingSignatureHeader,
    #[error("the X-Signature header is malformed")]
    MalformedSignatureHeader,
    #[error("the signature timestamp is outside the tolerance window")]
    TimestampOutOfTolerance,
    #[error("the signature does not match")]
    Mismatch,
}

impl SignatureError {
    /// The full reason code.
    pub fn reason(self) -> &'static str {
        match self {
            SignatureError::SigningKeyNotConfigured => "SIGNATURE_VERIFICATION_FAILED_SIGNING_KEY_NOT_CONFIGURED",
            SignatureError::MissingSignatureHeader => "SIGNATURE_VERIFICATION_FAILED_MISSING_SIGNATURE_HEADER",
            SignatureError::MalformedSignatureHeader => "SIGNATURE_VERIFICATION_FAILED_MALFORMED_SIGNATURE_HEADER",
            SignatureError::TimestampOutOfTolerance => "SIGNATURE_VERIFICATION_FAILED_TIMESTAMP_OUT_OF_TOLERANCE",
            SignatureError::Mismatch => "SIGNATURE_VERIFICATION_FAILED_MISMATCH",
        }
    }

    /// The code after `SIGNATURE_VERIFICATION_FAILED_`.
    pub fn code(self) -> &'static str {
        &self.reason()["SIGNATURE_VERIFICATION_FAILED_".len()..]
    }
}

/// How a webhook signature header may be written (`WEBHOOK_SIGNATURE_SCHEME`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignatureScheme {
    /// Either form below.
    Auto,
    /// `t=<unix>,v1=<hex>` over `"<t>.<body>"`.
    Timestamped,
    /// A bare HMAC of the body, hex or base64.
    Plain,
    /// The go-live's verification period: every form is tried and the result
    /// recorded, and nothing is ever written (it needs `DRY_RUN=true`).
    ReportOnly,
}

impl SignatureScheme {
    pub fn as_str(self) -> &'static str {
        match self {
            SignatureScheme::Auto => "auto",
            SignatureScheme::Timestamped => "timestamped",
            SignatureScheme::Plain => "plain",
            SignatureScheme::ReportOnly => "report-only",
        }
    }
}

/// What the verifier needs besides the delivery itself.
#[derive(Debug, Clone, Copy)]
pub struct Verifier<'a> {
    pub key: Option<&'a Secret>,
    pub scheme: SignatureScheme,
    /// Seconds either side of now; 0 disables the check.
    pub tolerance_secs: u64,
}

/// A parsed `X-Signature` header.
enum Header {
    Timestamped { t: i64, macs: Vec<Vec<u8>> },
    Plain(Vec<u8>),
}

impl Verifier<'_> {
    pub fn verify(&self, header: Option<&str>, body: &[u8], now_unix: i64) -> Result<(), SignatureError> {
        let key = self.key.ok_or(SignatureError::SigningKeyNotConfigured)?;
        let header = header
            .map(str::trim)
            .filter(|h| !h.is_empty())
            .ok_or(SignatureError::MissingSignatureHeader)?;
        match (parse(header)?, self.scheme) {
            (Header::Timestamped { t, macs }, SignatureScheme::Auto | SignatureScheme::Timestamped) => {
                if self.tolerance_secs > 0 && now_unix.abs_diff(t) > self.tolerance_secs {
                    return Err(SignatureError::TimestampOutOfTolerance);
                }
                let expected = mac(key, &[t.to_string().as_bytes(), b".", body]);
                let matched = macs.iter().fold(subtle::Choice::from(0), |any, candidate| {
                    any | expected.as_slice().ct_eq(candidate)
                });
                if bool::from(matched) {
                    Ok(())
                } else {
                    Err(SignatureError::Mismatch)
                }
            }
            (Header::Plain(candidate), SignatureScheme::Auto | SignatureScheme::Plain) => {
                let expected = mac(key, &[body]);
                if bool::from(expected.as_slice().ct_eq(&candidate)) {
                    Ok(())
                } else {
                    Err(SignatureError::Mismatch)
                }
            }
            _ => Err(SignatureError::MalformedSignatureHeader),
        }
    }
}

/// A known way TripleSeat might sign a delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Form {
    /// `t=<unix>,v1=<hex>` over `"<t>.<body>"`.
    Timestamped,
    /// A bare HMAC-SHA256 of the body in hex (optionally `sha256=`-prefixed).
    PlainHex,
    /// A bare HMAC-SHA256 of the body in base64.
    PlainBase64,
}

impl Form {
    pub fn as_str(self) -> &'static str {
        match self {
            Form::Timestamped => "timestamped",
            Form::PlainHex => "plain-hex",
            Form::PlainBase64 => "plain-base64",
        }
    }

    /// The `WEBHOOK_SIGNATURE_SCHEME` that accepts this form, to pin after go-live.
    pub fn scheme(self) -> &'static str {
        match self {
            Form::Timestamped => "timestamped",
            Form::PlainHex | Form::PlainBase64 => "plain",
        }
    }
}

/// What report-only learnt from one delivery: the form that matched, if any, and
/// the header's shape (its parts' names, lengths and alphabets, never a value).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    pub form: Option<Form>,
    pub shape: String,
    /// How far the timestamped form's `t` was from now, in seconds.
    pub skew_secs: Option<i64>,
}

impl Report {
    pub fn form_name(&self) -> &'static str {
        self.form.map_or("none", Form::as_str)
    }
}

/// Tries every known form on a delivery, whatever `WEBHOOK_SIGNATURE_SCHEME` pins,
/// and ignoring the timestamp tolerance (the skew is reported instead).
pub fn report(key: &Secret, header: Option<&str>, body: &[u8], now_unix: i64) -> Report {
    let header = header.map(str::trim).filter(|h| !h.is_empty());
    let shape = header.map_or_else(|| "absent".to_string(), shape_of);
    let Some(header) = header else {
        return Report {
            form: None,
            shape,
            skew_secs: None,
        };
    };
    let (form, skew_secs) = match parse(header) {
        Ok(Header::Timestamped { t, macs }) => {
            let expected = mac(key, &[t.to_string().as_bytes(), b".", body]);
            let matched = macs
                .iter()
                .fold(subtle::Choice::from(0), |any, c| any | expected.as_slice().ct_eq(c));
            (bool::from(matched).then_some(Form::Timestamped), Some(now_unix - t))
        }
        Ok(Header::Plain(candidate)) => {
            let expected = mac(key, &[body]);
            let is_hex = hex_mac(header.strip_prefix("sha256=").unwrap_or(header)).is_some();
            let form = if is_hex { Form::PlainHex } else { Form::PlainBase64 };
            (bool::from(expected.as_slice().ct_eq(&candidate)).then_some(form), None)
        }
        Err(_) => (None, None),
    };
    Report { form, shape, skew_secs }
}

/// `t=10 digits, v1=64 hex`: each comma-separated part's name (when it looks like
/// one) and its value's length and alphabet. Never the value itself.
fn shape_of(header: &str) -> String {
    let describe = |value: &str| {
        let alphabet = if value.chars().all(|c| c.is_ascii_digit()) {
            "digits"
        } else if value.chars().all(|c| c.is_ascii_hexdigit()) {
            "hex"
        } else if value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '/' | '=' | '-' | '_'))
        {
            "base64"
        } else {
            "other"
        };
        format!("{} {alphabet}", value.len())
    };
    let is_name = |name: &str| {
        !name.is_empty() && name.len() <= 16 && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    };
    let parts: Vec<String> = header
        .split(',')
        .map(str::trim)
        .take(8)
        .map(|part| match part.split_once('=') {
            Some((name, value)) if is_name(name.trim()) && !value.is_empty() => {
                format!("{}={}", name.trim(), describe(value.trim()))
            }
            _ => describe(part),
        })
        .collect();
    parts.join(", ")
}

/// The timestamped header value for `body` at time `t`: `t=<t>,v1=<hex>`.
pub fn sign(key: &Secret, body: &[u8], t: i64) -> String {
    let mac = mac(key, &[t.to_string().as_bytes(), b".", body]);
    format!("t={t},v1={}", hex::encode(mac))
}

/// The bare hex HMAC of `body`, the plain form.
pub fn sign_plain(key: &Secret, body: &[u8]) -> String {
    hex::encode(mac(key, &[body]))
}

fn mac(key: &Secret, parts: &[&[u8]]) -> Vec<u8> {
    let mut mac =
        HmacSha256::new_from_slice(key.expose().as_bytes()).expect("invariant: HMAC takes keys of any length");
    for part in parts {
        mac.update(part);
    }
    mac.finalize().into_bytes().to_vec()
}

fn parse(header: &str) -> Result<Header, SignatureError> {
    let parts: Vec<(&str, &str)> = header
        .split(',')
        .filter_map(|part| part.split_once('='))
        .map(|(k, v)| (k.trim(), v.trim()))
        .collect();
    let is_timestamped = parts.iter().any(|(k, _)| *k == "t" || *k == "v1");
    if !is_timestamped {
        return decode_mac(header).map(Header::Plain);
    }
    let mut t = None;
    let mut macs = Vec::new();
    for part in header.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (k, v) = part.split_once('=').ok_or(SignatureError::MalformedSignatureHeader)?;
        match k.trim() {
            "t" if t.is_none() => {
                t = Some(
                    v.trim()
                        .parse::<i64>()
                        .map_err(|_| SignatureError::MalformedSignatureHeader)?,
                )
            }
            "v1" => macs.push(hex_mac(v.trim()).ok_or(SignatureError::MalformedSignatureHeader)?),
            // Other schemes' values (e.g. `v0`) are ignored, as signers add them over time.
            other if other.starts_with('v') && other[1..].chars().all(|c| c.is_ascii_digit()) && other.len() > 1 => {}
            _ => return Err(SignatureError::MalformedSignatureHeader),
        }
    }
    match (t, macs.is_empty()) {
        (Some(t), false) => Ok(Header::Timestamped { t, macs }),
        _ => Err(SignatureError::MalformedSignatureHeader),
    }
}

fn hex_mac(text: &str) -> Option<Vec<u8>> {
    // Into a fixed array: `hex::decode` collects through an iterator of results, a
    // visible share of a cheap delivery's CPU.
    let mut mac = [0u8; 32];
    hex::decode_to_slice(text, &mut mac).ok()?;
    Some(mac.to_vec())
}

fn decode_mac(text: &str) -> Result<Vec<u8>, SignatureError> {
    let text = text.strip_prefix("sha256=").unwrap_or(text);
    hex_mac(text)
        .or_else(|| BASE64.decode(text).ok().filter(|bytes| bytes.len() == 32))
        .ok_or(SignatureError::MalformedSignatureHeader)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn report_names_the_form_that_matched_and_the_shape_only() {
        let key = key();
        let timestamped = sign(&key, BODY, NOW - 7);
        let plain_hex = sign_plain(&key, BODY);
        let plain_b64 = BASE64.encode(hex::decode(&plain_hex).unwrap());
        let other_key = sign(&Secret::new("other"), BODY, NOW);
        let cases: Vec<(Option<String>, Option<Form>, &str)> = vec![
            (
                Some(timestamped.clone()),
                Some(Form::Timestamped),
                "t=10 digits, v1=64 hex",
            ),
            (Some(plain_hex.clone()), Some(Form::PlainHex), "64 hex"),
            (
                Some(format!("sha256={plain_hex}")),
                Some(Form::PlainHex),
                "sha256=64 hex",
            ),
            (Some(plain_b64.clone()), Some(Form::PlainBase64), "44 base64"),
            (Some(other_key), None, "t=10 digits, v1=64 hex"),
            (Some("garbage value!".into()), None, "14 other"),
            (None, None, "absent"),
        ];
        for (header, form, shape) in cases {
            let report = report(&key, header.as_deref(), BODY, NOW);
            assert_eq!(report.form, form, "{header:?}");
            assert_eq!(report.shape, shape, "{header:?}");
            if let Some(header) = header.filter(|h| h.len() > 20) {
                let secret_part = &header[header.len() - 20..];
                assert!(!report.shape.contains(secret_part), "the shape never holds a value");
            }
        }
        // Timestamps outside any tolerance still match: the skew is reported instead.
        let old = sign(&key, BODY, NOW - 86_400);
        let report = report(&key, Some(&old), BODY, NOW);
        assert_eq!((report.form, report.skew_secs), (Some(Form::Timestamped), Some(86_400)));
        assert_eq!(super::report(&key, Some(&timestamped), BODY, NOW).skew_secs, Some(7));
    }

    const BODY: &[u8] = br#"{"webhook_trigger_type":"UPDATE_EVENT","event":{"id":1}}"#;
    const NOW: i64 = 1_779_000_000;

    fn key() -> Secret {
        Secret::new("test-signing-key")
    }

    fn verify(header: Option<&str>, body: &[u8], scheme: SignatureScheme) -> Result<(), SignatureError> {
        let key = key();
        Verifier {
            key: Some(&key),
            scheme,
            tolerance_secs: 300,
        }
        .verify(header, body, NOW)
    }

    #[test]
    fn header_forms_and_their_verdicts() {
        use SignatureError::*;
        use SignatureScheme::*;
        let good = sign(&key(), BODY, NOW);
        let good_mac = good.split("v1=").nth(1).unwrap().to_string();
        let plain_hex = sign_plain(&key(), BODY);
        let plain_b64 = BASE64.encode(hex::decode(&plain_hex).unwrap());
        let wrong_key = sign(&Secret::new("other-key"), BODY, NOW);
        let zeros = "0".repeat(64);
        type Case<'a> = (&'a str, String, &'a [u8], SignatureScheme, Result<(), SignatureError>);
        let cases: Vec<Case> = vec![
            ("valid timestamped", good.clone(), BODY, Auto, Ok(())),
            (
                "parts reversed with spaces",
                format!(" v1={good_mac} , t={NOW} "),
                BODY,
                Auto,
                Ok(()),
            ),
            (
                "several v1, one valid",
                format!("t={NOW},v1={zeros},v1={good_mac}"),
                BODY,
                Auto,
                Ok(()),
            ),
            (
                "unknown v0 ignored",
                format!("t={NOW},v0=abc,v1={good_mac}"),
                BODY,
                Auto,
                Ok(()),
            ),
            ("bare hex MAC", plain_hex.clone(), BODY, Auto, Ok(())),
            ("bare upper-case hex MAC", plain_hex.to_uppercase(), BODY, Auto, Ok(())),
            ("bare base64 MAC", plain_b64.clone(), BODY, Auto, Ok(())),
            (
                "sha256= prefixed MAC",
                format!("sha256={plain_hex}"),
                BODY,
                Auto,
                Ok(()),
            ),
            ("wrong key", wrong_key, BODY, Auto, Err(Mismatch)),
            (
                "tampered body",
                good.clone(),
                b"{\"tampered\":true}",
                Auto,
                Err(Mismatch),
            ),
            ("tampered body, plain", plain_hex.clone(), b"{}", Auto, Err(Mismatch)),
            (
                "stale timestamp",
                sign(&key(), BODY, NOW - 301),
                BODY,
                Auto,
                Err(TimestampOutOfTolerance),
            ),
            (
                "future timestamp",
                sign(&key(), BODY, NOW + 301),
                BODY,
                Auto,
                Err(TimestampOutOfTolerance),
            ),
            ("edge of tolerance", sign(&key(), BODY, NOW - 300), BODY, Auto, Ok(())),
            (
                "garbage",
                "not a signature".into(),
                BODY,
                Auto,
                Err(MalformedSignatureHeader),
            ),
            (
                "t without v1",
                format!("t={NOW}"),
                BODY,
                Auto,
                Err(MalformedSignatureHeader),
            ),
            (
                "v1 without t",
                format!("v1={good_mac}"),
                BODY,
                Auto,
                Err(MalformedSignatureHeader),
            ),
            (
                "t not a number",
                format!("t=soon,v1={good_mac}"),
                BODY,
                Auto,
                Err(MalformedSignatureHeader),
            ),
            (
                "v1 not hex",
                format!("t={NOW},v1=xyz"),
                BODY,
                Auto,
                Err(MalformedSignatureHeader),
            ),
            ("short hex", "abcd".into(), BODY, Auto, Err(MalformedSignatureHeader)),
            (
                "plain pinned refuses timestamped",
                good.clone(),
                BODY,
                Plain,
                Err(MalformedSignatureHeader),
            ),
            (
                "timestamped pinned refuses plain",
                plain_hex.clone(),
                BODY,
                Timestamped,
                Err(MalformedSignatureHeader),
            ),
            ("plain pinned accepts plain", plain_hex, BODY, Plain, Ok(())),
            (
                "timestamped pinned accepts timestamped",
                good,
                BODY,
                Timestamped,
                Ok(()),
            ),
        ];
        for (description, header, body, scheme, expected) in cases {
            assert_eq!(verify(Some(&header), body, scheme), expected, "{description}");
        }
    }

    #[test]
    fn missing_header_and_missing_key_fail_closed() {
        assert_eq!(
            verify(None, BODY, SignatureScheme::Auto),
            Err(SignatureError::MissingSignatureHeader)
        );
        assert_eq!(
            verify(Some("  "), BODY, SignatureScheme::Auto),
            Err(SignatureError::MissingSignatureHeader)
        );
        let unkeyed = Verifier {
            key: None,
            scheme: SignatureScheme::Auto,
            tolerance_secs: 300,
        };
        let header = sign(&key(), BODY, NOW);
        assert_eq!(
            unkeyed.verify(Some(&header), BODY, NOW),
            Err(SignatureError::SigningKeyNotConfigured)
        );
    }

    #[test]
    fn zero_tolerance_disables_the_timestamp_check() {
        let key = key();
        let verifier = Verifier {
            key: Some(&key),
            scheme: SignatureScheme::Auto,
            tolerance_secs: 0,
        };
        let old = sign(&key, BODY, NOW - 86_400 * 30);
        assert_eq!(verifier.verify(Some(&old), BODY, NOW), Ok(()));
    }
}
