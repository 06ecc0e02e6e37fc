//! `deploy --sync-env`: make the environment's properties equal `environments/<env>/.env`.
//! Keys this tool set before and that left `.env` are removed; properties set elsewhere are
//! left alone (the managed keys are listed in one property). Values are never printed.

use std::collections::BTreeMap;

use super::EbTarget;
use crate::aws::environment;
use crate::exit::{CommandError, ExitStatus};
use crate::output::Event;
use crate::project::{Project, dotenv};

/// The property that lists the keys `--sync-env` manages, so keys removed from `.env` are
/// removed from the environment and properties set elsewhere are left alone.
pub const SYNCED_KEYS: &str = "STEVEDORE_SYNCED_KEYS";
/// dockdj's tooling keys in `.env`: settings for the tools, never for the containers.
const TOOLING_KEYS: &[&str] = &["ENV_AWS_EB_ENVIRONMENT_NAME", "ENV_DOCKER_HUB_REPO_PATH"];

/// Properties to set and to remove.
pub type Changes = (Vec<(String, String)>, Vec<String>);

/// The property changes that make the environment's properties equal `.env` (values are never
/// printed, only keys).
pub async fn property_changes(
    scope: &EbTarget,
    project: &Project,
    emit: &(dyn Fn(Event) + Sync),
) -> anyhow::Result<Changes> {
    let environment = project.environment(&scope.env_name)?;
    let path = environment.dir.join(".env");
    if !path.is_file() {
        return Err(CommandError::new(
            ExitStatus::InvalidInput,
            format!(
                "--sync-env reads {}, which does not exist; copy .env.example to .env and fill it in",
                project.relative(&path)
            ),
        )
        .into());
    }
    let file = dotenv::read(&path)?;
    let desired: BTreeMap<String, String> = file
        .keys()
        .filter(|k| !TOOLING_KEYS.contains(k))
        .map(|k| (k.to_owned(), file.get(k).unwrap_or_default().to_owned()))
        .collect();
    let current: BTreeMap<String, String> =
        environment::properties(&scope.clients.eb, &scope.application, &scope.eb_environment)
            .await?
            .into_iter()
            .collect();
    let (set, remove) = diff(&desired, &current);
    let names = |keys: Vec<&str>| {
        if keys.is_empty() {
            "nothing".to_owned()
        } else {
            keys.join(", ")
        }
    };
    emit(Event::info(format!(
        "Environment properties from {}: setting {}; removing {} (values are not shown)",
        project.relative(&path),
        names(
            set.iter()
                .map(|(k, _)| k.as_str())
                .filter(|k| *k != SYNCED_KEYS)
                .collect()
        ),
        names(remove.iter().map(String::as_str).collect())
    )));
    Ok((set, remove))
}

/// What to set and remove so that `current` holds `desired`: changed or new keys are set,
/// keys this tool set before (listed in [`SYNCED_KEYS`]) that left `desired` are removed,
/// properties set elsewhere are left alone, and the list is kept up to date.
pub fn diff(desired: &BTreeMap<String, String>, current: &BTreeMap<String, String>) -> Changes {
    let managed: Vec<String> = current
        .get(SYNCED_KEYS)
        .map(|v| {
            v.split(',')
                .filter(|k| !k.is_empty())
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    let mut set: Vec<(String, String)> = desired
        .iter()
        .filter(|(k, v)| current.get(*k) != Some(*v))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let remove: Vec<String> = managed
        .into_iter()
        .filter(|k| !desired.contains_key(k) && current.contains_key(k))
        .collect();
    let listed = desired.keys().cloned().collect::<Vec<_>>().join(",");
    if current.get(SYNCED_KEYS) != Some(&listed) {
        set.push((SYNCED_KEYS.to_owned(), listed));
    }
    (set, remove)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn sets_what_changed_removes_what_it_managed_and_keeps_foreign_keys() {
        let desired = map(&[("A", "1"), ("B", "new")]);
        let current = map(&[
            ("A", "1"),
            ("B", "old"),
            ("GONE", "x"),
            ("FOREIGN", "kept"),
            (SYNCED_KEYS, "A,B,GONE"),
        ]);
        let (set, remove) = diff(&desired, &current);
        assert_eq!(
            set,
            vec![
                ("B".to_owned(), "new".to_owned()),
                (SYNCED_KEYS.to_owned(), "A,B".to_owned())
            ]
        );
        assert_eq!(remove, vec!["GONE".to_owned()]);
    }

    #[test]
    fn in_sync_means_no_change() {
        let desired = map(&[("A", "1")]);
        let current = map(&[("A", "1"), (SYNCED_KEYS, "A")]);
        assert_eq!(diff(&desired, &current), (Vec::new(), Vec::new()));
        // The first sync lists its keys even when the values are already there.
        let (set, _) = diff(&desired, &map(&[("A", "1")]));
        assert_eq!(set, vec![(SYNCED_KEYS.to_owned(), "A".to_owned())]);
    }
}
