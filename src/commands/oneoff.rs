//! `run <env> [service] -- cmd…` and `shell <env> [service]`: a one-off container of a
//! service, removed afterwards; a TTY when stdin and stdout are terminals; the command's exit
//! code becomes stevedore's (see [`crate::lifecycle::oneoff`]).

use super::Context;
use crate::cli::{OneOffArgs, RunArgs, ShellArgs};
use crate::lifecycle::oneoff::{Overrides, Request};
use crate::output::Report;

/// Run `run`.
pub async fn run(ctx: &Context, args: RunArgs) -> anyhow::Result<Report> {
    let request = request(args.service, args.cmd, None, &args.container);
    ctx.run_oneoff(&args.env, &args.compose, request).await
}

/// Run `shell`.
pub async fn shell(ctx: &Context, args: ShellArgs) -> anyhow::Result<Report> {
    let banner = Some("Opening a shell in a one-off container...".to_owned());
    let request = request(
        args.service,
        vec!["sh".to_owned()],
        banner,
        &Default::default(),
    );
    ctx.run_oneoff(&args.env, &args.compose, request).await
}

fn request(
    service: Option<String>,
    cmd: Vec<String>,
    banner: Option<String>,
    container: &OneOffArgs,
) -> Request {
    Request {
        service,
        cmd,
        banner,
        overrides: Overrides {
            set_env: container.set_env.clone(),
            workdir: container.workdir.clone(),
            user: container.user.clone(),
        },
        no_tty: container.no_tty,
    }
}
