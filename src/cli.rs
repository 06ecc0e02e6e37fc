//! The command-line surface: clap types only, no behaviour.
//!
//! Every command of ARCHITECTURE §2 is declared here with its help text and an example.
//! `argv` rewrites the legacy argument orders (`stevedore dev start`, `image dev build`,
//! `deploy release prod 1.2.3`) into these forms before clap sees them.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

const EXIT_CODES: &str = "\
Exit codes:
  0 ok                 1 unexpected failure       2 usage
  3 invalid project or input (config, compose, ignore file, version)
  4 Docker engine      5 registry (push, pull, registry credentials)
  6 AWS (API error, AWS credentials missing, refused or of another account)
  7 deploy failed      8 timed out                9 failed and rolled back
  10 environment busy or lock held               130 interrupted";

const TOP_EXAMPLES: &str = "\
Examples:
  stevedore dev start                 run the dev environment (same as `stevedore start dev`)
  stevedore image build prod          build the prod images
  stevedore release prod 1.2.3        tag commit and images as version 1.2.3
  stevedore publish prod 1.2.3        push the images and the git tag
  stevedore deploy prod 1.2.3         deploy 1.2.3 to Elastic Beanstalk and wait until healthy
  stevedore config prod --json        show the resolved configuration and where it came from
  stevedore doctor                    check Docker, git, AWS and registry setup";

/// Take a Docker web app from a laptop to AWS Elastic Beanstalk.
#[derive(Debug, Parser)]
#[command(
    name = "stevedore",
    version,
    about = "Build, run, release, publish and deploy a Docker web app to AWS Elastic Beanstalk",
    long_about = "Stevedore builds the images of a project's environments, runs them locally through \
the Docker Engine API, cuts versions that tie one git commit to one image digest, and deploys them \
to AWS Elastic Beanstalk pinned by digest.\n\n\
The environment may also come first, as in the original scripts: `stevedore dev start`.",
    after_help = TOP_EXAMPLES,
    after_long_help = format!("{TOP_EXAMPLES}\n\n{EXIT_CODES}"),
    infer_subcommands = false
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,

    #[command(subcommand)]
    pub command: Command,
}

/// Flags accepted by every command.
#[derive(Debug, Clone, Args)]
pub struct GlobalArgs {
    /// Run as if started in DIR (the project root is searched from there upwards)
    #[arg(short = 'C', long = "project-dir", value_name = "DIR", global = true)]
    pub project_dir: Option<PathBuf>,

    /// Print NDJSON events on stdout, then one summary object
    #[arg(long, global = true)]
    pub json: bool,

    /// Print only errors and requested data
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,

    /// Print more detail (repeat for debug logs)
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,

    /// When to use colour (NO_COLOR is honoured in `auto`)
    #[arg(long, value_enum, value_name = "WHEN", default_value_t = ColorChoice::Auto, global = true)]
    pub color: ColorChoice,

    /// AWS profile to use (overrides stevedore.toml and .elasticbeanstalk/config.yml)
    #[arg(long, value_name = "NAME", global = true)]
    pub profile: Option<String>,

    /// AWS region to use (overrides stevedore.toml and .elasticbeanstalk/config.yml)
    #[arg(long, value_name = "REGION", global = true)]
    pub region: Option<String>,

    /// Never prompt; assume yes (implied when stdin is not a terminal)
    #[arg(short = 'y', long, global = true)]
    pub yes: bool,

    /// Docker context to use (overrides DOCKER_HOST, DOCKER_CONTEXT and `docker context use`)
    #[arg(short = 'c', long = "context", value_name = "NAME", global = true)]
    pub context: Option<String>,

    /// Fail at once (exit 10) when another command holds the environment, instead of waiting
    #[arg(long, global = true)]
    pub no_wait: bool,
}

/// `--color` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    /// Colour when writing to a terminal and NO_COLOR is unset
    Auto,
    /// Always colour
    Always,
    /// Never colour
    Never,
}

