//! Which service Elastic Beanstalk's load balancer reaches: the instance's port 80 goes to one
//! container port. The choice is explicit (`web_service`), or made by a rule that says which
//! step chose and why, so a wrong guess is visible and one setting away from fixed.

use std::collections::BTreeMap;

use super::Published;
use crate::bundle::BundleError;
use crate::compose::{ComposeFile, Protocol};

/// The service port 80 goes to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Choice {
    /// The service.
    pub service: String,
    /// Index into its published ports; `None`: an exposed port, published anew.
    pub index: Option<usize>,
    /// The container port.
    pub container_port: u16,
    /// Why this one, for the note.
    pub reason: String,
}

/// Choose the entry service. `None` when no service publishes a TCP port and none is named.
pub(super) fn choose(
    compose: &ComposeFile,
    web: Option<&str>,
    ports: &BTreeMap<String, Vec<Published>>,
) -> Result<Option<Choice>, BundleError> {
    let tcp = |name: &str| -> Option<usize> {
        ports
            .get(name)?
            .iter()
            .position(|p| p.protocol == Protocol::Tcp)
    };
    let on_80 = compose.services.keys().find_map(|name| {
        let index = ports
            .get(name)?
            .iter()
            .position(|p| p.host == Some(80) && p.protocol == Protocol::Tcp)?;
        Some((name.clone(), index))
    });
    let pick = |name: &str, index: usize, reason: String| Choice {
        service: name.to_owned(),
        index: Some(index),
        container_port: ports[name][index].container,
        reason,
    };
    if let Some(web) = web {
        let Some(service) = compose.services.get(web) else {
            return Err(BundleError::Invalid(format!(
                "web_service = \"{web}\" is not a service of the compose file ({})",
                compose
                    .services
                    .keys()
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        };
        if let Some((other, _)) = on_80.as_ref().filter(|(other, _)| other != web) {
            return Err(BundleError::Invalid(format!(
                "web_service = \"{web}\", but service `{other}` already publishes host port 80; \
                 remove that mapping or name `{other}` as web_service"
            )));
        }
        let reason = "named by the web_service setting".to_owned();
        if let Some((_, index)) = on_80 {
            return Ok(Some(pick(web, index, reason)));
        }
        if let Some(index) = tcp(web) {
            return Ok(Some(pick(web, index, reason)));
        }
        if let Some(exposed) = service.expose.iter().find(|e| e.protocol == Protocol::Tcp) {
            return Ok(Some(Choice {
                service: web.to_owned(),
                index: None,
                container_port: exposed.port,
                reason,
            }));
        }
        return Err(BundleError::Invalid(format!(
            "web_service = \"{web}\", but that service publishes and exposes no TCP port; add \
             the port it listens on under `ports:` or `expose:`"
        )));
    }
    if let Some((name, index)) = on_80 {
        return Ok(Some(pick(
            &name,
            index,
            "it already publishes host port 80".to_owned(),
        )));
    }
    let publishing: Vec<&String> = compose
        .services
        .keys()
        .filter(|name| tcp(name).is_some())
        .collect();
    let Some(first) = publishing.first() else {
        return Ok(None);
    };
    let depended_on = |name: &str| {
        compose
            .services
            .values()
            .any(|s| s.dependencies().contains(&name))
    };
    let fronts: Vec<&&String> = publishing.iter().filter(|n| !depended_on(n)).collect();
    let (name, reason) = match fronts.as_slice() {
        [only] => (
            (**only).clone(),
            if publishing.len() == 1 {
                "it is the only service that publishes a TCP port".to_owned()
            } else {
                format!(
                    "of the services that publish a TCP port ({}), it is the only one no other \
                     service depends on",
                    join(&publishing)
                )
            },
        ),
        [front, ..] => (
            (**front).clone(),
            format!(
                "it is the first in file order of the services that publish a TCP port and that \
                 no other service depends on ({})",
                fronts
                    .iter()
                    .map(|n| n.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        ),
        [] => (
            (*first).clone(),
            format!(
                "every service that publishes a TCP port ({}) is depended on; it is the first \
                 in file order",
                join(&publishing)
            ),
        ),
    };
    let index = tcp(&name).unwrap_or_default();
    Ok(Some(pick(&name, index, reason)))
}

fn join(names: &[&String]) -> String {
    names
        .iter()
        .map(|n| n.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}
