//! Local images and the containers that use them.

use std::collections::HashMap;

use bollard::Docker;
use bollard::models::ImageSummary;
use bollard::query_parameters::{
    ListContainersOptionsBuilder, ListImagesOptionsBuilder, RemoveImageOptionsBuilder,
};

use super::EngineError;

/// Images carrying every label in `labels` (`key=value`).
pub async fn with_labels(
    docker: &Docker,
    labels: &[(String, String)],
) -> Result<Vec<ImageSummary>, EngineError> {
    let filters = super::label_filter(labels);
    let options = ListImagesOptionsBuilder::default()
        .filters(&filters)
        .build();
    Ok(docker.list_images(Some(options)).await?)
}

/// Names of running containers created from `image` (a tag or id).
pub async fn running_containers_of(
    docker: &Docker,
    image: &str,
) -> Result<Vec<String>, EngineError> {
    let filters = HashMap::from([
        ("ancestor".to_owned(), vec![image.to_owned()]),
        ("status".to_owned(), vec!["running".to_owned()]),
    ]);
    let options = ListContainersOptionsBuilder::default()
        .filters(&filters)
        .build();
    let containers = docker.list_containers(Some(options)).await?;
    Ok(containers
        .into_iter()
        .map(|c| {
            c.names
                .and_then(|n| n.into_iter().next())
                .map(|n| n.trim_start_matches('/').to_owned())
                .or(c.id)
                .unwrap_or_default()
        })
        .collect())
}

/// Inspect `reference`; `None` when there is no such local image.
async fn inspect(
    docker: &Docker,
    reference: &str,
) -> Result<Option<bollard::models::ImageInspect>, EngineError> {
    match docker.inspect_image(reference).await {
        Ok(image) => Ok(Some(image)),
        Err(bollard::errors::Error::DockerResponseServerError {
            status_code: 404, ..
        }) => Ok(None),
        Err(err) => Err(err.into()),
    }
}

/// Whether `reference` names a local image.
pub async fn exists(docker: &Docker, reference: &str) -> Result<bool, EngineError> {
    Ok(inspect(docker, reference).await?.is_some())
}

/// Pull `reference` from its registry with `credentials` (`None`: anonymously). Progress is not
/// reported: a service image is usually small or cached.
pub async fn pull(
    docker: &Docker,
    reference: &str,
    credentials: Option<bollard::auth::DockerCredentials>,
) -> Result<(), EngineError> {
    let idle = super::stream_idle()?;
    let builder = bollard::query_parameters::CreateImageOptionsBuilder::default();
    // A digest reference is pulled as written; a tag goes in its own parameter.
    let options = if reference.contains('@') {
        builder.from_image(reference).build()
    } else {
        let (repository, tag) = split_reference(reference);
        builder.from_image(repository).tag(tag).build()
    };
    let mut stream = docker.create_image(Some(options), None, credentials);
    // Bounded by silence, not by a total: a big image on a slow link takes long, honestly.
    let what = || format!("pulling {reference}");
    while let Some(item) = super::next_within(&mut stream, idle, what).await? {
        item?;
    }
    Ok(())
}

/// Remove the tag `reference` (the image goes when no other tag holds it). `force` also
/// removes it from stopped containers, as the original `docker rmi -f` did.
pub async fn remove(docker: &Docker, reference: &str, force: bool) -> Result<(), EngineError> {
    let options = RemoveImageOptionsBuilder::default().force(force).build();
    docker
        .remove_image(reference, Some(options), None)
        .await
        .map(|_| ())
        .map_err(Into::into)
}

/// The sizes of the layers of local image `reference`, base first, from its history (entries
/// that only changed the configuration have size 0).
pub async fn layer_sizes(docker: &Docker, reference: &str) -> Result<Vec<u64>, EngineError> {
    let history = docker.image_history(reference).await?;
    Ok(history
        .iter()
        .rev()
        .map(|item| u64::try_from(item.size).unwrap_or(0))
        .collect())
}

/// The id of local image `reference`, or `None` when there is none.
pub async fn image_id(docker: &Docker, reference: &str) -> Result<Option<String>, EngineError> {
    Ok(inspect(docker, reference).await?.and_then(|image| image.id))
}

/// The id and labels of local image `reference` (`None` when it does not exist).
pub async fn labels_of(
    docker: &Docker,
    reference: &str,
) -> Result<Option<(String, HashMap<String, String>)>, EngineError> {
    Ok(inspect(docker, reference).await?.map(|image| {
        (
            image.id.unwrap_or_default(),
            image.config.and_then(|c| c.labels).unwrap_or_default(),
        )
    }))
}

/// Tag image `source` (id or reference) as `repository:tag`.
pub async fn tag(
    docker: &Docker,
    source: &str,
    repository: &str,
    tag: &str,
) -> Result<(), EngineError> {
    let options = bollard::query_parameters::TagImageOptionsBuilder::default()
        .repo(repository)
        .tag(tag)
        .build();
    Ok(docker.tag_image(source, Some(options)).await?)
}

/// Point `reference` (`repo:tag`) at image `id` again.
pub async fn retag(docker: &Docker, id: &str, reference: &str) -> Result<(), EngineError> {
    let (repository, tag_name) = split_reference(reference);
    tag(docker, id, repository, tag_name).await
}

/// `registry:5000/a/b:tag` → (`registry:5000/a/b`, `tag`); no tag → `latest`.
pub fn split_reference(reference: &str) -> (&str, &str) {
    match reference.rsplit_once(':') {
        Some((repo, tag)) if !tag.contains('/') => (repo, tag),
        _ => (reference, "latest"),
    }
}

#[cfg(test)]
mod tests {
    use super::split_reference;

    #[test]
    fn references_split_at_the_tag_not_the_port() {
        assert_eq!(
            split_reference("localhost:5000/demo:1.2.3"),
            ("localhost:5000/demo", "1.2.3")
        );
        assert_eq!(
            split_reference("localhost:5000/demo"),
            ("localhost:5000/demo", "latest")
        );
        assert_eq!(split_reference("acme/demo:prod"), ("acme/demo", "prod"));
    }
}
