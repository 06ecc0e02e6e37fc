//! `deploy --sync-env`: make the environment's variables equal `environments/<env>/.env`.
//! Keys this tool set before and that left `.env` are removed; properties set elsewhere are
//! left alone (the managed keys are listed in one property). Values are never printed; a value
//! that is a secret or parameter ARN goes to the secrets namespace as a reference.

use std::collections::BTreeMap;

use super::EbTarget;
use crate::aws::env_vars::{self, EnvVar, Kind};
use crate::exit::{CommandError, ExitStatus};
use crate::output::Event;
use crate::project::{Project, dotenv};

/// The property that lists the keys `--sync-env` manages, so keys removed from `.env` are
/// removed from the environment and properties set elsewhere are left alone.
pub const SYNCED_KEYS: &str = "STEVEDORE_SYNCED_KEYS";
/// dockdj's tooling keys in `.env`: settings for the tools, never for the containers.
const TOOLING_KEYS: &[&str] = &["ENV_AWS_EB_ENVIRONMENT_NAME", "ENV_DOCKER_HUB_REPO_PATH"];

/// Variables to set and to remove, in their namespaces.
pub use crate::aws::env_vars::Changes;

/// The variable changes that make the environment's variables equal `.env` (values are never
/// printed, only keys): a value that is a Secrets Manager or Parameter Store ARN is written as a
/// reference (see [`env_vars`]), never as a plain property.
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
    let current =
        env_vars::list(&scope.clients.eb, &scope.application, &scope.eb_environment).await?;
    let changes = diff(&desired, &current);
    let names = |keys: Vec<String>| {
        if keys.is_empty() {
            "nothing".to_owned()
        } else {
            keys.join(", ")
        }
    };
    let set = changes
        .set
        .iter()
        .filter(|v| v.name != SYNCED_KEYS)
        .map(|v| match v.kind {
            Kind::Plain => v.name.clone(),
            Kind::Reference => format!("{} (reference)", v.name),
        })
        .collect();
    let removed = changes
        .remove
        .iter()
        .filter(|(_, n)| !changes.set.iter().any(|v| &v.name == n))
        .map(|(_, n)| n.clone())
        .collect();
    emit(Event::info(format!(
        "Environment properties from {}: setting {}; removing {} (values are not shown)",
        project.relative(&path),
        names(set),
        names(removed)
    )));
    Ok(changes)
}

/// What to set and remove so that `current` holds `desired`: changed or new keys are set (a
/// value that is a secret or parameter ARN as a reference, the rest as plain properties; a key
/// that changes kind leaves its old namespace), keys this tool set before (listed in
/// [`SYNCED_KEYS`]) that left `desired` are removed, variables set elsewhere are left alone,
/// and the list is kept up to date.
pub fn diff(desired: &BTreeMap<String, String>, current: &[EnvVar]) -> Changes {
    let listed_before = current
        .iter()
        .find(|v| v.name == SYNCED_KEYS && v.kind == Kind::Plain)
        .map(|v| v.value.clone());
    let managed: Vec<String> = listed_before
        .as_deref()
        .map(|v| {
            v.split(',')
                .filter(|k| !k.is_empty())
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    let mut changes = env_vars::plan_sync(current, desired, &managed);
    let listed = desired.keys().cloned().collect::<Vec<_>>().join(",");
    if listed_before.as_ref() != Some(&listed) {
        changes.set.push(EnvVar {
            name: SYNCED_KEYS.to_owned(),
            value: listed,
            kind: Kind::Plain,
        });
    }
    changes
}

#[cfg(test)]
mod tests {
    use super::*;

    const ARN: &str = "arn:aws:ssm:eu-west-1:123456789012:parameter/app/db";

    fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    fn plain(pairs: &[(&str, &str)]) -> Vec<EnvVar> {
        pairs.iter().map(|(k, v)| var(k, v, Kind::Plain)).collect()
    }

    fn var(name: &str, value: &str, kind: Kind) -> EnvVar {
        EnvVar {
            name: name.to_owned(),
            value: value.to_owned(),
            kind,
        }
    }

    #[test]
    fn sets_what_changed_removes_what_it_managed_and_keeps_foreign_keys() {
        let desired = map(&[("A", "1"), ("B", "new")]);
        let current = plain(&[
            ("A", "1"),
            ("B", "old"),
            ("GONE", "x"),
            ("FOREIGN", "kept"),
            (SYNCED_KEYS, "A,B,GONE"),
        ]);
        let changes = diff(&desired, &current);
        assert_eq!(
            changes.set,
            vec![
                var("B", "new", Kind::Plain),
                var(SYNCED_KEYS, "A,B", Kind::Plain)
            ]
        );
        assert_eq!(changes.remove, vec![(Kind::Plain, "GONE".to_owned())]);
    }

    #[test]
    fn in_sync_means_no_change() {
        let desired = map(&[("A", "1")]);
        let current = plain(&[("A", "1"), (SYNCED_KEYS, "A")]);
        assert!(diff(&desired, &current).is_empty());
        // The first sync lists its keys even when the values are already there.
        let changes = diff(&desired, &plain(&[("A", "1")]));
        assert_eq!(changes.set, vec![var(SYNCED_KEYS, "A", Kind::Plain)]);
    }

    #[test]
    fn arns_become_references_and_leave_the_plain_namespace() {
        let desired = map(&[("DB", ARN)]);
        let current = plain(&[("DB", "hunter2"), (SYNCED_KEYS, "DB")]);
        let changes = diff(&desired, &current);
        assert_eq!(changes.set, vec![var("DB", ARN, Kind::Reference)]);
        assert_eq!(changes.remove, vec![(Kind::Plain, "DB".to_owned())]);
    }
}
