//! Walking the build context the way the classic builder uploads it.

use super::*;

/// The kind of a build-context entry (symlinks are never followed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryKind {
    /// A regular file.
    File,
    /// A directory.
    Dir,
    /// A symbolic link, sent as a link.
    Symlink,
    /// A FIFO, socket or device node; the caller decides what to do with it.
    Other,
}

/// One entry Docker would send in the build context.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContextEntry {
    /// Path relative to the context root, `/`-separated.
    pub rel_path: String,
    /// The entry's location on disk.
    pub path: PathBuf,
    /// What the entry is.
    pub kind: EntryKind,
}

/// Lists what Docker sends from the context at `root`, lazily, in the order
/// the Docker CLI writes it (see the module docs): every file, directory and
/// symlink that the ignore rules do not exclude, plus the `always` paths.
/// Symlinks are listed, never followed.
///
/// The walk stops after the first error it yields. An unreadable entry that
/// is excluded anyway is passed over (the CLI skips it too).
pub struct ContextWalk {
    root: PathBuf,
    ignore: DockerIgnore,
    walk: walkdir::IntoIter,
    /// Match results of the directories above the next entry, outermost
    /// first; the chained evaluation of their children starts from them.
    parents: Vec<Level>,
    failed: bool,
}

impl ContextWalk {
    /// Starts a walk of `root` under `ignore`, with `always` (context-relative
    /// paths: the `.dockerignore` and the Dockerfile) sent even when excluded,
    /// see [`DockerIgnore::with_always_included`]. Nothing is read until the
    /// first call to `next`.
    pub fn new(root: &Path, ignore: &DockerIgnore, always: &[&str]) -> Self {
        let walk = walkdir::WalkDir::new(root)
            .follow_links(false)
            .min_depth(1)
            // Go's os.ReadDir sorts names byte-wise, as this does on Unix.
            .sort_by_file_name()
            .into_iter();
        Self {
            root: root.to_path_buf(),
            ignore: ignore.clone().with_always_included(always),
            walk,
            parents: Vec::new(),
            failed: false,
        }
    }

    /// Decides one entry: `Ok(None)` when it is not sent. An excluded
    /// directory is still descended into unless it may be pruned, because an
    /// exception may re-include something beneath it.
    fn visit(
        &mut self,
        entry: &walkdir::DirEntry,
    ) -> Result<Option<ContextEntry>, DockerIgnoreError> {
        self.parents.truncate(entry.depth().saturating_sub(1));
        let rel_path = relative(&self.root, entry.path())?;
        let level = self.ignore.evaluate(&rel_path, self.parents.last());
        let excluded = level.excluded();
        let kind = kind_of(entry.file_type());
        if kind == EntryKind::Dir {
            if excluded && self.ignore.may_prune(&rel_path) {
                self.walk.skip_current_dir();
                return Ok(None);
            }
            self.parents.push(level);
        }
        Ok((!excluded).then(|| ContextEntry {
            rel_path,
            path: entry.path().to_path_buf(),
            kind,
        }))
    }

    fn fail(&mut self, err: DockerIgnoreError) -> Option<Result<ContextEntry, DockerIgnoreError>> {
        self.failed = true;
        Some(Err(err))
    }
}

impl Iterator for ContextWalk {
    type Item = Result<ContextEntry, DockerIgnoreError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        loop {
            let entry = match self.walk.next()? {
                Ok(entry) => entry,
                Err(err) => match skip_excluded_error(&self.root, &self.ignore, err) {
                    Ok(()) => continue,
                    Err(err) => return self.fail(err),
                },
            };
            match self.visit(&entry) {
                Ok(Some(listed)) => return Some(Ok(listed)),
                Ok(None) => continue,
                Err(err) => return self.fail(err),
            }
        }
    }
}

impl std::iter::FusedIterator for ContextWalk {}

impl std::fmt::Debug for ContextWalk {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ContextWalk")
            .field("root", &self.root)
            .field("patterns", &self.ignore.patterns.len())
            .field("depth", &self.parents.len())
            .field("failed", &self.failed)
            .finish()
    }
}

/// [`ContextWalk`], collected: what Docker sends from the context at `root`,
/// in the order the Docker CLI writes it.
pub fn context_entries(
    root: &Path,
    ignore: &DockerIgnore,
    always: &[&str],
) -> Result<Vec<ContextEntry>, DockerIgnoreError> {
    ContextWalk::new(root, ignore, always).collect()
}

/// An unreadable entry that is excluded anyway does not matter (the CLI's
/// archiver logs and skips every error; its pre-flight check fails on an
/// unreadable excluded directory, which we see no reason to copy); anything
/// else stops the listing.
fn skip_excluded_error(
    root: &Path,
    ignore: &DockerIgnore,
    err: walkdir::Error,
) -> Result<(), DockerIgnoreError> {
    let excluded = err
        .path()
        .filter(|path| *path != root)
        .and_then(|path| relative(root, path).ok())
        .is_some_and(|rel| ignore.is_excluded(&rel));
    if excluded {
        return Ok(());
    }
    Err(DockerIgnoreError::Walk {
        path: err.path().unwrap_or(root).to_path_buf(),
        source: err,
    })
}

fn relative(root: &Path, path: &Path) -> Result<String, DockerIgnoreError> {
    let non_utf8 = || DockerIgnoreError::NonUtf8Path {
        path: path.to_path_buf(),
    };
    let rel = path.strip_prefix(root).unwrap_or(path);
    let parts: Option<Vec<&str>> = rel.components().map(|c| c.as_os_str().to_str()).collect();
    Ok(parts.ok_or_else(non_utf8)?.join("/"))
}

fn kind_of(file_type: FileType) -> EntryKind {
    if file_type.is_symlink() {
        EntryKind::Symlink
    } else if file_type.is_dir() {
        EntryKind::Dir
    } else if file_type.is_file() {
        EntryKind::File
    } else {
        EntryKind::Other
    }
}
