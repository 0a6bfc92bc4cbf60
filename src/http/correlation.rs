//! Correlation ids: `req-` and 8 lowercase hex digits, on every log line of a
//! request (through its span), in the answer, and in `X-Request-Id`.

pub fn new_id(prefix: &str) -> String {
    let random = uuid::Uuid::new_v4().simple().to_string();
    format!("{prefix}-{}", &random[..8])
}

#[cfg(test)]
mod tests {
    #[test]
    fn ids_are_req_and_eight_lowercase_hex_digits() {
        for _ in 0..100 {
            let id = super::new_id("req");
            assert_eq!(id.len(), 12, "{id}");
            assert!(id.starts_with("req-"));
            assert!(
                id[4..]
                    .chars()
                    .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()),
                "{id}"
            );
        }
    }
}
