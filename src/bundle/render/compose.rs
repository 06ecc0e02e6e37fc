//! A `docker-compose.yml` for the "Docker running on Amazon Linux" platform with Compose, plus a
//! Dockerrun v3 when the instances need registry credentials.
//!
//! Variable references are kept as written: on the instance Compose interpolates them from the
//! `.env` Elastic Beanstalk writes with the environment's properties.

use serde_norway::{Mapping, Value};

use super::{RenderInput, RunFiles, bundle_path, image_of, literal_environment, published_ports};
use crate::bundle::{BundleError, COMPOSE_FILE, DOCKERRUN, StagedFile};
use crate::compose::{Condition, MountKind, Protocol, VolumesFromSource};

fn s(text: impl Into<String>) -> Value {
    Value::String(text.into())
}

fn list(items: impl IntoIterator<Item = String>) -> Value {
    Value::Sequence(items.into_iter().map(Value::String).collect())
}

/// A value of the loaded model, which is interpolated already: Compose on the instance must
/// read every `$` in it as a literal `$` (`$$`), not as a variable to fill in again.
fn escaped(text: &str) -> String {
    text.replace('$', "$$")
}

fn escaped_list<'t>(items: impl IntoIterator<Item = &'t String>) -> Value {
    list(items.into_iter().map(|item| escaped(item)))
}

