//! The deterministic zip: members in the given (sorted) order, the zip epoch (1980-01-01) as
//! every timestamp, mode 0755 or 0644, links stored as links, and the same compression choice
//! for the same bytes. Same members in, same sha256 out.
//!
//! Speed comes from doing less, not from cutting corners: small files are compressed on every
//! core at once and appended in order; data that does not shrink (images, fonts, archives:
//! judged by the byte entropy of its first 16 KiB) is stored instead of deflated for nothing; large files
//! stream through without being held in memory.

use std::fs::File;
use std::io::{BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use sha2::{Digest, Sha256};
use zip::write::{PreparedZipFile, SimpleFileOptions};
use zip::{CompressionMethod, DateTime, ZipWriter};

use super::BundleError;
use super::select::{Member, MemberKind};

/// Files up to this size are compressed in parallel, in memory.
const PARALLEL_MAX: u64 = 8 * 1024 * 1024;
/// How much of a file decides whether it is worth deflating.
const PROBE: usize = 16 * 1024;
/// Above this entropy (bits per byte) of the probe, a file is stored: deflate would not save
/// a few percent (random bytes measure ~7.99, English text ~4.5, source code ~5).
const MAX_ENTROPY_BITS: f64 = 7.5;
/// A batch of parallel work ends after this many bytes or members.
const BATCH_BYTES: u64 = 32 * 1024 * 1024;
const BATCH_MEMBERS: usize = 2048;

/// What writing produced.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct ArchiveStats {
    /// The zip's sha256, lowercase hex.
    pub sha256: String,
    /// The zip's size.
    pub size: u64,
    /// Bytes of file content before compression.
    pub content_bytes: u64,
    /// Files stored without compression because they do not shrink.
    pub stored: usize,
    /// Files deflated.
    pub deflated: usize,
}

fn options(method: CompressionMethod, mode: u32) -> SimpleFileOptions {
    SimpleFileOptions::default()
        .compression_method(method)
        .last_modified_time(DateTime::DEFAULT)
        .unix_permissions(mode)
}

fn file_mode(executable: bool) -> u32 {
    if executable { 0o755 } else { 0o644 }
}

fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> BundleError + '_ {
    move |source| BundleError::Io {
        path: path.to_owned(),
        source,
    }
}

/// Whether deflating `sample` is worth it (deterministic: depends only on the bytes). Data
/// already compressed (PNG, JPEG, fonts, archives) has close to 8 bits of entropy per byte and
/// does not shrink; measuring that costs a histogram, where a trial deflate would cost a deflate.
fn worth_deflating(sample: &[u8]) -> bool {
    if sample.len() < 64 {
        // Deflate's own overhead eats any saving on a few bytes.
        return false;
    }
    let mut counts = [0u32; 256];
    for &byte in sample {
        counts[usize::from(byte)] += 1;
    }
    let total = sample.len() as f64;
    let bits: f64 = counts
        .iter()
        .filter(|&&c| c > 0)
        .map(|&c| {
            let p = f64::from(c) / total;
            -p * p.log2()
        })
        .sum();
    bits < MAX_ENTROPY_BITS
}

/// One small file, compressed (or stored) in memory, ready to append.
fn prepare(name: &str, data: &[u8], mode: u32) -> Result<(PreparedZipFile, bool), BundleError> {
    let deflate = worth_deflating(&data[..data.len().min(PROBE)]);
    let method = if deflate {
        CompressionMethod::Deflated
    } else {
        CompressionMethod::Stored
    };
    let prepared = PreparedZipFile::from_data(name, options(method, mode), data)?;
    Ok((prepared, deflate))
}

/// A member compressed by a worker: the entry, and whether it was deflated.
type Compressed = Result<(PreparedZipFile, bool), BundleError>;

/// The work of one member in a batch.
enum Work {
    /// Appended as is (directories, links).
    Inline,
    /// Compressed by a worker.
    Small,
}

/// Write `members` to `out` (through a temporary file beside it, renamed at the end); refuse a
/// result over `max_bytes`. `progress` hears (content bytes done, content bytes in all).
pub fn write(
    members: &[Member],
    out: &Path,
    max_bytes: u64,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<ArchiveStats, BundleError> {
    let dir = match out.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.to_owned(),
        _ => PathBuf::from("."),
    };
    if !dir.is_dir() {
        return Err(BundleError::OutputDir {
            out: out.to_owned(),
            dir,
        });
    }
    let temp = tempfile::Builder::new()
        .prefix(".stevedore-bundle-")
        .suffix(".zip.part")
        .tempfile_in(&dir)
        .map_err(io_error(&dir))?;
    let file = temp.reopen().map_err(io_error(temp.path()))?;
    let mut stats = ArchiveStats::default();
    let total: u64 = members.iter().map(content_size).sum();
    let mut zip = ZipWriter::new(std::io::BufWriter::with_capacity(1 << 20, file));
    let mut done = 0u64;
    let mut start = 0;
    while start < members.len() {
        let (end, batch_bytes) = batch_end(members, start);
        if end == start {
            // A large file: streamed on its own.
            stream_large(&mut zip, &members[start], &mut stats)?;
            done += content_size(&members[start]);
            start += 1;
        } else {
            write_batch(&mut zip, &members[start..end], &mut stats)?;
            done += batch_bytes;
            start = end;
        }
        progress(done, total);
    }
    let writer = zip.finish()?;
    let file = writer.into_inner().map_err(|e| BundleError::Io {
        path: temp.path().to_owned(),
        source: e.into_error(),
    })?;
    drop(file);
    let (sha256, size) = hash_file(temp.path())?;
    if size > max_bytes {
        return Err(BundleError::TooLarge {
            size,
            limit: max_bytes,
        });
    }
    temp.persist(out).map_err(|e| BundleError::Io {
        path: out.to_owned(),
        source: e.error,
    })?;
    stats.sha256 = sha256;
    stats.size = size;
    stats.content_bytes = total;
    Ok(stats)
}

