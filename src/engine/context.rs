//! The build context as an uncompressed tar stream, written the way the
//! classic `docker build` (`DOCKER_BUILDKIT=0`) writes it, with one deliberate
//! difference: every entry gets the same modification time.
//!
//! What matches the Docker CLI (moby/go-archive's `TarWithOptions` with
//! `ChownOpts` 0:0): entries in the order given (use
//! [`crate::ignore::docker::ContextWalk`] for the CLI's order), directories
//! named with a trailing `/`, symlinks stored as links with their target
//! exactly as read (never followed), the permission bits plus setuid, setgid
//! and sticky (`mode & 0o7777`), uid and gid 0, empty user and group names, a
//! second occurrence of a file with several hard links stored as a hard link
//! to the first name sent, FIFOs and device nodes as headers only, sockets
//! left out.
//!
//! What differs: the CLI keeps each file's mtime; we write [`CONTEXT_MTIME`]
//! for all, so identical trees give byte-identical tars, whatever a checkout
//! or an editor did to the timestamps. Files that `COPY`/`ADD` put in an image
//! carry that date. Headers are GNU-style (long names as `././@LongLink`
//! records) where the CLI writes ustar/PAX; the daemon reads both.
//!
//! The writer needs only [`Write`] (it is fed through a pipe into the HTTP
//! body) and streams each file from disk, so memory stays flat whatever the
//! context's size.

use std::collections::HashMap;
use std::fs::{File, Metadata};
use std::io::{self, Read, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};

use tar::{EntryType, Header};

use crate::ignore::docker::{ContextEntry, DockerIgnoreError};

/// The modification time of every entry: 1980-01-02T00:00:00Z. Not the Unix
/// epoch, because tools that zip what they find (Python's `zipfile`, hence
/// wheel builds) reject dates before 1980, and a day after its first midnight
/// is still 1980 in every time zone.
pub const CONTEXT_MTIME: u64 = 315_619_200;

/// The tar name field holds this many bytes; longer link targets need a GNU
/// long-link record.
const NAME_FIELD_BYTES: usize = 100;

/// What a context tar holds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct ContextStats {
    /// Regular files, hard links included.
    pub files: u64,
    /// Directories.
    pub dirs: u64,
    /// Symbolic links.
    pub symlinks: u64,
    /// Bytes of file content (headers and padding not counted).
    pub bytes: u64,
}

/// Why the context could not be written.
#[derive(Debug, thiserror::Error)]
pub enum ContextError {
    /// An entry could not be examined or read.
    #[error("cannot read {} for the build context: {source}", .path.display())]
    Read {
        /// The entry on disk.
        path: PathBuf,
        /// What the operating system said.
        #[source]
        source: io::Error,
    },
    /// A file shrank while it was being sent, so the tar would be corrupt.
    #[error(
        "{} changed while it was being sent ({expected} bytes expected, {actual} read); build \
         again once nothing writes to it",
        .path.display()
    )]
    Changed {
        /// The file on disk.
        path: PathBuf,
        /// Its size when the entry's header was written.
        expected: u64,
        /// What could be read.
        actual: u64,
    },
    /// The tar stream could not be written (for instance the daemon hung up).
    #[error("cannot send {} in the build context: {source}", .path.display())]
    Write {
        /// The entry being written (the context root for the archive's end).
        path: PathBuf,
        /// What the writer said.
        #[source]
        source: io::Error,
    },
    /// Listing the context failed (from [`write_context_walk`]).
    #[error(transparent)]
    Walk(#[from] DockerIgnoreError),
}

/// Writes `entries` (paths relative to `root`, in the order given; their
/// contents are read from `root/<rel_path>`) to `out` as an uncompressed tar,
/// as described in the module docs. On error nothing more is written, not
/// even the end-of-archive blocks, so a reader cannot mistake the truncated
/// stream for a complete context.
pub fn write_context_tar<W: Write>(
    root: &Path,
    entries: impl IntoIterator<Item = ContextEntry>,
    out: W,
) -> Result<ContextStats, ContextError> {
    write_context_walk(root, entries.into_iter().map(Ok), out)
}

