//! The configuration surface stays honest: `.env.example` lists exactly the
//! variables the service reads, and `render.yaml` names none it does not know.

use std::collections::BTreeSet;

use connector::config::{Config, VARIABLES};

fn read(path: &str) -> String {
    std::fs::read_to_string(format!("{}/{path}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

#[test]
fn env_example_lists_exactly_the_variables_the_config_reads() {
    let listed: BTreeSet<String> = read(".env.example")
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| l.split_once('=').expect("NAME=value lines").0.to_string())
        .collect();
    let known: BTreeSet<String> = VARIABLES.iter().map(|v| v.to_string()).collect();
    assert_eq!(
        listed.difference(&known).collect::<Vec<_>>(),
        Vec::<&String>::new(),
        "listed but never read"
    );
    assert_eq!(
        known.difference(&listed).collect::<Vec<_>>(),
        Vec::<&String>::new(),
        "read but not listed"
    );
}

#[test]
fn env_example_is_a_valid_configuration_as_it_stands() {
    let pairs: Vec<(String, String)> = read(".env.example")
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .filter_map(|l| l.split_once('=').map(|(k, v)| (k.to_string(), v.to_string())))
        .map(|(k, v)| {
            let v = if k == "LOCATIONS_FILE" {
                format!("{}/{v}", env!("CARGO_MANIFEST_DIR"))
            } else {
                v
            };
            (k, v)
        })
        .collect();
    let config = Config::from_pairs(pairs).expect(".env.example parses");
    assert!(config.dry_run, "local runs start in dry-run");
    assert_eq!(config.locations.len(), 1);
}

#[test]
fn render_yaml_names_only_known_variables_and_keeps_secrets_out_of_the_file() {
    let blueprint = read("render.yaml");
    let mut keys = Vec::new();
    let lines: Vec<&str> = blueprint.lines().collect();
    for (i, line) in lines.iter().enumerate() {
        if let Some(key) = line.trim().strip_prefix("- key: ") {
            keys.push(key.trim().to_string());
            let next = lines.get(i + 1).map(|l| l.trim()).unwrap_or("");
            let is_secret = ["KEY", "SECRET", "CLIENT_ID", "TOKEN"]
                .iter()
                .any(|s| key.ends_with(s) || key.contains("_KEY"));
            if is_secret {
                assert_eq!(next, "sync: false", "{key} is a secret and must be sync: false");
            }
        }
    }
    for key in &keys {
        assert!(
            VARIABLES.contains(&key.as_str()),
            "render.yaml names {key}, which the service never reads"
        );
    }
    // Every setting is in the blueprint but those docs/render.md names as left out, and why.
    let left_out = [
        "PORT",
        "HOST",
        "TRIPLESEAT_SIGNING_SECRET",
        "LOCATIONS_FILE",
        "DATA_DIR",
    ];
    let guide = read("docs/render.md");
    for variable in VARIABLES.iter().filter(|v| !keys.iter().any(|k| k == *v)) {
        assert!(left_out.contains(variable), "{variable} is missing from render.yaml");
        assert!(
            guide.contains(&format!("`{variable}`")),
            "docs/render.md does not say why {variable} is left out"
        );
    }
    assert!(blueprint.contains("healthCheckPath: /health"));
    let database = blueprint.find("- key: DATABASE_URL").expect("DATABASE_URL is wired");
    assert!(
        blueprint[database..].lines().nth(1).unwrap().contains("fromDatabase"),
        "DATABASE_URL comes from the blueprint's database, never a literal"
    );
    let dry_run = blueprint.find("- key: DRY_RUN").expect("DRY_RUN is set");
    assert!(
        blueprint[dry_run..].lines().nth(1).unwrap().contains("\"true\""),
        "the first deploy is a dry run"
    );
}
