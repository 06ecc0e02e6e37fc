//! The FileSync `DiffCopy` service: sends a directory to the daemon in fsutil's packet protocol.
//!
//! The sender streams one STAT packet per entry in the walk order (depth first, names sorted),
//! then an empty STAT; the daemon compares them with its copy from the last build and asks with
//! REQ packets only for the files that changed, each answered with DATA packets and an empty
//! DATA; a FIN from the daemon is echoed and ends the call. Entries come from stevedore's own
//! `.dockerignore` walk, so BuildKit sees exactly what the classic context would hold.

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::PathBuf;
use std::sync::Arc;

use bytes::Bytes;
use h2::RecvStream;
use h2::server::SendResponse;
use tokio::io::AsyncReadExt;

use super::grpc::{self, Code, MessageReader};
use super::proto::{self, Fields, Value};
use crate::ignore::docker::{ContextEntry, EntryKind};

const PACKET_STAT: u64 = 0;
const PACKET_REQ: u64 = 1;
const PACKET_DATA: u64 = 2;
const PACKET_FIN: u64 = 3;
const PACKET_ERR: u64 = 4;

/// File data goes in packets of this size, as fsutil sends it.
const CHUNK: usize = 32 * 1024;

/// Go's `os.FileMode` bits, which fsutil puts on the wire instead of Unix mode bits.
const GO_MODE_DIR: u32 = 1 << 31;
const GO_MODE_SYMLINK: u32 = 1 << 27;
const GO_MODE_DEVICE: u32 = 1 << 26;
const GO_MODE_NAMED_PIPE: u32 = 1 << 25;
const GO_MODE_SOCKET: u32 = 1 << 24;
const GO_MODE_SETUID: u32 = 1 << 23;
const GO_MODE_SETGID: u32 = 1 << 22;
const GO_MODE_CHAR_DEVICE: u32 = 1 << 21;
const GO_MODE_STICKY: u32 = 1 << 20;

/// A directory the session offers under a name (`context`, `dockerfile`).
#[derive(Debug, Clone)]
pub struct SyncedDir {
    /// The name the daemon asks for in the `dir-name` metadata.
    pub name: String,
    /// The entries to send, in walk order.
    pub entries: Arc<Vec<ContextEntry>>,
    /// File bytes sent so far, for the build summary.
    pub sent: Arc<std::sync::atomic::AtomicU64>,
}

/// Serves one DiffCopy call for `dirs`.
pub async fn serve(
    request: http::Request<RecvStream>,
    mut respond: SendResponse<Bytes>,
    dirs: Arc<Vec<SyncedDir>>,
) {
    let name = grpc::metadata(&request, "dir-name")
        .into_iter()
        .next()
        .unwrap_or_default();
    let Some(dir) = dirs.iter().find(|d| d.name == name) else {
        grpc::reject(
            &mut respond,
            Code::NotFound,
            &format!("no access allowed to dir {name:?}"),
        );
        return;
    };
    let includes: Vec<String> = grpc::metadata(&request, "include-patterns")
        .iter()
        .flat_map(|v| v.split(','))
        .map(|p| {
            p.trim()
                .trim_start_matches("./")
                .trim_end_matches('/')
                .to_owned()
        })
        .filter(|p| !p.is_empty())
        .collect();
    let entries = dir.entries.clone();
    let sent = dir.sent.clone();
    let Ok(mut send) = respond.send_response(grpc::response_head(), false) else {
        return;
    };
    let reader = MessageReader::new(request.into_body());
    let result = run(&mut send, reader, entries, &includes, &sent).await;
    let (code, message) = match result {
        Ok(()) => (Code::Ok, String::new()),
        Err(message) => (Code::Internal, message),
    };
    let _ = send.send_trailers(grpc::trailers(code, &message));
}

/// Whether `path` is wanted by the include patterns (empty: everything). A directory above an
/// included path is sent too, as the receiver needs its parents.
fn included(path: &str, includes: &[String]) -> bool {
    includes.is_empty()
        || includes.iter().any(|pattern| {
            if pattern.contains(['*', '?', '[']) {
                // Globs are rare in include lists; sending more than asked is harmless.
                return true;
            }
            path == pattern
                || path.starts_with(&format!("{pattern}/"))
                || pattern.starts_with(&format!("{path}/"))
        })
}

