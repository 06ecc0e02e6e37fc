//! `stevedore lock status|acquire|release <env>`: the deploy lock ([`crate::aws::deploy_lock`])
//! by hand, as Kamal's `lock` does: hold off deploys while something is investigated or
//! migrated, see who holds it, give it back.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use serde_json::json;

use super::Context;
use crate::aws::deploy_lock::{self, Identity, LockState, LockTarget, Request};
use crate::cli::{LockAcquireArgs, LockAction, LockReleaseArgs};
use crate::exit::{CommandError, ExitStatus};
use crate::output::{Event, Report};

/// The lock of `env` and the project root (git's user names the holder).
async fn lock_target(ctx: &Context, env: &str) -> anyhow::Result<(LockTarget, PathBuf)> {
    let scope = ctx.eb_target(env).await?;
    let target = crate::eb::lock::location(&scope).await?;
    Ok((target, ctx.settings(Some(env))?.project.root.clone()))
}

/// Run `lock`.
pub async fn run(ctx: &Context, action: LockAction) -> anyhow::Result<Report> {
    match action {
        LockAction::Status(args) => status(ctx, &args.env).await,
        LockAction::Acquire(args) => acquire(ctx, args).await,
        LockAction::Release(args) => release(ctx, args).await,
    }
}

async fn status(ctx: &Context, env: &str) -> anyhow::Result<Report> {
    let (target, _) = lock_target(ctx, env).await?;
    let state = deploy_lock::status(&target).await?;
    let (holder, text) = match &state {
        LockState::Free => (None, format!("{env} is not locked")),
        LockState::Held { holder, .. } => {
            let expired = if holder.expired(deploy_lock::now_ms()) {
                " (expired: the next deploy breaks it)"
            } else {
                ""
            };
            (
                Some(holder.clone()),
                format!("{env} is locked by {}{expired}", holder.describe()),
            )
        }
    };
    Ok(Report::ok(
        json!({
            "environment": env,
            "locked": holder.is_some(),
            "holder": holder,
            "bucket": target.bucket,
            "key": target.key,
        }),
        text,
    ))
}

async fn acquire(ctx: &Context, args: LockAcquireArgs) -> anyhow::Result<Report> {
    let ttl = crate::compose::parse_duration(&args.duration)
        .ok()
        .filter(|d| !d.is_zero())
        .ok_or_else(|| {
            CommandError::new(
                ExitStatus::InvalidInput,
                format!(
                    "--for `{}`: write a duration like 30m, 2h or 1h30m",
                    args.duration
                ),
            )
        })?;
    let (target, root) = lock_target(ctx, &args.env).await?;
    let request = Request {
        identity: Identity::current(deploy_lock::actor(&root)),
        command: "lock acquire".into(),
        message: Some(args.message),
        commit: None,
        version: None,
        ttl,
        // Taking the lock by hand never queues behind a deploy: it says who has it.
        wait: false,
        deadline: Instant::now() + Duration::from_secs(0),
    };
    let printer = ctx.printer.clone();
    let lock = deploy_lock::acquire(&target, &request, &|e| printer.emit(e)).await?;
    let holder = lock.keep();
    ctx.printer.emit(Event::success(format!(
        "locked {} until {}",
        args.env, holder.expires_at
    )));
    Ok(Report::ok(
        json!({"environment": args.env, "locked": true, "holder": holder}),
        format!(
            "{} is locked by {}; `stevedore lock release {}` gives it back",
            args.env,
            holder.describe(),
            args.env
        ),
    ))
}

async fn release(ctx: &Context, args: LockReleaseArgs) -> anyhow::Result<Report> {
    let (target, root) = lock_target(ctx, &args.env).await?;
    let me = Identity::current(deploy_lock::actor(&root));
    let printer = ctx.printer.clone();
    let released = deploy_lock::release(&target, &me, args.force, &|e| printer.emit(e)).await?;
    let text = match &released {
        Some(holder) => format!("released the lock of {} ({})", args.env, holder.describe()),
        None => format!("{} was not locked", args.env),
    };
    Ok(Report::ok(
        json!({"environment": args.env, "released": released}),
        text,
    ))
}
