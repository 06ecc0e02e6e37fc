//! Plain renderer: one line per event on stderr, no escape codes; for CI logs and pipes.

use std::collections::HashMap;

use super::{CheckStatus, Event, Renderer, Report, write_or_ignore};
use crate::exit::ExitStatus;

/// Paints text when colour is on; plain text otherwise. Shared with the human renderer so both
/// say the same words.
#[derive(Debug, Clone, Copy)]
pub(super) struct Palette {
    pub color: bool,
}

impl Palette {
    fn paint(self, text: &str, code: &str) -> String {
        if self.color {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_owned()
        }
    }
    pub fn bold(self, text: &str) -> String {
        self.paint(text, "1")
    }
    pub fn red(self, text: &str) -> String {
        self.paint(text, "1;31")
    }
    pub fn green(self, text: &str) -> String {
        self.paint(text, "32")
    }
    pub fn yellow(self, text: &str) -> String {
        self.paint(text, "1;33")
    }
    pub fn cyan(self, text: &str) -> String {
        self.paint(text, "1;36")
    }
    pub fn dim(self, text: &str) -> String {
        self.paint(text, "2")
    }
    /// A stable colour per service name, for log prefixes.
    pub fn service(self, name: &str) -> String {
        const CODES: [&str; 6] = ["36", "33", "32", "35", "34", "31"];
        let index = name.bytes().map(usize::from).sum::<usize>() % CODES.len();
        self.paint(name, CODES[index])
    }
}

/// The text of an event (without the trailing newline), or `None` for events a line-based
/// renderer shows differently (progress).
pub(super) fn event_line(event: &Event, p: Palette) -> Option<String> {
    Some(match event {
        Event::Step { message } => format!("{} {}", p.cyan("==>"), p.bold(message)),
        Event::Info { message } => message.clone(),
        Event::Warning { message } => format!("{} {message}", p.yellow("warning:")),
        Event::Success { message } => format!("{} {message}", p.green("ok:")),
        Event::Debug { message } => p.dim(&format!("debug: {message}")),
        Event::Check {
            name,
            status,
            detail,
            fix,
        } => {
            let mark = match status {
                CheckStatus::Pass => p.green("pass"),
                CheckStatus::Warn => p.yellow("warn"),
                CheckStatus::Fail => p.red("FAIL"),
            };
            let mut line = format!("[{mark}] {name}: {detail}");
            if let Some(fix) = fix.as_ref().filter(|_| *status != CheckStatus::Pass) {
                line.push_str(&format!("\n       fix: {fix}"));
            }
            line
        }
        Event::Log { service, line } => format!("{} | {line}", p.service(service)),
        Event::Progress { .. } | Event::ProgressDone { .. } => return None,
    })
}

/// The error block: `error: outer` then `  caused by: inner` lines.
pub(super) fn error_text(chain: &[String], status: ExitStatus, p: Palette) -> String {
    let mut text = String::new();
    for (i, message) in chain.iter().enumerate() {
        if i == 0 {
            text.push_str(&format!("{} {message}\n", p.red("error:")));
        } else {
            text.push_str(&format!("  caused by: {message}\n"));
        }
    }
    if status != ExitStatus::Failure {
        text.push_str(&p.dim(&format!("(exit code {})", status.code())));
        text.push('\n');
    }
    text
}

/// Renders for logs: progress becomes a line at each tenth and at the end. Colour only when
/// asked for with `--color always`.
pub(super) struct PlainRenderer {
    palette: Palette,
    last_decile: HashMap<String, u64>,
}

impl Renderer for PlainRenderer {
    fn event(&mut self, event: &Event) {
        let palette = self.palette;
        let line = match event {
            Event::Progress {
                id,
                message,
                current,
                total,
            } => self.progress_line(id, message, *current, *total),
            Event::ProgressDone { id, message } => {
                self.last_decile.remove(id);
                Some(message.clone())
            }
            other => event_line(other, palette),
        };
        if let Some(line) = line {
            write_or_ignore(std::io::stderr(), &format!("{line}\n"));
        }
    }

    fn report(&mut self, _command: &str, report: &Report) {
        if !report.text.is_empty() {
            write_or_ignore(std::io::stdout(), &ensure_newline(&report.text));
        }
    }

    fn error(&mut self, _command: &str, chain: &[String], status: ExitStatus) {
        let text = error_text(chain, status, self.palette);
        write_or_ignore(std::io::stderr(), &text);
    }
}

impl PlainRenderer {
    pub fn new(color: bool) -> Self {
        PlainRenderer {
            palette: Palette { color },
            last_decile: HashMap::new(),
        }
    }

    fn progress_line(
        &mut self,
        id: &str,
        message: &str,
        current: u64,
        total: Option<u64>,
    ) -> Option<String> {
        let total = total.filter(|t| *t > 0)?;
        let decile = current.saturating_mul(10) / total;
        let previous = self.last_decile.insert(id.to_owned(), decile);
        (previous != Some(decile)).then(|| format!("{message}: {}%", decile * 10))
    }
}

pub(super) fn ensure_newline(text: &str) -> String {
    if text.ends_with('\n') {
        text.to_owned()
    } else {
        format!("{text}\n")
    }
}