/// [`write_context_tar`] fed straight from a lazy listing such as
/// [`crate::ignore::docker::ContextWalk`]: the first listing error stops the
/// stream, which is then left truncated.
pub fn write_context_walk<W: Write>(
    root: &Path,
    entries: impl IntoIterator<Item = Result<ContextEntry, DockerIgnoreError>>,
    out: W,
) -> Result<ContextStats, ContextError> {
    let mut writer = ContextWriter {
        builder: tar::Builder::new(Poisonable {
            inner: out,
            poisoned: false,
        }),
        first_names: HashMap::new(),
        stats: ContextStats::default(),
    };
    let written = entries
        .into_iter()
        .try_for_each(|entry| writer.append(root, &entry?));
    match written {
        Ok(()) => writer.finish(root),
        Err(err) => {
            // Dropping the builder writes the end-of-archive blocks; refuse them.
            writer.builder.get_mut().poisoned = true;
            Err(err)
        }
    }
}

/// The tar builder plus what the CLI's archiver remembers between entries.
struct ContextWriter<W: Write> {
    builder: tar::Builder<Poisonable<W>>,
    /// The first name sent for each multiply-linked inode, keyed by device and
    /// inode, for hard links.
    first_names: HashMap<(u64, u64), String>,
    stats: ContextStats,
}

impl<W: Write> ContextWriter<W> {
    fn append(&mut self, root: &Path, entry: &ContextEntry) -> Result<(), ContextError> {
        let source = root.join(&entry.rel_path);
        let read_error = |err: io::Error| ContextError::Read {
            path: source.clone(),
            source: err,
        };
        // The entry's type now, not when it was listed, decides what is sent.
        let meta = std::fs::symlink_metadata(&source).map_err(read_error)?;
        let file_type = meta.file_type();
        if file_type.is_socket() {
            // The CLI cannot archive sockets either; it leaves them out.
            return Ok(());
        }
        let mut header = base_header(&meta);
        if file_type.is_dir() {
            header.set_entry_type(EntryType::Directory);
            self.stats.dirs += 1;
            let name = format!("{}/", entry.rel_path);
            return self.write(&source, &mut header, &name, io::empty());
        }
        if let Some(first) = self.earlier_hard_link(&meta, &entry.rel_path) {
            header.set_entry_type(EntryType::Link);
            self.stats.files += 1;
            return self.write_link(&source, &mut header, &entry.rel_path, first.as_bytes());
        }
        if file_type.is_symlink() {
            let target = std::fs::read_link(&source).map_err(read_error)?;
            header.set_entry_type(EntryType::Symlink);
            self.stats.symlinks += 1;
            let target = target.as_os_str().as_bytes();
            return self.write_link(&source, &mut header, &entry.rel_path, target);
        }
        if file_type.is_file() {
            return self.write_file(&source, &mut header, &entry.rel_path, meta.len());
        }
        header.set_entry_type(special_type(&meta));
        if file_type.is_block_device() || file_type.is_char_device() {
            set_device(&mut header, meta.rdev()).map_err(read_error)?;
        }
        self.write(&source, &mut header, &entry.rel_path, io::empty())
    }

    /// For a non-directory with several links: the name this inode was first
    /// sent under, or `None` (remembering `name`) if this is the first time.
    fn earlier_hard_link(&mut self, meta: &Metadata, name: &str) -> Option<String> {
        if meta.nlink() < 2 {
            return None;
        }
        let key = (meta.dev(), meta.ino());
        if let Some(first) = self.first_names.get(&key) {
            return Some(first.clone());
        }
        self.first_names.insert(key, name.to_owned());
        None
    }

    /// A regular file, streamed from disk; exactly `size` bytes are sent.
    fn write_file(
        &mut self,
        source: &Path,
        header: &mut Header,
        name: &str,
        size: u64,
    ) -> Result<(), ContextError> {
        let file = File::open(source).map_err(|err| ContextError::Read {
            path: source.to_path_buf(),
            source: err,
        })?;
        header.set_entry_type(EntryType::Regular);
        header.set_size(size);
        let mut reader = ExactReader {
            file: file.take(size),
            expected: size,
            failure: None,
        };
        let written = self.builder.append_data(header, name, &mut reader);
        if let Some(failure) = reader.failure.take() {
            return Err(failure.into_error(source, size));
        }
        written.map_err(|err| write_error(source, err))?;
        self.stats.files += 1;
        self.stats.bytes += size;
        Ok(())
    }

