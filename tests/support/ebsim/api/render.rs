//! XML for EB's shapes: ApplicationDescription, ApplicationVersionDescription,
//! EnvironmentDescription, EventDescription (field names as the SDK's deserialisers read them).

use super::super::Shared;
use super::super::state::{AppVersion, Application, Environment, Event, Lifecycle, date};
use super::super::xml::Xml;

/// `arn:aws:elasticbeanstalk:<region>:<account>:<resource>`.
pub fn arn(shared: &Shared, resource: &str) -> String {
    format!(
        "arn:aws:elasticbeanstalk:{}:{}:{resource}",
        shared.options.region, shared.options.account_id
    )
}

/// ApplicationDescription fields (the caller wraps them).
pub fn application(x: &mut Xml, shared: &Shared, app: &Application, labels: &[String]) {
    x.text(
        "ApplicationArn",
        &arn(shared, &format!("application/{}", app.name)),
    )
    .text("ApplicationName", &app.name)
    .opt("Description", app.description.as_deref())
    .time("DateCreated", date(app.created))
    .time("DateUpdated", date(app.created))
    .strings("Versions", labels)
    .element("ConfigurationTemplates", |_| {});
    lifecycle(x, app.lifecycle.as_ref());
}

/// ApplicationResourceLifecycleConfig, when the application has one.
pub fn lifecycle(x: &mut Xml, lifecycle: Option<&Lifecycle>) {
    let Some(l) = lifecycle else {
        return;
    };
    let rule = |x: &mut Xml, name: &str, field: &str, rule: Option<(i64, bool)>| {
        x.element(name, |x| {
            x.text("Enabled", if rule.is_some() { "true" } else { "false" });
            if let Some((n, delete)) = rule {
                x.text(field, &n.to_string())
                    .text("DeleteSourceFromS3", if delete { "true" } else { "false" });
            }
        });
    };
    x.element("ResourceLifecycleConfig", |x| {
        x.opt("ServiceRole", l.service_role.as_deref());
        x.element("VersionLifecycleConfig", |x| {
            rule(x, "MaxCountRule", "MaxCount", l.max_count);
            rule(x, "MaxAgeRule", "MaxAgeInDays", l.max_age_days);
        });
    });
}

/// ApplicationVersionDescription fields.
pub fn version(x: &mut Xml, shared: &Shared, v: &AppVersion) {
    x.text(
        "ApplicationVersionArn",
        &arn(shared, &format!("applicationversion/{}/{}", v.app, v.label)),
    )
    .text("ApplicationName", &v.app)
    .opt("Description", v.description.as_deref())
    .text("VersionLabel", &v.label);
    if let (Some(bucket), Some(key)) = (&v.bucket, &v.key) {
        x.element("SourceBundle", |x| {
            x.text("S3Bucket", bucket).text("S3Key", key);
        });
    }
    x.time("DateCreated", date(v.created))
        .time("DateUpdated", date(v.updated))
        .text("Status", v.status.wire());
}

/// EnvironmentDescription fields.
pub fn environment(x: &mut Xml, shared: &Shared, e: &Environment) {
    x.text("EnvironmentName", &e.name)
        .text("EnvironmentId", &e.id)
        .text("ApplicationName", &e.app)
        .opt("VersionLabel", e.version_label.as_deref())
        .text("SolutionStackName", &e.solution_stack)
        .opt("EndpointURL", e.endpoint.map(|a| a.to_string()).as_deref())
        .text("CNAME", &e.cname)
        .time("DateCreated", date(e.created))
        .time("DateUpdated", date(e.updated))
        .text("Status", e.status.wire())
        .text(
            "AbortableOperationInProgress",
            if e.abortable { "true" } else { "false" },
        )
        .text("Health", e.health.wire())
        .text("HealthStatus", e.health.status(e.status))
        .element("Tier", |x| {
            x.text("Name", "WebServer")
                .text("Type", "Standard")
                .text("Version", "1.0");
        })
        .text(
            "EnvironmentArn",
            &arn(shared, &format!("environment/{}/{}", e.app, e.name)),
        );
}

/// EventDescription fields.
pub fn event(x: &mut Xml, e: &Event) {
    x.time("EventDate", date(e.time))
        .text("Message", &e.message)
        .text("ApplicationName", &e.app)
        .opt("VersionLabel", e.version.as_deref())
        .opt("EnvironmentName", e.env.as_deref())
        .opt("RequestId", e.request_id.as_deref())
        .text("Severity", e.severity.wire());
}
