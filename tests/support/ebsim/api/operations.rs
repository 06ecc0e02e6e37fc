//! The day-2 operations on environments and applications: ListPlatformVersions,
//! ListAvailableSolutionStacks, TerminateEnvironment, SwapEnvironmentCNAMEs,
//! UpdateApplicationResourceLifecycle — with EB's state rules, events and error texts.

use std::sync::Arc;

use super::super::error::ApiError;
use super::super::query::Params;
use super::super::state::{EnvStatus, Health, Lifecycle, Severity, now_ms};
use super::super::xml::Xml;
use super::super::{Shared, lock};
use super::environments::find;
use super::{Call, render};

/// The platform versions the emulator offers: `(branch, version, branch lifecycle state)`.
pub const PLATFORMS: &[(&str, &str, &str)] = &[
    (
        "Docker running on 64bit Amazon Linux 2023",
        "4.3.2",
        "Supported",
    ),
    (
        "Docker running on 64bit Amazon Linux 2023",
        "4.4.0",
        "Supported",
    ),
    (
        "ECS running on 64bit Amazon Linux 2023",
        "4.4.0",
        "Supported",
    ),
    (
        "Docker running on 64bit Amazon Linux 2",
        "3.9.0",
        "Supported",
    ),
    ("ECS running on 64bit Amazon Linux 2", "3.1.0", "Retired"),
];

/// `arn:aws:elasticbeanstalk:<region>::platform/<branch>/<version>` (platforms have no account).
pub fn platform_arn(shared: &Shared, branch: &str, version: &str) -> String {
    format!(
        "arn:aws:elasticbeanstalk:{}::platform/{branch}/{version}",
        shared.options.region
    )
}

/// The solution stack name of a platform version: `64bit Amazon Linux 2023 v4.4.0 running Docker`.
pub fn stack_name(branch: &str, version: &str) -> String {
    let (runtime, os) = branch.split_once(" running on ").unwrap_or((branch, ""));
    format!("{os} v{version} running {runtime}")
}

/// The solution stack a platform ARN names, or EB's not-found error.
pub fn stack_of_arn(shared: &Shared, arn: &str) -> Result<String, ApiError> {
    PLATFORMS
        .iter()
        .find(|(branch, version, _)| platform_arn(shared, branch, version) == arn)
        .map(|(branch, version, _)| stack_name(branch, version))
        .ok_or_else(|| ApiError::invalid(format!("No Platform named '{arn}' found.")))
}

pub fn list_platform_versions(call: &Call<'_>) -> Result<String, ApiError> {
    // Filters: PlatformStatus (all offered versions are Ready) and PlatformBranchName.
    let mut branch_filter: Option<String> = None;
    for filter in call.params.structs("Filters") {
        let kind = filter.required("Type")?;
        let values = filter.list("Values");
        match kind {
            "PlatformStatus" => {
                if !values.iter().any(|v| v == "Ready") {
                    let mut x = Xml::new();
                    x.element("PlatformSummaryList", |_| {});
                    return Ok(x.finish());
                }
            }
            "PlatformBranchName" => branch_filter = values.first().cloned(),
            other => {
                return Err(ApiError::invalid(format!("Invalid filter type '{other}'.")));
            }
        }
    }
    let shared = call.shared;
    let offered: Vec<&(&str, &str, &str)> = PLATFORMS
        .iter()
        .filter(|(branch, _, _)| branch_filter.as_deref().is_none_or(|f| f == *branch))
        .collect();
    let mut x = Xml::new();
    x.list(
        "PlatformSummaryList",
        &offered,
        |x, (branch, version, state)| {
            let (runtime, os) = branch.split_once(" running on ").unwrap_or((branch, ""));
            x.text("PlatformArn", &platform_arn(shared, branch, version))
                .text("PlatformOwner", "AWSElasticBeanstalk")
                .text("PlatformStatus", "Ready")
                .text("PlatformCategory", runtime)
                .text("OperatingSystemName", os)
                .strings("SupportedTierList", &["WebServer/Standard".to_owned()])
                .text("PlatformVersion", version)
                .text("PlatformBranchName", branch)
                .text("PlatformBranchLifecycleState", state);
        },
    );
    Ok(x.finish())
}

pub fn list_solution_stacks(_call: &Call<'_>) -> Result<String, ApiError> {
    let stacks: Vec<String> = PLATFORMS
        .iter()
        .filter(|(_, _, state)| *state != "Retired")
        .map(|(branch, version, _)| stack_name(branch, version))
        .collect();
    let mut x = Xml::new();
    x.strings("SolutionStacks", &stacks);
    Ok(x.finish())
}

