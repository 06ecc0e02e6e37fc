//! A tiny forward proxy on 127.0.0.1 that records what goes through it: `CONNECT host:port`
//! tunnels and absolute-form plain-HTTP requests (`GET http://host/path`), as HTTP_PROXY and
//! HTTPS_PROXY clients send them.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};

/// The running proxy; it stops accepting when dropped (the listener thread is detached).
pub struct Proxy {
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    seen: Arc<Mutex<Vec<String>>>,
}

impl Proxy {
    /// Start it on a free loopback port.
    pub fn start() -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the proxy");
        let url = format!("http://{}", listener.local_addr().expect("address"));
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = seen.clone();
        std::thread::spawn(move || {
            for client in listener.incoming().flatten() {
                let log = log.clone();
                std::thread::spawn(move || {
                    let _ = serve(client, &log);
                });
            }
        });
        Proxy { url, seen }
    }

    /// Every request line seen so far.
    pub fn seen(&self) -> Vec<String> {
        self.seen.lock().map(|s| s.clone()).unwrap_or_default()
    }
}

fn serve(client: TcpStream, log: &Mutex<Vec<String>>) -> std::io::Result<()> {
    let mut reader = BufReader::new(client.try_clone()?);
    let Some(head) = read_request_head(&mut reader)? else {
        return Ok(());
    };
    let request_line = head[0].trim_end().to_owned();
    if let Ok(mut log) = log.lock() {
        log.push(request_line.clone());
    }
    let mut parts = request_line.split(' ');
    let (method, target, version) = (
        parts.next().unwrap_or_default(),
        parts.next().unwrap_or_default(),
        parts.next().unwrap_or("HTTP/1.1"),
    );
    let mut client = client;
    if method == "CONNECT" {
        let upstream = match TcpStream::connect(target) {
            Ok(upstream) => upstream,
            Err(_) => return client.write_all(b"HTTP/1.1 502 Bad Gateway\r\n\r\n"),
        };
        client.write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")?;
        // Bytes the reader buffered past the head belong to the tunnel.
        let buffered = reader.buffer().to_vec();
        return pipe(client, upstream, &buffered);
    }
    let Some(rest) = target.strip_prefix("http://") else {
        return client.write_all(b"HTTP/1.1 400 Bad Request\r\n\r\n");
    };
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let address = if authority.contains(':') {
        authority.to_owned()
    } else {
        format!("{authority}:80")
    };
    let mut upstream = match TcpStream::connect(address) {
        Ok(upstream) => upstream,
        Err(_) => return client.write_all(b"HTTP/1.1 502 Bad Gateway\r\n\r\n"),
    };
    // One request per connection: ask the origin to close after answering.
    let mut forwarded = format!("{method} {path} {version}\r\n");
    for line in &head[1..] {
        let lower = line.to_ascii_lowercase();
        if lower.starts_with("proxy-") || lower.starts_with("connection:") || line == "\r\n" {
            continue;
        }
        forwarded.push_str(line);
    }
    forwarded.push_str("Connection: close\r\n\r\n");
    upstream.write_all(forwarded.as_bytes())?;
    let buffered = reader.buffer().to_vec();
    pipe(client, upstream, &buffered)
}

/// Copy both ways until either side is done.
fn pipe(client: TcpStream, mut upstream: TcpStream, first: &[u8]) -> std::io::Result<()> {
    upstream.write_all(first)?;
    let mut client_read = client.try_clone()?;
    let mut upstream_write = upstream.try_clone()?;
    let up = std::thread::spawn(move || {
        let _ = std::io::copy(&mut client_read, &mut upstream_write);
        let _ = upstream_write.shutdown(Shutdown::Write);
    });
    let mut client_write = client;
    let mut buffer = [0u8; 16 * 1024];
    loop {
        let n = upstream.read(&mut buffer)?;
        if n == 0 {
            break;
        }
        client_write.write_all(&buffer[..n])?;
    }
    let _ = client_write.shutdown(Shutdown::Both);
    let _ = up.join();
    Ok(())
}

/// The request line and header lines of an HTTP request, the blank line last; `None` when the
/// client hung up first.
pub fn read_request_head(reader: &mut impl BufRead) -> std::io::Result<Option<Vec<String>>> {
    let mut head = Vec::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 {
            return Ok(None);
        }
        let end = line == "\r\n" || line == "\n";
        head.push(line);
        if end {
            return Ok(Some(head));
        }
    }
}
