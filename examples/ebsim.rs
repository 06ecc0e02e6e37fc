//! The test rig's Elastic Beanstalk emulator (and its S3 server) as a program for manual runs:
//! point the AWS CLI, `eb` or stevedore at it and watch a deploy run containers locally.
//!
//! ```sh
//! cargo run --example ebsim -- [--registry-auth HOST=USER:PASS]... [--health-path /health]
//!                              [--s3-endpoint URL] [--no-containers] [--step-ms N]
//!                              [--create APPLICATION/ENVIRONMENT [--stack SOLUTION_STACK]]
//! ```
//!
//! `--create` makes the application and the environment (default stack: the ECS platform that
//! reads Dockerrun v2) and waits until it is `Ready`, as an operator would once in the console.
//!
//! It prints the environment variables that point the SDKs at it, then serves until Ctrl-C, and
//! removes every container, network and pulled image it made on the way out. Knobs and state:
//! `curl -d 'fail_next_deploy=true' $EBSIM/_ebsim/knobs`, `curl $EBSIM/_ebsim/state`.

#[path = "../tests/support/ebsim/mod.rs"]
mod ebsim;
#[path = "../tests/support/s3.rs"]
mod s3;

use std::time::Duration;

use ebsim::{EbSim, EbSimOptions, RegistryCredentials, S3Access};

/// The platform `--create` uses unless `--stack` names another: ECS, which reads Dockerrun v2.
const DEFAULT_STACK: &str = "64bit Amazon Linux 2023 v4.4.0 running ECS";

fn usage() -> ! {
    eprintln!(
        "usage: cargo run --example ebsim -- [--registry-auth HOST=USER:PASS]... [--health-path PATH] \
         [--s3-endpoint URL] [--no-containers] [--step-ms N] \
         [--create APPLICATION/ENVIRONMENT [--stack SOLUTION_STACK]]"
    );
    std::process::exit(2)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut registry = Vec::new();
    let mut health_path = None;
    let mut s3_endpoint = None;
    let mut run_containers = true;
    let mut step_ms = None;
    let mut create = None;
    let mut stack = DEFAULT_STACK.to_owned();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--registry-auth" => {
                let value = args.next().unwrap_or_else(|| usage());
                let Some((host, (username, password))) = value
                    .split_once('=')
                    .and_then(|(h, up)| Some((h, up.split_once(':')?)))
                else {
                    usage()
                };
                registry.push(RegistryCredentials {
                    host: host.into(),
                    username: username.into(),
                    password: password.into(),
                });
            }
            "--health-path" => health_path = Some(args.next().unwrap_or_else(|| usage())),
            "--s3-endpoint" => s3_endpoint = Some(args.next().unwrap_or_else(|| usage())),
            "--no-containers" => run_containers = false,
            "--step-ms" => {
                step_ms = Some(
                    args.next()
                        .and_then(|v| v.parse().ok())
                        .unwrap_or_else(|| usage()),
                );
            }
            "--create" => {
                let value = args.next().unwrap_or_else(|| usage());
                let Some((app, env)) = value.split_once('/') else {
                    usage()
                };
                create = Some((app.to_owned(), env.to_owned()));
            }
            "--stack" => stack = args.next().unwrap_or_else(|| usage()),
            "-h" | "--help" => usage(),
            _ => usage(),
        }
    }

    // Our own S3 server unless one was given (it must accept the rig's test credentials).
    let server = match &s3_endpoint {
        Some(_) => None,
        None => Some(s3::S3Server::start()?),
    };
    let s3_url = s3_endpoint
        .or_else(|| server.as_ref().map(|s| s.endpoint_url()))
        .unwrap_or_default();
    let mut options = EbSimOptions::new(S3Access {
        endpoint_url: s3_url.clone(),
        access_key_id: s3::ACCESS_KEY_ID.into(),
        secret_access_key: s3::SECRET_ACCESS_KEY.into(),
    });
    options.registry_credentials = registry;
    options.run_containers = run_containers;
    if let Some(path) = health_path {
        options.health_path = path;
    }
    if let Some(ms) = step_ms {
        options.timings.step = Duration::from_millis(ms);
    }
    let region = options.region.clone();
    let sim = EbSim::start(options)?;

    println!(
        "# Elastic Beanstalk emulator {} (label {}={})",
        sim.endpoint_url(),
        ebsim::LABEL,
        sim.id()
    );
    println!(
        "export AWS_ENDPOINT_URL_ELASTIC_BEANSTALK={}",
        sim.endpoint_url()
    );
    println!("export AWS_ENDPOINT_URL_S3={s3_url}");
    println!("export AWS_ACCESS_KEY_ID={}", s3::ACCESS_KEY_ID);
    println!("export AWS_SECRET_ACCESS_KEY={}", s3::SECRET_ACCESS_KEY);
    println!("export AWS_REGION={region}");
    println!("export EBSIM={}", sim.endpoint_url());
    println!("# Ctrl-C stops it and removes its containers, networks and pulled images.");

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    if let Some((app, env)) = &create {
        runtime.block_on(sim.create_ready(app, &[(env.as_str(), stack.as_str())]))?;
        println!("# created application {app} and environment {env} ({stack}): Ready");
    }
    use std::io::Write;
    std::io::stdout().flush()?;
    runtime.block_on(tokio::signal::ctrl_c())?;
    eprintln!("stopping: removing what the emulator created");
    drop(sim);
    drop(server);
    Ok(())
}