    /// A symlink or hard link. The target is stored byte for byte (the tar
    /// crate's own setter would normalise `a//b` and `a/./b`), in a GNU
    /// long-link record first when it does not fit the header.
    fn write_link(
        &mut self,
        source: &Path,
        header: &mut Header,
        name: &str,
        target: &[u8],
    ) -> Result<(), ContextError> {
        if target.len() > NAME_FIELD_BYTES {
            let record = target.chain(&[0u8][..]);
            self.builder
                .append(&long_link_header(target.len()), record)
                .map_err(|err| write_error(source, err))?;
        }
        let stored = &target[..target.len().min(NAME_FIELD_BYTES)];
        header
            .set_link_name_literal(stored)
            .map_err(|err| write_error(source, err))?;
        self.write(source, header, name, io::empty())
    }

    /// Appends a header (and the data for its size) under `name`; the tar
    /// crate adds a GNU long-name record when `name` does not fit.
    fn write(
        &mut self,
        source: &Path,
        header: &mut Header,
        name: &str,
        data: impl Read,
    ) -> Result<(), ContextError> {
        self.builder
            .append_data(header, name, data)
            .map_err(|err| write_error(source, err))
    }

    fn finish(mut self, root: &Path) -> Result<ContextStats, ContextError> {
        self.builder
            .finish()
            .map_err(|err| write_error(root, err))?;
        let mut out = self
            .builder
            .into_inner()
            .map_err(|err| write_error(root, err))?;
        out.flush().map_err(|err| write_error(root, err))?;
        Ok(self.stats)
    }
}

fn write_error(path: &Path, source: io::Error) -> ContextError {
    ContextError::Write {
        path: path.to_path_buf(),
        source,
    }
}

/// The fields every entry shares: mode bits, owner 0:0, no names, the fixed
/// mtime. Size 0 until a regular file sets its own.
fn base_header(meta: &Metadata) -> Header {
    let mut header = Header::new_gnu();
    header.set_mode(meta.mode() & 0o7777);
    header.set_uid(0);
    header.set_gid(0);
    header.set_mtime(CONTEXT_MTIME);
    header.set_size(0);
    header
}

/// The GNU record announcing a link target longer than the header holds: the
/// target and a NUL follow as its data.
fn long_link_header(target_len: usize) -> Header {
    let mut header = Header::new_gnu();
    let name = b"././@LongLink";
    if let Some(gnu) = header.as_gnu_mut() {
        gnu.name[..name.len()].copy_from_slice(name);
    }
    header.set_mode(0o644);
    header.set_uid(0);
    header.set_gid(0);
    header.set_mtime(0);
    header.set_size(target_len as u64 + 1);
    header.set_entry_type(EntryType::GNULongLink);
    header.set_cksum();
    header
}

fn special_type(meta: &Metadata) -> EntryType {
    let file_type = meta.file_type();
    if file_type.is_block_device() {
        EntryType::Block
    } else if file_type.is_char_device() {
        EntryType::Char
    } else {
        EntryType::Fifo
    }
}

/// Splits a Linux `st_rdev` as glibc's `major()`/`minor()` do.
fn set_device(header: &mut Header, rdev: u64) -> io::Result<()> {
    let major = ((rdev >> 8) & 0xfff) | ((rdev >> 32) & !0xfff);
    let minor = (rdev & 0xff) | ((rdev >> 12) & !0xff);
    let too_big = |_| io::Error::other("device number does not fit a tar header");
    header.set_device_major(u32::try_from(major).map_err(too_big)?)?;
    header.set_device_minor(u32::try_from(minor).map_err(too_big)?)
}

/// Reads a file for its tar entry: at most the size in its header, and an
/// error when it has shrunk since, which would misalign the archive. The
/// failure is kept so it can be told apart from a failure to write.
struct ExactReader {
    file: io::Take<File>,
    expected: u64,
    failure: Option<ReadFailure>,
}

enum ReadFailure {
    Io(io::Error),
    Short { read: u64 },
}

impl ReadFailure {
    fn into_error(self, path: &Path, expected: u64) -> ContextError {
        match self {
            ReadFailure::Io(source) => ContextError::Read {
                path: path.to_path_buf(),
                source,
            },
            ReadFailure::Short { read } => ContextError::Changed {
                path: path.to_path_buf(),
                expected,
                actual: read,
            },
        }
    }
}

impl Read for ExactReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self.file.read(buf) {
            Ok(0) if !buf.is_empty() && self.file.limit() > 0 => {
                let read = self.expected - self.file.limit();
                self.failure = Some(ReadFailure::Short { read });
                Err(io::Error::new(io::ErrorKind::UnexpectedEof, "file shrank"))
            }
            Ok(n) => Ok(n),
            Err(err) if err.kind() == io::ErrorKind::Interrupted => Err(err),
            Err(err) => {
                let kind = err.kind();
                self.failure = Some(ReadFailure::Io(err));
                Err(io::Error::new(kind, "reading a context file failed"))
            }
        }
    }
}

