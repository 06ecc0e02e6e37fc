//! gRPC message framing over an h2 stream, for the services the client serves to the daemon on
//! a BuildKit session: length-prefixed messages in, length-prefixed messages out with flow
//! control respected (so a large file never sits whole in memory), and the trailers that end a
//! call.

use bytes::{Buf, Bytes, BytesMut};
use h2::{RecvStream, SendStream};

/// A gRPC status code the services answer with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Code {
    /// Success.
    Ok = 0,
    /// The call was cancelled.
    Cancelled = 1,
    /// What was asked for does not exist (a secret that was not given).
    NotFound = 5,
    /// The method is not served.
    Unimplemented = 12,
    /// Anything else.
    Internal = 13,
}

/// Reads framed messages from a request body.
pub struct MessageReader {
    body: RecvStream,
    buffer: BytesMut,
}

impl MessageReader {
    /// Reads messages from `body`.
    pub fn new(body: RecvStream) -> Self {
        Self {
            body,
            buffer: BytesMut::new(),
        }
    }

    /// The next message, `None` at the end of the stream.
    pub async fn next(&mut self) -> Result<Option<Bytes>, h2::Error> {
        loop {
            if self.buffer.len() >= 5 {
                let len = u32::from_be_bytes([
                    self.buffer[1],
                    self.buffer[2],
                    self.buffer[3],
                    self.buffer[4],
                ]) as usize;
                if self.buffer.len() >= 5 + len {
                    self.buffer.advance(5);
                    return Ok(Some(self.buffer.split_to(len).freeze()));
                }
            }
            match self.body.data().await {
                Some(chunk) => {
                    let chunk = chunk?;
                    // Hand the window back at once: messages are consumed as they are parsed.
                    let _ = self.body.flow_control().release_capacity(chunk.len());
                    self.buffer.extend_from_slice(&chunk);
                }
                None => return Ok(None),
            }
        }
    }
}

/// Frames `message` as one gRPC message.
pub fn frame(message: &[u8]) -> Bytes {
    let mut out = BytesMut::with_capacity(5 + message.len());
    out.extend_from_slice(&[0]);
    out.extend_from_slice(&(message.len() as u32).to_be_bytes());
    out.extend_from_slice(message);
    out.freeze()
}

/// Sends `data` on `stream`, waiting for the peer's flow-control window.
pub async fn send(stream: &mut SendStream<Bytes>, mut data: Bytes) -> Result<(), h2::Error> {
    while !data.is_empty() {
        stream.reserve_capacity(data.len());
        let granted = std::future::poll_fn(|cx| stream.poll_capacity(cx)).await;
        let granted = match granted {
            Some(granted) => granted?,
            None => return Err(h2::Error::from(h2::Reason::CANCEL)),
        };
        if granted == 0 {
            continue;
        }
        let chunk = data.split_to(granted.min(data.len()));
        stream.send_data(chunk, false)?;
    }
    Ok(())
}

/// The response head of a gRPC call.
pub fn response_head() -> http::Response<()> {
    let mut response = http::Response::new(());
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/grpc"),
    );
    response
}

/// The trailers that end a call with `code` (and `message` when not OK).
pub fn trailers(code: Code, message: &str) -> http::HeaderMap {
    let mut map = http::HeaderMap::new();
    map.insert("grpc-status", http::HeaderValue::from((code as u8) as u16));
    if !message.is_empty() {
        // Header values must be visible ASCII; anything else is dropped rather than sent broken.
        let clean: String = message
            .chars()
            .map(|c| {
                if c.is_ascii_graphic() || c == ' ' {
                    c
                } else {
                    '?'
                }
            })
            .collect();
        if let Ok(value) = http::HeaderValue::from_str(&clean) {
            map.insert("grpc-message", value);
        }
    }
    map
}

/// Ends a call that sends no messages with `code`.
pub fn reject(respond: &mut h2::server::SendResponse<Bytes>, code: Code, message: &str) {
    let mut response = response_head();
    let headers = response.headers_mut();
    headers.insert("grpc-status", http::HeaderValue::from((code as u8) as u16));
    if let Some(value) = trailers(code, message).remove("grpc-message") {
        headers.insert("grpc-message", value);
    }
    let _ = respond.send_response(response, true);
}

/// The values of metadata header `name`, in order (gRPC metadata may repeat a key).
pub fn metadata(request: &http::Request<RecvStream>, name: &str) -> Vec<String> {
    request
        .headers()
        .get_all(name)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .map(str::to_owned)
        .collect()
}
