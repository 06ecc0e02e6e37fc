//! `stevedore prune <env> --keep N [--dry-run]`: delete the application's versions (and their
//! S3 bundles) beyond the N newest that no environment runs and no `rollback` would pick; and
//! `--lifecycle-max-count N | --lifecycle-max-age DAYS | --lifecycle-off` to hand the job to
//! Elastic Beanstalk's own version lifecycle policy instead.

use serde_json::json;

use super::Context;
use crate::aws::versions::{self, Deleted, LifecycleRule};
use crate::cli::PruneArgs;
use crate::eb::versions as inventory;
use crate::output::{Event, Report};

/// Run `prune`.
pub async fn run(ctx: &Context, args: PruneArgs) -> anyhow::Result<Report> {
    let scope = ctx.eb_target(&args.env).await?;
    let eb = &scope.clients.eb;
    let rule = match (
        args.lifecycle_max_count,
        args.lifecycle_max_age,
        args.lifecycle_off,
    ) {
        (Some(n), _, _) => Some(LifecycleRule::MaxCount(n.min(i32::MAX as u32) as i32)),
        (_, Some(days), _) => Some(LifecycleRule::MaxAgeDays(days.min(i32::MAX as u32) as i32)),
        (_, _, true) => Some(LifecycleRule::Off),
        _ => None,
    };
    let mut data = json!({"environment": scope.env_name, "application": scope.application});
    let mut text = String::new();
    if let Some(rule) = &rule {
        versions::set_lifecycle(eb, &scope.application, rule, args.service_role.as_deref()).await?;
        let said = match rule {
            LifecycleRule::MaxCount(n) => format!("keeps at most {n} versions"),
            LifecycleRule::MaxAgeDays(d) => format!("deletes versions older than {d} days"),
            LifecycleRule::Off => "no longer deletes versions".to_owned(),
        };
        text.push_str(&format!(
            "Elastic Beanstalk now {said} of {} (their S3 bundles too)\n",
            scope.application
        ));
        data["lifecycle"] = json!(rule);
    }
    let Some(keep) = args.keep else {
        return Ok(Report::ok(data, text));
    };
    let inventory = inventory::inventory(eb, &scope.application).await?;
    let verdicts = inventory::plan(&inventory.rows, keep);
    for verdict in &verdicts {
        ctx.printer.emit(Event::info(format!(
            "{:<14} {}  ({})",
            verdict.label,
            if verdict.delete { "delete" } else { "keep  " },
            verdict.reason
        )));
    }
    let doomed: Vec<&str> = verdicts
        .iter()
        .filter(|v| v.delete)
        .map(|v| v.label.as_str())
        .collect();
    let mut deleted = Vec::new();
    if !args.dry_run {
        for label in &doomed {
            match versions::delete(eb, &scope.application, label).await? {
                Deleted::WithBundle => {}
                Deleted::BundleKept(why) => ctx.printer.emit(Event::warning(format!(
                    "version {label} is deleted but its S3 bundle is not: {why}"
                ))),
            }
            deleted.push(*label);
        }
    }
    data["verdicts"] = json!(verdicts);
    data["deleted"] = json!(deleted);
    data["dry_run"] = json!(args.dry_run);
    text.push_str(&match (args.dry_run, doomed.len()) {
        (_, 0) => format!("Nothing to prune in {}", scope.application),
        (true, n) => format!(
            "Would delete {n} version(s) of {}: {} (dry run)",
            scope.application,
            doomed.join(", ")
        ),
        (false, n) => format!(
            "Deleted {n} version(s) of {} and their bundles: {}",
            scope.application,
            doomed.join(", ")
        ),
    });
    Ok(Report::ok(data, text))
}
