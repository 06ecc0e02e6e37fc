//! The only writer of stdout and stderr.
//!
//! Commands send [`Event`]s to a [`Printer`] and end with a [`Report`]. The printer's renderer
//! decides how they look: `human` (colour, progress bars; on a terminal), `plain` (one line per
//! event, no escape codes; when output is not a terminal or `CI` is set) or `json` (NDJSON events
//! on stdout, then one summary object). In human and plain modes events go to stderr and the
//! report's text to stdout, so `stevedore config > file` captures only the data.

mod event;
mod human;
mod json;
mod plain;

use std::io::{IsTerminal, Write};
use std::sync::{Arc, Mutex};

pub use event::{CheckStatus, Event};

use crate::exit::ExitStatus;

/// How output is rendered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Colour and progress bars for a person at a terminal.
    Human,
    /// One line per event, no escape codes, for CI logs.
    Plain,
    /// NDJSON events and a final summary object on stdout.
    Json,
}

/// How much to print.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Verbosity {
    /// Errors and requested data only.
    Quiet,
    /// The default.
    Normal,
    /// Debug events too.
    Verbose,
}

/// Options that pick the renderer.
#[derive(Debug, Clone, Copy)]
pub struct OutputOptions {
    /// The renderer.
    pub mode: Mode,
    /// How much to print.
    pub verbosity: Verbosity,
    /// Whether to emit colour escape codes (human mode).
    pub color: bool,
}

impl OutputOptions {
    /// Decide the mode from the flags and the environment: `--json` wins; otherwise human on a
    /// terminal, plain when stderr is not a terminal or `CI` is set.
    pub fn detect(json: bool, verbosity: Verbosity, color: crate::cli::ColorChoice) -> Self {
        let stderr_tty = std::io::stderr().is_terminal();
        let ci = std::env::var_os("CI").is_some_and(|v| !v.is_empty() && v != "false");
        let mode = if json {
            Mode::Json
        } else if stderr_tty && !ci {
            Mode::Human
        } else {
            Mode::Plain
        };
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        let color = match color {
            crate::cli::ColorChoice::Always => true,
            crate::cli::ColorChoice::Never => false,
            crate::cli::ColorChoice::Auto => mode == Mode::Human && !no_color,
        };
        OutputOptions {
            mode,
            verbosity,
            color,
        }
    }
}

/// What a command hands back when it is done: data for `--json`, text for people.
#[derive(Debug, Clone)]
pub struct Report {
    /// Machine-readable result (the `data` of the JSON summary).
    pub data: serde_json::Value,
    /// The text printed on stdout in human and plain modes (may be empty).
    pub text: String,
    /// The exit status (a report may carry a failure, e.g. a doctor check that failed).
    pub status: ExitStatus,
}

impl Report {
    /// A successful report.
    pub fn ok(data: serde_json::Value, text: impl Into<String>) -> Self {
        Report {
            data,
            text: text.into(),
            status: ExitStatus::Ok,
        }
    }
}

/// Renders events in one style.
trait Renderer: Send {
    fn event(&mut self, event: &Event);
    fn report(&mut self, command: &str, report: &Report);
    fn error(&mut self, command: &str, chain: &[String], status: ExitStatus);
}

/// The handle commands print through. Cheap to clone; safe to share between tasks.
#[derive(Clone)]
pub struct Printer {
    options: OutputOptions,
    renderer: Arc<Mutex<Box<dyn Renderer>>>,
}

impl Printer {
    /// A printer for `options`.
    pub fn new(options: OutputOptions) -> Self {
        let renderer: Box<dyn Renderer> = match options.mode {
            Mode::Human => Box::new(human::HumanRenderer::new(options.color)),
            Mode::Plain => Box::new(plain::PlainRenderer::new(options.color)),
            Mode::Json => Box::new(json::JsonRenderer),
        };
        Printer {
            options,
            renderer: Arc::new(Mutex::new(renderer)),
        }
    }

