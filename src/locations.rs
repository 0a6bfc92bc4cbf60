//! The site map: TripleSeat site id → Revel establishment and the site's timezone.
//! Same JSON shape as the earlier connector's `locations.json`, so files carry over.

use std::collections::BTreeMap;
use std::path::Path;

use chrono_tz::Tz;
use serde_json::Value;

#[derive(Debug, thiserror::Error)]
pub enum LocationsError {
    #[error("{source_name} is not valid JSON: {message}")]
    Json { source_name: String, message: String },
    #[error("{source_name} must be a JSON object from site id to location")]
    NotAnObject { source_name: String },
    #[error("site {site}: field {field} {problem}")]
    Field {
        site: String,
        field: &'static str,
        problem: String,
    },
    #[error("LOCATIONS_FILE {path}: cannot be read: {message}")]
    Unreadable { path: String, message: String },
}

/// One mapped TripleSeat site.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    pub site_id: String,
    pub name: String,
    /// The Revel establishment id, as digits.
    pub revel_establishment: String,
    pub timezone: Tz,
}

#[derive(Debug, Clone, Default)]
pub struct Locations {
    by_site: BTreeMap<String, Location>,
}

impl Locations {
    pub fn from_json(text: &str) -> Result<Locations, LocationsError> {
        Locations::parse(text, "LOCATIONS_JSON")
    }

    /// Reads the file. A missing default file is an empty map (the service still starts);
    /// a missing file that was named explicitly is an error.
    pub fn from_file(path: &Path, named: bool) -> Result<Locations, LocationsError> {
        match std::fs::read_to_string(path) {
            Ok(text) => Locations::parse(&text, &format!("LOCATIONS_FILE {}", path.display())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && !named => Ok(Locations::default()),
            Err(e) => Err(LocationsError::Unreadable {
                path: path.display().to_string(),
                message: e.to_string(),
            }),
        }
    }

    fn parse(text: &str, source_name: &str) -> Result<Locations, LocationsError> {
        let value: Value = serde_json::from_str(text).map_err(|e| LocationsError::Json {
            source_name: source_name.to_string(),
            message: e.to_string(),
        })?;
        let Value::Object(map) = value else {
            return Err(LocationsError::NotAnObject {
                source_name: source_name.to_string(),
            });
        };
        let mut by_site = BTreeMap::new();
        for (site, entry) in map {
            let location = Location::parse(&site, &entry)?;
            by_site.insert(site, location);
        }
        Ok(Locations { by_site })
    }

    pub fn get(&self, site_id: &str) -> Option<&Location> {
        self.by_site.get(site_id)
    }

    pub fn iter(&self) -> impl Iterator<Item = &Location> {
        self.by_site.values()
    }

    pub fn len(&self) -> usize {
        self.by_site.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_site.is_empty()
    }
}

impl Location {
    fn parse(site: &str, entry: &Value) -> Result<Location, LocationsError> {
        let field_error = |field, problem: &str| LocationsError::Field {
            site: site.to_string(),
            field,
            problem: problem.to_string(),
        };
        let Value::Object(entry) = entry else {
            return Err(field_error(
                "(entry)",
                "must be an object with name, revel_establishment and timezone",
            ));
        };
        let name = match entry.get("name") {
            Some(Value::String(name)) if !name.trim().is_empty() => name.trim().to_string(),
            None | Some(Value::Null) => site.to_string(),
            _ => return Err(field_error("name", "must be a non-empty string")),
        };
        let revel_establishment = match entry.get("revel_establishment") {
            Some(Value::Number(n)) if n.as_u64().is_some() => n.to_string(),
            Some(Value::String(s)) if !s.trim().is_empty() && s.trim().chars().all(|c| c.is_ascii_digit()) => {
                s.trim().to_string()
            }
            None | Some(Value::Null) => return Err(field_error("revel_establishment", "is missing")),
            _ => return Err(field_error("revel_establishment", "must be a numeric establishment id")),
        };
        let timezone = match entry.get("timezone") {
            Some(Value::String(tz)) => tz
                .trim()
                .parse::<Tz>()
                .map_err(|_| field_error("timezone", &format!("{:?} is not an IANA timezone", tz.trim())))?,
            None | Some(Value::Null) => return Err(field_error("timezone", "is missing")),
            _ => return Err(field_error("timezone", "must be an IANA timezone name")),
        };
        Ok(Location {
            site_id: site.to_string(),
            name,
            revel_establishment,
            timezone,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_earlier_connectors_file_shape_loads() {
        let locations = Locations::from_json(
            r#"{"15901": {"name": "Summerlin", "revel_establishment": 4, "timezone": "America/Los_Angeles"},
                "15902": {"name": "Downtown", "revel_establishment": "7", "timezone": "America/New_York"}}"#,
        )
        .unwrap();
        assert_eq!(locations.len(), 2);
        let summerlin = locations.get("15901").unwrap();
        assert_eq!(summerlin.revel_establishment, "4");
        assert_eq!(summerlin.timezone, chrono_tz::America::Los_Angeles);
        assert_eq!(locations.get("15902").unwrap().revel_establishment, "7");
    }

    #[test]
    fn problems_name_the_site_and_field() {
        let cases = [
            (
                r#"{"1": {"revel_establishment": 4, "timezone": "Mars/Base"}}"#,
                "site 1: field timezone",
            ),
            (r#"{"2": {"timezone": "UTC"}}"#, "site 2: field revel_establishment"),
            (
                r#"{"3": {"revel_establishment": "four", "timezone": "UTC"}}"#,
                "site 3: field revel_establishment",
            ),
            (r#"{"4": {"revel_establishment": 1}}"#, "site 4: field timezone"),
            (r#"{"5": "Summerlin"}"#, "site 5: field (entry)"),
            (r#"[1, 2]"#, "must be a JSON object"),
            (r#"{"6": "#, "not valid JSON"),
        ];
        for (json, expected) in cases {
            let message = Locations::from_json(json).unwrap_err().to_string();
            assert!(message.contains(expected), "{json} gave {message:?}");
        }
    }

    #[test]
    fn a_missing_default_file_is_an_empty_map_but_a_named_one_is_an_error() {
        let path = Path::new("/nonexistent/locations.json");
        assert!(Locations::from_file(path, false).unwrap().is_empty());
        assert!(Locations::from_file(path, true).is_err());
    }
}
