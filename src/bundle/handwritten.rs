//! A hand-written `environments/<env>/Dockerrun.aws.json`: used as the run file, with every
//! reference to one of our images rewritten to the release's pin (the original shipped
//! `repo:prod`, a tag that moves under running instances).

use serde_json::Value;

use super::pins::ImagePins;
use super::render::{APP_DIR, RunFiles};
use super::{BundleError, DOCKERRUN, StagedFile};

/// What the hand-written file is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HandwrittenKind {
    /// v1 or v2: the whole run file.
    RunFile,
    /// v3: registry credentials only; the compose file is rendered beside it.
    AuthOnly,
}

/// Rewrite our images in the Dockerrun `text` (read from `path`, named in errors).
pub fn rewrite(
    text: &str,
    path: &str,
    pins: &ImagePins,
) -> Result<(RunFiles, HandwrittenKind), BundleError> {
    let mut doc: Value = serde_json::from_str(text)
        .map_err(|e| BundleError::Invalid(format!("{path}: not valid JSON: {e}")))?;
    let version = super::validate::dockerrun_version(&doc);
    let mut notes = Vec::new();
    let mut mounts = Vec::new();
    let mut rewrite_image = |slot: &mut Value, owner: &str| {
        let Some(image) = slot.as_str().map(str::to_owned) else {
            return;
        };
        match pins.for_image(&image) {
            Some((service, pin)) if pin.reference != image => {
                notes.push(format!(
                    "{owner}: `{image}` is service {service}'s image; the bundle runs {}",
                    pin.reference
                ));
                *slot = Value::String(pin.reference.clone());
            }
            Some(_) => {}
            None => match pins.third_party_of(&image) {
                Some(third) if third.pinned && third.reference != image => {
                    *slot = Value::String(third.reference.clone());
                }
                _ if !super::image_ref::ImageRef::parse(&image).is_pinned() => notes.push(format!(
                    "{owner}: `{image}` is not one of the release's images and not pinned by digest"
                )),
                _ => {}
            },
        }
    };
    let kind = match version {
        Some(1) => {
            if let Some(slot) = doc.get_mut("Image").and_then(|i| i.get_mut("Name")) {
                rewrite_image(slot, "Image.Name");
            }
            for volume in doc
                .get("Volumes")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                if let Some(rel) = volume
                    .get("HostDirectory")
                    .and_then(Value::as_str)
                    .and_then(bundle_rel)
                {
                    mounts.push(rel);
                }
            }
            HandwrittenKind::RunFile
        }
        Some(2) => {
            if let Some(definitions) = doc
                .get_mut("containerDefinitions")
                .and_then(Value::as_array_mut)
            {
                for definition in definitions {
                    let owner = definition
                        .get("name")
                        .and_then(Value::as_str)
                        .unwrap_or("a container")
                        .to_owned();
                    if let Some(slot) = definition.get_mut("image") {
                        rewrite_image(slot, &format!("container `{owner}`"));
                    }
                }
            }
            for volume in doc
                .get("volumes")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                if let Some(rel) = volume
                    .get("host")
                    .and_then(|h| h.get("sourcePath"))
                    .and_then(Value::as_str)
                    .and_then(bundle_rel)
                {
                    mounts.push(rel);
                }
            }
            HandwrittenKind::RunFile
        }
        Some(3) => HandwrittenKind::AuthOnly,
        other => {
            return Err(BundleError::Invalid(format!(
                "{path}: AWSEBDockerrunVersion {} is not 1, 2 or 3",
                other.map_or_else(|| "(missing)".to_owned(), |v| v.to_string())
            )));
        }
    };
    Ok((
        RunFiles {
            files: vec![StagedFile::json(DOCKERRUN, &doc)?],
            notes,
            mounts,
            lossy: Vec::new(),
        },
        kind,
    ))
}

/// The bundle-relative path of a host path under `/var/app/current`.
fn bundle_rel(host: &str) -> Option<String> {
    let rest = host.trim_end_matches('/').strip_prefix(APP_DIR)?;
    if rest.is_empty() {
        return Some(String::new());
    }
    rest.strip_prefix('/').map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pins() -> ImagePins {
        let mut pins = ImagePins::new();
        pins.insert("django", &format!("acme/dockdj@sha256:{}", "b".repeat(64)));
        pins
    }

    #[test]
    fn dockdj_style_v2_gets_the_digest_and_keeps_the_rest() {
        let text = r#"{"AWSEBDockerrunVersion": 2,
            "volumes": [{"name": "dist", "host": {"sourcePath": "/var/app/current/app/dist"}}],
            "containerDefinitions": [
              {"name": "django", "image": "acme/dockdj:prod", "essential": true, "memory": 512},
              {"name": "nginx", "image": "nginx", "essential": true, "memory": 128}]}"#;
        let (files, kind) = rewrite(text, "Dockerrun.aws.json", &pins()).expect("valid");
        assert_eq!(kind, HandwrittenKind::RunFile);
        let out: Value = serde_json::from_slice(&files.files[0].data).expect("json");
        assert_eq!(
            out["containerDefinitions"][0]["image"],
            format!("acme/dockdj@sha256:{}", "b".repeat(64))
        );
        assert_eq!(out["containerDefinitions"][1]["image"], "nginx");
        assert_eq!(out["containerDefinitions"][0]["memory"], 512);
        assert_eq!(files.mounts, vec!["app/dist"]);
        assert!(
            files.notes.iter().any(|n| n.contains("`nginx` is not one")),
            "{:?}",
            files.notes
        );
    }

    #[test]
    fn v1_and_v3_and_nonsense() {
        let v1 = r#"{"AWSEBDockerrunVersion": "1", "Image": {"Name": "docker.io/acme/dockdj:latest"}, "Ports": [{"ContainerPort": "80"}]}"#;
        let (files, _) = rewrite(v1, "D", &pins()).expect("v1");
        let out: Value = serde_json::from_slice(&files.files[0].data).expect("json");
        assert!(
            out["Image"]["Name"]
                .as_str()
                .is_some_and(|n| n.contains("@sha256:"))
        );
        let v3 = r#"{"AWSEBDockerrunVersion": "3", "Authentication": {"bucket": "b", "key": "k"}}"#;
        assert_eq!(
            rewrite(v3, "D", &pins()).expect("v3").1,
            HandwrittenKind::AuthOnly
        );
        assert!(rewrite(r#"{"AWSEBDockerrunVersion": 7}"#, "D", &pins()).is_err());
        assert!(rewrite("{", "D", &pins()).is_err());
    }
}