async fn run(
    send: &mut h2::SendStream<Bytes>,
    mut reader: MessageReader,
    entries: Arc<Vec<ContextEntry>>,
    includes: &[String],
    sent: &std::sync::atomic::AtomicU64,
) -> Result<(), String> {
    // Ids the daemon may ask for: index in the STAT stream → entry.
    let mut requestable: Vec<PathBuf> = Vec::new();
    // Read the daemon's packets while the STATs go out, so neither side blocks the other. The
    // queue is unbounded: REQ packets are a few bytes each (one per changed file), and h2 closes
    // a connection whose small DATA frames pile up unread (its flood protection).
    let (packets_tx, mut packets_rx) =
        tokio::sync::mpsc::unbounded_channel::<Result<Bytes, String>>();
    let receiving = tokio::spawn(async move {
        loop {
            match reader.next().await {
                Ok(Some(message)) => {
                    if packets_tx.send(Ok(message)).is_err() {
                        break;
                    }
                }
                Ok(None) => break,
                Err(e) => {
                    let _ = packets_tx.send(Err(e.to_string()));
                    break;
                }
            }
        }
    });
    for entry in entries.iter().filter(|e| included(&e.rel_path, includes)) {
        let stat = match stat_packet(entry) {
            Ok(stat) => stat,
            Err(e) => {
                let message = format!("cannot read {}: {e}", entry.path.display());
                let _ = grpc::send(send, grpc::frame(&err_packet(&message))).await;
                receiving.abort();
                return Err(message);
            }
        };
        grpc::send(send, grpc::frame(&stat))
            .await
            .map_err(|e| e.to_string())?;
        requestable.push(if entry.kind == EntryKind::File {
            entry.path.clone()
        } else {
            PathBuf::new()
        });
    }
    let mut last = Vec::new();
    proto::put_uint(&mut last, 1, PACKET_STAT);
    grpc::send(send, grpc::frame(&last))
        .await
        .map_err(|e| e.to_string())?;
    while let Some(message) = packets_rx.recv().await {
        let message = message?;
        let (kind, id, data) = parse_packet(&message);
        match kind {
            PACKET_REQ => {
                let path = requestable
                    .get(id as usize)
                    .filter(|p| !p.as_os_str().is_empty())
                    .ok_or_else(|| format!("the daemon asked for unknown file id {id}"))?;
                let bytes = send_file(send, id, path).await?;
                sent.fetch_add(bytes, std::sync::atomic::Ordering::Relaxed);
            }
            PACKET_FIN => {
                let mut fin = Vec::new();
                proto::put_uint(&mut fin, 1, PACKET_FIN);
                grpc::send(send, grpc::frame(&fin))
                    .await
                    .map_err(|e| e.to_string())?;
                receiving.abort();
                return Ok(());
            }
            PACKET_ERR => {
                receiving.abort();
                return Err(format!("error from receiver: {}", proto::text(data)));
            }
            _ => {}
        }
    }
    Ok(())
}

/// Sends one file's data; returns its size.
async fn send_file(
    send: &mut h2::SendStream<Bytes>,
    id: u32,
    path: &PathBuf,
) -> Result<u64, String> {
    let mut total = 0u64;
    // A file that vanished since the walk is sent empty, as fsutil does.
    if let Ok(mut file) = tokio::fs::File::open(path).await {
        let mut buffer = vec![0u8; CHUNK];
        loop {
            let n = file
                .read(&mut buffer)
                .await
                .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
            if n == 0 {
                break;
            }
            total += n as u64;
            grpc::send(send, grpc::frame(&data_packet(id, &buffer[..n])))
                .await
                .map_err(|e| e.to_string())?;
        }
    }
    grpc::send(send, grpc::frame(&data_packet(id, &[])))
        .await
        .map_err(|e| e.to_string())?;
    Ok(total)
}

fn data_packet(id: u32, data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len() + 16);
    proto::put_uint(&mut out, 1, PACKET_DATA);
    proto::put_uint(&mut out, 3, u64::from(id));
    if !data.is_empty() {
        proto::put_bytes(&mut out, 4, data);
    }
    out
}

