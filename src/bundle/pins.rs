//! Which image each service of the bundle runs: the digest `publish` recorded, or (before
//! publish, with `--allow-unpinned`) the version tag.

use indexmap::IndexMap;

use super::image_ref::ImageRef;

/// The image of one of our services.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pin {
    /// `repo@sha256:…` (pinned) or `repo:version`.
    pub reference: String,
    /// Whether `reference` names one exact manifest.
    pub pinned: bool,
}

/// The images of our services, by service name, in release order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImagePins {
    services: IndexMap<String, Pin>,
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

    /// Whether every image is pinned by digest.
    pub fn all_pinned(&self) -> bool {
        self.services.values().all(|p| p.pinned)
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
}
