//! Keeping image builds inside a deadline. A Docker Engine that answers a build's headers and
//! then stalls (or never answers `/build` at all) used to hold `image build` forever; every
//! build now runs under `--timeout` (default [`DEFAULT_BUILD_TIMEOUT`]). When the deadline
//! cuts a build, the connection is dropped (the Engine cancels the build), and the error says
//! exactly what the Engine holds for the tag, as far as it still answers.

use std::time::Duration;

use bollard::Docker;

use crate::engine::images;
use crate::exit::{CommandError, ExitStatus};

/// The deadline of a build when none is given: longer than any honest build of a web app,
/// short enough that a stalled CI job ends the same day.
pub const DEFAULT_BUILD_TIMEOUT: Duration = Duration::from_secs(60 * 60);

/// How long the check of the tag after a cut may take: the Engine is probably stalled.
const CHECK_WITHIN: Duration = Duration::from_secs(3);

/// The build of one service that the deadline cut.
pub struct CutBuild<'a> {
    /// The service whose build was cut.
    pub service: &'a str,
    /// The tag it was building.
    pub tag: &'a str,
    /// What the tag named before the build (`None`: nothing, or not known).
    pub tag_before: Option<&'a str>,
    /// The services built before it in this run.
    pub built_before: &'a [String],
    /// The deadline's length.
    pub timeout: Duration,
}

/// What the Engine says of the tag now, briefly.
pub async fn tag_now(docker: &Docker, tag: &str) -> Option<Option<String>> {
    tokio::time::timeout(CHECK_WITHIN, images::image_id(docker, tag))
        .await
        .ok()
        .and_then(Result::ok)
}

/// The error for a cut build; `now` is [`tag_now`]'s answer.
pub fn timed_out(cut: &CutBuild<'_>, now: Option<Option<String>>, host: &str) -> CommandError {
    let tag = cut.tag;
    let state = match now {
        Some(Some(id)) if Some(id.as_str()) != cut.tag_before => format!(
            "the Engine finished that build after all: {tag} now names {}",
            super::short_id(&id)
        ),
        Some(Some(_)) => {
            format!("{tag} was not changed (it still names the image it named before)")
        }
        Some(None) => format!("{tag} was not tagged"),
        None => format!(
            "the Engine does not answer a question about {tag} either, so whether it was tagged \
             cannot be told"
        ),
    };
    let before = if cut.built_before.is_empty() {
        String::new()
    } else {
        format!("; built before it: {}", cut.built_before.join(", "))
    };
    CommandError::new(
        ExitStatus::TimedOut,
        format!(
            "image build stopped at its deadline ({}) while building `{}`: the Docker Engine at \
             {host} did not finish in time. Either it is stalled (it accepts connections but does \
             not answer: restart it, or choose another with --context or DOCKER_HOST) or the \
             build needs longer (raise --timeout); {state}{before}",
            crate::compose::format_duration(cut.timeout),
            cut.service,
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cut<'a>(before: Option<&'a str>, built: &'a [String]) -> CutBuild<'a> {
        CutBuild {
            service: "app",
            tag: "demo-app:prod",
            tag_before: before,
            built_before: built,
            timeout: Duration::from_secs(5),
        }
    }

    #[test]
    fn the_error_says_what_the_tag_names_now() {
        let none: [String; 0] = [];
        let text = |before, now| timed_out(&cut(before, &none), now, "tcp://h:1").to_string();
        let untouched = text(None, Some(None));
        assert!(
            untouched.starts_with(
                "image build stopped at its deadline (5s) while building `app`: the Docker \
                 Engine at tcp://h:1"
            ),
            "{untouched}"
        );
        assert!(
            untouched.contains("demo-app:prod was not tagged"),
            "{untouched}"
        );
        let finished = text(
            Some("sha256:aaa"),
            Some(Some("sha256:0123456789abcdef".into())),
        );
        assert!(finished.contains("now names 0123456789ab"), "{finished}");
        let same = text(Some("sha256:aaa"), Some(Some("sha256:aaa".into())));
        assert!(same.contains("was not changed"), "{same}");
        let silent = text(None, None);
        assert!(silent.contains("cannot be told"), "{silent}");
        let built = ["db".to_owned(), "worker".to_owned()];
        let err = timed_out(&cut(None, &built), Some(None), "h");
        assert_eq!(err.status, ExitStatus::TimedOut);
        assert!(err.to_string().ends_with("; built before it: db, worker"));
    }
}