fn err_packet(message: &str) -> Vec<u8> {
    let mut out = Vec::new();
    proto::put_uint(&mut out, 1, PACKET_ERR);
    proto::put_bytes(&mut out, 4, message.as_bytes());
    out
}

/// (type, id, data) of a packet.
fn parse_packet(message: &[u8]) -> (u64, u32, &[u8]) {
    let (mut kind, mut id, mut data) = (0, 0, &[][..]);
    for (field, value) in Fields::new(message) {
        match (field, value) {
            (1, Value::Uint(v)) => kind = v,
            (3, Value::Uint(v)) => id = v as u32,
            (4, Value::Bytes(v)) => data = v,
            _ => {}
        }
    }
    (kind, id, data)
}

/// The STAT packet for `entry`. Owner ids are reset to 0, as the Docker CLI's sync does.
fn stat_packet(entry: &ContextEntry) -> std::io::Result<Vec<u8>> {
    let meta = std::fs::symlink_metadata(&entry.path)?;
    let mut stat = Vec::new();
    proto::put_bytes(&mut stat, 1, entry.rel_path.as_bytes());
    proto::put_uint(&mut stat, 2, u64::from(go_mode(&meta)));
    let file_type = meta.file_type();
    if file_type.is_file() {
        proto::put_uint(&mut stat, 5, meta.size());
    }
    let mtime = meta.mtime() * 1_000_000_000 + meta.mtime_nsec();
    proto::put_uint(&mut stat, 6, mtime as u64);
    if file_type.is_symlink() {
        let target = std::fs::read_link(&entry.path)?;
        proto::put_bytes(&mut stat, 7, target.as_os_str().as_encoded_bytes());
    }
    {
        use std::os::unix::fs::FileTypeExt;
        if file_type.is_block_device() || file_type.is_char_device() {
            let rdev = meta.rdev();
            // glibc's gnu_dev_major / gnu_dev_minor split of the device number.
            let major = ((rdev >> 8) & 0xfff) | ((rdev >> 32) & !0xfff);
            let minor = (rdev & 0xff) | ((rdev >> 12) & !0xff);
            proto::put_uint(&mut stat, 8, major);
            proto::put_uint(&mut stat, 9, minor);
        }
    }
    let mut packet = Vec::with_capacity(stat.len() + 8);
    proto::put_uint(&mut packet, 1, PACKET_STAT);
    proto::put_bytes(&mut packet, 2, &stat);
    Ok(packet)
}

/// Go's `os.FileMode` for `meta`.
fn go_mode(meta: &std::fs::Metadata) -> u32 {
    use std::os::unix::fs::FileTypeExt;
    let unix = meta.permissions().mode();
    let mut mode = unix & 0o777;
    let file_type = meta.file_type();
    if file_type.is_dir() {
        mode |= GO_MODE_DIR;
    } else if file_type.is_symlink() {
        mode |= GO_MODE_SYMLINK;
    } else if file_type.is_fifo() {
        mode |= GO_MODE_NAMED_PIPE;
    } else if file_type.is_socket() {
        mode |= GO_MODE_SOCKET;
    } else if file_type.is_char_device() {
        mode |= GO_MODE_DEVICE | GO_MODE_CHAR_DEVICE;
    } else if file_type.is_block_device() {
        mode |= GO_MODE_DEVICE;
    }
    if unix & 0o4000 != 0 {
        mode |= GO_MODE_SETUID;
    }
    if unix & 0o2000 != 0 {
        mode |= GO_MODE_SETGID;
    }
    if unix & 0o1000 != 0 {
        mode |= GO_MODE_STICKY;
    }
    mode
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn include_patterns_keep_parents_and_children() {
        let inc = vec!["sub/Dockerfile".to_owned()];
        assert!(included("sub", &inc));
        assert!(included("sub/Dockerfile", &inc));
        assert!(!included("sub/other", &inc));
        assert!(!included("Dockerfile", &inc));
        assert!(included("anything", &[]));
    }

    #[test]
    fn packets_parse_back() {
        let p = data_packet(7, b"abc");
        assert_eq!(parse_packet(&p), (PACKET_DATA, 7, &b"abc"[..]));
    }
}
