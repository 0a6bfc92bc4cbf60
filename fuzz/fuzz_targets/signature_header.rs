//! Any `X-Signature` value over any body: refused (a random header never verifies),
//! reported with no form, and its shape never a copy of the header's value.
#![no_main]

use connector::tripleseat::signature::SignatureScheme;
use connector::secret::Secret;
use connector::tripleseat::signature::{self, Verifier};
use libfuzzer_sys::fuzz_target;

const NOW: i64 = 1_779_000_000;

fuzz_target!(|input: (&str, &[u8])| {
    let (header, body) = input;
    let key = Secret::new("fuzz-key");
    for scheme in [SignatureScheme::Auto, SignatureScheme::Timestamped, SignatureScheme::Plain] {
        let verifier = Verifier {
            key: Some(&key),
            scheme,
            tolerance_secs: 300,
        };
        assert!(verifier.verify(Some(header), body, NOW).is_err());
    }
    let report = signature::report(&key, Some(header), body, NOW);
    assert!(report.form.is_none());
    let value = header.trim();
    if value.len() >= 24 && value.chars().all(|c| c.is_ascii_hexdigit()) {
        assert!(!report.shape.contains(value));
    }
});
