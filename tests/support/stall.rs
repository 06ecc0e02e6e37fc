//! Endpoints that accept connections and never answer, the fault behind "every wait is
//! bounded" (issue 14): a TCP listener that reads and ignores everything ([`Silent`]), and a
//! Docker Engine proxy in front of the real socket that forwards every request except those
//! whose request line holds a marker, which it swallows, or whose answer it cuts after the
//! headers ([`StallingEngine`]). Both live as long as the test process; their threads end when
//! the client hangs up.

use std::io::{BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::os::unix::net::{UnixListener, UnixStream};
use std::sync::{Arc, Mutex};

use super::endpoints::SOCKET as DOCKER_SOCKET;
use super::proxy::read_request_head;

/// A listener that accepts and never answers.
pub struct Silent {
    /// `127.0.0.1:PORT`.
    pub addr: String,
}

impl Silent {
    /// Start it on a free loopback port.
    pub fn start() -> Silent {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().expect("address").to_string();
        std::thread::spawn(move || {
            for client in listener.incoming().flatten() {
                std::thread::spawn(move || swallow(client));
            }
        });
        Silent { addr }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

/// Read until the client hangs up; never write.
fn swallow(mut client: impl Read) {
    let mut sink = [0u8; 8192];
    while matches!(client.read(&mut sink), Ok(n) if n > 0) {}
}

/// Where the proxy stalls a marked request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stall {
    /// Swallow the request: the Engine never sees it.
    Request,
    /// Forward the request, pass on the answer's headers, then nothing more (the rest of the
    /// answer is read and dropped); when the client hangs up, so does the proxy, as a client
    /// would, so the Engine cancels the work.
    AfterHeaders,
}

/// The Engine behind a proxy that stalls chosen requests.
pub struct StallingEngine {
    /// `tcp://127.0.0.1:PORT` or `unix:///…/engine.sock`, for DOCKER_HOST.
    pub host: String,
    stalled: Arc<Mutex<Vec<String>>>,
    /// The directory of the Unix socket, if it listens on one.
    _dir: Option<tempfile::TempDir>,
}

/// A client connection the proxy serves: TCP or a Unix socket.
trait Conn: Read + Write + Send + Sized + 'static {
    fn dup(&self) -> std::io::Result<Self>;
    fn close(&self, how: Shutdown) -> std::io::Result<()>;
}

impl Conn for TcpStream {
    fn dup(&self) -> std::io::Result<Self> {
        self.try_clone()
    }
    fn close(&self, how: Shutdown) -> std::io::Result<()> {
        self.shutdown(how)
    }
}

impl Conn for UnixStream {
    fn dup(&self) -> std::io::Result<Self> {
        self.try_clone()
    }
    fn close(&self, how: Shutdown) -> std::io::Result<()> {
        self.shutdown(how)
    }
}

impl StallingEngine {
    /// Forward everything to the local Engine except requests whose request line (e.g.
    /// `POST /v1.43/containers/abc/start HTTP/1.1`) contains one of `markers`.
    pub fn start(markers: &[&str]) -> StallingEngine {
        StallingEngine::with(markers, Stall::Request)
    }

    /// Forward everything, but stop passing on the answer to requests whose request line
    /// contains one of `markers` after its headers: an Engine that stalls mid-answer.
    pub fn start_after_headers(markers: &[&str]) -> StallingEngine {
        StallingEngine::with(markers, Stall::AfterHeaders)
    }

    /// As [`StallingEngine::start_after_headers`], listening on a Unix socket: stevedore speaks
    /// BuildKit only to an Engine on a Unix socket.
    pub fn start_after_headers_on_socket(markers: &[&str]) -> StallingEngine {
        let dir = tempfile::tempdir().expect("socket directory");
        let path = dir.path().join("engine.sock");
        let listener = UnixListener::bind(&path).expect("bind the socket");
        let host = format!("unix://{}", path.display());
        let stalled = Arc::new(Mutex::new(Vec::new()));
        let markers: Vec<String> = markers.iter().map(|m| (*m).to_owned()).collect();
        let accept = move || listener.accept().map(|(client, _)| client);
        accept_all(accept, markers, Stall::AfterHeaders, stalled.clone());
        StallingEngine {
            host,
            stalled,
            _dir: Some(dir),
        }
    }

    fn with(markers: &[&str], stall: Stall) -> StallingEngine {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let host = format!("tcp://{}", listener.local_addr().expect("address"));
        let markers: Vec<String> = markers.iter().map(|m| (*m).to_owned()).collect();
        let stalled = Arc::new(Mutex::new(Vec::new()));
        let accept = move || listener.accept().map(|(client, _)| client);
        accept_all(accept, markers, stall, stalled.clone());
        StallingEngine {
            host,
            stalled,
            _dir: None,
        }
    }

    /// The request lines swallowed so far.
    pub fn stalled(&self) -> Vec<String> {
        self.stalled.lock().map(|s| s.clone()).unwrap_or_default()
    }
}

/// Serve every client `accept` yields, each on its own thread.
fn accept_all<C: Conn>(
    mut accept: impl FnMut() -> std::io::Result<C> + Send + 'static,
    markers: Vec<String>,
    stall: Stall,
    log: Arc<Mutex<Vec<String>>>,
) {
    std::thread::spawn(move || {
        while let Ok(client) = accept() {
            let (markers, log) = (markers.clone(), log.clone());
            std::thread::spawn(move || {
                let _ = serve(client, &markers, stall, &log);
            });
        }
    });
}

fn serve<C: Conn>(
    client: C,
    markers: &[String],
    stall: Stall,
    log: &Mutex<Vec<String>>,
) -> std::io::Result<()> {
    let mut reader = BufReader::new(client.dup()?);
    let Some(head) = read_request_head(&mut reader)? else {
        return Ok(());
    };
    let request_line = head[0].trim_end().to_owned();
    let marked = markers.iter().any(|m| request_line.contains(m.as_str()));
    if marked && let Ok(mut log) = log.lock() {
        log.push(request_line);
    }
    if marked && stall == Stall::Request {
        swallow(reader);
        return Ok(());
    }
    let cut_after_headers = marked && stall == Stall::AfterHeaders;
    let upgrade = head
        .iter()
        .any(|l| l.to_ascii_lowercase().starts_with("upgrade:"));
    // One request per connection (unless it upgrades), so every request passes the check.
    let mut forwarded = String::new();
    for line in &head[..head.len() - 1] {
        if !upgrade && line.to_ascii_lowercase().starts_with("connection:") {
            continue;
        }
        forwarded.push_str(line);
    }
    if !upgrade {
        forwarded.push_str("Connection: close\r\n");
    }
    forwarded.push_str("\r\n");
    let mut upstream = UnixStream::connect(DOCKER_SOCKET)?;
    upstream.write_all(forwarded.as_bytes())?;
    upstream.write_all(reader.buffer())?;
    let mut client_read = client.dup()?;
    let mut upstream_write = upstream.try_clone()?;
    let up = std::thread::spawn(move || {
        let sent = std::io::copy(&mut client_read, &mut upstream_write);
        if cut_after_headers {
            // The Engine may have ended its side already (a failed pull): the client still
            // hears nothing until it hangs up itself.
            if sent.is_err() {
                swallow(&mut client_read);
            }
            let _ = upstream_write.shutdown(Shutdown::Both);
        } else {
            let _ = upstream_write.shutdown(Shutdown::Write);
        }
    });
    let mut client_write = client;
    if cut_after_headers {
        pass_headers_only(&mut upstream, &mut client_write);
        // Silence until the client gives up, however the Engine's side ended.
        let _ = up.join();
        let _ = client_write.close(Shutdown::Both);
        return Ok(());
    }
    let _ = std::io::copy(&mut upstream, &mut client_write);
    let _ = client_write.close(Shutdown::Both);
    let _ = up.join();
    Ok(())
}

/// Pass on an answer's status line and headers, then read and drop the rest.
fn pass_headers_only(upstream: &mut impl Read, client: &mut impl Write) {
    let mut seen = Vec::new();
    let mut chunk = [0u8; 8192];
    let mut passed = false;
    while let Ok(n) = upstream.read(&mut chunk) {
        if n == 0 {
            return;
        }
        if passed {
            continue;
        }
        seen.extend_from_slice(&chunk[..n]);
        if let Some(end) = seen.windows(4).position(|w| w == b"\r\n\r\n") {
            let _ = client.write_all(&seen[..end + 4]);
            let _ = client.flush();
            passed = true;
        }
    }
}

/// Run `cmd` to its end, failing the test if it is still running after `limit` (then it is
/// killed): a generous guard against a hang, not a timing assertion.
pub fn guarded(mut cmd: std::process::Command, limit: std::time::Duration) -> super::Output {
    use std::process::Stdio;
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn stevedore");
    let drain = |pipe: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut text = String::new();
            if let Some(mut pipe) = pipe {
                let _ = pipe.read_to_string(&mut text);
            }
            text
        })
    };
    let stdout = drain(
        child
            .stdout
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let stderr = drain(
        child
            .stderr
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let until = std::time::Instant::now() + limit;
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if std::time::Instant::now() > until {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "stevedore still ran after {limit:?} (it hangs): {cmd:?}\n--- stderr\n{}",
                stderr.join().unwrap_or_default()
            );
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    };
    super::Output {
        code: status.code(),
        stdout: stdout.join().unwrap_or_default(),
        stderr: stderr.join().unwrap_or_default(),
    }
}
