//! Matching an invoice line's name to a catalogue product: the exact name ignoring
//! case and extra spaces first (also the part before " - ", where TripleSeat appends
//! a description), then the most similar name at or above the threshold. Two
//! different products sharing the best score are no match: a guess is worse than
//! an operator's fix.
//!
//! `match_product` states the rule over a plain list. `Catalog` gives the same answer
//! from an index built once per catalogue read: exact names from a hash map, and for
//! similarity only the products that can still reach the threshold — a product whose
//! name is too long or too short, or shares too few character pairs with the line,
//! cannot be within the edit distance the threshold allows (the q-gram lemma), so its
//! score is never computed.

use std::collections::{BTreeMap, HashMap};

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
    let mut best = Best::above(threshold);
    for product in catalog {
        best.consider(product, &candidates);
    }
    single(best.products)
}

/// The most similar products seen so far, at or above the threshold.
struct Best<'a> {
    products: Vec<&'a Product>,
    score: f64,
}

impl<'a> Best<'a> {
    fn above(threshold: f64) -> Best<'a> {
        Best {
            products: Vec::new(),
            score: threshold,
        }
    }

    /// Scores `product` against the line's candidate names and keeps it if it is
    /// (one of) the most similar.
    fn consider(&mut self, product: &'a Product, candidates: &[&str]) {
        let score = candidates
            .iter()
            .map(|c| strsim::normalized_levenshtein(c, &product.match_key))
            .fold(0.0, f64::max);
        if score > self.score + f64::EPSILON {
            self.score = score;
            self.products = vec![product];
        } else if (score - self.score).abs() <= f64::EPSILON {
            self.products.push(product);
        }
    }
}

/// A catalogue with its matching index.
#[derive(Debug, Default)]
pub struct Catalog {
    products: Vec<Product>,
    by_key: HashMap<String, Vec<usize>>,
    /// Products by their name's length in characters.
    by_length: BTreeMap<usize, Vec<usize>>,
    /// Each character pair, with the products whose names hold it and how often.
    pairs: HashMap<(char, char), Vec<(usize, u32)>>,
    /// Pairs in more than a quarter of the names: not looked up per product, but
    /// counted as shared with every product (an overestimate, so bounds stay safe).
    common: std::collections::HashSet<(char, char)>,
    lengths: Vec<usize>,
}

impl Catalog {
    pub fn new(products: Vec<Product>) -> Catalog {
        let mut catalog = Catalog {
            lengths: products.iter().map(|p| p.match_key.chars().count()).collect(),
            ..Catalog::default()
        };
        for (index, product) in products.iter().enumerate() {
            catalog.by_key.entry(product.match_key.clone()).or_default().push(index);
            catalog.by_length.entry(catalog.lengths[index]).or_default().push(index);
            for (pair, count) in pair_counts(&product.match_key) {
                catalog.pairs.entry(pair).or_default().push((index, count));
            }
        }
        let quarter = products.len() / 4;
        catalog.common = catalog
            .pairs
            .iter()
            .filter(|(_, holders)| quarter > 0 && holders.len() > quarter)
            .map(|(pair, _)| *pair)
            .collect();
        catalog.products = products;
        catalog
    }

    pub fn products(&self) -> &[Product] {
        &self.products
    }

    pub fn len(&self) -> usize {
        self.products.len()
    }

    pub fn is_empty(&self) -> bool {
        self.products.is_empty()
    }

    /// What `match_product` answers over `self.products()`, without scoring every product.
    pub fn best_match(&self, line_name: &str, threshold: f64) -> Option<&Product> {
        let full = normalize(line_name);
        let head = full.split_once(" - ").map(|(head, _)| head.trim().to_string());
        let candidates: Vec<&str> = std::iter::once(full.as_str()).chain(head.as_deref()).collect();
        for candidate in &candidates {
            if let Some(exact) = self.by_key.get(*candidate) {
                return single(exact.iter().map(|i| &self.products[*i]).collect());
            }
        }
        // Each product with the best score it could reach (from its length and the
        // character pairs it shares), best first: scoring stops at the first product
        // that could not even tie the best score found.
        let mut reachable: std::collections::BinaryHeap<Bound> = candidates
            .iter()
            .flat_map(|c| self.reachable(c, threshold))
            .map(|(bound, index)| Bound(bound, index))
            .collect();
        let mut best = Best::above(threshold);
        let mut scored = std::collections::HashSet::new();
        while let Some(Bound(bound, index)) = reachable.pop() {
            if bound < best.score - 1e-9 {
                break;
            }
            if scored.insert(index) {
                best.consider(&self.products[index], &candidates);
            }
        }
        single(best.products)
    }

