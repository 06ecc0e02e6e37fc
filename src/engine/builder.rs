//! Which builder a build uses: BuildKit (the default when the daemon offers it) or the classic
//! one, chosen by `--builder`, `STEVEDORE_BUILDER`, `[image] builder`, and `DOCKER_BUILDKIT=0`.

use std::path::Path;

use bytes::Bytes;

/// The builder asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BuilderChoice {
    /// BuildKit when the daemon offers it, else classic.
    #[default]
    Auto,
    /// BuildKit, failing when the daemon lacks it.
    Buildkit,
    /// The classic builder.
    Classic,
}

impl std::str::FromStr for BuilderChoice {
    type Err = String;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        match value.trim().to_ascii_lowercase().as_str() {
            "auto" | "" => Ok(Self::Auto),
            "buildkit" => Ok(Self::Buildkit),
            "classic" | "legacy" => Ok(Self::Classic),
            other => Err(format!(
                "unknown builder {other:?}: use auto, buildkit or classic"
            )),
        }
    }
}

impl BuilderChoice {
    /// The builder in effect: the `--builder` flag, else `STEVEDORE_BUILDER`, else
    /// `DOCKER_BUILDKIT` (`0` → classic, `1` → buildkit, as Docker users expect), else
    /// `[image] builder` from stevedore.toml, else `auto`.
    pub fn resolve(flag: Option<BuilderChoice>, config: Option<BuilderChoice>) -> BuilderChoice {
        if let Some(choice) = flag.filter(|c| *c != BuilderChoice::Auto) {
            return choice;
        }
        if let Ok(value) = std::env::var("STEVEDORE_BUILDER")
            && let Ok(choice) = value.parse::<BuilderChoice>()
            && choice != BuilderChoice::Auto
        {
            return choice;
        }
        match std::env::var("DOCKER_BUILDKIT")
            .ok()
            .as_deref()
            .map(str::trim)
        {
            Some("0" | "false") => BuilderChoice::Classic,
            Some("1" | "true") => BuilderChoice::Buildkit,
            _ => config.unwrap_or_default(),
        }
    }
}

/// Whether the daemon at `socket` offers BuildKit, from its `/_ping` headers.
pub async fn daemon_offers_buildkit(socket: &Path) -> bool {
    let Ok(stream) = tokio::net::UnixStream::connect(socket).await else {
        return false;
    };
    let Ok((mut sender, connection)) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream)).await
    else {
        return false;
    };
    let driver = tokio::spawn(connection);
    let Ok(request) = http::Request::get("/_ping")
        .header("Host", "docker")
        .body(http_body_util::Empty::<Bytes>::new())
    else {
        return false;
    };
    let offered = match sender.send_request(request).await {
        Ok(response) => {
            let header = |name: &str| {
                response
                    .headers()
                    .get(name)
                    .and_then(|v| v.to_str().ok())
                    .map(|v| v.trim().to_ascii_lowercase())
            };
            // An explicit `1` is a daemon configured (or built, as on Windows) for the classic
            // builder only; no header at all is what Linux daemons before 23.0 send, and they
            // serve BuildKit on `/build?version=2` all the same.
            match header("Builder-Version").as_deref() {
                Some("2") => true,
                Some(_) => false,
                None => header("Ostype").as_deref() == Some("linux"),
            }
        }
        Err(_) => false,
    };
    driver.abort();
    offered
}

/// What `doctor` says about the builder: (BuildKit is usable or not asked for, one line).
pub async fn describe(choice: BuilderChoice) -> (bool, String) {
    let offered = match super::buildkit::daemon_socket() {
        Some(socket) => daemon_offers_buildkit(&socket).await,
        None => false,
    };
    match (choice, offered) {
        (BuilderChoice::Classic, _) => (true, "classic builder (chosen)".to_owned()),
        (BuilderChoice::Auto, true) => (true, "BuildKit (auto: the daemon offers it)".to_owned()),
        (BuilderChoice::Auto, false) => (
            true,
            "classic builder (auto: the daemon does not offer BuildKit over a Unix socket)"
                .to_owned(),
        ),
        (BuilderChoice::Buildkit, true) => (true, "BuildKit (chosen)".to_owned()),
        (BuilderChoice::Buildkit, false) => (
            false,
            "BuildKit is chosen but the daemon does not offer it over a Unix socket".to_owned(),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_choices() {
        assert_eq!("BuildKit".parse(), Ok(BuilderChoice::Buildkit));
        assert_eq!("classic".parse(), Ok(BuilderChoice::Classic));
        assert!("fast".parse::<BuilderChoice>().is_err());
    }
}
