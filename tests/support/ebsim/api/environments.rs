//! CreateEnvironment, DescribeEnvironments, UpdateEnvironment, AbortEnvironmentUpdate,
//! DescribeEnvironmentHealth, DescribeConfigurationSettings (of a live environment).

use std::collections::BTreeMap;

use super::super::deploy::{self, Operation};
use super::super::error::ApiError;
use super::super::plan::Platform;
use super::super::query::Params;
use super::super::state::{
    EnvStatus, Environment, Health, OptionKey, Severity, State, now_ms, random_hex,
};
use super::super::xml::Xml;
use super::{Call, check_name, render};

/// The solution stack when CreateEnvironment names none.
const DEFAULT_STACK: &str = "64bit Amazon Linux 2023 v4.4.0 running Docker";

/// `OptionSettings.member.N.{Namespace,OptionName,Value}`.
fn option_settings(params: &Params, name: &str) -> Result<Vec<(OptionKey, String)>, ApiError> {
    params
        .structs(name)
        .into_iter()
        .map(|s| {
            let namespace = s.required("Namespace")?.to_owned();
            let option = s.required("OptionName")?.to_owned();
            Ok((
                (namespace, option),
                s.get("Value").unwrap_or_default().to_owned(),
            ))
        })
        .collect()
}

/// The environment named by `EnvironmentName` or `EnvironmentId`, or EB's not-found error.
pub(super) fn find(state: &State, params: &Params) -> Result<String, ApiError> {
    if let Some(id) = params.get("EnvironmentId") {
        return state
            .environments
            .iter()
            .find(|e| e.id == id && e.status != EnvStatus::Terminated)
            .map(|e| e.id.clone())
            .ok_or_else(|| ApiError::no_environment_id(id));
    }
    let name = params.required("EnvironmentName")?;
    state
        .env_by_name(name)
        .map(|e| e.id.clone())
        .ok_or_else(|| ApiError::no_environment(name))
}

fn describe_one(call: &Call<'_>, env: &Environment) -> String {
    let mut x = Xml::new();
    render::environment(&mut x, call.shared, env);
    x.finish()
}

pub fn create(call: &Call<'_>) -> Result<String, ApiError> {
    let p = call.params;
    let app = p.required("ApplicationName")?;
    let name = p.required("EnvironmentName")?;
    check_name("environmentName", name, 4, 40, false)?;
    let label = p.get("VersionLabel");
    let stack = match (p.get("SolutionStackName"), p.get("PlatformArn")) {
        (Some(_), Some(_)) => {
            return Err(ApiError::invalid(
                "You cannot specify both a solution stack name and a platform ARN.",
            ));
        }
        (Some(stack), None) => stack.to_owned(),
        (None, Some(arn)) => super::operations::stack_of_arn(call.shared, arn)?,
        (None, None) => DEFAULT_STACK.to_owned(),
    };
    let tags: Vec<(String, String)> = p
        .structs("Tags")
        .into_iter()
        .filter_map(|t| {
            Some((
                t.get("Key")?.to_owned(),
                t.get("Value").unwrap_or_default().to_owned(),
            ))
        })
        .collect();
    let options: BTreeMap<_, _> = option_settings(p, "OptionSettings")?.into_iter().collect();
    let mut state = call.shared.state();
    if !state.applications.contains_key(app) {
        return Err(ApiError::no_application(app));
    }
    if state.env_by_name(name).is_some() {
        return Err(ApiError::invalid(format!(
            "Environment {name} already exists."
        )));
    }
    if let Some(label) = label
        && !state
            .versions
            .contains_key(&(app.to_owned(), label.to_owned()))
    {
        return Err(ApiError::no_version(label));
    }
    let now = now_ms();
    let prefix = p.get("CNAMEPrefix").unwrap_or(name);
    let cname = format!(
        "{prefix}.{}.elasticbeanstalk.com",
        call.shared.options.region
    );
    if state
        .environments
        .iter()
        .any(|e| e.status != EnvStatus::Terminated && e.cname == cname)
    {
        return Err(ApiError::invalid(format!(
            "DNS name ({cname}) is not available."
        )));
    }
    let env = Environment {
        id: format!("e-{}", random_hex(10)),
        name: name.to_owned(),
        app: app.to_owned(),
        version_label: label.map(str::to_owned),
        platform: Platform::from_stack(&stack),
        solution_stack: stack,
        status: EnvStatus::Launching,
        health: Health::Grey,
        causes: Vec::new(),
        abortable: false,
        created: now,
        updated: now,
        cname,
        instance_id: format!("i-0{}", random_hex(16)),
        options,
        ports: Vec::new(),
        endpoint: None,
        deployment: None,
        engine_log: Vec::new(),
        tail_logs: Vec::new(),
        tags,
    };
    state.event(
        Severity::Info,
        "createEnvironment is starting.",
        app,
        Some(name),
        None,
        Some(call.request_id),
    );
    let body = describe_one(call, &env);
    let id = env.id.clone();
    // The version becomes the environment's only when the launch succeeds.
    let mut env = env;
    env.version_label = None;
    state.environments.push(env);
    drop(state);
    deploy::start_launch(
        call.shared,
        &id,
        label.map(str::to_owned),
        call.request_id.to_owned(),
    );
    Ok(body)
}