pub(super) fn render(input: &RenderInput<'_>) -> Result<RunFiles, BundleError> {
    let mut notes = Vec::new();
    let mut mounts = Vec::new();
    let ports = published_ports(input.compose, &mut notes)?;
    let mut services = Mapping::new();
    let mut named_volumes = Mapping::new();
    for (name, service) in &input.compose.services {
        let mut out = Mapping::new();
        out.insert(s("image"), s(image_of(name, service, input, &mut notes)?));
        if let Some(entrypoint) = &service.entrypoint {
            out.insert(s("entrypoint"), escaped_list(entrypoint));
        }
        if let Some(command) = &service.command {
            out.insert(s("command"), escaped_list(command));
        }
        let mut environment = Mapping::new();
        let mut quiet = Vec::new();
        for (key, value) in literal_environment(name, service, input, &mut quiet) {
            environment.insert(s(key), s(escaped(&value)));
        }
        if let Some(raw) = input.raw.get(name) {
            for (key, written) in &raw.variable_env {
                let value = written.clone().unwrap_or_else(|| format!("${{{key}}}"));
                environment.insert(s(key.clone()), s(value));
            }
        }
        if !environment.is_empty() {
            out.insert(s("environment"), Value::Mapping(environment));
        }
        if !service.env_file.is_empty() {
            // The instance's `.env` holds the environment's properties (what `--sync-env` sets
            // from environments/<env>/.env), so the service still gets them all.
            out.insert(s("env_file"), list([".env".to_owned()]));
        }
        let published: Vec<String> = ports
            .get(name)
            .into_iter()
            .flatten()
            .map(|p| {
                let mut text = match p.host {
                    Some(host) => format!("{host}:{}", p.container),
                    None => p.container.to_string(),
                };
                if p.protocol != Protocol::Tcp {
                    text.push('/');
                    text.push_str(p.protocol.as_str());
                }
                text
            })
            .collect();
        if !published.is_empty() {
            out.insert(s("ports"), list(published));
        }
        if !service.expose.is_empty() {
            out.insert(
                s("expose"),
                list(service.expose.iter().map(|e| e.port.to_string())),
            );
        }
        if !service.links.is_empty() {
            out.insert(
                s("links"),
                list(service.links.iter().map(|l| match &l.alias {
                    Some(alias) => format!("{}:{alias}", l.service),
                    None => l.service.clone(),
                })),
            );
        }
        if !service.depends_on.is_empty() {
            let mut depends = Mapping::new();
            for (dependency, condition) in &service.depends_on {
                let condition = match condition {
                    Condition::ServiceStarted => "service_started",
                    Condition::ServiceHealthy => "service_healthy",
                    Condition::ServiceCompletedSuccessfully => "service_completed_successfully",
                };
                let mut entry = Mapping::new();
                entry.insert(s("condition"), s(condition));
                depends.insert(s(dependency.clone()), Value::Mapping(entry));
            }
            out.insert(s("depends_on"), Value::Mapping(depends));
        }
        let mut volumes = Vec::new();
        for mount in &service.volumes {
            let mode = if mount.read_only { ":ro" } else { "" };
            match (mount.kind, &mount.source) {
                (MountKind::Bind, Some(source)) => {
                    let rel = bundle_path(input.root, name, source)?;
                    mounts.push(rel.clone());
                    let rel = if rel.is_empty() {
                        ".".to_owned()
                    } else {
                        format!("./{rel}")
                    };
                    volumes.push(format!("{rel}:{}{mode}", mount.target));
                }
                (MountKind::Volume, Some(volume)) => {
                    named_volumes.insert(s(volume.clone()), Value::Mapping(Mapping::new()));
                    volumes.push(format!("{volume}:{}{mode}", mount.target));
                }
                (MountKind::Volume, None) => volumes.push(mount.target.clone()),
                _ => notes.push(format!(
                    "service `{name}`: the tmpfs mount at {} is left out",
                    mount.target
                )),
            }
        }
        if !volumes.is_empty() {
            out.insert(s("volumes"), list(volumes));
        }
        let mut from = Vec::new();
        for entry in &service.volumes_from {
            let mode = if entry.read_only { ":ro" } else { "" };
            match &entry.source {
                VolumesFromSource::Service(source) => from.push(format!("{source}{mode}")),
                VolumesFromSource::Container(container) => {
                    return Err(BundleError::Invalid(format!(
                        "service `{name}` takes volumes from container `{container}`, which does \
                         not exist on Elastic Beanstalk; use a service of the compose file"
                    )));
                }
            }
        }
        if !from.is_empty() {
            out.insert(s("volumes_from"), list(from));
        }
        for (key, value) in [
            ("working_dir", &service.working_dir),
            ("user", &service.user),
            ("hostname", &service.hostname),
        ] {
            if let Some(value) = value {
                out.insert(s(key), s(escaped(value)));
            }
        }
        if let Some(restart) = service.restart {
            out.insert(s("restart"), s(restart.to_string()));
        }
        if let Some(healthcheck) = &service.healthcheck {
            let mut check = Mapping::new();
            if healthcheck.disable {
                check.insert(s("disable"), Value::Bool(true));
            } else {
                if !healthcheck.test.is_empty() {
                    check.insert(s("test"), escaped_list(&healthcheck.test));
                }
                for (key, value) in [
                    ("interval", healthcheck.interval),
                    ("timeout", healthcheck.timeout),
                    ("start_period", healthcheck.start_period),
                ] {
                    if let Some(value) = value {
                        check.insert(s(key), s(format!("{}ms", value.as_millis())));
                    }
                }
                if let Some(retries) = healthcheck.retries {
                    check.insert(s("retries"), Value::Number(retries.into()));
                }
            }
            out.insert(s("healthcheck"), Value::Mapping(check));
        }
        services.insert(s(name.clone()), Value::Mapping(out));
    }
    let mut doc = Mapping::new();
    doc.insert(s("services"), Value::Mapping(services));
    if !named_volumes.is_empty() {
        doc.insert(s("volumes"), Value::Mapping(named_volumes));
    }
    let text = serde_norway::to_string(&Value::Mapping(doc))
        .map_err(|e| BundleError::Invalid(format!("rendering {COMPOSE_FILE}: {e}")))?;
    let header =
        "# Rendered by stevedore from the environment's compose file; images pinned by digest.\n";
    let mut files = vec![StagedFile::new(
        COMPOSE_FILE,
        format!("{header}{text}").into_bytes(),
    )];
    if let Some(auth) = input.auth {
        files.push(StagedFile::json(
            DOCKERRUN,
            &serde_json::json!({
                "AWSEBDockerrunVersion": "3",
                "Authentication": {"bucket": auth.bucket, "key": auth.key},
            }),
        )?);
    }
    Ok(RunFiles {
        files,
        notes,
        mounts,
    })
}