fn content_size(member: &Member) -> u64 {
    match &member.kind {
        MemberKind::File { size, .. } => *size,
        MemberKind::Staged { data } => data.len() as u64,
        MemberKind::Dir | MemberKind::Symlink { .. } => 0,
    }
}

fn is_large(member: &Member) -> bool {
    matches!(&member.kind, MemberKind::File { size, .. } if *size > PARALLEL_MAX)
}

/// The end (exclusive) of the batch starting at `start`, and its content bytes; `start` itself
/// when that member is large.
fn batch_end(members: &[Member], start: usize) -> (usize, u64) {
    let mut end = start;
    let mut bytes = 0;
    while end < members.len()
        && !is_large(&members[end])
        && bytes < BATCH_BYTES
        && end - start < BATCH_MEMBERS
    {
        bytes += content_size(&members[end]);
        end += 1;
    }
    (end, bytes)
}

fn write_batch<W: Write + std::io::Seek>(
    zip: &mut ZipWriter<W>,
    batch: &[Member],
    stats: &mut ArchiveStats,
) -> Result<(), BundleError> {
    let work: Vec<Work> = batch
        .iter()
        .map(|m| match m.kind {
            MemberKind::File { .. } | MemberKind::Staged { .. } => Work::Small,
            _ => Work::Inline,
        })
        .collect();
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let next = AtomicUsize::new(0);
    let results: Vec<Vec<(usize, Compressed)>> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| {
                    let mut mine = Vec::new();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(member) = batch.get(i) else { break };
                        if matches!(work[i], Work::Small) {
                            mine.push((i, compress_member(member)));
                        }
                    }
                    mine
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|w| w.join().unwrap_or_default())
            .collect()
    });
    let mut prepared: Vec<Option<Compressed>> = (0..batch.len()).map(|_| None).collect();
    for (i, result) in results.into_iter().flatten() {
        prepared[i] = Some(result);
    }
    for (member, slot) in batch.iter().zip(prepared) {
        match (&member.kind, slot) {
            (MemberKind::Dir, _) => {
                zip.add_directory(
                    member.name.trim_end_matches('/'),
                    options(CompressionMethod::Stored, 0o755),
                )?;
            }
            (MemberKind::Symlink { target }, _) => {
                zip.add_symlink(
                    &member.name,
                    target,
                    options(CompressionMethod::Stored, 0o777),
                )?;
            }
            (_, Some(result)) => {
                let (file, deflated) = result?;
                if deflated {
                    stats.deflated += 1;
                } else {
                    stats.stored += 1;
                }
                zip.add_prepared_file(file)?;
            }
            (_, None) => {
                // A worker panicked before reaching this member.
                return Err(BundleError::Invalid(format!(
                    "compressing {} failed unexpectedly",
                    member.name
                )));
            }
        }
    }
    Ok(())
}

fn compress_member(member: &Member) -> Compressed {
    match &member.kind {
        MemberKind::File {
            path, executable, ..
        } => {
            let data = std::fs::read(path).map_err(io_error(path))?;
            prepare(&member.name, &data, file_mode(*executable))
        }
        MemberKind::Staged { data } => prepare(&member.name, data, 0o644),
        MemberKind::Dir | MemberKind::Symlink { .. } => Err(BundleError::Invalid(format!(
            "{} is not a file",
            member.name
        ))),
    }
}

fn stream_large<W: Write + std::io::Seek>(
    zip: &mut ZipWriter<W>,
    member: &Member,
    stats: &mut ArchiveStats,
) -> Result<(), BundleError> {
    let MemberKind::File {
        path,
        executable,
        size,
    } = &member.kind
    else {
        return Ok(());
    };
    let mut file = BufReader::with_capacity(1 << 20, File::open(path).map_err(io_error(path))?);
    let mut sample = vec![0; PROBE];
    let mut filled = 0;
    while filled < PROBE {
        let n = file.read(&mut sample[filled..]).map_err(io_error(path))?;
        if n == 0 {
            break;
        }
        filled += n;
    }
    sample.truncate(filled);
    let method = if worth_deflating(&sample) {
        stats.deflated += 1;
        CompressionMethod::Deflated
    } else {
        stats.stored += 1;
        CompressionMethod::Stored
    };
    let large = *size >= u64::from(u32::MAX);
    zip.start_file(
        &member.name,
        options(method, file_mode(*executable)).large_file(large),
    )?;
    zip.write_all(&sample).map_err(io_error(path))?;
    std::io::copy(&mut file, zip).map_err(io_error(path))?;
    Ok(())
}

