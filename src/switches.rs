//! The guards as they are in force: the environment's `ENABLE_CONNECTOR` and `DRY_RUN`
//! with the runtime overrides from the store (SPEC 18). An override can only make the
//! connector safer than its environment: it is enabled only when the environment and
//! the override both say so, and it writes only when neither says dry run. So turning
//! real writes on is only ever done in the environment.
//!
//! Reading a switch is a memory read (the kill-switched fast path does no I/O); every
//! instance refreshes its copy from the store each second, so a change made on one is
//! in force on all within two seconds.

use std::sync::RwLock;
use std::time::Duration;

use serde::Serialize;

use crate::store::switches::SwitchOverride;
use crate::store::Store;

/// How often an instance reads the overrides from the store.
pub const REFRESH_EVERY: Duration = Duration::from_secs(1);

/// The two switches an override may touch, by their stored names.
pub const ENABLE_CONNECTOR: &str = "enable_connector";
pub const DRY_RUN: &str = "dry_run";

#[derive(Debug, Default, Clone)]
struct Overrides {
    enable_connector: Option<SwitchOverride>,
    dry_run: Option<SwitchOverride>,
}

pub struct Switches {
    env_enable_connector: bool,
    env_dry_run: bool,
    overrides: RwLock<Overrides>,
}

/// One switch as the admin API shows it.
#[derive(Debug, Clone, Serialize)]
pub struct SwitchView {
    pub effective: bool,
    pub environment: bool,
    #[serde(rename = "override")]
    pub runtime_override: Option<SwitchOverride>,
}

impl Switches {
    pub fn new(env_enable_connector: bool, env_dry_run: bool) -> Switches {
        Switches {
            env_enable_connector,
            env_dry_run,
            overrides: RwLock::default(),
        }
    }

    /// The kill switch as in force: on only when the environment and the override agree.
    pub fn is_enabled(&self) -> bool {
        self.env_enable_connector && self.read().enable_connector.as_ref().is_none_or(|o| o.value)
    }

    /// Dry run as in force: on when the environment or the override says so.
    pub fn is_dry_run(&self) -> bool {
        self.env_dry_run || self.read().dry_run.as_ref().is_some_and(|o| o.value)
    }

    pub fn enable_connector_view(&self) -> SwitchView {
        SwitchView {
            effective: self.is_enabled(),
            environment: self.env_enable_connector,
            runtime_override: self.read().enable_connector.clone(),
        }
    }

    pub fn dry_run_view(&self) -> SwitchView {
        SwitchView {
            effective: self.is_dry_run(),
            environment: self.env_dry_run,
            runtime_override: self.read().dry_run.clone(),
        }
    }

    /// Reads the overrides from the store; on failure the last known ones stay.
    pub async fn refresh(&self, store: &Store) {
        match store.switch_overrides().await {
            Ok(rows) => self.apply(rows),
            Err(error) => tracing::debug!(%error, "Switches: not refreshed"),
        }
    }

    fn apply(&self, rows: Vec<SwitchOverride>) {
        let mut fresh = Overrides::default();
        for row in rows {
            match row.name.as_str() {
                ENABLE_CONNECTOR => fresh.enable_connector = Some(row),
                DRY_RUN => fresh.dry_run = Some(row),
                _ => {}
            }
        }
        let mut overrides = self
            .overrides
            .write()
            .expect("invariant: the switches lock is never held across a panic");
        let changed = overrides.enable_connector.as_ref().map(|o| o.value)
            != fresh.enable_connector.as_ref().map(|o| o.value)
            || overrides.dry_run.as_ref().map(|o| o.value) != fresh.dry_run.as_ref().map(|o| o.value);
        *overrides = fresh;
        drop(overrides);
        if changed {
            tracing::warn!(
                enable_connector = self.is_enabled(),
                dry_run = self.is_dry_run(),
                "Switches: runtime override changed"
            );
        }
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Overrides> {
        self.overrides
            .read()
            .expect("invariant: the switches lock is never held across a panic")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(enable: Option<bool>, dry: Option<bool>) -> Vec<SwitchOverride> {
        let row = |name: &str, value| SwitchOverride {
            name: name.into(),
            value,
            updated_at_ms: 0,
            note: None,
        };
        enable
            .map(|v| row(ENABLE_CONNECTOR, v))
            .into_iter()
            .chain(dry.map(|v| row(DRY_RUN, v)))
            .collect()
    }

    #[test]
    fn an_override_can_only_make_the_connector_safer() {
        // (env enabled, env dry, override enabled, override dry) → (enabled, dry run)
        let cases = [
            ((true, false, None, None), (true, false)),
            ((false, false, Some(true), None), (false, false)),
            ((true, false, Some(false), None), (false, false)),
            ((true, true, None, Some(false)), (true, true)),
            ((true, false, None, Some(true)), (true, true)),
            ((false, true, Some(true), Some(false)), (false, true)),
            ((true, false, Some(true), Some(false)), (true, false)),
        ];
        for ((env_on, env_dry, on, dry), expected) in cases {
            let switches = Switches::new(env_on, env_dry);
            switches.apply(with(on, dry));
            assert_eq!(
                (switches.is_enabled(), switches.is_dry_run()),
                expected,
                "env ({env_on}, {env_dry}) override ({on:?}, {dry:?})"
            );
        }
    }

    #[test]
    fn a_cleared_override_gives_the_environment_back() {
        let switches = Switches::new(true, false);
        switches.apply(with(Some(false), Some(true)));
        assert!(!switches.is_enabled() && switches.is_dry_run());
        switches.apply(Vec::new());
        assert!(switches.is_enabled() && !switches.is_dry_run());
    }
}
