//! Matching an invoice line's name to a catalogue product: the exact name ignoring
//! case and extra spaces first (also the part before " - ", where TripleSeat appends
//! a description), then the most similar name at or above the threshold. Two
//! different products sharing the best score are no match: a guess is worse than
//! an operator's fix.
//!
//! `match_product` states the rule over a plain list. `Catalog` gives the same answer
//! from an index built once per catalogue read: exact names from a hash map, and for
//! similarity a tree of the names' shared prefixes, walked once per line. Walking it
//! computes the edit distance to every name at once (a prefix many names share, once),
//! and leaves a branch as soon as no name below it can reach the best score found so
//! far, so in a large catalogue only the few names near the line are ever reached.

use std::collections::HashMap;

use super::product::{normalize, Product};

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
        self.keep(product, score);
    }

    /// Keeps `product` if `score` is (one of) the highest.
    fn keep(&mut self, product: &'a Product, score: f64) {
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
    /// Every name, character by character, as a tree of shared prefixes.
    names: Trie,
}

impl Catalog {
    pub fn new(products: Vec<Product>) -> Catalog {
        let mut by_key: HashMap<String, Vec<usize>> = HashMap::new();
        let mut names = Trie::default();
        for (index, product) in products.iter().enumerate() {
            by_key.entry(product.match_key.clone()).or_default().push(index);
            names.insert(&product.match_key, index);
        }
        Catalog {
            products,
            by_key,
            names,
        }
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
        // A product's score is its best over the candidates, so the most similar
        // products are those of the candidate(s) with the highest best score.
        let mut best = Best::above(threshold);
        for candidate in &candidates {
            let (score, indices) = self.names.most_similar(candidate, threshold);
            for index in indices {
                best.keep(&self.products[index], score);
            }
        }
        single(best.products)
    }
}

/// Names as a tree of shared prefixes, one character a level, for the similarity
/// search: walking it down computes the edit distance of every name at once, a
/// shared prefix once, and a branch is left as soon as its names cannot reach the
/// best score found (the distance row's minimum only grows on the way down).
#[derive(Debug)]
struct Trie {
    nodes: Vec<TrieNode>,
}

#[derive(Debug, Default)]
struct TrieNode {
    children: Vec<(char, u32)>,
    /// The products whose name ends here.
    products: Vec<usize>,
    /// The longest name at or below this node, in characters.
    longest: usize,
}

impl Default for Trie {
    fn default() -> Trie {
        Trie {
            nodes: vec![TrieNode::default()],
        }
    }
}

/// A walk of the tree for one candidate name: the best score so far and who has it.
struct Search<'a> {
    candidate: &'a [char],
    score: f64,
    found: Vec<usize>,
}

impl Trie {
    fn insert(&mut self, name: &str, product: usize) {
        let length = name.chars().count();
        let mut node = 0;
        self.nodes[0].longest = self.nodes[0].longest.max(length);
        for ch in name.chars() {
            let child = match self.nodes[node].children.iter().find(|(c, _)| *c == ch) {
                Some((_, child)) => *child as usize,
                None => {
                    let child = self.nodes.len();
                    self.nodes.push(TrieNode::default());
                    let id = u32::try_from(child).expect("invariant: a catalogue has fewer than 2^32 name characters");
                    self.nodes[node].children.push((ch, id));
                    child
                }
            };
            self.nodes[child].longest = self.nodes[child].longest.max(length);
            node = child;
        }
        self.nodes[node].products.push(product);
    }

    /// The highest similarity to `candidate` at or above `threshold` (as
    /// `strsim::normalized_levenshtein` scores it), and every product that has it.
    fn most_similar(&self, candidate: &str, threshold: f64) -> (f64, Vec<usize>) {
        let chars: Vec<char> = candidate.chars().collect();
        let mut search = Search {
            candidate: &chars,
            score: threshold,
            found: Vec::new(),
        };
        let first: Vec<u32> = (0..=chars.len() as u32).collect();
        search.ending_at(&self.nodes[0], 0, first[chars.len()]);
        if search.could_reach(0, self.nodes[0].longest) {
            self.walk(0, &first, &mut search);
        }
        (search.score, search.found)
    }

