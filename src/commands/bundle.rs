//! `stevedore bundle <env> <version> [-o FILE]`: the exact source bundle `deploy` uploads.
//!
//! The steps are shared with `deploy` ([`crate::bundle::prepare`]).

use serde_json::json;

use super::Context;
use crate::bundle::pins;
use crate::bundle::prepare::{self, BundleOptions};
use crate::cli::BundleArgs;
use crate::output::Report;

/// Run `bundle`.
pub async fn run(ctx: &Context, args: BundleArgs) -> anyhow::Result<Report> {
    let emit = |event| ctx.printer.emit(event);
    let loaded = ctx.settings(Some(&args.env))?;
    let mut prepared = prepare::prepare(
        &loaded,
        &BundleOptions {
            env: &args.env,
            version: &args.version,
            allow_unpinned: args.allow_unpinned,
            allow_lossy: args.allow_lossy,
        },
        &emit,
    )?;
    prepare::pin_third_party(&loaded, &mut prepared, !args.no_pin_third_party, &emit).await?;
    let application = prepared
        .settings
        .application
        .get()
        .unwrap_or_else(|| prepared.scope.project.default_name());
    let out = match &args.output {
        Some(path) => ctx.start_dir.join(path),
        None => ctx.start_dir.join(format!(
            "{application}-{}-{}.zip",
            prepared.scope.env_name, prepared.version
        )),
    };
    let built = prepare::write(&prepared, &out, &args.allow_secrets, &emit)?;
    let images: Vec<_> = prepared
        .pins
        .iter()
        .map(|(service, pin)| json!({"service": service, "image": pin.reference, "pinned": pin.pinned}))
        .collect();
    let text = format!(
        "Bundle {} ({} bytes, sha256 {}): {} member(s), {} from the project; run file{} {} ({}); images {}",
        out.display(),
        built.size,
        &built.sha256[..12.min(built.sha256.len())],
        built.members.len(),
        built.from_tree,
        if prepared.run.files.len() == 1 {
            ""
        } else {
            "s"
        },
        prepared
            .run
            .files
            .iter()
            .map(|f| f.name.as_str())
            .collect::<Vec<_>>()
            .join(" + "),
        prepared.format,
        pins::pinning_text(&prepared.run.files)
    );
    Ok(Report::ok(
        json!({
            "environment": prepared.scope.env_name,
            "version": prepared.version.to_string(),
            "commit": prepared.commit,
            "path": out,
            "sha256": built.sha256,
            "size": built.size,
            "format": prepared.format,
            "run_files": prepared.run.files.iter().map(|f| f.name.clone()).collect::<Vec<_>>(),
            "members": built.members,
            "from_tree": built.from_tree,
            "images": images,
            "third_party": prepared.pins.third_party().collect::<Vec<_>>(),
            "unpinned": pins::unpinned_images(&prepared.run.files),
            "pinned": pins::unpinned_images(&prepared.run.files).is_empty(),
            "stats": built.stats,
            "warnings": built.warnings,
        }),
        text,
    ))
}
