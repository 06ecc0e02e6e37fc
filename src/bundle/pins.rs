//! Which image each service of the bundle runs: for our services the digest `publish`
//! recorded (or, before publish, with `--allow-unpinned`, the version tag); for images that are
//! not ours (`redis:7`), the digest the registry gives for their tag (`redis@sha256:…`), unless
//! `--no-pin-third-party` (or an unreachable registry) leaves them on the tag, in which case the
//! summary names them. [`shipped_images`] reads the images back from the rendered run files,
//! so what a summary says is what the bundle holds.

use indexmap::IndexMap;
use serde_json::Value;

use super::image_ref::ImageRef;
use super::{COMPOSE_FILE, DOCKERRUN, StagedFile};
use crate::registry::client::{Manifest, RegistryClient};
use crate::registry::credentials;

/// The image of one of our services.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pin {
    /// `repo@sha256:…` (pinned) or `repo:version`.
    pub reference: String,
    /// Whether `reference` names one exact manifest.
    pub pinned: bool,
}

/// An image that is not ours, as the bundle ships it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ThirdParty {
    /// The image as the compose or run file names it, e.g. `redis:7`.
    pub image: String,
    /// What the bundle ships: `redis@sha256:…` once resolved, else `image`.
    pub reference: String,
    /// Whether `reference` names one exact manifest.
    pub pinned: bool,
    /// Why it is not pinned (`--no-pin-third-party`, or what the registry said).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unpinned_because: Option<String>,
}

/// The images of our services, by service name, in release order; and the images that are
/// not ours, by the name they are written with.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImagePins {
    services: IndexMap<String, Pin>,
    third_party: IndexMap<String, ThirdParty>,
}

impl ImagePins {
    /// No pins yet.
    pub fn new() -> ImagePins {
        ImagePins::default()
    }

    /// Record `reference` as the image of `service`.
    pub fn insert(&mut self, service: &str, reference: &str) {
        self.services.insert(
            service.to_owned(),
            Pin {
                reference: reference.to_owned(),
                pinned: ImageRef::parse(reference).is_pinned(),
            },
        );
    }

    /// The image of `service`, if it is one of ours.
    pub fn of(&self, service: &str) -> Option<&Pin> {
        self.services.get(service)
    }

    /// The service whose repository `image` names, with its pin: how a hand-written run file's
    /// `repo:prod` becomes `repo@sha256:…`.
    pub fn for_image(&self, image: &str) -> Option<(&str, &Pin)> {
        let wanted = ImageRef::parse(image);
        self.services
            .iter()
            .find(|(_, pin)| ImageRef::parse(&pin.reference).same_repository(&wanted))
            .map(|(service, pin)| (service.as_str(), pin))
    }

    /// Every service and its pin.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Pin)> {
        self.services.iter().map(|(s, p)| (s.as_str(), p))
    }

    /// Whether every image, ours and third-party, is pinned by digest.
    pub fn all_pinned(&self) -> bool {
        self.services.values().all(|p| p.pinned) && self.third_party.values().all(|t| t.pinned)
    }

    /// Record how third-party `image` ships: pinned to `digest`, or on its tag and why.
    pub fn set_third_party(&mut self, image: &str, digest: Result<String, String>) {
        let parsed = ImageRef::parse(image);
        let entry = match digest {
            _ if parsed.is_pinned() => ThirdParty {
                image: image.to_owned(),
                reference: image.to_owned(),
                pinned: true,
                unpinned_because: None,
            },
            // `repo@digest` without the tag: every Docker version and ECS read that form.
            Ok(digest) => ThirdParty {
                image: image.to_owned(),
                reference: ImageRef {
                    tag: None,
                    digest: Some(digest),
                    ..parsed
                }
                .to_string(),
                pinned: true,
                unpinned_because: None,
            },
            Err(why) => ThirdParty {
                image: image.to_owned(),
                reference: image.to_owned(),
                pinned: false,
                unpinned_because: Some(why),
            },
        };
        self.third_party.insert(image.to_owned(), entry);
    }

    /// How third-party `image` ships, once recorded.
    pub fn third_party_of(&self, image: &str) -> Option<&ThirdParty> {
        self.third_party.get(image)
    }

    /// Every third-party image recorded.
    pub fn third_party(&self) -> impl Iterator<Item = &ThirdParty> {
        self.third_party.values()
    }

    /// Whether `image` is (the pin of) one of our services.
    fn is_ours(&self, image: &str) -> bool {
        let wanted = ImageRef::parse(image);
        self.services.values().any(|pin| {
            pin.reference == image || ImageRef::parse(&pin.reference).same_repository(&wanted)
        })
    }
}

