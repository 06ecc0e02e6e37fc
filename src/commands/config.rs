//! `stevedore config [<env>]`: every resolved setting and where it came from.

use serde_json::json;

use super::Context;
use crate::output::Report;
use crate::project::settings::Setting;

/// Resolve and print the configuration, masking secret values.
pub fn run(ctx: &Context, env: Option<&str>) -> anyhow::Result<Report> {
    let loaded = ctx.settings(env)?;
    let project = &loaded.project;
    let all = loaded.resolution.settings.all();
    let (docker, docker_line) = crate::engine::endpoint::report();
    let aws =
        crate::aws::endpoints::resolve_here(loaded.resolution.settings.profile.value.as_deref());
    let aws_lines: String = aws
        .iter()
        .map(|e| format!("aws endpoint {}\n", e.line()))
        .collect();
    let data = json!({
        "project_root": project.root,
        "environment": env,
        "settings": all,
        "docker_endpoint": docker,
        "aws_endpoints": aws,
    });
    Ok(Report::ok(
        data,
        format!(
            "{}\ndocker endpoint: {docker_line}\n{aws_lines}",
            table(&all)
        ),
    ))
}

/// KEY  VALUE  SOURCE, aligned.
fn table(settings: &[&Setting]) -> String {
    let rows: Vec<[String; 3]> = settings
        .iter()
        .map(|s| [s.key.clone(), s.display_value(), s.source.to_string()])
        .collect();
    let key_width = rows.iter().map(|r| r[0].len()).max().unwrap_or(0).max(3);
    let value_width = rows.iter().map(|r| r[1].len()).max().unwrap_or(0).max(5);
    let mut text = format!("{:key_width$}  {:value_width$}  SOURCE\n", "KEY", "VALUE");
    for [key, value, source] in rows {
        text.push_str(&format!(
            "{key:key_width$}  {value:value_width$}  {source}\n"
        ));
    }
    text
}
