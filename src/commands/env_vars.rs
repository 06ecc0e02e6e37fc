//! `stevedore env <env> [list [--show] | set NAME=VALUE… [--plain] | unset NAME…]`: the
//! Elastic Beanstalk environment's variables (see [`crate::aws::env_vars`]). Values are masked
//! unless `--show`; values that look like secrets are refused unless `--plain`, and secret or
//! parameter ARNs become references EB resolves on the instance. A change is one configuration
//! update, followed until the environment is Ready again (`--no-wait`: until EB accepted it).

use std::time::Instant;

use serde_json::json;

use super::Context;
use crate::aws::env_vars::{self, Changes, EnvVar, Kind};
use crate::cli::{EnvVarsAction, EnvVarsArgs};
use crate::eb::EbTarget;
use crate::eb::operation::{self, Sent, Until};
use crate::output::{Event, Report};

/// Run `env`.
pub async fn run(ctx: &Context, args: EnvVarsArgs) -> anyhow::Result<Report> {
    let started = Instant::now();
    let scope = ctx.eb_target(&args.env).await?;
    let eb = &scope.clients.eb;
    let current = env_vars::list(eb, &scope.application, &scope.eb_environment).await?;
    let (intent, timeout) = match args.action.unwrap_or(EnvVarsAction::List { show: false }) {
        EnvVarsAction::List { show } => return Ok(listing(&scope, &current, show)),
        EnvVarsAction::Set {
            assignments,
            plain,
            timeout,
        } => {
            let mut wanted = Vec::new();
            for text in &assignments {
                let (name, value) = env_vars::parse_assignment(text)?;
                wanted.push(env_vars::classify(&name, &value, plain)?);
            }
            (Intent::Set(wanted), timeout)
        }
        EnvVarsAction::Unset { names, timeout } => (Intent::Unset(names), timeout),
    };
    let (changes, unknown) = intent.plan(&current);
    if !unknown.is_empty() {
        ctx.printer.emit(Event::warning(format!(
            "{} has no variable {}",
            scope.eb_environment,
            unknown.join(", ")
        )));
    }
    let deadline = started + scope.timeout(timeout.as_deref())?;
    if changes.is_empty() {
        return Ok(unchanged(&scope));
    }
    let emit = |e| ctx.printer.emit(e);
    let root = ctx.settings(Some(&args.env))?.project.root.clone();
    let work = change(ctx, &scope, &intent, deadline);
    scope
        .locked("env", &root, !ctx.global.no_wait, deadline, &emit, work)
        .await
}

/// What `set` or `unset` asks for; planned against the variables EB holds.
enum Intent {
    Set(Vec<EnvVar>),
    Unset(Vec<String>),
}

impl Intent {
    /// The changes, and the names to unset that `current` does not have.
    fn plan(&self, current: &[EnvVar]) -> (Changes, Vec<String>) {
        match self {
            Intent::Set(wanted) => (env_vars::plan_set(current, wanted), Vec::new()),
            Intent::Unset(names) => env_vars::plan_unset(current, names),
        }
    }
}

/// Plan `intent` again with the deploy lock held (another run may have changed the variables
/// while this one waited for the lock), write the changes and follow them to the end.
async fn change(
    ctx: &Context,
    scope: &EbTarget,
    intent: &Intent,
    deadline: Instant,
) -> anyhow::Result<Report> {
    let emit = |e| ctx.printer.emit(e);
    let eb = &scope.clients.eb;
    let state = scope.ready(deadline, &emit).await?;
    let current = env_vars::list(eb, &scope.application, &scope.eb_environment).await?;
    let (changes, _) = &intent.plan(&current);
    if changes.is_empty() {
        return Ok(unchanged(scope));
    }
    ctx.printer.emit(Event::step(format!(
        "Updating {}'s variables: {} (values are not shown)",
        state.name,
        summary(changes)
    )));
    let since_ms = operation::events_start_ms();
    let request_id = env_vars::apply(eb, &scope.eb_environment, changes).await?;
    let data = json!({
        "environment": scope.env_name,
        "eb_environment": scope.eb_environment,
        "changed": true,
        "set": changes.set.iter().map(|v| json!({"name": v.name, "kind": v.kind})).collect::<Vec<_>>(),
        "removed": changes.remove.iter().map(|(kind, name)| json!({"name": name, "kind": kind})).collect::<Vec<_>>(),
        "request_id": request_id,
        "waited": !ctx.global.no_wait,
    });
    let what = format!("the variables update of {}", scope.eb_environment);
    let sent = Sent::of(request_id, since_ms);
    let no_wait = ctx.global.no_wait;
    let state = scope
        .settle(&sent, Until::Ready, &what, no_wait, deadline, &emit)
        .await?;
    let text = match state {
        Some(s) => format!("Updated {}'s variables (health {})", s.name, s.health),
        None => format!("Accepted: {} is applying the change", scope.eb_environment),
    };
    Ok(Report::ok(data, text))
}

/// The report when EB already holds what was asked.
fn unchanged(scope: &EbTarget) -> Report {
    Report::ok(
        json!({"environment": scope.env_name, "eb_environment": scope.eb_environment, "changed": false}),
        format!(
            "Unchanged: {} already has these variables",
            scope.eb_environment
        ),
    )
}

/// `A, B (reference); removing C`.
fn summary(changes: &Changes) -> String {
    let set: Vec<String> = changes
        .set
        .iter()
        .map(|v| match v.kind {
            Kind::Plain => v.name.clone(),
            Kind::Reference => format!("{} (reference)", v.name),
        })
        .collect();
    let removed: Vec<&str> = changes
        .remove
        .iter()
        .filter(|(_, name)| !changes.set.iter().any(|v| &v.name == name))
        .map(|(_, name)| name.as_str())
        .collect();
    match (set.is_empty(), removed.is_empty()) {
        (false, true) => format!("setting {}", set.join(", ")),
        (true, false) => format!("removing {}", removed.join(", ")),
        _ => format!(
            "setting {}; removing {}",
            set.join(", "),
            removed.join(", ")
        ),
    }
}

/// The table (and JSON) of variables; plain values masked unless `show`. References are ARNs,
/// not secrets, so they are always shown.
fn listing(scope: &EbTarget, vars: &[EnvVar], show: bool) -> Report {
    let shown = |v: &EnvVar| match v.kind {
        Kind::Plain if !show => env_vars::mask(&v.value),
        _ => v.value.clone(),
    };
    let mut text = format!("{} ({})\n", scope.eb_environment, scope.application);
    if vars.is_empty() {
        text.push_str("No variables.\n");
    } else {
        let width = vars.iter().map(|v| v.name.len()).max().unwrap_or(4).max(4);
        text.push_str(&format!("{:<width$}  {:<9}  VALUE\n", "NAME", "KIND"));
        for v in vars {
            let kind = match v.kind {
                Kind::Plain => "plain",
                Kind::Reference => "reference",
            };
            text.push_str(&format!("{:<width$}  {kind:<9}  {}\n", v.name, shown(v)));
        }
        if !show {
            text.push_str("(values masked; --show prints them)\n");
        }
    }
    let entries: Vec<serde_json::Value> = vars
        .iter()
        .map(|v| json!({"name": v.name, "kind": v.kind, "value": shown(v)}))
        .collect();
    Report::ok(
        json!({
            "environment": scope.env_name,
            "eb_environment": scope.eb_environment,
            "masked": !show,
            "variables": entries,
        }),
        text,
    )
}
