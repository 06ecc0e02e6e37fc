//! Release versions: SemVer 2.0 without build metadata (`+` is not allowed in image tags).

use std::fmt;

use crate::exit::{Coded, ExitStatus};

/// A version that can name a release: `1.2.3` or `1.2.3-rc.1`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReleaseVersion(semver::Version);

/// Why a version was refused.
#[derive(Debug, thiserror::Error)]
#[error(
    "`{input}` is not a release version: {reason}. Use SemVer 2.0 MAJOR.MINOR.PATCH with an \
     optional pre-release, e.g. 1.2.3 or 1.2.3-rc.1 (no `v` prefix: the git tag adds it; no \
     `+build` metadata: image tags cannot hold `+`)"
)]
pub struct VersionError {
    input: String,
    reason: String,
}

impl Coded for VersionError {
    fn exit_status(&self) -> ExitStatus {
        ExitStatus::InvalidInput
    }
}

impl ReleaseVersion {
    /// Parse and validate `text`.
    pub fn parse(text: &str) -> Result<Self, VersionError> {
        let refuse = |reason: &str| VersionError {
            input: text.to_owned(),
            reason: reason.to_owned(),
        };
        if text.starts_with(['v', 'V']) {
            return Err(refuse("it starts with `v`"));
        }
        let version = semver::Version::parse(text).map_err(|e| refuse(&e.to_string()))?;
        if !version.build.is_empty() {
            return Err(refuse("it carries build metadata"));
        }
        let tag_length = version.to_string().len();
        if tag_length > 128 {
            return Err(refuse(&format!(
                "as an image tag it would be {tag_length} characters; Docker allows 128"
            )));
        }
        Ok(ReleaseVersion(version))
    }

    /// `v1.2.3`.
    pub fn git_tag(&self) -> String {
        format!("v{}", self.0)
    }

    /// The image tag: the version itself.
    pub fn image_tag(&self) -> String {
        self.0.to_string()
    }

    /// `1.2`.
    pub fn major_minor(&self) -> String {
        format!("{}.{}", self.0.major, self.0.minor)
    }

    /// `release-v1.2`, the branch a minor release opens and its patches are cut on.
    pub fn release_branch(&self) -> String {
        format!("release-v{}", self.major_minor())
    }

    /// A patch release (`1.2.10` is one; `1.2.0` and `1.2.0-rc.1` are not).
    pub fn is_patch(&self) -> bool {
        self.0.patch > 0
    }
}

impl fmt::Display for ReleaseVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_image_tag_over_128_characters_is_refused() {
        let long = format!("1.0.0-{}", "a".repeat(123));
        assert!(ReleaseVersion::parse(&long).is_err_and(|e| e.to_string().contains("128")));
        assert!(ReleaseVersion::parse(&format!("1.0.0-{}", "a".repeat(122))).is_ok());
    }

    #[test]
    fn accepted_versions_and_what_they_name() {
        let table = [
            ("1.2.3", "v1.2.3", "release-v1.2", true),
            ("1.2.10", "v1.2.10", "release-v1.2", true),
            ("1.10.0", "v1.10.0", "release-v1.10", false),
            ("0.1.0", "v0.1.0", "release-v0.1", false),
            ("2.0.0-rc.1", "v2.0.0-rc.1", "release-v2.0", false),
            ("1.2.3-beta", "v1.2.3-beta", "release-v1.2", true),
        ];
        for (input, tag, branch, patch) in table {
            let v = ReleaseVersion::parse(input).unwrap_or_else(|e| panic!("{input}: {e}"));
            assert_eq!(v.git_tag(), tag);
            assert_eq!(v.release_branch(), branch);
            assert_eq!(v.is_patch(), patch, "{input}");
            assert_eq!(v.image_tag(), input);
        }
    }

    #[test]
    fn refused_versions() {
        for input in [
            "1.2",
            "1",
            "v1.2.3",
            "1.2.3+build.5",
            "1.2.3foo",
            "01.2.3",
            "1.2.3.4",
            "",
            "latest",
            "1.2.-3",
            " 1.2.3",
        ] {
            let err = ReleaseVersion::parse(input).expect_err(input);
            assert!(err.to_string().contains("SemVer"), "{input}: {err}");
            assert_eq!(err.exit_status(), ExitStatus::InvalidInput);
        }
    }
}