/// All subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Build, rebuild, remove or list an environment's images
    #[command(
        after_help = "Examples:\n  stevedore image build dev\n  stevedore image build prod --service app --no-cache\n  stevedore image ls prod --json\n  image dev build                     (the original script's order, through a symlink named `image`)"
    )]
    Image(ImageArgs),

    /// Start an environment: build what is missing, create containers, wait until healthy, follow logs
    #[command(
        after_help = "Ctrl-C stops following the logs; the containers keep running.\n\nExamples:\n  stevedore start dev\n  stevedore dev start                 (the original order)\n  stevedore start dev --detach"
    )]
    Start(StartArgs),

    /// Stop an environment's containers (they are kept; `start` resumes them)
    #[command(after_help = "Example:\n  stevedore stop dev")]
    Stop(LifecycleArgs),

    /// Remove an environment's containers and network
    #[command(
        after_help = "Examples:\n  stevedore down dev\n  stevedore down dev --volumes        (also remove named volumes)"
    )]
    Down(DownArgs),

    /// Stop then start an environment's containers
    #[command(after_help = "Example:\n  stevedore restart dev")]
    Restart(LifecycleArgs),

    /// Show an environment's containers, or its Elastic Beanstalk state with --remote
    #[command(
        after_help = "Examples:\n  stevedore status dev\n  stevedore status prod --json\n  stevedore status prod --remote --follow"
    )]
    Status(StatusArgs),

    /// List, set or unset the Elastic Beanstalk environment's variables (values masked)
    #[command(
        after_help = "Values that look like secrets are refused unless --plain: store them in Secrets Manager or\nParameter Store and set the ARN instead; it goes to the environmentsecrets namespace and the\ninstances fetch the value at boot (platforms released since March 2025).\n\nExamples:\n  stevedore env prod                          (list; values masked)\n  stevedore env prod list --show\n  stevedore env prod set LOG_LEVEL=info WORKERS=4\n  stevedore env prod set DB_PASSWORD=arn:aws:secretsmanager:eu-west-1:123456789012:secret:db-AbCd12\n  stevedore env prod unset LOG_LEVEL\n  stevedore env prod set FLAG=1 --no-wait     (return once EB accepted the change)"
    )]
    Env(EnvVarsArgs),

    /// List the application's versions: commit, digest, created, where they run
    #[command(after_help = "Example:\n  stevedore versions prod --json")]
    Versions(EnvArgs),

    /// Delete application versions (and their S3 bundles) nothing runs or rolls back to
    #[command(
        after_help = "Versions running in any environment of the application, and the version `rollback` would\npick for each environment, are never deleted.\n\nExamples:\n  stevedore prune prod --keep 10 --dry-run\n  stevedore prune prod --keep 10\n  stevedore prune prod --lifecycle-max-count 50 --service-role \"$SERVICE_ROLE_ARN\""
    )]
    Prune(PruneArgs),

    /// Create the Elastic Beanstalk environment from stevedore.toml
    #[command(
        after_help = "Settings ([environments.<env>.create] in stevedore.toml):\n  platform = \"ECS running on 64bit Amazon Linux 2023\"   (a branch, words of one, or a platform ARN)\n  instance_type = \"t3.small\"\n  cname_prefix = \"demo-prod\"\n  tags = { team = \"web\" }\n  [environments.<env>.create.options.\"aws:autoscaling:asg\"]\n  MinSize = 1\n\nExamples:\n  stevedore create prod\n  stevedore create prod --version 1.2.3 --no-wait"
    )]
    Create(CreateArgs),

    /// Terminate the Elastic Beanstalk environment (asks you to type its name; --yes in CI)
    #[command(
        after_help = "Examples:\n  stevedore terminate staging\n  stevedore terminate staging --yes"
    )]
    Terminate(EnvArgs),

    /// Swap two environments' CNAMEs (blue/green); swap again to go back
    #[command(
        after_help = "Blue/green: deploy to the idle environment, check it, swap, and swap again as the rollback\n(e.g. `STEVEDORE_EB_ENVIRONMENT=demo-green stevedore deploy prod 1.3.0` first).\nEach side is an environment of this project or an Elastic Beanstalk environment name.\n\nExamples:\n  stevedore swap prod demo-green\n  stevedore swap prod demo-green            (back)"
    )]
    Swap(SwapArgs),

    /// Set the number of instances (Auto Scaling MinSize = MaxSize = N)
    #[command(after_help = "Example:\n  stevedore scale prod 3")]
    Scale(ScaleArgs),

    /// Wait for the environment's operation in progress to end (after --no-wait or Ctrl-C)
    #[command(after_help = "Example:\n  stevedore wait prod --timeout 30m")]
    Wait(WaitArgs),

    /// Show an environment's container logs, or its Elastic Beanstalk instances' with --remote
    #[command(
        after_help = "Examples:\n  stevedore logs dev -f\n  stevedore logs prod --tail 100 proxy\n  stevedore logs prod --remote               (each instance's tail logs, prefixed by instance id)\n  stevedore logs prod --remote --bundle logs/ (every instance's full logs, one zip each)"
    )]
    Logs(LogsArgs),

    /// Take, show or release an environment's deploy lock (shared by every machine through S3)
    #[command(
        after_help = "deploy and rollback take the lock themselves and release it when they end, Ctrl-C and\nfailures included; a second run waits for it (or exits 10 with --no-wait). A lock past its\nexpiry is broken with a warning.\n\nExamples:\n  stevedore lock status prod\n  stevedore lock acquire prod -m \"migrating the database\" --for 2h\n  stevedore lock release prod\n  stevedore lock release prod --force       (someone else's lock)"
    )]
    Lock(LockArgs),

    /// Show an environment's Elastic Beanstalk health: status, causes, each instance's requests, latency and CPU
    #[command(
        after_help = "Examples:\n  stevedore health prod\n  stevedore health prod --json\n  stevedore health prod --watch              (refreshes every 10 seconds until Ctrl-C)"
    )]
    Health(HealthArgs),

    /// Show an environment's Elastic Beanstalk events
    #[command(
        after_help = "Examples:\n  stevedore events prod\n  stevedore events prod --count 100\n  stevedore events prod --follow             (until Ctrl-C)"
    )]
    Events(EventsArgs),

    /// Open a shell in a one-off container of a service
    #[command(after_help = "Examples:\n  stevedore shell dev\n  stevedore shell prod proxy")]
    Shell(ShellArgs),

    /// Run a command in a one-off container (removed afterwards); its exit code is returned
    #[command(
        after_help = "Piped stdin is forwarded (`echo hi | stevedore run dev -- cat` prints hi); a TTY is used when stdin and stdout are terminals, unless -T. Signals stevedore receives are passed to the command; its exit code becomes stevedore's.\n\nExamples:\n  stevedore run dev -- ls -la\n  stevedore run prod app -- sh -c 'exit 7'   (exits 7)\n  echo hi | stevedore run dev -T -- cat\n  stevedore run dev -e DEBUG=1 -w /tmp -u nobody -- env"
    )]
    Run(RunArgs),

    /// Run a task from stevedore.toml in a one-off container (without a name: list the tasks)
    #[command(
        after_help = "Tasks are the original's named one-offs (`stevedore dev check`), declared in stevedore.toml:\n  [tasks.check]\n  command = \"gulp check\"      # or a list\n  service = \"app\"             # default: the compose file's first service\n  environments = [\"dev\"]      # default: all\n\nExamples:\n  stevedore task dev                  (list the tasks)\n  stevedore task dev check\n  stevedore dev check                 (the original order)\n  stevedore dev test -- -k smoke      (extra arguments are appended)"
    )]
    Task(TaskArgs),

    /// Cut a version: SemVer check, image tags, annotated git tag, release branch
    #[command(
        after_help = "Examples:\n  stevedore release prod 1.2.0        (creates v1.2.0 and branch release-v1.2)\n  stevedore release prod 1.2.1        (a patch: run on branch release-v1.2)\n  deploy release prod 1.2.3           (the original order, through a symlink named `deploy`)"
    )]
    Release(VersionArgs),

    /// Push a version's images and record their digest; push the release branch and tag
    #[command(
        after_help = "Amazon ECR repositories (<account>.dkr.ecr.<region>.amazonaws.com/<name>) are logged in to with the AWS profile; a missing repository is an error unless --create-repository.\n\nExamples:\n  stevedore publish prod 1.2.3\n  stevedore publish prod 1.2.3 --create-repository   (first publish to a new ECR repository)\n  deploy publish prod 1.2.3"
    )]
    Publish(PublishArgs),

    /// Write the exact source bundle `deploy` would upload
    #[command(
        after_help = "Examples:\n  stevedore bundle prod 1.2.3 -o bundle.zip\n  stevedore bundle prod 1.2.3 --allow-unpinned   (before publish: tags instead of digests)"
    )]
    Bundle(BundleArgs),

    /// Deploy a published version to Elastic Beanstalk and follow it until healthy or failed
    #[command(
        after_help = "Examples:\n  stevedore deploy prod 1.2.3\n  stevedore deploy prod 1.2.3 --rollback-on-failure --timeout 30m\n  stevedore deploy prod 1.2.3 --sync-env     (also set the properties from environments/prod/.env)\n  stevedore deploy prod --abort              (abort the update in progress)\n  deploy deploy prod 1.2.3            (the original order, through a symlink named `deploy`)\n\nExit codes: 0 healthy on the version, 3 invalid input (not published, bundle refused),\n6 AWS error, 7 deploy failed (failure events and tail logs printed), 8 timed out\n(the update goes on), 9 failed and rolled back, 10 environment busy, 130 Ctrl-C\n(the update goes on; `stevedore status <env> --remote --follow` resumes watching)"
    )]
    Deploy(DeployArgs),

    /// Redeploy an existing version (no rebuild, no upload)
    #[command(
        after_help = "Examples:\n  stevedore rollback prod             (lists candidates, picks the previous healthy version)\n  stevedore rollback prod 1.2.2"
    )]
    Rollback(RollbackArgs),

    /// List the versions deployed to an environment, with commit, digest, who, when and outcome
    #[command(after_help = "Example:\n  stevedore history prod --json")]
    History(EnvArgs),

    /// Print the resolved configuration and where each value came from
    #[command(after_help = "Examples:\n  stevedore config\n  stevedore config prod --json")]
    Config(ConfigArgs),

    /// Check that Docker, git, AWS credentials, registry credentials and ignore files are usable
    #[command(after_help = "Example:\n  stevedore doctor")]
    Doctor,

    /// Print a shell completion script
    #[command(
        after_help = "Examples:\n  stevedore completions bash > /etc/bash_completion.d/stevedore\n  stevedore completions zsh > \"${fpath[1]}/_stevedore\""
    )]
    Completions(CompletionsArgs),

    /// Print the man page (roff)
    #[command(after_help = "Example:\n  stevedore man | man -l -")]
    Man,
}

