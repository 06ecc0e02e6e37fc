//! `stevedore publish <env> <version>`: push the released images, record their digests in
//! the release tag, push the release branch and tag (see [`crate::release::publish`]).

use serde_json::json;

use super::Context;
use crate::cli::VersionArgs;
use crate::engine;
use crate::output::Report;
use crate::release::publish::{self, PublishTarget};
use crate::release::{ReleaseScope, ReleaseVersion};

/// Run `publish`.
pub async fn run(ctx: &Context, args: VersionArgs) -> anyhow::Result<Report> {
    let version = ReleaseVersion::parse(&args.version)?;
    let loaded = ctx.settings(Some(&args.env))?;
    let scope = ReleaseScope::load(&loaded, &args.env)?;
    let target = PublishTarget {
        remote: loaded.typed().git_remote.clone(),
        aws_profile: loaded.settings().profile.get(),
    };
    let docker = engine::connect().await?;
    let emit = |event| ctx.printer.emit(event);
    let published = publish::publish(&docker, &scope, &version, &target, &emit).await?;
    let text = published
        .digests
        .iter()
        .map(|d| format!("{} {}", d.service, d.pinned))
        .collect::<Vec<_>>()
        .join("\n");
    Ok(Report::ok(
        json!({
            "environment": scope.env_name,
            "version": version.to_string(),
            "tag": version.git_tag(),
            "commit": published.commit,
            "remote": target.remote,
            "branch": published.branch,
            "digests": published.digests,
            "pushed": published.pushed,
        }),
        text,
    ))
}
