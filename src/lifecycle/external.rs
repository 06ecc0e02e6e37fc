//! Networks and volumes declared `external: true` are made elsewhere: `start` checks they
//! exist before it creates anything, as Compose does. Without the check the Engine would
//! quietly create a missing volume, and the container would start on an empty one.

use bollard::Docker;

use super::names;
use super::plan::Target;
use crate::compose::MountKind;
use crate::engine::{EngineError, networks, volumes};
use crate::exit::{Coded, ExitStatus};

/// Why the environment cannot start.
#[derive(Debug, thiserror::Error)]
pub enum ExternalError {
    /// An external network or volume a service uses does not exist.
    #[error(
        "{file}: the {kind} `{name}` is declared `external: true` but does not exist; create it \
         first (`docker {kind} create {name}`) or drop `external` so stevedore creates it"
    )]
    Missing {
        /// The compose file.
        file: String,
        /// `network` or `volume`.
        kind: &'static str,
        /// Its real name.
        name: String,
    },
    /// The Engine could not be asked.
    #[error(transparent)]
    Engine(#[from] EngineError),
}

impl Coded for ExternalError {
    fn exit_status(&self) -> ExitStatus {
        match self {
            ExternalError::Missing { .. } => ExitStatus::InvalidInput,
            ExternalError::Engine(err) => err.exit_status(),
        }
    }
}

/// The real names of the external networks and volumes the services use.
pub fn used(target: &Target<'_>) -> (Vec<String>, Vec<String>) {
    let file = target.file;
    let mut nets = Vec::new();
    let mut vols = Vec::new();
    for service in file.services.values() {
        for key in service.networks.keys() {
            if let Some(def) = file.networks.get(key).filter(|d| d.external) {
                let name = names::network_name(target.project, key, Some(def));
                if !nets.contains(&name) {
                    nets.push(name);
                }
            }
        }
        for mount in &service.volumes {
            let (MountKind::Volume, Some(key)) = (mount.kind, &mount.source) else {
                continue;
            };
            if let Some(def) = file.volumes.get(key).filter(|d| d.external) {
                let name = names::volume_name(target.project, key, Some(def), file.format);
                if !vols.contains(&name) {
                    vols.push(name);
                }
            }
        }
    }
    (nets, vols)
}

/// Check that every external network and volume the services use exists.
pub async fn check(docker: &Docker, target: &Target<'_>) -> Result<(), ExternalError> {
    let (nets, vols) = used(target);
    let missing = |kind, name: String| ExternalError::Missing {
        file: target.file.path.display().to_string(),
        kind,
        name,
    };
    for name in nets {
        if !networks::exists(docker, &name).await? {
            return Err(missing("network", name));
        }
    }
    for name in vols {
        if !volumes::exists(docker, &name).await? {
            return Err(missing("volume", name));
        }
    }
    Ok(())
}