/// `stevedore image …`
#[derive(Debug, Args)]
pub struct ImageArgs {
    #[command(subcommand)]
    pub action: ImageAction,
}

/// What to do with an environment's images.
#[derive(Debug, Subcommand)]
pub enum ImageAction {
    /// Build every service of the environment that has a Dockerfile
    #[command(
        after_help = "Examples:\n  stevedore image build dev --build-arg BASE_IMAGE=busybox:1.36\n  stevedore image build prod --timeout 20m     (exit 8 if the builds take longer)"
    )]
    Build(ImageBuildArgs),
    /// Rebuild from scratch (no cache)
    #[command(after_help = "Example:\n  stevedore image update dev")]
    Update(ImageBuildArgs),
    /// Remove the environment's images (refused while its containers run)
    #[command(after_help = "Example:\n  stevedore image destroy dev")]
    Destroy(ImageSelectArgs),
    /// List the environment's images
    #[command(after_help = "Example:\n  stevedore image ls prod --json")]
    Ls(ImageSelectArgs),
}

/// Options of `image build` and `image update`.
#[derive(Debug, Args)]
pub struct ImageBuildArgs {
    #[command(flatten)]
    pub select: ImageSelectArgs,
    /// Do not use the build cache
    #[arg(long)]
    pub no_cache: bool,
    /// Always attempt to pull a newer base image
    #[arg(long)]
    pub pull: bool,
    /// A build argument (repeatable)
    #[arg(long = "build-arg", value_name = "KEY=VALUE")]
    pub build_args: Vec<String>,
    /// Send this file even though it looks like a secret (repeatable)
    #[arg(long = "allow-secret", value_name = "PATH")]
    pub allow_secrets: Vec<PathBuf>,
    /// The builder: auto (BuildKit when the daemon offers it), buildkit, classic
    #[arg(long, value_name = "BUILDER")]
    pub builder: Option<crate::engine::builder::BuilderChoice>,
    /// A build secret for `RUN --mount=type=secret` (repeatable): id=NAME,src=PATH or id=NAME,env=VAR
    #[arg(long = "secret", value_name = "SPEC")]
    pub secrets: Vec<String>,
    /// An SSH agent for `RUN --mount=type=ssh` (repeatable): default ($SSH_AUTH_SOCK) or ID=SOCKET
    #[arg(long = "ssh", value_name = "SPEC")]
    pub ssh: Vec<String>,
    /// The multi-stage target to build (over compose `build.target`)
    #[arg(long, value_name = "STAGE")]
    pub target: Option<String>,
    /// The platform to build for, e.g. linux/amd64 (over compose `platform`)
    #[arg(long, value_name = "PLATFORM")]
    pub platform: Option<String>,
    /// An image to use as a cache source (repeatable)
    #[arg(long = "cache-from", value_name = "IMAGE")]
    pub cache_from: Vec<String>,
    /// The network of RUN steps: default, host, none
    #[arg(long, value_name = "MODE")]
    pub network: Option<String>,
    /// A host-to-IP mapping for RUN steps (repeatable)
    #[arg(long = "add-host", value_name = "HOST:IP")]
    pub add_hosts: Vec<String>,
    /// The size of /dev/shm of RUN steps, e.g. 256m
    #[arg(long = "shm-size", value_name = "SIZE")]
    pub shm_size: Option<String>,
    /// Give up after this long, all the builds together (e.g. 10m, 1h30m); a build the
    /// deadline cuts is cancelled and the command exits 8
    #[arg(long, value_name = "DURATION", default_value = "1h")]
    pub timeout: String,
}

