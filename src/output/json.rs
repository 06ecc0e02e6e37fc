//! `--json`: one JSON object per line on stdout, then a summary object.

use serde_json::json;

use super::{Event, Renderer, Report, write_or_ignore};
use crate::exit::ExitStatus;

/// NDJSON renderer. Every line is a complete object with an `event` field.
pub(super) struct JsonRenderer;

impl JsonRenderer {
    fn line(value: &serde_json::Value) {
        write_or_ignore(std::io::stdout(), &format!("{value}\n"));
    }
}

impl Renderer for JsonRenderer {
    fn event(&mut self, event: &Event) {
        match serde_json::to_value(event) {
            Ok(value) => Self::line(&value),
            Err(err) => Self::line(&json!({"event": "warning", "message": err.to_string()})),
        }
    }

    fn report(&mut self, command: &str, report: &Report) {
        Self::line(&json!({
            "event": "summary",
            "command": command,
            "ok": report.status == ExitStatus::Ok,
            "exit_code": report.status.code(),
            "data": report.data,
        }));
    }

    fn error(&mut self, command: &str, chain: &[String], status: ExitStatus) {
        Self::line(&json!({
            "event": "summary",
            "command": command,
            "ok": false,
            "exit_code": status.code(),
            "error": chain.first().cloned().unwrap_or_default(),
            "causes": chain.get(1..).unwrap_or_default(),
        }));
        // People reading CI logs see the error too; stderr never mixes with the NDJSON stream.
        let text = super::plain::error_text(chain, status, super::plain::Palette { color: false });
        write_or_ignore(std::io::stderr(), &text);
    }
}
