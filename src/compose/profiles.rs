//! Compose profiles: a service with `profiles:` is part of the project only when one of them
//! is active (`--compose-profile`, `COMPOSE_PROFILES`); a service without is always part of it.

use super::error::ComposeError;
use super::model::ComposeFile;

/// Drop the services none of whose profiles is in `active`. An enabled service that needs a
/// dropped one (`depends_on`, `links`, `volumes_from`) is an error, as in Compose: profiles
/// never turn a service on behind the user's back.
pub(crate) fn apply(mut file: ComposeFile, active: &[String]) -> Result<ComposeFile, ComposeError> {
    let enabled = |profiles: &[String]| {
        profiles.is_empty()
            || profiles
                .iter()
                .any(|p| active.contains(p) || active_all(active))
    };
    for (name, service) in &file.services {
        if !enabled(&service.profiles) {
            continue;
        }
        for dependency in service.dependencies() {
            let Some(needed) = file.services.get(dependency) else {
                continue;
            };
            if !enabled(&needed.profiles) {
                return Err(ComposeError::DisabledDependency {
                    file: file.path.clone(),
                    line: file.line_of(name).unwrap_or(1),
                    service: name.clone(),
                    dependency: dependency.to_owned(),
                    profiles: needed.profiles.clone(),
                });
            }
        }
    }
    file.services
        .retain(|_, service| enabled(&service.profiles));
    let services = &file.services;
    file.lines.retain(|name, _| services.contains_key(name));
    Ok(file)
}

/// `COMPOSE_PROFILES=*` turns every profile on, as in Compose.
fn active_all(active: &[String]) -> bool {
    active.iter().any(|p| p == "*")
}