/// Which images of an environment.
#[derive(Debug, Args)]
pub struct ImageSelectArgs {
    /// The environment (a directory under environments/)
    pub env: String,
    /// Only this service
    #[arg(long, value_name = "SERVICE")]
    pub service: Option<String>,
    /// Use this compose file instead of the environment's own
    #[arg(short = 'f', long = "file", value_name = "PATH")]
    pub file: Option<PathBuf>,
}

/// Options shared by the lifecycle commands.
#[derive(Debug, Args)]
pub struct ComposeArgs {
    /// Use this compose file instead of the environment's own (repeat to merge several, as
    /// Compose does)
    #[arg(short = 'f', long = "file", value_name = "PATH")]
    pub file: Vec<PathBuf>,
    /// Compose project name (default: the environment name)
    #[arg(short = 'p', long = "project-name", value_name = "NAME")]
    pub project_name: Option<String>,
    /// Read compose variables from this file too, over the .env files (repeatable)
    #[arg(long = "env-file", value_name = "PATH")]
    pub env_file: Vec<PathBuf>,
    /// Turn on the services of this Compose profile (repeatable; default: COMPOSE_PROFILES)
    #[arg(long = "compose-profile", value_name = "NAME")]
    pub compose_profile: Vec<String>,
}

/// `start`.
#[derive(Debug, Args)]
pub struct StartArgs {
    /// The environment (a directory under environments/)
    pub env: String,
    #[command(flatten)]
    pub compose: ComposeArgs,
    /// Rebuild images even if they exist
    #[arg(long)]
    pub build: bool,
    /// Return once the containers are started (and what others depend on is ready), as
    /// `docker compose up -d` does, instead of following the logs
    #[arg(short, long)]
    pub detach: bool,
    /// Wait until every container is running and healthy, then return (implies --detach)
    #[arg(long)]
    pub wait: bool,
    /// Open the first published URL in a browser
    #[arg(long)]
    pub open: bool,
    /// Remove containers of services no longer in the compose file
    #[arg(long)]
    pub remove_orphans: bool,
    /// Recreate every container, even those whose configuration did not change
    #[arg(long)]
    pub force_recreate: bool,
    /// How long to wait for the containers to be up and healthy (e.g. 90s, 5m)
    #[arg(long, value_name = "DURATION", default_value = "2m")]
    pub timeout: String,
}

