//! A Revel product, and the form its name is compared in.

use crate::money::Cents;

/// One product of an establishment's catalogue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Product {
    pub id: String,
    pub name: String,
    pub price: Option<Cents>,
    /// The name as matching compares it, computed once when the catalogue is read.
    pub match_key: String,
}

impl Product {
    pub fn new(id: impl Into<String>, name: impl Into<String>, price: Option<Cents>) -> Product {
        let name = name.into();
        Product {
            id: id.into(),
            match_key: normalize(&name),
            name,
            price,
        }
    }
}

/// Lower case, single spaces, trimmed: the form names are compared in.
pub fn normalize(name: &str) -> String {
    name.split_whitespace().collect::<Vec<_>>().join(" ").to_lowercase()
}
