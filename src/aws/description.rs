//! The application version's description: the join between an Elastic Beanstalk version and
//! what it is made of (commit, image digests, bundle hash, who made it). EB keeps at most 200
//! characters, so it is terse: `stevedore commit=… bundle=… by=… app@… proxy@…`, hashes cut to
//! 12 hex digits (the S3 key holds the same bundle prefix; the bundle holds full digests).

/// Everything a version's description records.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct VersionDescription {
    /// The release commit (12 hex digits).
    pub commit: String,
    /// The bundle's sha256 (12 hex digits).
    pub bundle: String,
    /// Who created the version.
    pub actor: String,
    /// `(service, digest prefix)`: the first 12 hex digits of each pinned image's digest.
    pub images: Vec<(String, String)>,
}

/// EB's limit on a description.
pub const MAX_LEN: usize = 200;
const MARK: &str = "stevedore";

/// The first 12 characters of `text` after an optional `sha256:`.
pub fn short(text: &str) -> String {
    let text = text.strip_prefix("sha256:").unwrap_or(text);
    text.chars().take(12).collect()
}

impl VersionDescription {
    /// The description text, at most [`MAX_LEN`] characters (images that do not fit are
    /// counted as `+N`).
    pub fn render(&self) -> String {
        let actor: String = self
            .actor
            .chars()
            .map(|c| if c.is_whitespace() { '_' } else { c })
            .take(40)
            .collect();
        let mut text = format!(
            "{MARK} commit={} bundle={} by={actor}",
            short(&self.commit),
            short(&self.bundle)
        );
        for (index, (service, digest)) in self.images.iter().enumerate() {
            let item = format!(" {service}@{}", short(digest));
            let rest = self.images.len() - index;
            // Leave room for the `+N` marker unless this is the last image.
            let reserve = if rest > 1 { 5 } else { 0 };
            if text.len() + item.len() + reserve > MAX_LEN {
                text.push_str(&format!(" +{rest}"));
                break;
            }
            text.push_str(&item);
        }
        text.chars().take(MAX_LEN).collect()
    }

    /// Read a description written by [`VersionDescription::render`]; `None` for any other text.
    pub fn parse(text: &str) -> Option<VersionDescription> {
        let mut words = text.split_whitespace();
        if words.next() != Some(MARK) {
            return None;
        }
        let mut out = VersionDescription::default();
        for word in words {
            if let Some((key, value)) = word.split_once('=') {
                match key {
                    "commit" => out.commit = value.to_owned(),
                    "bundle" => out.bundle = value.to_owned(),
                    "by" => out.actor = value.to_owned(),
                    _ => {}
                }
            } else if let Some((service, digest)) = word.split_once('@') {
                out.images.push((service.to_owned(), digest.to_owned()));
            }
        }
        Some(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(images: usize) -> VersionDescription {
        VersionDescription {
            commit: "0123456789abcdef0123".into(),
            bundle: "fedcba9876543210".into(),
            actor: "Ada Lovelace".into(),
            images: (0..images)
                .map(|i| (format!("service{i}"), format!("sha256:{}", "a".repeat(64))))
                .collect(),
        }
    }

    #[test]
    fn round_trip() {
        let text = sample(2).render();
        assert_eq!(
            text,
            "stevedore commit=0123456789ab bundle=fedcba987654 by=Ada_Lovelace service0@aaaaaaaaaaaa service1@aaaaaaaaaaaa"
        );
        let back = VersionDescription::parse(&text).expect("ours");
        assert_eq!(back.commit, "0123456789ab");
        assert_eq!(back.bundle, "fedcba987654");
        assert_eq!(back.actor, "Ada_Lovelace");
        assert_eq!(back.images.len(), 2);
        assert_eq!(VersionDescription::parse("EB-CLI deploy"), None);
    }

    #[test]
    fn never_over_the_limit() {
        for n in 0..20 {
            let text = sample(n).render();
            assert!(text.len() <= MAX_LEN, "{n}: {} chars", text.len());
            if n > 6 {
                assert!(text.contains(" +"), "{text}");
            }
        }
    }
}
