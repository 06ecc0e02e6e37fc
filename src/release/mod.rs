//! Versions and the release record that ties one commit to one image digest.

pub mod cut;
pub mod publish;
pub mod record;
pub mod scope;
pub mod version;

pub use record::{DigestRecord, ImageRecord, ReleaseRecord};
pub use scope::{ReleaseScope, ServiceImage};
pub use version::{ReleaseVersion, VersionError};

/// The registry repository of `service`: the environment's repository for its primary service
/// (the one whose directory holds the compose file, as dockdj's `django`), `<repository>-<service>`
/// for the others.
pub fn service_repository(repository: &str, service: &str, primary: &str) -> String {
    if service == primary {
        repository.to_owned()
    } else {
        format!("{repository}-{service}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn primary_service_takes_the_repository() {
        assert_eq!(service_repository("acme/demo", "app", "app"), "acme/demo");
        assert_eq!(
            service_repository("acme/demo", "proxy", "app"),
            "acme/demo-proxy"
        );
    }
}
