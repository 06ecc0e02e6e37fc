//! Human renderer: colour and live progress bars on a terminal.

use std::collections::HashMap;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::plain::{Palette, ensure_newline, error_text, event_line};
use super::{Event, Renderer, Report, write_or_ignore};
use crate::exit::ExitStatus;

/// Renders for a person: lines go through the progress area so bars never tear.
pub(super) struct HumanRenderer {
    palette: Palette,
    multi: MultiProgress,
    bars: HashMap<String, ProgressBar>,
}

impl HumanRenderer {
    pub fn new(color: bool) -> Self {
        HumanRenderer {
            palette: Palette { color },
            multi: MultiProgress::with_draw_target(ProgressDrawTarget::stderr()),
            bars: HashMap::new(),
        }
    }

    fn println(&self, line: &str) {
        if self.bars.is_empty() {
            write_or_ignore(std::io::stderr(), &format!("{line}\n"));
        } else {
            let _ = self.multi.println(line);
        }
    }

    fn bar(&mut self, id: &str, message: &str, total: Option<u64>) -> &ProgressBar {
        self.bars.entry(id.to_owned()).or_insert_with(|| {
            let bar = match total {
                Some(total) => {
                    let bar = ProgressBar::new(total);
                    bar.set_style(
                        ProgressStyle::with_template(
                            "{spinner} {msg} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec}",
                        )
                        .unwrap_or_else(|_| ProgressStyle::default_bar())
                        .progress_chars("=> "),
                    );
                    bar
                }
                None => {
                    let bar = ProgressBar::new_spinner();
                    bar.enable_steady_tick(std::time::Duration::from_millis(120));
                    bar
                }
            };
            bar.set_message(message.to_owned());
            self.multi.add(bar)
        })
    }
}

impl Renderer for HumanRenderer {
    fn event(&mut self, event: &Event) {
        match event {
            Event::Progress {
                id,
                message,
                current,
                total,
            } => {
                let bar = self.bar(id, message, *total);
                if let Some(total) = total {
                    bar.set_length(*total);
                }
                bar.set_position(*current);
            }
            Event::ProgressDone { id, message } => {
                if let Some(bar) = self.bars.remove(id) {
                    bar.finish_and_clear();
                    self.multi.remove(&bar);
                }
                let line = format!("{} {message}", self.palette.green("ok:"));
                self.println(&line);
            }
            other => {
                if let Some(line) = event_line(other, self.palette) {
                    self.println(&line);
                }
            }
        }
    }

    fn report(&mut self, _command: &str, report: &Report) {
        let _ = self.multi.clear();
        if !report.text.is_empty() {
            write_or_ignore(std::io::stdout(), &ensure_newline(&report.text));
        }
    }

    fn error(&mut self, _command: &str, chain: &[String], status: ExitStatus) {
        let _ = self.multi.clear();
        write_or_ignore(std::io::stderr(), &error_text(chain, status, self.palette));
    }
}
