//! Dockerrun v1: one container on the "Docker running on Amazon Linux" platform, its first port
//! behind the platform's proxy.

use serde::Serialize;

use super::{
    BindSource, RenderInput, RunFiles, app_path, bind_source, image_of, literal_environment,
    unsupported_runtime,
};
use crate::bundle::{BundleError, DOCKERRUN, StagedFile};
use crate::compose::MountKind;

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct DockerrunV1 {
    #[serde(rename = "AWSEBDockerrunVersion")]
    version: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    authentication: Option<Auth>,
    image: Image,
    ports: Vec<Port>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    volumes: Vec<Volume>,
    #[serde(skip_serializing_if = "Option::is_none")]
    entrypoint: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    command: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Auth {
    bucket: String,
    key: String,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Image {
    name: String,
    update: &'static str,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Port {
    container_port: String,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Volume {
    host_directory: String,
    container_directory: String,
}

pub(super) fn render(input: &RenderInput<'_>) -> Result<RunFiles, BundleError> {
    let services = &input.compose.services;
    let Some((name, service)) = services.first().filter(|_| services.len() == 1) else {
        return Err(BundleError::Invalid(format!(
            "Dockerrun v1 runs one container and this compose file has {} services ({}); use \
             bundle_format = \"v2\" (ECS platform) or \"compose\" (Docker platform)",
            services.len(),
            services.keys().cloned().collect::<Vec<_>>().join(", ")
        )));
    };
    let mut notes = Vec::new();
    let mut lossy = Vec::new();
    let mut mounts = Vec::new();
    unsupported_runtime(name, service, &[], "Dockerrun v1", &mut lossy);
    for (key, used) in [
        ("healthcheck", service.healthcheck.is_some()),
        ("labels", !service.labels.is_empty()),
        ("depends_on", !service.depends_on.is_empty()),
        ("working_dir", service.working_dir.is_some()),
        ("user", service.user.is_some()),
        ("hostname", service.hostname.is_some()),
        ("tty", service.tty),
        ("stdin_open", service.stdin_open),
        ("volumes_from", !service.volumes_from.is_empty()),
    ] {
        if used {
            lossy.push(format!(
                "service `{name}`: `{key}`: Dockerrun v1 has no equivalent (the image's own \
                 setting applies)"
            ));
        }
    }
    if let Some(ip) = service.ports.iter().find_map(|p| p.host_ip.as_ref()) {
        lossy.push(format!(
            "service `{name}`: ports bound to host address {ip}: Dockerrun v1 publishes the \
             proxy's port only"
        ));
    }
    let container_port = service
        .ports
        .first()
        .map(|p| p.container_port)
        .or_else(|| service.expose.first().map(|p| p.port))
        .ok_or_else(|| {
            BundleError::Invalid(format!(
                "service `{name}` publishes no port; Dockerrun v1 needs the container port the \
                 proxy forwards to (add `ports:` or `expose:`)"
            ))
        })?;
    if service.ports.len() > 1 {
        lossy.push(format!(
            "service `{name}`: Dockerrun v1 uses only the first port ({container_port}); the \
             others are not reachable"
        ));
    }
    let environment = literal_environment(name, service, input, &mut notes);
    if !environment.is_empty() {
        notes.push(format!(
            "service `{name}`: Dockerrun v1 has no environment; {} must be set as the \
             environment's properties",
            environment
                .iter()
                .map(|(k, _)| k.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    let mut volumes = Vec::new();
    for mount in &service.volumes {
        match (mount.kind, &mount.source) {
            (MountKind::Bind, Some(source)) => {
                let host_directory = match bind_source(input.root, name, source, &mut notes) {
                    BindSource::Bundle(rel) => {
                        mounts.push(rel.clone());
                        app_path(&rel)
                    }
                    BindSource::Host(path) => path,
                };
                volumes.push(Volume {
                    host_directory,
                    container_directory: mount.target.clone(),
                });
            }
            _ => lossy.push(format!(
                "service `{name}`: the mount at {} is left out (Dockerrun v1 mounts host \
                 directories only)",
                mount.target
            )),
        }
    }
    let doc = DockerrunV1 {
        version: "1",
        authentication: input.auth.map(|a| Auth {
            bucket: a.bucket.clone(),
            key: a.key.clone(),
        }),
        image: Image {
            name: image_of(name, service, input, &mut notes)?,
            update: "true",
        },
        ports: vec![Port {
            container_port: container_port.to_string(),
        }],
        volumes,
        entrypoint: words(name, "entrypoint", service.entrypoint.as_deref())?,
        command: words(name, "command", service.command.as_deref())?,
    };
    Ok(RunFiles {
        files: vec![StagedFile::json(DOCKERRUN, &doc)?],
        notes,
        mounts,
        lossy,
    })
}

/// v1's `Command` and `Entrypoint` are single strings split on spaces, so an argument that holds
/// whitespace cannot be expressed.
fn words(
    service: &str,
    field: &str,
    args: Option<&[String]>,
) -> Result<Option<String>, BundleError> {
    let Some(args) = args.filter(|a| !a.is_empty()) else {
        return Ok(None);
    };
    if let Some(arg) = args
        .iter()
        .find(|a| a.chars().any(char::is_whitespace) || a.is_empty())
    {
        return Err(BundleError::Invalid(format!(
            "service `{service}`: its {field} argument {arg:?} holds whitespace, which Dockerrun \
             v1's single-string {field} cannot carry; wrap it in a script in the image"
        )));
    }
    Ok(Some(args.join(" ")))
}