pub fn describe(call: &Call<'_>) -> Result<String, ApiError> {
    let p = call.params;
    let app = p.get("ApplicationName");
    let names = p.list("EnvironmentNames");
    let ids = p.list("EnvironmentIds");
    let label = p.get("VersionLabel");
    let include_deleted = p.bool("IncludeDeleted")?.unwrap_or(true);
    let state = call.shared.state();
    let envs: Vec<&Environment> = state
        .environments
        .iter()
        .filter(|e| app.is_none_or(|a| a == e.app))
        .filter(|e| names.is_empty() || names.contains(&e.name))
        .filter(|e| ids.is_empty() || ids.contains(&e.id))
        .filter(|e| label.is_none_or(|l| Some(l) == e.version_label.as_deref()))
        .filter(|e| include_deleted || e.status != EnvStatus::Terminated)
        .collect();
    let mut x = Xml::new();
    x.list("Environments", &envs, |x, e| {
        render::environment(x, call.shared, e)
    });
    Ok(x.finish())
}

pub fn update(call: &Call<'_>) -> Result<String, ApiError> {
    let p = call.params;
    let settings = option_settings(p, "OptionSettings")?;
    let removals: Vec<(String, String)> = p
        .structs("OptionsToRemove")
        .into_iter()
        .filter_map(|s| {
            Some((
                s.get("Namespace")?.to_owned(),
                s.get("OptionName")?.to_owned(),
            ))
        })
        .collect();
    let label = p.get("VersionLabel");
    if let Some(label) = label {
        check_name("versionLabel", label, 1, 100, true)?;
    }
    let mut state = call.shared.state();
    let id = find(&state, p)?;
    let Some(env) = state.environments.iter().find(|e| e.id == id).cloned() else {
        return Err(ApiError::no_environment_id(&id));
    };
    if env.status != EnvStatus::Ready {
        return Err(ApiError::not_ready(&env.name));
    }
    if let Some(label) = label
        && !state
            .versions
            .contains_key(&(env.app.clone(), label.to_owned()))
    {
        return Err(ApiError::no_version(label));
    }
    let target = label.map(str::to_owned).or(env.version_label.clone());
    let configure_only = label.is_none() && (!settings.is_empty() || !removals.is_empty());
    let Some(env) = state.env_mut(&id) else {
        return Err(ApiError::no_environment_id(&id));
    };
    for key in &removals {
        env.options.remove(key);
    }
    env.options.extend(settings);
    let operation = match (&target, label.is_some(), configure_only) {
        (Some(_), true, _) => Some(Operation::Deploy),
        (_, false, true) => Some(Operation::Configure),
        _ => None,
    };
    if operation.is_some() {
        env.status = EnvStatus::Updating;
        env.health = Health::Grey;
        env.abortable = true;
    }
    env.updated = now_ms();
    // The answer names the version being deployed; the environment keeps the previous one
    // until the deployment succeeds.
    let mut snapshot = env.clone();
    if label.is_some() {
        snapshot.version_label = label.map(str::to_owned);
    }
    if operation.is_some() {
        state.event(
            Severity::Info,
            "Environment update is starting.",
            &snapshot.app,
            Some(&snapshot.name),
            target.as_deref(),
            Some(call.request_id),
        );
    }
    drop(state);
    match (operation, target) {
        (Some(op), Some(target)) => {
            deploy::start_update(call.shared, &id, target, call.request_id.to_owned(), op)
        }
        // The sample application (no version yet) only takes the new configuration.
        (Some(_), None) => deploy::start_reconfigure(call.shared, &id, call.request_id.to_owned()),
        _ => {}
    }
    Ok(describe_one(call, &snapshot))
}

