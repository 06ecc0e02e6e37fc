//! `stevedore doctor`: is this machine and project ready? Each check ([`crate::doctor`])
//! prints pass, warn or fail with a fix; only failures make the exit status non-zero.

use serde_json::json;

use super::Context;
use crate::doctor::*;
use crate::exit::ExitStatus;
use crate::git::Git;
use crate::output::{CheckStatus, Event, Report};
use crate::project::Project;

/// Run every check, print each as it completes, and summarise.
pub async fn run(ctx: &Context) -> anyhow::Result<Report> {
    let mut checks = Vec::new();
    let mut record = |check: Check| {
        ctx.printer.emit(Event::Check {
            name: check.name.to_owned(),
            status: check.status,
            detail: check.detail.clone(),
            fix: check.fix.clone(),
        });
        checks.push(check);
    };
    record(check_docker().await);
    let project = Project::discover(&ctx.start_dir);
    let git_dir = project
        .as_ref()
        .map(|p| p.root.clone())
        .unwrap_or_else(|_| ctx.start_dir.clone());
    let git = Git::new(&git_dir);
    record(check_git(&git));
    match project {
        Err(err) => record(Check::fail(
            "project",
            ExitStatus::InvalidInput,
            err.to_string(),
            "run doctor inside a stevedore project or pass -C <dir>",
        )),
        Ok(project) => {
            let (check, settings) = check_project(&project, ctx.settings(None));
            record(check);
            record(check_builder(project.config.image.builder).await);
            let (env_checks, repositories) =
                check_environments(&project, |env| ctx.settings(Some(env)));
            for check in env_checks {
                record(check);
            }
            record(check_dockerignore(&project.root));
            record(check_ebignore(&project.root));
            if let Some(settings) = settings {
                record(check_aws(&settings));
                record(check_registry(&repositories).await);
            }
        }
    }
    Ok(summarise(&checks))
}

fn summarise(checks: &[Check]) -> Report {
    let failed: Vec<&Check> = checks
        .iter()
        .filter(|c| c.status == CheckStatus::Fail)
        .collect();
    let warned = checks
        .iter()
        .filter(|c| c.status == CheckStatus::Warn)
        .count();
    let status = failed.first().map(|c| c.failure).unwrap_or(ExitStatus::Ok);
    let text = format!(
        "{} checks: {} passed, {} warned, {} failed",
        checks.len(),
        checks.len() - failed.len() - warned,
        warned,
        failed.len()
    );
    let data = json!({
        "checks": checks.iter().map(|c| json!({
            "name": c.name,
            "status": c.status,
            "detail": c.detail,
            "fix": c.fix,
        })).collect::<Vec<_>>(),
        "passed": checks.len() - failed.len() - warned,
        "warned": warned,
        "failed": failed.len(),
    });
    Report { data, text, status }
}
