//! Container logs as lines: several containers merged into one stream, each line tagged with
//! the service it came from.

use std::pin::Pin;

use bollard::Docker;
use bollard::container::LogOutput;
use bollard::query_parameters::LogsOptionsBuilder;
use bytes::{Bytes, BytesMut};
use futures_util::stream::{self, Stream, StreamExt};

use super::EngineError;

/// One container to read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogSource {
    /// The service name shown before each line.
    pub service: String,
    /// The container id or name.
    pub container: String,
}

/// Which lines.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LogOptions {
    /// Keep reading new output until the container stops.
    pub follow: bool,
    /// Only the last `n` lines of the existing output (`None`: all of it).
    pub tail: Option<u64>,
    /// Only output since this Unix time.
    pub since: Option<i64>,
}

/// One line of output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogLine {
    /// The service it came from.
    pub service: String,
    /// The text, without its line ending.
    pub line: String,
}

/// A boxed stream of lines.
pub type LogStream = Pin<Box<dyn Stream<Item = Result<LogLine, EngineError>> + Send>>;

/// The merged lines of `sources`, in the order they arrive.
pub fn lines(docker: &Docker, sources: &[LogSource], options: LogOptions) -> LogStream {
    let streams: Vec<LogStream> = sources
        .iter()
        .map(|source| one(docker, source, options))
        .collect();
    Box::pin(stream::select_all(streams))
}

fn one(docker: &Docker, source: &LogSource, options: LogOptions) -> LogStream {
    let tail = options
        .tail
        .map_or_else(|| "all".to_owned(), |n| n.to_string());
    let mut builder = LogsOptionsBuilder::default()
        .follow(options.follow)
        .stdout(true)
        .stderr(true)
        .tail(&tail);
    if let Some(since) = options.since {
        builder = builder.since(i32::try_from(since).unwrap_or(i32::MAX));
    }
    let raw = docker
        .logs(&source.container, Some(builder.build()))
        .map(|item| item.map(LogOutput::into_bytes).map_err(EngineError::from));
    Box::pin(split_lines(source.service.clone(), raw))
}

/// Re-cut chunks into lines: Docker frames need not end at a newline (TTY output, long lines).
fn split_lines(
    service: String,
    chunks: impl Stream<Item = Result<Bytes, EngineError>> + Send + 'static,
) -> impl Stream<Item = Result<LogLine, EngineError>> + Send {
    let state = (
        Box::pin(chunks),
        BytesMut::new(),
        Vec::<LogLine>::new(),
        false,
    );
    stream::unfold(
        state,
        move |(mut chunks, mut buffer, mut ready, mut done)| {
            let service = service.clone();
            async move {
                loop {
                    if let Some(line) = ready.pop() {
                        return Some((Ok(line), (chunks, buffer, ready, done)));
                    }
                    if done {
                        return None;
                    }
                    match chunks.next().await {
                        Some(Ok(bytes)) => {
                            buffer.extend_from_slice(&bytes);
                            let mut lines = Vec::new();
                            while let Some(pos) = buffer.iter().position(|b| *b == b'\n') {
                                let raw = buffer.split_to(pos + 1);
                                lines.push(LogLine {
                                    service: service.clone(),
                                    line: text(&raw),
                                });
                            }
                            lines.reverse();
                            ready = lines;
                        }
                        Some(Err(err)) => return Some((Err(err), (chunks, buffer, ready, true))),
                        None => {
                            done = true;
                            if !buffer.is_empty() {
                                let rest = buffer.split();
                                ready.push(LogLine {
                                    service: service.clone(),
                                    line: text(&rest),
                                });
                            }
                        }
                    }
                }
            }
        },
    )
}

/// A line's text: lossy UTF-8, without `\n` or `\r\n`.
fn text(raw: &[u8]) -> String {
    String::from_utf8_lossy(raw)
        .trim_end_matches('\n')
        .trim_end_matches('\r')
        .to_owned()
}

/// The last `n` lines of one container's output, for error messages.
pub async fn last_lines(
    docker: &Docker,
    service: &str,
    container: &str,
    n: u64,
) -> Result<Vec<String>, EngineError> {
    let source = LogSource {
        service: service.to_owned(),
        container: container.to_owned(),
    };
    let options = LogOptions {
        follow: false,
        tail: Some(n),
        since: None,
    };
    let mut stream = one(docker, &source, options);
    let mut out = Vec::new();
    while let Some(line) = stream.next().await {
        out.push(line?.line);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn chunks_are_recut_into_lines() {
        let chunks = stream::iter(vec![
            Ok(Bytes::from_static(b"one\ntw")),
            Ok(Bytes::from_static(b"o\r\nthree\nfo")),
            Ok(Bytes::from_static(b"ur")),
        ]);
        let lines: Vec<String> = split_lines("app".into(), chunks)
            .map(|l| l.map(|l| l.line).unwrap_or_else(|e| e.to_string()))
            .collect()
            .await;
        assert_eq!(lines, vec!["one", "two", "three", "four"]);
    }
}