/// The images the run files name (Dockerrun v1 `Image.Name`, v2 `containerDefinitions[].image`,
/// compose `services.*.image`), in file order, each once.
pub fn shipped_images(files: &[StagedFile]) -> Vec<String> {
    let mut images: Vec<String> = Vec::new();
    let mut add = |image: &str| {
        let image = image.trim();
        if !image.is_empty() && !images.iter().any(|i| i == image) {
            images.push(image.to_owned());
        }
    };
    for file in files {
        if file.name == DOCKERRUN {
            let Ok(doc) = serde_json::from_slice::<Value>(&file.data) else {
                continue;
            };
            if let Some(name) = doc.pointer("/Image/Name").and_then(Value::as_str) {
                add(name);
            }
            for definition in doc
                .get("containerDefinitions")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                if let Some(image) = definition.get("image").and_then(Value::as_str) {
                    add(image);
                }
            }
        } else if file.name == COMPOSE_FILE {
            let Ok(doc) = serde_norway::from_slice::<serde_norway::Value>(&file.data) else {
                continue;
            };
            if let Some(services) = doc.get("services").and_then(|s| s.as_mapping()) {
                for service in services.values() {
                    if let Some(image) = service.get("image").and_then(|i| i.as_str()) {
                        add(image);
                    }
                }
            }
        }
    }
    images
}

/// The images of `files` that are not ours and not pinned by digest: what a summary must name.
pub fn unpinned_images(files: &[StagedFile]) -> Vec<String> {
    shipped_images(files)
        .into_iter()
        .filter(|image| !ImageRef::parse(image).is_pinned())
        .collect()
}

/// How a summary says the images ship: `pinned by digest`, or `NOT pinned by digest: redis:7, …`
/// naming every image of `files` that is not pinned.
pub fn pinning_text(files: &[StagedFile]) -> String {
    let unpinned = unpinned_images(files);
    if unpinned.is_empty() {
        "pinned by digest".to_owned()
    } else {
        format!("NOT pinned by digest: {}", unpinned.join(", "))
    }
}

/// The images of `files` that are not ours (third-party), each once.
pub fn third_party_images(files: &[StagedFile], pins: &ImagePins) -> Vec<String> {
    shipped_images(files)
        .into_iter()
        .filter(|image| !pins.is_ours(image))
        .collect()
}

/// Record every third-party image of `images` in `pins`: already pinned ones as they are; with
/// `resolve`, the others by the digest their registry gives for their tag; without, on the tag.
pub async fn pin_third_party(pins: &mut ImagePins, images: &[String], resolve: bool) {
    let client = if resolve {
        RegistryClient::new().map_err(|e| e.to_string())
    } else {
        Err("--no-pin-third-party".to_owned())
    };
    for image in images {
        let digest = match &client {
            _ if ImageRef::parse(image).is_pinned() => Err(String::new()),
            Ok(client) => registry_digest(client, image).await,
            Err(why) => Err(why.clone()),
        };
        pins.set_third_party(image, digest);
    }
}