    /// The options in force.
    pub fn options(&self) -> OutputOptions {
        self.options
    }

    /// Report an event, unless the verbosity hides it.
    pub fn emit(&self, event: Event) {
        let verbosity = self.options.verbosity;
        if (verbosity == Verbosity::Quiet && event.hidden_when_quiet())
            || (verbosity < Verbosity::Verbose && event.verbose_only())
        {
            return;
        }
        self.with_renderer(|r| r.event(&event));
    }

    /// Print the command's final report.
    pub fn report(&self, command: &str, report: &Report) {
        self.with_renderer(|r| r.report(command, report));
    }

    /// Print an error once, as a chain (`error: outer` / `caused by: inner`).
    pub fn error(&self, command: &str, err: &anyhow::Error, status: ExitStatus) {
        let chain = error_chain(err);
        self.with_renderer(|r| r.error(command, &chain, status));
    }

    /// Output of an attached container (`run`, `shell`), passed through byte for byte so
    /// prompts and TTY control sequences work. With `--json` it becomes `log` events instead,
    /// one per line, so stdout stays NDJSON.
    pub fn passthrough(&self, service: &str, to_stderr: bool, bytes: &[u8]) {
        if self.options.mode == Mode::Json {
            for line in String::from_utf8_lossy(bytes).lines() {
                self.emit(Event::Log {
                    service: service.to_owned(),
                    line: line.trim_end_matches('\r').to_owned(),
                });
            }
            return;
        }
        // Hold the renderer's lock so a progress line never lands inside the output.
        self.with_renderer(|_| {
            if to_stderr {
                write_bytes(std::io::stderr(), bytes);
            } else {
                write_bytes(std::io::stdout(), bytes);
            }
        });
    }

    fn with_renderer(&self, f: impl FnOnce(&mut dyn Renderer)) {
        // A poisoned lock means a renderer panicked mid-write; keep printing anyway.
        let mut guard = self
            .renderer
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        f(guard.as_mut());
    }
}

/// The messages of an error chain, outermost first, without repeats (context often restates
/// its cause).
pub fn error_chain(err: &anyhow::Error) -> Vec<String> {
    let mut chain: Vec<String> = Vec::new();
    for cause in err.chain() {
        let text = cause.to_string();
        if chain.last().is_some_and(|prev| prev.contains(&text)) {
            continue;
        }
        chain.push(text);
    }
    chain
}

/// Write raw `bytes` to `out`, ignoring a closed pipe.
fn write_bytes(mut out: impl Write, bytes: &[u8]) {
    let _ = out.write_all(bytes);
    let _ = out.flush();
}

/// Write `text` to `out`, ignoring a closed pipe (`stevedore config | head` must not panic).
fn write_or_ignore(mut out: impl Write, text: &str) {
    let _ = out.write_all(text.as_bytes());
    let _ = out.flush();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chain_skips_context_that_repeats_its_cause() {
        let err = anyhow::anyhow!("disk full").context("writing bundle.zip: disk full");
        assert_eq!(error_chain(&err), vec!["writing bundle.zip: disk full"]);
        let err = anyhow::anyhow!("disk full").context("writing bundle.zip");
        assert_eq!(error_chain(&err), vec!["writing bundle.zip", "disk full"]);
    }

    #[test]
    fn quiet_hides_progress_but_not_logs_or_failed_checks() {
        assert!(Event::step("x").hidden_when_quiet());
        assert!(Event::warning("x").hidden_when_quiet());
        assert!(
            !Event::Log {
                service: "app".into(),
                line: "x".into()
            }
            .hidden_when_quiet()
        );
        let failed = Event::Check {
            name: "docker".into(),
            status: CheckStatus::Fail,
            detail: "down".into(),
            fix: None,
        };
        assert!(!failed.hidden_when_quiet());
    }
}