    /// The products whose similarity to `candidate` may reach `threshold`, each with
    /// an upper bound of that similarity. The bounds only ever err upwards, so no
    /// product that could match is left out.
    fn reachable(&self, candidate: &str, threshold: f64) -> Vec<(f64, usize)> {
        let length = candidate.chars().count();
        // Edits allowed at a name length: the score is 1 - edits / longer length.
        let allowed = |longer: usize| ((1.0 - threshold + 1e-9) * longer as f64).floor() as usize + 1;
        let mut shared = vec![0u32; self.products.len()];
        let mut assumed = 0u32;
        for (pair, count) in pair_counts(candidate) {
            if self.common.contains(&pair) {
                assumed += count;
                continue;
            }
            for (index, theirs) in self.pairs.get(&pair).into_iter().flatten() {
                shared[*index] += count.min(*theirs);
            }
        }
        for value in &mut shared {
            *value += assumed;
        }
        let mut reachable = Vec::new();
        for (other, products) in &self.by_length {
            let longer = length.max(*other);
            let edits = allowed(longer);
            if length.abs_diff(*other) > edits {
                continue;
            }
            // Each edit destroys at most two character pairs of the longer name.
            let needed = (longer.saturating_sub(1)).saturating_sub(2 * edits) as u32;
            for index in products.iter().copied().filter(|i| shared[*i] >= needed) {
                reachable.push((upper_bound(length, *other, shared[index]), index));
            }
        }
        reachable
    }
}

/// A product's best reachable score, ordered highest first.
struct Bound(f64, usize);

impl PartialEq for Bound {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == std::cmp::Ordering::Equal
    }
}

impl Eq for Bound {}

impl PartialOrd for Bound {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Bound {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.0.total_cmp(&other.0).then(other.1.cmp(&self.1))
    }
}

/// The highest similarity two names of these lengths sharing `shared` character pairs
/// can have: at least the length difference in edits, and at least one edit per two
/// pairs the longer name does not share. Rounded up a hair, never down.
fn upper_bound(length: usize, other: usize, shared: u32) -> f64 {
    let longer = length.max(other);
    if longer == 0 {
        return 1.0;
    }
    let missing_pairs = (longer.saturating_sub(1) as u32).saturating_sub(shared);
    let edits = (length.abs_diff(other) as u32).max(missing_pairs.div_ceil(2));
    1.0 - f64::from(edits) / longer as f64 + 1e-9
}

/// Each pair of adjacent characters of a name, with how often it occurs.
fn pair_counts(name: &str) -> HashMap<(char, char), u32> {
    let chars: Vec<char> = name.chars().collect();
    let mut counts = HashMap::new();
    for pair in chars.windows(2) {
        *counts.entry((pair[0], pair[1])).or_insert(0u32) += 1;
    }
    counts
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
    fn the_index_answers_exactly_as_scoring_every_product() {
        let mut products = catalog();
        for n in 0..300 {
            products.push(Product::new(format!("f{n}"), format!("Seasonal Special {n:03}"), None));
        }
        let index = Catalog::new(products.clone());
        let lines = [
            "Maple Bar",
            "maple bars",
            "Glazed Classic - with a long description",
            "Chocolate Sprinkle Rings",
            "Cofee Carafe",
            "Vegan Quiche Platter",
            "Boston Crem",
            "Old Fashioned",
            "Seasonal Special 042",
            "Seasonal Specal 42",
            "Special 7",
            "",
            "ab",
            "Seasonal",
            "BOSTON CREAM",
        ];
        for threshold in [0.0, 0.3, 0.5, 0.75, 0.9, 1.0] {
            for line in lines {
                assert_eq!(
                    index.best_match(line, threshold).map(|p| &p.id),
                    match_product(line, &products, threshold).map(|p| &p.id),
                    "{line:?} at {threshold}"
                );
            }
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
