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
    let mut changes = env_vars::plan_sync(&current, &desired, &managed);
    let listed = desired.keys().cloned().collect::<Vec<_>>().join(",");
    if listed_before.as_ref() != Some(&listed) {
        changes.set.push(EnvVar {
            name: SYNCED_KEYS.to_owned(),
            value: listed,
            kind: Kind::Plain,
        });
    }
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
