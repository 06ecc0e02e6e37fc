//! What `release` and `publish` share: the environment's registry names and its local images.

use bollard::Docker;

use crate::engine::{images, labels};
use crate::exit::{CommandError, ExitStatus};
use crate::hint;
use crate::project::{Loaded, Project};
use crate::release;

/// An environment seen from the release side.
pub struct ReleaseScope {
    /// The project.
    pub project: Project,
    /// The environment name.
    pub env_name: String,
    /// The project name (local image tags).
    pub project_name: String,
    /// The registry repository of the primary service.
    pub repository: String,
    /// The moving tag (`latest` for dev, the env name otherwise).
    pub env_tag: String,
    /// The services that have images, primary first.
    pub services: Vec<String>,
    /// The environment's AWS profile (ECR base images of the versioned build).
    pub aws_profile: Option<String>,
    /// The primary service (its directory holds the compose file).
    pub primary: String,
}

/// A service's local image, as `image build` labelled it.
pub struct ServiceImage {
    /// The service.
    pub service: String,
    /// `<project>-<service>:<env>`.
    pub local_tag: String,
    /// The registry repository for this service.
    pub repository: String,
    /// The image id.
    pub id: String,
    /// The commit it was built from.
    pub commit: String,
    /// Whether the tree was dirty.
    pub dirty: bool,
}

impl ReleaseScope {
    /// Resolve the environment's release settings; a repository is required.
    pub fn load(loaded: &Loaded, env: &str) -> anyhow::Result<ReleaseScope> {
        let project = loaded.project.clone();
        let environment = project.environment(env)?;
        let s = loaded.resolution.settings.clone();
        let env_settings = s
            .environment
            .ok_or_else(|| anyhow::anyhow!("environment settings missing"))?;
        let repository = env_settings.repository.value.ok_or_else(|| {
            CommandError::new(
                ExitStatus::InvalidInput,
                format!(
                    "no registry repository for environment `{env}`: set `repository` under \
                     [image] (or [environments.{env}]) in stevedore.toml, e.g. \
                     \"registry.example.com/team/app\""
                ),
            )
        })?;
        let mut services: Vec<String> = environment
            .services
            .iter()
            .filter(|s| s.dockerfile.is_some())
            .map(|s| s.name.clone())
            .collect();
        for service in crate::image::plan::compose_built_services(&environment)? {
            if !services.contains(&service) {
                services.push(service);
            }
        }
        let primary = environment
            .compose_file
            .as_ref()
            .and_then(|compose| {
                environment
                    .services
                    .iter()
                    .find(|s| compose.starts_with(&s.dir))
                    .map(|s| s.name.clone())
            })
            .or_else(|| services.first().cloned())
            .ok_or_else(|| {
                CommandError::new(
                    ExitStatus::InvalidInput,
                    format!(
                        "environment `{env}` has no service to release: add \
                         docker/<service>/{env}/Dockerfile or a `build:` section to its compose \
                         file"
                    ),
                )
            })?;
        services.sort_by_key(|s| s != &primary);
        Ok(ReleaseScope {
            project_name: s
                .project_name
                .value
                .unwrap_or_else(|| project.default_name()),
            project,
            env_name: env.to_owned(),
            repository,
            env_tag: env_settings.env_tag.value.unwrap_or_else(|| env.to_owned()),
            services,
            primary,
            aws_profile: loaded.settings().profile.get(),
        })
    }

    /// The registry repository of `service`.
    pub fn repository_of(&self, service: &str) -> String {
        release::service_repository(&self.repository, service, &self.primary)
    }

    /// Each service's local image; a missing one is an exit-3 error with the fix.
    pub async fn local_images(&self, docker: &Docker) -> anyhow::Result<Vec<ServiceImage>> {
        let mut found = Vec::new();
        for service in &self.services {
            let local_tag = labels::local_tag(&self.project_name, service, &self.env_name);
            let Some((id, image_labels)) = images::labels_of(docker, &local_tag).await? else {
                return Err(CommandError::new(
                    ExitStatus::InvalidInput,
                    format!(
                        "no image {local_tag} for service {service}; run `{}`",
                        hint::command(&["image", "build", &self.env_name])
                    ),
                )
                .into());
            };
            found.push(ServiceImage {
                service: service.clone(),
                repository: self.repository_of(service),
                local_tag,
                id,
                commit: image_labels
                    .get(labels::COMMIT)
                    .cloned()
                    .unwrap_or_default(),
                dirty: image_labels.get(labels::DIRTY).is_none_or(|d| d != "false"),
            });
        }
        Ok(found)
    }
}