/// The sha256 and size of the file at `path`.
pub fn hash_file(path: &Path) -> Result<(String, u64), BundleError> {
    let mut file = File::open(path).map_err(io_error(path))?;
    let mut hasher = Sha256::new();
    let mut buffer = vec![0; 1 << 20];
    let mut size = 0u64;
    loop {
        let n = file.read(&mut buffer).map_err(io_error(path))?;
        if n == 0 {
            break;
        }
        hasher.update(&buffer[..n]);
        size += n as u64;
    }
    Ok((hex::encode(hasher.finalize()), size))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn member(name: &str, kind: MemberKind) -> Member {
        Member {
            name: name.to_owned(),
            kind,
        }
    }

    fn sample_members(dir: &Path) -> Vec<Member> {
        let text = dir.join("text.txt");
        std::fs::write(&text, "hello hello hello hello hello\n".repeat(500)).expect("write");
        let noise = dir.join("noise.bin");
        // Bytes that do not compress: a simple xorshift sequence.
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        let bytes: Vec<u8> = (0..200_000)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                (x >> 24) as u8
            })
            .collect();
        std::fs::write(&noise, bytes).expect("write");
        vec![
            member("a/", MemberKind::Dir),
            member(
                "a/link",
                MemberKind::Symlink {
                    target: "../text.txt".into(),
                },
            ),
            member(
                "a/noise.bin",
                MemberKind::File {
                    path: noise,
                    executable: false,
                    size: 200_000,
                },
            ),
            member(
                "run.sh",
                MemberKind::Staged {
                    data: b"#!/bin/sh\n".to_vec(),
                },
            ),
            member(
                "text.txt",
                MemberKind::File {
                    path: text,
                    executable: true,
                    size: 15_000,
                },
            ),
        ]
    }

    #[test]
    fn same_members_same_bytes_with_modes_links_and_fixed_times() {
        let dir = tempfile::tempdir().expect("tempdir");
        let members = sample_members(dir.path());
        let one = dir.path().join("one.zip");
        let two = dir.path().join("two.zip");
        let a = write(&members, &one, u64::MAX, &mut |_, _| {}).expect("zip");
        let b = write(&members, &two, u64::MAX, &mut |_, _| {}).expect("zip");
        assert_eq!(a.sha256, b.sha256);
        assert_eq!(
            std::fs::read(&one).expect("read"),
            std::fs::read(&two).expect("read")
        );
        assert_eq!(
            (a.stored, a.deflated),
            (2, 1),
            "noise and the tiny script are stored"
        );
        let mut archive = zip::ZipArchive::new(File::open(&one).expect("open")).expect("zip");
        let names: Vec<String> = (0..archive.len())
            .map(|i| {
                archive
                    .by_index(i)
                    .and_then(|f| f.name().map(|n| n.into_owned()))
                    .expect("entry")
            })
            .collect();
        assert_eq!(
            names,
            vec!["a/", "a/link", "a/noise.bin", "run.sh", "text.txt"]
        );
        let link = archive.by_name("a/link").expect("link");
        assert!(link.is_symlink());
        drop(link);
        let text = archive.by_name("text.txt").expect("text");
        assert_eq!(text.unix_mode().map(|m| m & 0o777), Some(0o755));
        assert_eq!(text.compression(), CompressionMethod::Deflated);
        assert_eq!(text.last_modified().map(|t| t.year()), Some(1980));
    }

    #[test]
    fn over_the_limit_leaves_nothing_behind() {
        let dir = tempfile::tempdir().expect("tempdir");
        let members = sample_members(dir.path());
        let out = dir.path().join("big.zip");
        let err = write(&members, &out, 1000, &mut |_, _| {}).expect_err("too large");
        assert!(
            matches!(err, BundleError::TooLarge { limit: 1000, .. }),
            "{err}"
        );
        assert!(!out.exists());
        let leftovers = std::fs::read_dir(dir.path())
            .expect("list")
            .filter(|e| {
                e.as_ref()
                    .is_ok_and(|e| e.file_name().to_string_lossy().ends_with(".part"))
            })
            .count();
        assert_eq!(leftovers, 0);
    }

    #[test]
    fn a_missing_output_directory_is_named_and_is_invalid_input() {
        use crate::exit::{Coded, ExitStatus};
        let dir = tempfile::tempdir().expect("tempdir");
        let out = dir.path().join("missing/sub/app.zip");
        let err = write(&[], &out, u64::MAX, &mut |_, _| {}).expect_err("missing directory");
        assert_eq!(err.exit_status(), ExitStatus::InvalidInput);
        let text = err.to_string();
        assert!(
            text.contains(&dir.path().join("missing/sub").display().to_string()),
            "{text}"
        );
        assert!(!dir.path().join("missing").exists(), "nothing created");
    }
}