/// `stop`, `restart`.
#[derive(Debug, Args)]
pub struct LifecycleArgs {
    /// The environment (a directory under environments/)
    pub env: String,
    #[command(flatten)]
    pub compose: ComposeArgs,
    /// Seconds a container gets to stop before it is killed [default: the service's
    /// stop_grace_period, else 10]
    #[arg(short = 't', long = "timeout", value_name = "SECONDS")]
    pub stop_timeout: Option<u64>,
}

/// `down`.
#[derive(Debug, Args)]
pub struct DownArgs {
    /// The environment (a directory under environments/)
    pub env: String,
    #[command(flatten)]
    pub compose: ComposeArgs,
    /// Also remove named volumes
    #[arg(long)]
    pub volumes: bool,
    /// Also remove containers of services no longer in the compose file
    #[arg(long)]
    pub remove_orphans: bool,
    /// Also remove images, as Compose does: `local` the ones `start` built, `all` every
    /// image the services use
    #[arg(long, value_enum, value_name = "TYPE")]
    pub rmi: Option<RemoveImages>,
    /// Seconds a container gets to stop before it is killed [default: the service's
    /// stop_grace_period, else 10]
    #[arg(short = 't', long = "timeout", value_name = "SECONDS")]
    pub stop_timeout: Option<u64>,
}

/// `down --rmi`: which images go with the containers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RemoveImages {
    /// The images built for services with a `build:` section (`<project>-<service>:<env>`).
    Local,
    /// Those and the images of services with only an `image:`.
    All,
}

/// `status`.
#[derive(Debug, Args)]
pub struct StatusArgs {
    /// The environment (a directory under environments/)
    pub env: String,
    #[command(flatten)]
    pub compose: ComposeArgs,
    /// Show the Elastic Beanstalk environment instead of local containers
    #[arg(long)]
    pub remote: bool,
    /// Keep following Elastic Beanstalk events (with --remote)
    #[arg(long)]
    pub follow: bool,
}

/// `env`.
#[derive(Debug, Args)]
pub struct EnvVarsArgs {
    /// The environment (a directory under environments/)
    pub env: String,
    /// What to do (default: list)
    #[command(subcommand)]
    pub action: Option<EnvVarsAction>,
}