/// A writer that can be switched off, so that the tar builder's drop does
/// not append end-of-archive blocks to a stream we abandoned.
struct Poisonable<W> {
    inner: W,
    poisoned: bool,
}

impl<W: Write> Write for Poisonable<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.poisoned {
            return Err(io::Error::other("the build context stream was abandoned"));
        }
        self.inner.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        if self.poisoned {
            return Ok(());
        }
        self.inner.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ignore::docker::{ContextWalk, DockerIgnore, EntryKind, context_entries};
    use std::os::unix::fs::PermissionsExt;

    /// Path, type byte, link target, mode, mtime, uid, gid, content.
    type Row = (String, u8, String, u32, u64, u64, u64, Vec<u8>);

    fn rows(tar: &[u8]) -> Vec<Row> {
        let mut archive = tar::Archive::new(tar);
        let mut out = Vec::new();
        for entry in archive.entries().unwrap() {
            let mut entry = entry.unwrap();
            let header = entry.header().clone();
            let path = String::from_utf8(entry.path_bytes().into_owned()).unwrap();
            let link = entry
                .link_name_bytes()
                .map(|l| String::from_utf8(l.into_owned()).unwrap())
                .unwrap_or_default();
            let mut content = Vec::new();
            entry.read_to_end(&mut content).unwrap();
            out.push((
                path,
                header.entry_type().as_byte(),
                link,
                header.mode().unwrap(),
                header.mtime().unwrap(),
                header.uid().unwrap(),
                header.gid().unwrap(),
                content,
            ));
        }
        out
    }

    fn write(root: &Path) -> (Vec<u8>, ContextStats) {
        let entries = context_entries(root, &DockerIgnore::empty(), &[]).unwrap();
        let mut out = Vec::new();
        let stats = write_context_tar(root, entries, &mut out).unwrap();
        (out, stats)
    }

    fn file(root: &Path, rel: &str, content: &[u8], mode: u32) {
        let path = root.join(rel);
        fs_err::create_dir_all(path.parent().unwrap()).unwrap();
        fs_err::write(&path, content).unwrap();
        fs_err::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
    }

    #[test]
    fn writes_headers_like_the_cli_with_a_fixed_mtime() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        file(root, "run.sh", b"#!/bin/sh\n", 0o4755);
        file(root, "a/b.txt", b"hello", 0o640);
        fs_err::set_permissions(root.join("a"), std::fs::Permissions::from_mode(0o750)).unwrap();
        std::os::unix::fs::symlink("a//./b.txt", root.join("link")).unwrap();
        let (tar, stats) = write(root);
        let got = rows(&tar);
        let want: Vec<Row> = vec![
            (
                "a/".into(),
                b'5',
                String::new(),
                0o750,
                CONTEXT_MTIME,
                0,
                0,
                vec![],
            ),
            (
                "a/b.txt".into(),
                b'0',
                String::new(),
                0o640,
                CONTEXT_MTIME,
                0,
                0,
                b"hello".to_vec(),
            ),
            (
                "link".into(),
                b'2',
                "a//./b.txt".into(),
                0o777,
                CONTEXT_MTIME,
                0,
                0,
                vec![],
            ),
            (
                "run.sh".into(),
                b'0',
                String::new(),
                0o4755,
                CONTEXT_MTIME,
                0,
                0,
                b"#!/bin/sh\n".to_vec(),
            ),
        ];
        assert_eq!(got, want);
        assert_eq!(
            stats,
            ContextStats {
                files: 2,
                dirs: 1,
                symlinks: 1,
                bytes: 15
            }
        );
        let mut archive = tar::Archive::new(&tar[..]);
        for entry in archive.entries().unwrap() {
            let header = entry.unwrap().header().clone();
            assert_eq!(header.username_bytes(), Some(&b""[..]));
            assert_eq!(header.groupname_bytes(), Some(&b""[..]));
        }
    }

    #[test]
    fn identical_trees_give_identical_bytes_whatever_their_mtimes() {
        let make = |seconds: u64| {
            let dir = tempfile::tempdir().unwrap();
            file(dir.path(), "x/y.txt", b"same", 0o644);
            file(dir.path(), "z", b"", 0o600);
            let when = std::time::UNIX_EPOCH + std::time::Duration::from_secs(seconds);
            File::options()
                .write(true)
                .open(dir.path().join("z"))
                .unwrap()
                .set_modified(when)
                .unwrap();
            dir
        };
        let (one, two) = (make(1_000_000_000), make(1_700_000_000));
        assert_eq!(write(one.path()).0, write(two.path()).0);
    }

    #[test]
    fn hard_links_point_at_the_first_name_sent() {
        let dir = tempfile::tempdir().unwrap();
        file(dir.path(), "one.txt", b"shared", 0o644);
        fs_err::hard_link(dir.path().join("one.txt"), dir.path().join("two.txt")).unwrap();
        let (tar, stats) = write(dir.path());
        let got = rows(&tar);
        assert_eq!((got[0].1, got[0].7.as_slice()), (b'0', &b"shared"[..]));
        assert_eq!(
            (got[1].1, got[1].2.as_str(), got[1].7.len()),
            (b'1', "one.txt", 0)
        );
        assert_eq!((stats.files, stats.bytes), (2, 6));
        // When the first name is not sent, the second carries the content.
        let entries = vec![ContextEntry {
            rel_path: "two.txt".into(),
            path: dir.path().join("two.txt"),
            kind: EntryKind::File,
        }];
        let mut tar = Vec::new();
        write_context_tar(dir.path(), entries, &mut tar).unwrap();
        assert_eq!(rows(&tar)[0].1, b'0');
    }

    #[test]
    fn long_names_and_link_targets_survive() {
        let dir = tempfile::tempdir().unwrap();
        let long = format!("{}/{}.txt", "d".repeat(90), "f".repeat(60));
        file(dir.path(), &long, b"deep", 0o644);
        let target = format!("./{long}");
        std::os::unix::fs::symlink(&target, dir.path().join("l")).unwrap();
        let got = rows(&write(dir.path()).0);
        let names: Vec<&str> = got.iter().map(|r| r.0.as_str()).collect();
        let dir_name = format!("{}/", "d".repeat(90));
        assert_eq!(names, [dir_name.as_str(), long.as_str(), "l"]);
        assert_eq!(got[2].2, target);
    }

    #[test]
    fn errors_name_the_path_and_leave_the_stream_unterminated() {
        let dir = tempfile::tempdir().unwrap();
        file(dir.path(), "a.txt", b"a", 0o644);
        let entries = vec![
            ContextEntry {
                rel_path: "a.txt".into(),
                path: dir.path().join("a.txt"),
                kind: EntryKind::File,
            },
            ContextEntry {
                rel_path: "gone.txt".into(),
                path: dir.path().join("gone.txt"),
                kind: EntryKind::File,
            },
        ];
        let mut out = Vec::new();
        let err = write_context_tar(dir.path(), entries, &mut out).unwrap_err();
        assert!(
            matches!(&err, ContextError::Read { path, .. } if path.ends_with("gone.txt")),
            "{err:?}"
        );
        // One header and one data block, no end-of-archive blocks.
        assert_eq!(out.len(), 1024);
    }

    #[test]
    fn a_listing_error_stops_the_stream() {
        let dir = tempfile::tempdir().unwrap();
        file(dir.path(), "a.txt", b"a", 0o644);
        let missing = dir.path().join("missing");
        let walk = ContextWalk::new(&missing, &DockerIgnore::empty(), &[]);
        let mut out = Vec::new();
        let err = write_context_walk(&missing, walk, &mut out).unwrap_err();
        assert!(matches!(err, ContextError::Walk(_)), "{err:?}");
        assert!(out.is_empty(), "no end-of-archive blocks after an error");
        let walk = ContextWalk::new(dir.path(), &DockerIgnore::empty(), &[]);
        let stats = write_context_walk(dir.path(), walk, &mut out).unwrap();
        assert_eq!((stats.files, out.len()), (1, 4 * 512));
    }

    #[test]
    fn write_failures_are_reported_as_such() {
        struct Broken;
        impl Write for Broken {
            fn write(&mut self, _: &[u8]) -> io::Result<usize> {
                Err(io::Error::from(io::ErrorKind::BrokenPipe))
            }
            fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }
        }
        let dir = tempfile::tempdir().unwrap();
        file(dir.path(), "a.txt", b"a", 0o644);
        let entries = context_entries(dir.path(), &DockerIgnore::empty(), &[]).unwrap();
        let err = write_context_tar(dir.path(), entries, Broken).unwrap_err();
        assert!(
            matches!(&err, ContextError::Write { path, .. } if path.ends_with("a.txt")),
            "{err:?}"
        );
    }
}
