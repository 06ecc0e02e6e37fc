//! A fake Docker daemon on 127.0.0.1 that records build contexts: enough of the Engine API for
//! `DOCKER_BUILDKIT=0 docker build` to upload its context and exit 0, with the uploaded tar kept
//! for the test. Pure std: a thread per connection, HTTP/1.1 with keep-alive and chunked bodies.
//!
//! ```ignore
//! let daemon = RecordingDaemon::start();
//! // run `docker build` with DOCKER_HOST=daemon.host()
//! let tars = daemon.take_builds();
//! ```

use std::io::{self, BufRead, BufReader, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;

/// A connection idle this long is dropped, so handler threads never outlive a test for long.
const IDLE_TIMEOUT: Duration = Duration::from_secs(60);

/// The API version the fake daemon claims (Docker Engine 20.10's).
const API_VERSION: &str = "1.41";

/// What the daemon has seen, shared with its connection threads.
#[derive(Default)]
struct Recorded {
    builds: Mutex<Vec<Vec<u8>>>,
    requests: Mutex<Vec<String>>,
}

impl Recorded {
    fn note(&self, line: String) {
        self.requests
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(line);
    }
}

/// The fake daemon; it stops accepting connections when dropped.
pub struct RecordingDaemon {
    addr: SocketAddr,
    recorded: Arc<Recorded>,
    stop: Arc<AtomicBool>,
    acceptor: Option<JoinHandle<()>>,
}

impl RecordingDaemon {
    /// Listens on a free loopback port and serves until dropped.
    pub fn start() -> RecordingDaemon {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the recording daemon");
        let addr = listener.local_addr().expect("recording daemon address");
        let recorded = Arc::new(Recorded::default());
        let stop = Arc::new(AtomicBool::new(false));
        let acceptor = {
            let (recorded, stop) = (recorded.clone(), stop.clone());
            std::thread::spawn(move || accept_loop(&listener, &recorded, &stop))
        };
        RecordingDaemon {
            addr,
            recorded,
            stop,
            acceptor: Some(acceptor),
        }
    }

    /// The value for `DOCKER_HOST`: `tcp://127.0.0.1:PORT`.
    pub fn host(&self) -> String {
        format!("tcp://{}", self.addr)
    }

    /// The request bodies of the builds received so far (the context tars), oldest first;
    /// they are forgotten once taken.
    pub fn take_builds(&self) -> Vec<Vec<u8>> {
        std::mem::take(
            &mut *self
                .recorded
                .builds
                .lock()
                .unwrap_or_else(PoisonError::into_inner),
        )
    }

    /// Every request line received so far (`METHOD target`), for diagnostics.
    pub fn requests(&self) -> Vec<String> {
        self.recorded
            .requests
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

impl Drop for RecordingDaemon {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the blocking accept so the thread sees the flag.
        let _ = TcpStream::connect(self.addr);
        if let Some(acceptor) = self.acceptor.take() {
            let _ = acceptor.join();
        }
    }
}

fn accept_loop(listener: &TcpListener, recorded: &Arc<Recorded>, stop: &AtomicBool) {
    for stream in listener.incoming() {
        if stop.load(Ordering::SeqCst) {
            return;
        }
        let Ok(stream) = stream else { continue };
        let recorded = recorded.clone();
        std::thread::spawn(move || {
            // A client that vanishes mid-request is not the test's concern.
            let _ = serve_connection(stream, &recorded);
        });
    }
}

/// One parsed request.
struct Request {
    method: String,
    path: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Request {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }

    /// Whether the client wants the connection kept open (HTTP/1.1's default).
    fn keep_alive(&self) -> bool {
        !self
            .header("Connection")
            .is_some_and(|value| value.eq_ignore_ascii_case("close"))
    }
}

/// A response to write.
struct Response {
    status: &'static str,
    headers: Vec<(&'static str, String)>,
    body: Vec<u8>,
}

fn serve_connection(stream: TcpStream, recorded: &Recorded) -> io::Result<()> {
    stream.set_read_timeout(Some(IDLE_TIMEOUT))?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut writer = stream;
    while let Some(request) = read_request(&mut reader)? {
        recorded.note(format!("{} {}", request.method, request.path));
        let response = route(&request, recorded);
        write_response(&mut writer, &request, &response)?;
        if !request.keep_alive() {
            break;
        }
    }
    let _ = writer.shutdown(Shutdown::Both);
    Ok(())
}

/// Reads one request; `None` when the client closed the connection between requests.
fn read_request(reader: &mut impl BufRead) -> io::Result<Option<Request>> {
    let Some(request_line) = read_line(reader)? else {
        return Ok(None);
    };
    let mut parts = request_line.split_whitespace();
    let (Some(method), Some(target)) = (parts.next(), parts.next()) else {
        return Err(invalid(format!("bad request line {request_line:?}")));
    };
    let mut headers = Vec::new();
    loop {
        let line = read_line(reader)?.ok_or_else(|| invalid("headers cut short".into()))?;
        if line.is_empty() {
            break;
        }
        if let Some((key, value)) = line.split_once(':') {
            headers.push((key.trim().to_owned(), value.trim().to_owned()));
        }
    }
    let mut request = Request {
        method: method.to_owned(),
        path: target.split('?').next().unwrap_or(target).to_owned(),
        headers,
        body: Vec::new(),
    };
    request.body = read_body(reader, &request)?;
    Ok(Some(request))
}

/// One CRLF- (or LF-) terminated line without its terminator; `None` at end of stream.
fn read_line(reader: &mut impl BufRead) -> io::Result<Option<String>> {
    let mut line = String::new();
    if reader.read_line(&mut line)? == 0 {
        return Ok(None);
    }
    let trimmed = line.trim_end_matches(['\r', '\n']).len();
    line.truncate(trimmed);
    Ok(Some(line))
}

fn read_body(reader: &mut impl BufRead, request: &Request) -> io::Result<Vec<u8>> {
    let chunked = request
        .header("Transfer-Encoding")
        .is_some_and(|value| value.to_ascii_lowercase().contains("chunked"));
    if chunked {
        return read_chunked(reader);
    }
    let length: usize = match request.header("Content-Length") {
        Some(value) => value
            .parse()
            .map_err(|_| invalid(format!("bad Content-Length {value:?}")))?,
        None => 0,
    };
    let mut body = vec![0; length];
    reader.read_exact(&mut body)?;
    Ok(body)
}

/// A chunked body: `size[;ext]CRLF data CRLF`, ending with a zero-size chunk and trailers.
fn read_chunked(reader: &mut impl BufRead) -> io::Result<Vec<u8>> {
    let mut body = Vec::new();
    loop {
        let line = read_line(reader)?.ok_or_else(|| invalid("chunk size missing".into()))?;
        let size_text = line.split(';').next().unwrap_or("").trim();
        let size = usize::from_str_radix(size_text, 16)
            .map_err(|_| invalid(format!("bad chunk size {line:?}")))?;
        if size == 0 {
            // Trailers, up to an empty line.
            while read_line(reader)?.is_some_and(|line| !line.is_empty()) {}
            return Ok(body);
        }
        let start = body.len();
        body.resize(start + size, 0);
        reader.read_exact(&mut body[start..])?;
        read_line(reader)?;
    }
}

fn invalid(message: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, message)
}

/// `/v1.41/build` → `/build`: the Engine API accepts an optional version prefix.
fn unversioned(path: &str) -> &str {
    let Some(rest) = path.strip_prefix("/v") else {
        return path;
    };
    match rest.find('/') {
        Some(slash)
            if rest[..slash]
                .chars()
                .all(|c| c.is_ascii_digit() || c == '.') =>
        {
            &rest[slash..]
        }
        _ => path,
    }
}

fn route(request: &Request, recorded: &Recorded) -> Response {
    match (request.method.as_str(), unversioned(&request.path)) {
        ("GET" | "HEAD", "/_ping") => ping(),
        ("GET", "/version") => json(
            "200 OK",
            serde_json::json!({
                "Version": "20.10.24",
                "ApiVersion": API_VERSION,
                "MinAPIVersion": "1.12",
                "Os": "linux",
                "Arch": "amd64",
                "KernelVersion": "6.1.0",
                "GoVersion": "go1.19.8",
                "GitCommit": "5d6db84",
            }),
        ),
        ("POST", "/build") => {
            recorded
                .builds
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push(request.body.clone());
            let stream = serde_json::json!({"stream": "Successfully built 0123456789ab\n"});
            let mut response = json("200 OK", stream);
            response.body.push(b'\n');
            response
        }
        (method, _) => json(
            "404 Not Found",
            serde_json::json!({
                "message": format!("the recording daemon does not serve {method} {}", request.path)
            }),
        ),
    }
}

fn ping() -> Response {
    Response {
        status: "200 OK",
        headers: vec![
            ("API-Version", API_VERSION.to_owned()),
            ("OSType", "linux".to_owned()),
            ("Docker-Experimental", "false".to_owned()),
            ("Builder-Version", "1".to_owned()),
            (
                "Cache-Control",
                "no-cache, no-store, must-revalidate".to_owned(),
            ),
            ("Pragma", "no-cache".to_owned()),
            ("Content-Type", "text/plain; charset=utf-8".to_owned()),
        ],
        body: b"OK".to_vec(),
    }
}

fn json(status: &'static str, value: serde_json::Value) -> Response {
    Response {
        status,
        headers: vec![
            ("API-Version", API_VERSION.to_owned()),
            ("Content-Type", "application/json".to_owned()),
        ],
        body: value.to_string().into_bytes(),
    }
}

fn write_response(out: &mut impl Write, request: &Request, response: &Response) -> io::Result<()> {
    let mut head = format!("HTTP/1.1 {}\r\n", response.status);
    for (key, value) in &response.headers {
        head.push_str(&format!("{key}: {value}\r\n"));
    }
    head.push_str(&format!("Content-Length: {}\r\n", response.body.len()));
    if !request.keep_alive() {
        head.push_str("Connection: close\r\n");
    }
    head.push_str("\r\n");
    out.write_all(head.as_bytes())?;
    if request.method != "HEAD" {
        out.write_all(&response.body)?;
    }
    out.flush()
}