    /// Visits the children of `node`, whose distance row (to each prefix of the
    /// candidate) is `row`: every child's row first, then the children nearest the
    /// candidate first, so that a close name is found early and prunes the rest.
    fn walk(&self, node: usize, row: &[u32], search: &mut Search<'_>) {
        let width = row.len();
        let children = &self.nodes[node].children;
        let mut rows = vec![0u32; children.len() * width];
        let mut order: Vec<(u32, usize)> = Vec::with_capacity(children.len());
        for (at, (ch, index)) in children.iter().enumerate() {
            let below = &mut rows[at * width..(at + 1) * width];
            below[0] = row[0] + 1;
            let mut lowest = below[0];
            for j in 1..width {
                let substitution = row[j - 1] + u32::from(search.candidate[j - 1] != *ch);
                below[j] = (row[j] + 1).min(below[j - 1] + 1).min(substitution);
                lowest = lowest.min(below[j]);
            }
            let child = &self.nodes[*index as usize];
            search.ending_at(child, row[0] as usize + 1, below[width - 1]);
            if !child.children.is_empty() {
                order.push((lowest, at));
            }
        }
        order.sort_unstable();
        for (lowest, at) in order {
            let index = children[at].1 as usize;
            if search.could_reach(lowest, self.nodes[index].longest) {
                self.walk(index, &rows[at * width..(at + 1) * width], search);
            }
        }
    }
}

impl Search<'_> {
    /// Scores the products whose name ends at `node`: `length` characters, at
    /// `distance` edits from the candidate.
    fn ending_at(&mut self, node: &TrieNode, length: usize, distance: u32) {
        if node.products.is_empty() {
            return;
        }
        let score = similarity(distance, self.candidate.len().max(length));
        if score > self.score + f64::EPSILON {
            self.score = score;
            self.found.clear();
        }
        if (score - self.score).abs() <= f64::EPSILON {
            self.found.extend(&node.products);
        }
    }

    /// Whether names at least `lowest` edits away, none longer than `longest`, could
    /// still tie the best score.
    fn could_reach(&self, lowest: u32, longest: usize) -> bool {
        similarity(lowest, self.candidate.len().max(longest)) >= self.score - 1e-9
    }
}

/// `strsim::normalized_levenshtein` from the distance and the longer name's length.
fn similarity(distance: u32, longer: usize) -> f64 {
    if longer == 0 {
        return 1.0;
    }
    1.0 - f64::from(distance) / longer as f64
}
/// The product when all candidates are one product, else none.
fn single(candidates: Vec<&Product>) -> Option<&Product> {
    let first = *candidates.first()?;
    candidates.iter().all(|p| p.id == first.id).then_some(first)
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
    fn the_index_answers_exactly_as_scoring_every_product_among_alike_names() {
        let mut products: Vec<Product> = (0..400)
            .map(|n| Product::new(format!("a{n}"), format!("Item Number {n:03}"), None))
            .collect();
        for (n, name) in [
            "Item",
            "Itme Number 12",
            "item number 1234",
            "Crème Brûlée",
            "Creme Brulee",
            "Item Number 007",
        ]
        .into_iter()
        .enumerate()
        {
            products.push(Product::new(format!("x{n}"), name, None));
        }
        let index = Catalog::new(products.clone());
        let mut lines = vec![
            "Item Numbr 042".to_string(),
            "Item Number 42".to_string(),
            "Item Number 0042".to_string(),
            "Itme Number 420".to_string(),
            "Number 042".to_string(),
            "Item Number 0".to_string(),
            "Item Number 007 - the spy's".to_string(),
            "Crème Brulée".to_string(),
            "Cre Brulee".to_string(),
            "I".to_string(),
            "Item Number 399x".to_string(),
            "x".repeat(40),
        ];
        for n in (0..400).step_by(37) {
            let name: Vec<char> = format!("Item Number {n:03}").chars().collect();
            let cut = n % name.len();
            let mut dropped = name.clone();
            dropped.remove(cut);
            let mut swapped = name.clone();
            swapped.swap(cut, (cut + 1) % name.len());
            lines.push(dropped.into_iter().collect());
            lines.push(swapped.into_iter().collect());
        }
        for threshold in [0.0, 0.5, 0.75, 0.9, 0.95] {
            for line in &lines {
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