pub fn abort(call: &Call<'_>) -> Result<String, ApiError> {
    let id = {
        let state = call.shared.state();
        let id = find(&state, call.params)?;
        let abortable = state
            .environments
            .iter()
            .find(|e| e.id == id)
            .is_some_and(|e| e.status == EnvStatus::Updating && e.abortable);
        if !abortable {
            let name = state
                .environments
                .iter()
                .find(|e| e.id == id)
                .map(|e| e.name.clone())
                .unwrap_or_default();
            return Err(ApiError::invalid(format!(
                "Environment named {name} is in an invalid state for this operation. Must be Updating."
            )));
        }
        id
    };
    deploy::abort(call.shared, &id, call.request_id.to_owned());
    Ok(String::new())
}

pub fn health(call: &Call<'_>) -> Result<String, ApiError> {
    let state = call.shared.state();
    let id = find(&state, call.params)?;
    let Some(env) = state.environments.iter().find(|e| e.id == id) else {
        return Err(ApiError::no_environment_id(&id));
    };
    let mut x = Xml::new();
    x.text("EnvironmentName", &env.name)
        .text("HealthStatus", env.health.status(env.status))
        .text("Status", env.health.wire())
        .text("Color", env.health.wire())
        .strings("Causes", &env.causes)
        .time("RefreshedAt", super::super::state::date(now_ms()));
    Ok(x.finish())
}

/// The environment's option settings (what UpdateEnvironment and CreateEnvironment set), as
/// one `ConfigurationSettingsDescription`. Saved configuration templates are not modelled.
pub fn configuration(call: &Call<'_>) -> Result<String, ApiError> {
    let p = call.params;
    let app = p.required("ApplicationName")?;
    if p.get("TemplateName").is_some() {
        return Err(ApiError::invalid(
            "The emulator has no saved configuration templates; name an environment.",
        ));
    }
    let state = call.shared.state();
    if !state.applications.contains_key(app) {
        return Err(ApiError::no_application(app));
    }
    let id = find(&state, p)?;
    let Some(env) = state
        .environments
        .iter()
        .find(|e| e.id == id && e.app == app)
    else {
        return Err(ApiError::no_environment_id(&id));
    };
    let options: Vec<(&OptionKey, &String)> = env.options.iter().collect();
    let mut x = Xml::new();
    x.element("ConfigurationSettings", |x| {
        x.element("member", |x| {
            x.text("ApplicationName", &env.app)
                .text("EnvironmentName", &env.name)
                .text("SolutionStackName", &env.solution_stack)
                .text("DeploymentStatus", "deployed")
                .time("DateCreated", super::super::state::date(env.created))
                .time("DateUpdated", super::super::state::date(env.updated))
                .list(
                    "OptionSettings",
                    &options,
                    |x, ((namespace, option), value)| {
                        x.text("Namespace", namespace)
                            .text("OptionName", option)
                            .text("Value", value);
                    },
                );
        });
    });
    Ok(x.finish())
}
