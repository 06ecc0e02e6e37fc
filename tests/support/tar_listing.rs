//! A tar archive as a list of comparable members: what two context uploads must agree on, with
//! the format details (ustar, PAX or GNU long names; timestamps; header order) left out.

use std::fmt;
use std::io::Read;

use sha2::{Digest, Sha256};

/// What a member is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    /// A regular file.
    File,
    /// A directory.
    Dir,
    /// A symbolic link.
    Symlink,
    /// A hard link to an earlier member.
    Hardlink,
    /// Anything else (FIFO, device), with its type byte.
    Other(u8),
}

/// One member of an archive.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Member {
    /// The path, without a trailing `/`.
    pub path: String,
    /// What it is.
    pub kind: Kind,
    /// The link target of a symlink or hard link, else empty.
    pub link: String,
    /// `mode & 0o7777`.
    pub mode: u32,
    /// SHA-256 of the content, hex.
    pub sha256: String,
}

impl fmt::Display for Member {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?} {:?} {:04o}", self.path, self.kind, self.mode)?;
        if !self.link.is_empty() {
            write!(f, " -> {:?}", self.link)?;
        }
        if self.kind == Kind::File {
            write!(f, " sha256:{}", &self.sha256[..12])?;
        }
        Ok(())
    }
}

/// The members of `tar`, in archive order.
pub fn members_in_order(tar: &[u8]) -> Vec<Member> {
    let mut archive = tar::Archive::new(tar);
    let mut out = Vec::new();
    for entry in archive.entries().expect("read the tar") {
        let mut entry = entry.expect("read a tar entry");
        let header = entry.header().clone();
        let path = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
        let link = entry
            .link_name_bytes()
            .map(|link| String::from_utf8_lossy(&link).into_owned())
            .unwrap_or_default();
        let mut content = Vec::new();
        entry.read_to_end(&mut content).expect("read tar content");
        out.push(Member {
            path: path.trim_end_matches('/').to_owned(),
            kind: kind_of(header.entry_type()),
            link,
            mode: header.mode().expect("tar mode") & 0o7777,
            sha256: hex::encode(Sha256::digest(&content)),
        });
    }
    out
}

/// The members of `tar`, sorted (by path first).
pub fn members(tar: &[u8]) -> Vec<Member> {
    let mut out = members_in_order(tar);
    out.sort();
    out
}

fn kind_of(entry_type: tar::EntryType) -> Kind {
    match entry_type {
        tar::EntryType::Regular | tar::EntryType::Continuous => Kind::File,
        tar::EntryType::Directory => Kind::Dir,
        tar::EntryType::Symlink => Kind::Symlink,
        tar::EntryType::Link => Kind::Hardlink,
        other => Kind::Other(other.as_byte()),
    }
}