/// What `env` does.
#[derive(Debug, Clone, Subcommand)]
pub enum EnvVarsAction {
    /// List the variables (values masked unless --show)
    #[command(
        after_help = "Examples:\n  stevedore env prod list\n  stevedore env prod list --show"
    )]
    List {
        /// Show the values
        #[arg(long)]
        show: bool,
    },
    /// Set variables: NAME=VALUE, or NAME=<secret or parameter ARN> for a reference
    #[command(
        after_help = "Examples:\n  stevedore env prod set LOG_LEVEL=debug\n  stevedore env prod set DB_PASSWORD=arn:aws:secretsmanager:eu-west-1:123456789012:secret:db-AbCdEf"
    )]
    Set {
        /// NAME=VALUE pairs
        #[arg(required = true, value_name = "NAME=VALUE")]
        assignments: Vec<String>,
        /// Store values as given, even when they look like secrets or ARNs
        #[arg(long)]
        plain: bool,
        /// Give up waiting after this long (e.g. 90s, 20m; default: [deploy] timeout)
        #[arg(long, value_name = "DURATION")]
        timeout: Option<String>,
    },
    /// Remove variables (plain or references)
    #[command(after_help = "Example:\n  stevedore env prod unset LOG_LEVEL")]
    Unset {
        /// Names
        #[arg(required = true, value_name = "NAME")]
        names: Vec<String>,
        /// Give up waiting after this long (e.g. 90s, 20m; default: [deploy] timeout)
        #[arg(long, value_name = "DURATION")]
        timeout: Option<String>,
    },
}

/// `prune`.
#[derive(Debug, Args)]
pub struct PruneArgs {
    /// The environment (its application's versions are pruned)
    pub env: String,
    /// How many of the newest versions to keep besides the protected ones
    #[arg(long, value_name = "N", required_unless_present_any = ["lifecycle_max_count", "lifecycle_max_age", "lifecycle_off"])]
    pub keep: Option<usize>,
    /// Show what would be deleted, delete nothing
    #[arg(long)]
    pub dry_run: bool,
    /// Let Elastic Beanstalk keep at most N versions (deleting their bundles too)
    #[arg(long, value_name = "N", conflicts_with_all = ["lifecycle_max_age", "lifecycle_off"])]
    pub lifecycle_max_count: Option<u32>,
    /// Let Elastic Beanstalk delete versions older than DAYS (and their bundles)
    #[arg(long, value_name = "DAYS", conflicts_with = "lifecycle_off")]
    pub lifecycle_max_age: Option<u32>,
    /// Turn Elastic Beanstalk's version lifecycle policy off
    #[arg(long)]
    pub lifecycle_off: bool,
    /// The IAM role EB assumes to delete versions (required the first time)
    #[arg(long, value_name = "ARN")]
    pub service_role: Option<String>,
}

/// `create`.
#[derive(Debug, Args)]
pub struct CreateArgs {
    /// The environment (a directory under environments/)
    pub env: String,
    /// Launch with this existing application version (default: EB's sample application)
    #[arg(long, value_name = "LABEL")]
    pub version: Option<String>,
    /// Give up waiting after this long (e.g. 90s, 20m; default: [deploy] timeout)
    #[arg(long, value_name = "DURATION")]
    pub timeout: Option<String>,
}

/// `swap`.
#[derive(Debug, Args)]
pub struct SwapArgs {
    /// One side: an environment of this project or an EB environment name
    pub env_a: String,
    /// The other side
    pub env_b: String,
    /// Swap even when the environment taking the traffic is not healthy
    #[arg(long)]
    pub force: bool,
    /// Give up waiting after this long (e.g. 90s, 20m; default: [deploy] timeout)
    #[arg(long, value_name = "DURATION")]
    pub timeout: Option<String>,
}

/// `scale`.
#[derive(Debug, Args)]
pub struct ScaleArgs {
    /// The environment (a directory under environments/)
    pub env: String,
    /// The number of instances
    #[arg(value_parser = clap::value_parser!(u32).range(1..=10000))]
    pub instances: u32,
    /// Give up waiting after this long (e.g. 90s, 20m; default: [deploy] timeout)
    #[arg(long, value_name = "DURATION")]
    pub timeout: Option<String>,
}

/// `wait`.
#[derive(Debug, Args)]
pub struct WaitArgs {
    /// The environment (a directory under environments/)
    pub env: String,
    /// Give up after this long (e.g. 90s, 20m; default: [deploy] timeout)
    #[arg(long, value_name = "DURATION")]
    pub timeout: Option<String>,
}

