//! `stevedore release <env> <version>`: tie one commit to the environment's images (see
//! [`crate::release::cut`]).

use serde_json::json;

use super::Context;
use crate::cli::VersionArgs;
use crate::engine;
use crate::output::Report;
use crate::release::cut::{self, Cut, short};
use crate::release::{ReleaseScope, ReleaseVersion};

/// Run `release`.
pub async fn run(ctx: &Context, args: VersionArgs) -> anyhow::Result<Report> {
    let version = ReleaseVersion::parse(&args.version)?;
    let scope = ReleaseScope::load(&*ctx.settings(Some(&args.env))?, &args.env)?;
    let docker = engine::connect().await?;
    let tag = version.git_tag();
    let emit = |event| ctx.printer.emit(event);
    match cut::cut(&docker, &scope, &version, &emit).await? {
        Cut::Unchanged { head } => Ok(Report::ok(
            json!({"environment": scope.env_name, "version": version.to_string(), "tag": tag, "commit": head, "unchanged": true}),
            format!("Release {tag} already done"),
        )),
        Cut::Released {
            record,
            head,
            branch,
        } => {
            let text = format!(
                "Release {tag} complete: commit {}, {}",
                short(&head),
                record
                    .images
                    .iter()
                    .map(|i| i.reference.clone())
                    .collect::<Vec<_>>()
                    .join(", ")
            );
            let report = json!({
                "environment": scope.env_name,
                "version": version.to_string(),
                "tag": tag,
                "commit": head,
                "branch": branch,
                "images": record.images,
            });
            Ok(Report::ok(report, text))
        }
    }
}
