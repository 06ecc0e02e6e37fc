//! Attaching to a container's stdio, for one-off runs: output as it comes, input forwarded,
//! the TTY sized like the user's terminal.

use std::pin::Pin;

use bollard::Docker;
use bollard::query_parameters::{AttachContainerOptionsBuilder, ResizeContainerTTYOptionsBuilder};
use futures_util::{Stream, StreamExt};
use tokio::io::AsyncWrite;

use super::EngineError;

/// Which stream a chunk of output came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channel {
    /// Standard output (or the TTY).
    Stdout,
    /// Standard error.
    Stderr,
}

/// A chunk of a container's output.
pub type Output = Pin<Box<dyn Stream<Item = Result<(Channel, bytes::Bytes), EngineError>> + Send>>;

/// The two ends of an attachment.
pub struct Attachment {
    /// What the container writes.
    pub output: Output,
    /// What the container reads (its stdin; writes go nowhere unless stdin was attached).
    pub input: Pin<Box<dyn AsyncWrite + Send>>,
}

/// Attach to container `id` before it starts, so no output is missed. `stdin` forwards input.
pub async fn attach(docker: &Docker, id: &str, stdin: bool) -> Result<Attachment, EngineError> {
    let options = AttachContainerOptionsBuilder::default()
        .stream(true)
        .stdout(true)
        .stderr(true)
        .stdin(stdin)
        .build();
    let results = docker.attach_container(id, Some(options)).await?;
    let output = results.output.map(|item| {
        item.map_err(EngineError::from).map(|chunk| {
            use bollard::container::LogOutput;
            match chunk {
                LogOutput::StdErr { message } => (Channel::Stderr, message),
                LogOutput::StdOut { message }
                | LogOutput::Console { message }
                | LogOutput::StdIn { message } => (Channel::Stdout, message),
            }
        })
    });
    Ok(Attachment {
        output: Box::pin(output),
        input: results.input,
    })
}

/// Size the container's TTY (columns, rows).
pub async fn resize(docker: &Docker, id: &str, columns: u16, rows: u16) -> Result<(), EngineError> {
    let options = ResizeContainerTTYOptionsBuilder::default()
        .w(i32::from(columns))
        .h(i32::from(rows))
        .build();
    Ok(docker.resize_container_tty(id, options).await?)
}
