//! Rolling an environment back to a version Elastic Beanstalk already has: no build, no
//! upload. [`choose`] picks the version (named, or the newest that ran successfully before);
//! [`switch_to`] redeploys it and follows the update, for `rollback` and for `deploy
//! --rollback-on-failure` alike. The image is the one that version pinned, so the stack rolls
//! back too.

use std::time::Instant;

use super::EbTarget;
use super::follow::{self, Ending};
use super::history::{self, Deploy};
use crate::aws::environment::{EnvState, Update};
use crate::aws::versions;
use crate::exit::{CommandError, ExitStatus};
use crate::hint;
use crate::output::Event;

/// The version to roll back to and the environment's state now.
pub struct Choice {
    /// The version to run.
    pub target: String,
    /// The environment now.
    pub state: EnvState,
}

/// Pick the version: `version` when given (it must exist), else the newest version the
/// environment ran successfully that is not the current one.
pub async fn choose(
    scope: &EbTarget,
    version: Option<&str>,
    emit: &(dyn Fn(Event) + Sync),
) -> anyhow::Result<Choice> {
    let (deploys, state) = history::collect(scope).await?;
    let candidates = candidates(&deploys, state.version_label.as_deref());
    if !candidates.is_empty() {
        emit(Event::info(format!(
            "Versions {} ran successfully before (newest first): {}",
            scope.eb_environment,
            candidates.join(", ")
        )));
    }
    let target = match (version, candidates.first()) {
        (Some(version), _) => version.to_owned(),
        (None, Some(newest)) => (*newest).to_owned(),
        (None, None) => {
            return Err(CommandError::new(
                ExitStatus::InvalidInput,
                format!(
                    "{} has no earlier version that ran successfully (in the six weeks of events \
                     Elastic Beanstalk keeps); name one: `{} <version>`",
                    scope.eb_environment,
                    hint::command(&["rollback", &scope.env_name])
                ),
            )
            .into());
        }
    };
    if versions::find(&scope.clients.eb, &scope.application, &target)
        .await?
        .is_none()
    {
        return Err(CommandError::new(
            ExitStatus::InvalidInput,
            format!(
                "application {} has no version {target}; `{}` lists what it ran",
                scope.application,
                hint::command(&["history", &scope.env_name])
            ),
        )
        .into());
    }
    Ok(Choice { target, state })
}

/// Wait (bounded by `deadline`) until the environment is Ready, then run `label` and follow
/// the update to its end.
pub async fn switch_to(
    scope: &EbTarget,
    state: EnvState,
    label: &str,
    deadline: Instant,
    emit: &(dyn Fn(Event) + Sync),
) -> anyhow::Result<Ending> {
    scope.clients.bound_by(deadline);
    follow::wait_until_ready(scope, state, deadline, emit).await?;
    let (ending, _) = follow::update_and_follow(
        scope,
        &Update {
            version_label: Some(label.to_owned()),
            ..Update::default()
        },
        deadline,
        emit,
    )
    .await?;
    Ok(ending)
}

/// Versions the environment ran successfully, newest first, without repeats or the current one.
pub fn candidates<'a>(deploys: &'a [Deploy], current: Option<&str>) -> Vec<&'a str> {
    let mut out: Vec<&str> = Vec::new();
    for deploy in deploys.iter().filter(|d| d.outcome == "succeeded") {
        if Some(deploy.version.as_str()) != current && !out.contains(&deploy.version.as_str()) {
            out.push(&deploy.version);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn deploy(version: &str, outcome: &'static str) -> Deploy {
        Deploy {
            version: version.into(),
            outcome,
            at: String::new(),
            at_ms: 0,
            event: String::new(),
            current: false,
            commit: None,
            digest: None,
            images: Vec::new(),
            bundle: None,
            created_by: None,
        }
    }

    #[test]
    fn the_previous_healthy_versions_newest_first() {
        // Newest first: 1.3.0 runs now, 1.2.0 failed, before that 1.1.0 and 1.0.0 were healthy.
        let deploys = vec![
            deploy("1.3.0", "succeeded"),
            deploy("1.2.0", "failed"),
            deploy("1.1.0", "succeeded"),
            deploy("1.3.0", "succeeded"),
            deploy("1.0.0", "succeeded"),
            deploy("1.1.0", "succeeded"),
        ];
        assert_eq!(candidates(&deploys, Some("1.3.0")), vec!["1.1.0", "1.0.0"]);
        assert!(candidates(&deploys[..2], Some("1.3.0")).is_empty());
        assert_eq!(candidates(&deploys[1..2], None), Vec::<&str>::new());
    }
}