/// `logs`. `-f` means follow here, as in `docker compose logs -f`, so the compose file is
/// `--file` only.
#[derive(Debug, Args)]
pub struct LogsArgs {
    /// The environment (a directory under environments/)
    pub env: String,
    /// Only these services
    pub services: Vec<String>,
    /// Use this compose file instead of the environment's own
    #[arg(long = "file", value_name = "PATH")]
    pub file: Option<PathBuf>,
    /// Compose project name (default: the environment name)
    #[arg(short = 'p', long = "project-name", value_name = "NAME")]
    pub project_name: Option<String>,
    /// Keep following new output
    #[arg(short, long)]
    pub follow: bool,
    /// Number of lines to show from the end of each log
    #[arg(long, value_name = "N")]
    pub tail: Option<u64>,
    /// The Elastic Beanstalk instances' logs instead of local containers (each line prefixed by
    /// its instance id)
    #[arg(long)]
    pub remote: bool,
    /// With --remote: save every instance's full logs in DIR, one zip per instance
    #[arg(long, value_name = "DIR", requires = "remote")]
    pub bundle: Option<PathBuf>,
}

/// `lock`.
#[derive(Debug, Args)]
pub struct LockArgs {
    #[command(subcommand)]
    pub action: LockAction,
}

/// What to do with an environment's deploy lock.
#[derive(Debug, Subcommand)]
pub enum LockAction {
    /// Who holds the lock, for what, since when, until when
    #[command(after_help = "Example:\n  stevedore lock status prod --json")]
    Status(EnvArgs),
    /// Take the lock so that nobody deploys until it is released (or expires)
    #[command(
        after_help = "Example:\n  stevedore lock acquire prod -m \"investigating the 5xx\" --for 30m"
    )]
    Acquire(LockAcquireArgs),
    /// Release the lock (yours; someone else's with --force)
    #[command(
        after_help = "Examples:\n  stevedore lock release prod\n  stevedore lock release prod --force"
    )]
    Release(LockReleaseArgs),
}

/// `lock acquire`.
#[derive(Debug, Args)]
pub struct LockAcquireArgs {
    /// The environment (a directory under environments/)
    pub env: String,
    /// Why: shown to whoever meets the lock
    #[arg(short, long, value_name = "MSG")]
    pub message: String,
    /// How long the lock holds before others may break it (e.g. 30m, 2h)
    #[arg(long = "for", value_name = "DURATION", default_value = "2h")]
    pub duration: String,
}

/// `lock release`.
#[derive(Debug, Args)]
pub struct LockReleaseArgs {
    /// The environment (a directory under environments/)
    pub env: String,
    /// Release the lock even when someone else holds it
    #[arg(long)]
    pub force: bool,
}

/// `health`.
#[derive(Debug, Args)]
pub struct HealthArgs {
    /// The environment (a directory under environments/)
    pub env: String,
    /// Keep refreshing (every 10 seconds, Elastic Beanstalk's own refresh rate) until Ctrl-C
    #[arg(short, long)]
    pub watch: bool,
}

/// `events`.
#[derive(Debug, Args)]
pub struct EventsArgs {
    /// The environment (a directory under environments/)
    pub env: String,
    /// Keep printing new events until Ctrl-C
    #[arg(short, long)]
    pub follow: bool,
    /// How many past events to show (1-1000)
    #[arg(long, value_name = "N", default_value_t = 20, value_parser = clap::value_parser!(i32).range(1..=1000))]
    pub count: i32,
}

/// `shell`.
#[derive(Debug, Args)]
pub struct ShellArgs {
    /// The environment (a directory under environments/)
    pub env: String,
    /// The service (default: the environment's first service)
    pub service: Option<String>,
    #[command(flatten)]
    pub compose: ComposeArgs,
}

/// `run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// The environment (a directory under environments/)
    pub env: String,
    /// The service (default: the environment's first service)
    pub service: Option<String>,
    #[command(flatten)]
    pub compose: ComposeArgs,
    #[command(flatten)]
    pub container: OneOffArgs,
    /// The command to run, after `--`
    #[arg(last = true, value_name = "CMD")]
    pub cmd: Vec<String>,
}

/// How a one-off container runs, as `docker run`/`docker compose run` take it.
#[derive(Debug, Clone, Default, Args)]
pub struct OneOffArgs {
    /// No TTY, even on a terminal (piped stdin is still passed)
    #[arg(short = 'T', long = "no-tty")]
    pub no_tty: bool,
    /// Set an environment variable (KEY=VALUE, or KEY to pass this shell's value); repeatable
    #[arg(short = 'e', long = "env", value_name = "KEY[=VALUE]")]
    pub set_env: Vec<String>,
    /// Working directory inside the container
    #[arg(short = 'w', long = "workdir", value_name = "DIR")]
    pub workdir: Option<String>,
    /// User (name or uid[:gid]) to run as
    #[arg(short = 'u', long = "user", value_name = "USER")]
    pub user: Option<String>,
}

