//! The release record, kept in the annotated git tag's message so a fresh clone (and `deploy`)
//! can find which image digest a version is, without any other store.
//!
//! ```text
//! Release v1.2.3
//!
//! * Fix the login form - @Ada
//!
//! Images:
//!   app registry.example.com/acme/demo:1.2.3 sha256:<image id>
//! Digests:
//!   app registry.example.com/acme/demo@sha256:<manifest digest>
//! ```
//! `release` writes the first three parts; `publish` adds `Digests:` once the registry holds the
//! manifest.

/// One service's image in a release.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ImageRecord {
    /// The service.
    pub service: String,
    /// `repo:version`.
    pub reference: String,
    /// The local image id (`sha256:…`).
    pub image_id: String,
}

/// A pushed image, pinned by digest.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct DigestRecord {
    /// The service.
    pub service: String,
    /// `repo@sha256:…`.
    pub pinned: String,
}

/// What a release tag's message says.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize)]
pub struct ReleaseRecord {
    /// The first line, e.g. `Release v1.2.3`.
    pub title: String,
    /// The changelog lines (`* subject - @author`).
    pub changelog: Vec<String>,
    /// The images tagged by `release`.
    pub images: Vec<ImageRecord>,
    /// The digests recorded by `publish` (empty before).
    pub digests: Vec<DigestRecord>,
}

impl ReleaseRecord {
    /// The tag message.
    pub fn to_message(&self) -> String {
        let mut text = format!("{}\n\n", self.title);
        if !self.changelog.is_empty() {
            text.push_str(&self.changelog.join("\n"));
            text.push_str("\n\n");
        }
        text.push_str("Images:\n");
        for image in &self.images {
            text.push_str(&format!(
                "  {} {} {}\n",
                image.service, image.reference, image.image_id
            ));
        }
        if !self.digests.is_empty() {
            text.push_str("Digests:\n");
            for digest in &self.digests {
                text.push_str(&format!("  {} {}\n", digest.service, digest.pinned));
            }
        }
        text
    }

    /// Read a tag message written by [`ReleaseRecord::to_message`]; unknown lines are ignored
    /// (a tag someone edited by hand still yields what it can).
    pub fn parse(message: &str) -> ReleaseRecord {
        let mut record = ReleaseRecord::default();
        let mut section = "";
        for (index, line) in message.lines().enumerate() {
            if index == 0 {
                record.title = line.to_owned();
                continue;
            }
            match line.trim_end() {
                "Images:" => section = "images",
                "Digests:" => section = "digests",
                l if l.starts_with("* ") && section.is_empty() => {
                    record.changelog.push(l.to_owned())
                }
                l if l.starts_with("  ") => {
                    let fields: Vec<&str> = l.split_whitespace().collect();
                    match (section, fields.as_slice()) {
                        ("images", [service, reference, id]) => record.images.push(ImageRecord {
                            service: (*service).to_owned(),
                            reference: (*reference).to_owned(),
                            image_id: (*id).to_owned(),
                        }),
                        ("digests", [service, pinned]) => record.digests.push(DigestRecord {
                            service: (*service).to_owned(),
                            pinned: (*pinned).to_owned(),
                        }),
                        _ => {}
                    }
                }
                _ => {}
            }
        }
        record
    }

    /// The pinned reference of `service`, if published.
    pub fn digest_of(&self, service: &str) -> Option<&str> {
        self.digests
            .iter()
            .find(|d| d.service == service)
            .map(|d| d.pinned.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> ReleaseRecord {
        ReleaseRecord {
            title: "Release v1.2.3".into(),
            changelog: vec!["* Fix login - @Ada".into(), "* Bump deps - @Bob".into()],
            images: vec![ImageRecord {
                service: "app".into(),
                reference: "localhost:5000/demo:1.2.3".into(),
                image_id: "sha256:abc".into(),
            }],
            digests: vec![DigestRecord {
                service: "app".into(),
                pinned: "localhost:5000/demo@sha256:def".into(),
            }],
        }
    }

    #[test]
    fn round_trips_through_the_tag_message() {
        let record = sample();
        assert_eq!(ReleaseRecord::parse(&record.to_message()), record);
        let unpublished = ReleaseRecord {
            digests: vec![],
            ..sample()
        };
        let message = unpublished.to_message();
        assert!(!message.contains("Digests:"));
        assert_eq!(ReleaseRecord::parse(&message), unpublished);
    }

    #[test]
    fn digest_lookup() {
        assert_eq!(
            sample().digest_of("app"),
            Some("localhost:5000/demo@sha256:def")
        );
        assert_eq!(sample().digest_of("proxy"), None);
    }
}