/// Terminating: `Terminating` now, `Terminated` a few steps later, its containers removed.
pub fn terminate(call: &Call<'_>) -> Result<String, ApiError> {
    let (id, snapshot) = {
        let mut state = call.shared.state();
        let id = find(&state, call.params)?;
        let Some(env) = state.env_mut(&id) else {
            return Err(ApiError::no_environment_id(&id));
        };
        if env.status != EnvStatus::Ready {
            return Err(ApiError::not_ready(&env.name));
        }
        env.status = EnvStatus::Terminating;
        env.health = Health::Grey;
        env.abortable = false;
        env.updated = now_ms();
        let snapshot = env.clone();
        state.event(
            Severity::Info,
            "terminateEnvironment is starting.",
            &snapshot.app,
            Some(&snapshot.name),
            None,
            Some(call.request_id),
        );
        (id, snapshot)
    };
    let sim: Arc<Shared> = call.shared.clone();
    let request_id = call.request_id.to_owned();
    let (app, name) = (snapshot.app.clone(), snapshot.name.clone());
    tokio::spawn(async move {
        let step = sim.options.timings.step;
        tokio::time::sleep(step).await;
        if let Some(Ok(engine)) = sim.engine.get() {
            engine.remove_environment_except(&id, None).await;
        }
        tokio::time::sleep(step).await;
        let mut state = sim.state();
        if let Some(env) = state.env_mut(&id) {
            env.status = EnvStatus::Terminated;
            env.endpoint = None;
            env.ports.clear();
            env.deployment = None;
            env.updated = now_ms();
        }
        state.event(
            Severity::Info,
            "terminateEnvironment completed successfully.",
            &app,
            Some(&name),
            None,
            Some(&request_id),
        );
    });
    let mut x = Xml::new();
    render::environment(&mut x, call.shared, &snapshot);
    Ok(x.finish())
}

/// Swapping: both environments must be Ready and of one application; their CNAMEs (and so the
/// traffic each address gets) change places, with EB's two events on each.
pub fn swap(call: &Call<'_>) -> Result<String, ApiError> {
    let p = call.params;
    // `find` reads EnvironmentId or EnvironmentName: hand it the Source/Destination pair.
    let pick = |prefix: &str| {
        let mut form = form_urlencoded::Serializer::new(String::new());
        for field in ["EnvironmentId", "EnvironmentName"] {
            if let Some(value) = p.get(&format!("{prefix}{field}")) {
                form.append_pair(field, value);
            }
        }
        Params::parse(form.finish().as_bytes())
    };
    let (source, destination) = (pick("Source"), pick("Destination"));
    if source.get("EnvironmentId").is_none() && source.get("EnvironmentName").is_none() {
        return Err(ApiError::missing_parameter("SourceEnvironmentName"));
    }
    if destination.get("EnvironmentId").is_none() && destination.get("EnvironmentName").is_none() {
        return Err(ApiError::missing_parameter("DestinationEnvironmentName"));
    }
    let mut state = call.shared.state();
    let a = find(&state, &source)?;
    let b = find(&state, &destination)?;
    let (name_a, name_b, app) = {
        let ea = state.environments.iter().find(|e| e.id == a);
        let eb = state.environments.iter().find(|e| e.id == b);
        let (Some(ea), Some(eb)) = (ea, eb) else {
            return Err(ApiError::no_environment_id(&a));
        };
        if a == b {
            return Err(ApiError::invalid(
                "The source and destination environments must be different.",
            ));
        }
        if ea.app != eb.app {
            return Err(ApiError::invalid(format!(
                "Environments {} and {} must belong to the same application.",
                ea.name, eb.name
            )));
        }
        for env in [ea, eb] {
            if env.status != EnvStatus::Ready {
                return Err(ApiError::not_ready(&env.name));
            }
        }
        (ea.name.clone(), eb.name.clone(), ea.app.clone())
    };
    let cname_a = state
        .env_mut(&a)
        .map(|e| e.cname.clone())
        .unwrap_or_default();
    let cname_b = state
        .env_mut(&b)
        .map(|e| e.cname.clone())
        .unwrap_or_default();
    for (id, cname) in [(&a, cname_b), (&b, cname_a)] {
        if let Some(env) = state.env_mut(id) {
            env.cname = cname;
            env.updated = now_ms();
        }
    }
    for env in [&name_a, &name_b] {
        state.event(
            Severity::Info,
            format!("Swapping CNAMEs for environments '{name_a}' and '{name_b}'."),
            &app,
            Some(env),
            None,
            Some(call.request_id),
        );
        state.event(
            Severity::Info,
            format!("Completed swapping CNAMEs for environments '{name_a}' and '{name_b}'."),
            &app,
            Some(env),
            None,
            Some(call.request_id),
        );
    }
    Ok(String::new())
}