/// The digest the registry of `image` gives for its tag (`latest` when none is written).
pub async fn registry_digest(client: &RegistryClient, image: &str) -> Result<String, String> {
    let parsed = ImageRef::parse(image);
    let registry = credentials::registry_of(&parsed.repository);
    let name = parsed
        .repository
        .strip_prefix(&format!("{registry}/"))
        .or_else(|| parsed.repository.strip_prefix("docker.io/"))
        .or_else(|| parsed.repository.strip_prefix("index.docker.io/"))
        .unwrap_or(&parsed.repository)
        .to_owned();
    let tag = parsed.tag.clone().unwrap_or_else(|| "latest".into());
    let lookup = registry.clone();
    let auth = tokio::task::spawn_blocking(move || credentials::resolve(&lookup))
        .await
        .map_err(|e| e.to_string())??;
    match client
        .manifest(&registry, &name, &tag, auth.to_basic().as_ref())
        .await
        .map_err(|e| e.to_string())?
    {
        Manifest::Found {
            digest: Some(digest),
        } if super::image_ref::is_sha256_digest(&digest) => Ok(digest),
        Manifest::Found { .. } => Err(format!("registry {registry} sent no digest for {image}")),
        Manifest::NotFound => Err(format!("registry {registry} has no {image}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn images_are_matched_by_repository() {
        let digest = format!("sha256:{}", "a".repeat(64));
        let mut pins = ImagePins::new();
        pins.insert("app", &format!("localhost:5000/demo@{digest}"));
        pins.insert("proxy", "localhost:5000/demo-proxy:1.0.0");
        assert!(pins.of("app").is_some_and(|p| p.pinned));
        assert!(!pins.all_pinned());
        let (service, pin) = pins.for_image("localhost:5000/demo:prod").expect("ours");
        assert_eq!(service, "app");
        assert!(pin.reference.ends_with(&digest));
        assert_eq!(
            pins.for_image("localhost:5000/demo-proxy").map(|(s, _)| s),
            Some("proxy")
        );
        assert!(pins.for_image("nginx:1.27").is_none());
    }

    #[test]
    fn third_party_images_are_read_back_from_the_run_files_and_pinned_or_named() {
        let digest = format!("sha256:{}", "c".repeat(64));
        let mut pins = ImagePins::new();
        pins.insert("app", &format!("localhost:5000/demo@{digest}"));
        let v2 = StagedFile {
            name: DOCKERRUN.into(),
            data: format!(
                r#"{{"AWSEBDockerrunVersion":2,"containerDefinitions":[{{"name":"app","image":"localhost:5000/demo@{digest}"}},{{"name":"cache","image":"redis:7"}},{{"name":"db","image":"postgres@{digest}"}}]}}"#
            )
            .into_bytes(),
        };
        let compose = StagedFile {
            name: COMPOSE_FILE.into(),
            data: b"services:\n  cache:\n    image: redis:7\n  web:\n    image: nginx\n".to_vec(),
        };
        let files = [v2, compose];
        assert_eq!(
            third_party_images(&files, &pins),
            ["redis:7", format!("postgres@{digest}").as_str(), "nginx"]
        );
        assert_eq!(unpinned_images(&files), ["redis:7", "nginx"]);
        pins.set_third_party("redis:7", Ok(digest.clone()));
        pins.set_third_party("nginx", Err("--no-pin-third-party".into()));
        pins.set_third_party(&format!("postgres@{digest}"), Err(String::new()));
        let redis = pins.third_party_of("redis:7").expect("recorded");
        assert_eq!(redis.reference, format!("redis@{digest}"));
        assert!(redis.pinned);
        assert!(
            pins.third_party_of(&format!("postgres@{digest}"))
                .is_some_and(|t| t.pinned)
        );
        let nginx = pins.third_party_of("nginx").expect("recorded");
        assert!(!nginx.pinned && nginx.unpinned_because.is_some());
        assert!(!pins.all_pinned());
        assert_eq!(pinning_text(&files), "NOT pinned by digest: redis:7, nginx");
        assert_eq!(pinning_text(&files[..0]), "pinned by digest");
    }
}