/// `task`.
#[derive(Debug, Args)]
pub struct TaskArgs {
    /// The environment (a directory under environments/)
    pub env: String,
    /// The task (without one: list the tasks)
    pub name: Option<String>,
    #[command(flatten)]
    pub compose: ComposeArgs,
    /// Extra arguments appended to the task's command, after `--`
    #[arg(last = true, value_name = "ARGS")]
    pub args: Vec<String>,
}

/// `release`, `publish`.
#[derive(Debug, Args)]
pub struct VersionArgs {
    /// The environment (a directory under environments/)
    pub env: String,
    /// A SemVer 2.0 version without build metadata: 1.2.3 or 1.2.3-rc.1
    pub version: String,
}

/// `publish`.
#[derive(Debug, Args)]
pub struct PublishArgs {
    #[command(flatten)]
    pub version: VersionArgs,
    /// Create a missing Amazon ECR repository (CreateRepository) instead of failing
    #[arg(long)]
    pub create_repository: bool,
}

/// `bundle`.
#[derive(Debug, Args)]
pub struct BundleArgs {
    /// The environment (a directory under environments/)
    pub env: String,
    /// The version to bundle
    pub version: String,
    /// Where to write the zip (default: <app>-<env>-<version>.zip in the current directory)
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Use image tags when no digest has been recorded yet (never accepted by deploy)
    #[arg(long)]
    pub allow_unpinned: bool,
    /// Ship images that are not ours (e.g. redis:7) on their tags instead of the digest their
    /// registry gives (the summary names them as unpinned)
    #[arg(long)]
    pub no_pin_third_party: bool,
    /// Put this file in the bundle even though it looks like a secret (repeatable)
    #[arg(long = "allow-secret", value_name = "PATH")]
    pub allow_secrets: Vec<PathBuf>,
    /// Bundle even when the run file cannot express everything the compose file says (the
    /// losses are listed as warnings)
    #[arg(long)]
    pub allow_lossy: bool,
}

/// `deploy`.
#[derive(Debug, Args)]
pub struct DeployArgs {
    /// The environment (a directory under environments/)
    pub env: String,
    /// The published version to deploy
    #[arg(required_unless_present = "abort")]
    pub version: Option<String>,
    /// Give up after this long, waiting included (e.g. 90s, 20m, 1h; default: [deploy] timeout, 20m)
    #[arg(long, value_name = "DURATION")]
    pub timeout: Option<String>,
    /// On failure, redeploy the previous healthy version (exit 9 when that succeeds)
    #[arg(long)]
    pub rollback_on_failure: bool,
    /// Ship images that are not ours (e.g. redis:7) on their tags instead of the digest their
    /// registry gives (the summary names them as unpinned)
    #[arg(long)]
    pub no_pin_third_party: bool,
    /// Set the environment's properties from environments/<env>/.env (values never printed)
    #[arg(long)]
    pub sync_env: bool,
    /// Abort the environment's update in progress instead of deploying
    #[arg(long, conflicts_with_all = ["rollback_on_failure", "sync_env"])]
    pub abort: bool,
    /// Put this file in the bundle even though it looks like a secret (repeatable)
    #[arg(long = "allow-secret", value_name = "PATH")]
    pub allow_secrets: Vec<PathBuf>,
    /// Bundle even when the run file cannot express everything the compose file says (the
    /// losses are listed as warnings)
    #[arg(long)]
    pub allow_lossy: bool,
}

/// `rollback`.
#[derive(Debug, Args)]
pub struct RollbackArgs {
    /// The environment (a directory under environments/)
    pub env: String,
    /// The version to go back to (default: the previous healthy one)
    pub version: Option<String>,
    /// Give up after this long, waiting included (e.g. 90s, 20m, 1h; default: [deploy] timeout, 20m)
    #[arg(long, value_name = "DURATION")]
    pub timeout: Option<String>,
}

/// Commands that only take an environment.
#[derive(Debug, Args)]
pub struct EnvArgs {
    /// The environment (a directory under environments/)
    pub env: String,
}

/// `config`.
#[derive(Debug, Args)]
pub struct ConfigArgs {
    /// Also resolve this environment's settings
    pub env: Option<String>,
}

/// `completions`.
#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to generate for
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    #[test]
    fn the_clap_model_is_consistent() {
        super::Cli::command().debug_assert();
    }
}
