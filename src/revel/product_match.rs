//! Matching an invoice line's name to a catalogue product: the exact name ignoring
//! case and extra spaces first (also the part before " - ", where TripleSeat appends
//! a description), then the most similar name at or above the threshold. Two
//! different products sharing the best score are no match: a guess is worse than
//! an operator's fix.

use super::catalog::Product;

pub fn match_product<'a>(line_name: &str, catalog: &'a [Product], threshold: f64) -> Option<&'a Product> {
    let full = normalize(line_name);
    let head = full.split_once(" - ").map(|(head, _)| head.trim().to_string());
    let candidates: Vec<&str> = std::iter::once(full.as_str()).chain(head.as_deref()).collect();

    for candidate in &candidates {
        let exact: Vec<&Product> = catalog.iter().filter(|p| p.match_key == *candidate).collect();
        if !exact.is_empty() {
            return single(exact);
        }
    }

    let mut best: Vec<&Product> = Vec::new();
    let mut best_score = threshold;
    for product in catalog {
        let score = candidates
            .iter()
            .map(|c| strsim::normalized_levenshtein(c, &product.match_key))
            .fold(0.0, f64::max);
        if score > best_score + f64::EPSILON {
            best_score = score;
            best = vec![product];
        } else if (score - best_score).abs() <= f64::EPSILON {
            best.push(product);
        }
    }
    single(best)
}

/// The product when all candidates are one product, else none.
fn single(candidates: Vec<&Product>) -> Option<&Product> {
    let first = *candidates.first()?;
    candidates.iter().all(|p| p.id == first.id).then_some(first)
}

/// Lower case, single spaces, trimmed: the form names are compared in.
pub fn normalize(name: &str) -> String {
    name.split_whitespace().collect::<Vec<_>>().join(" ").to_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn catalog() -> Vec<Product> {
        [
            ("1", "Glazed Classic"),
            ("2", "Maple Bar"),
            ("3", "Chocolate Sprinkle Ring"),
            ("4", "Coffee Carafe"),
            ("5", "Boston Cream"),
            ("6", "Boston Creme"),
            ("7", "Old Fashioned"),
            ("8", "Old Fashioned"),
        ]
        .into_iter()
        .map(|(id, name)| Product::new(id, name, None))
        .collect()
    }

    #[test]
    fn lines_match_products_or_nothing() {
        let catalog = catalog();
        let cases = [
            ("exact", "Maple Bar", Some("2")),
            ("case and spaces ignored", "  maple   BAR ", Some("2")),
            (
                "description after a dash",
                "Glazed Classic - Classic yeast-raised glazed ring",
                Some("1"),
            ),
            ("close misspelling", "Chocolate Sprinkle Rings", Some("3")),
            ("small typo", "Cofee Carafe", Some("4")),
            ("nothing close", "Vegan Quiche Platter", None),
            ("tie between different products", "Boston Crem", None),
            ("duplicate names are ambiguous", "Old Fashioned", None),
            ("exact beats similar", "Boston Cream", Some("5")),
        ];
        for (description, line, expected) in cases {
            let matched = match_product(line, &catalog, 0.75).map(|p| p.id.as_str());
            assert_eq!(matched, expected, "{description}: {line:?}");
        }
    }

    #[test]
    fn the_threshold_is_respected() {
        let catalog = catalog();
        assert!(match_product("Maple Bars", &catalog, 0.99).is_none());
        assert_eq!(
            match_product("Maple Bars", &catalog, 0.75).map(|p| p.id.as_str()),
            Some("2")
        );
        assert!(match_product("Maple", &[], 0.0).is_none());
    }
}