/// The application's version lifecycle: stored, shown by DescribeApplications, and applied when
/// a version is created (the oldest unused versions beyond the count go, with their bundles).
pub fn update_lifecycle(call: &Call<'_>) -> Result<String, ApiError> {
    let p = call.params;
    let app = p.required("ApplicationName")?;
    let config = p.nested("ResourceLifecycleConfig");
    let role = config.get("ServiceRole").map(str::to_owned);
    let versions = config.nested("VersionLifecycleConfig");
    let rule = |name: &str, value: &str| -> Result<Option<(i64, bool)>, ApiError> {
        let rule = versions.nested(name);
        if !rule.bool("Enabled")?.unwrap_or(false) {
            return Ok(None);
        }
        let n = rule.int(value)?.ok_or_else(|| {
            ApiError::invalid(format!("{name} needs {value} when it is enabled."))
        })?;
        Ok(Some((n, rule.bool("DeleteSourceFromS3")?.unwrap_or(false))))
    };
    let max_count = rule("MaxCountRule", "MaxCount")?;
    let max_age = rule("MaxAgeRule", "MaxAgeInDays")?;
    let mut state = call.shared.state();
    let Some(application) = state.applications.get_mut(app) else {
        return Err(ApiError::no_application(app));
    };
    let role = role.or_else(|| {
        application
            .lifecycle
            .as_ref()
            .and_then(|l| l.service_role.clone())
    });
    if (max_count.is_some() || max_age.is_some()) && role.is_none() {
        return Err(ApiError::invalid(
            "ServiceRole is required when you configure a version lifecycle for the first time.",
        ));
    }
    application.lifecycle = Some(Lifecycle {
        service_role: role,
        max_count,
        max_age_days: max_age,
    });
    let snapshot = application.clone();
    drop(state);
    let mut x = Xml::new();
    x.text("ApplicationName", &snapshot.name);
    render::lifecycle(&mut x, snapshot.lifecycle.as_ref());
    Ok(x.finish())
}

/// Apply `app`'s max-count rule after a version was created: delete the oldest versions no
/// environment runs until at most the count remain (bundles too when the rule says so).
pub async fn enforce_lifecycle(shared: &Arc<Shared>, app: &str) {
    let doomed: Vec<(String, Option<(String, String)>)> = {
        let mut state = shared.state();
        let Some((count, delete_bundle)) = state
            .applications
            .get(app)
            .and_then(|a| a.lifecycle.as_ref())
            .and_then(|l| l.max_count)
        else {
            return;
        };
        let in_use: Vec<String> = state
            .environments
            .iter()
            .filter(|e| e.app == app && e.status != EnvStatus::Terminated)
            .filter_map(|e| e.version_label.clone())
            .collect();
        let mut versions: Vec<(i64, String)> = state
            .versions
            .values()
            .filter(|v| v.app == app)
            .map(|v| (v.created, v.label.clone()))
            .collect();
        versions.sort();
        let excess = versions.len().saturating_sub(count.max(0) as usize);
        let labels: Vec<String> = versions
            .into_iter()
            .map(|(_, l)| l)
            .filter(|l| !in_use.contains(l))
            .take(excess)
            .collect();
        labels
            .into_iter()
            .filter_map(|label| {
                let removed = state.versions.remove(&(app.to_owned(), label.clone()))?;
                let bundle = match (delete_bundle, removed.bucket, removed.key) {
                    (true, Some(b), Some(k)) => Some((b, k)),
                    _ => None,
                };
                Some((label, bundle))
            })
            .collect()
    };
    for (label, bundle) in doomed {
        if let Some((bucket, key)) = bundle {
            let _ = shared
                .s3
                .delete_object()
                .bucket(bucket)
                .key(key)
                .send()
                .await;
        }
        lock(&shared.state).event(
            Severity::Info,
            format!("Deleted application version {label} (lifecycle policy)."),
            app,
            None,
            Some(&label),
            None,
        );
    }
}
