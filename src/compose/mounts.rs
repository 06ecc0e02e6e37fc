//! `volumes:` entries of a service: `[SOURCE:]TARGET[:MODE]` and the long form.
//!
//! A source that starts with `.`, `/` or `~` is a host path (a bind mount), anything else a
//! volume name — Compose's rule. A lone target is an anonymous volume.

use std::path::Path;

use super::model::{Mount, MountKind};
use super::paths;

/// What a valid entry looks like, for messages.
pub(crate) const MOUNT_EXPECTED: &str = "`/container/path`, `volume:/container/path` or \
     `./host/path:/container/path` with an optional `:ro`, or the long form \
     `{type, source, target, read_only}`";

/// Where relative host paths start and what `~` means.
pub(crate) struct PathBase<'a> {
    /// The compose file's directory, absolute.
    pub(crate) dir: &'a Path,
    /// `HOME`, for `~`.
    pub(crate) home: Option<&'a str>,
}

/// Parse a short-form entry.
pub(crate) fn parse_short(spec: &str, base: &PathBase<'_>) -> Result<Mount, String> {
    let parts: Vec<&str> = spec.split(':').collect();
    let (source, target, mode) = match parts.as_slice() {
        [target] => (None, *target, None),
        [source, target] => (Some(*source), *target, None),
        [source, target, mode] => (Some(*source), *target, Some(*mode)),
        _ => return Err(format!("`{spec}` has too many `:`")),
    };
    let target = check_target(target)?;
    let mut mount = match source {
        None => Mount {
            kind: MountKind::Volume,
            source: None,
            target,
            read_only: false,
            options: Vec::new(),
        },
        Some("") => return Err(format!("`{spec}` has an empty source")),
        Some(source) => source_mount(source, target, base)?,
    };
    if let Some(mode) = mode {
        apply_mode(&mut mount, mode)?;
    }
    Ok(mount)
}

/// The fields of a long-form entry, already read as text.
pub(crate) struct LongMount<'a> {
    pub(crate) kind: &'a str,
    pub(crate) source: Option<&'a str>,
    pub(crate) target: &'a str,
    pub(crate) read_only: bool,
    /// `bind.selinux` (`z` or `Z`).
    pub(crate) selinux: Option<&'a str>,
    /// `volume.nocopy`.
    pub(crate) nocopy: bool,
}

/// Build a mount from its long form.
pub(crate) fn from_long(long: &LongMount<'_>, base: &PathBase<'_>) -> Result<Mount, String> {
    let target = check_target(long.target)?;
    let source = long.source.filter(|s| !s.is_empty());
    let mut mount = match long.kind {
        "bind" => {
            let source = source.ok_or("a bind mount needs `source`, the host path")?;
            Mount {
                kind: MountKind::Bind,
                source: Some(host_path(source, base)?),
                target,
                read_only: false,
                options: Vec::new(),
            }
        }
        "volume" => {
            if let Some(name) = source {
                check_volume_name(name)?;
            }
            Mount {
                kind: MountKind::Volume,
                source: source.map(str::to_owned),
                target,
                read_only: false,
                options: Vec::new(),
            }
        }
        "tmpfs" => Mount {
            kind: MountKind::Tmpfs,
            source: None,
            target,
            read_only: false,
            options: Vec::new(),
        },
        other => {
            return Err(format!(
                "the mount type `{other}` is not supported (bind, volume or tmpfs)"
            ));
        }
    };
    mount.read_only = long.read_only;
    match long.selinux {
        Some(flag @ ("z" | "Z")) => mount.options.push(flag.to_owned()),
        Some(other) => return Err(format!("`bind.selinux: {other}` must be `z` or `Z`")),
        None => {}
    }
    if long.nocopy {
        mount.options.push("nocopy".to_owned());
    }
    Ok(mount)
}

fn source_mount(source: &str, target: String, base: &PathBase<'_>) -> Result<Mount, String> {
    if paths::looks_like_path(source) {
        Ok(Mount {
            kind: MountKind::Bind,
            source: Some(host_path(source, base)?),
            target,
            read_only: false,
            options: Vec::new(),
        })
    } else {
        check_volume_name(source)?;
        Ok(Mount {
            kind: MountKind::Volume,
            source: Some(source.to_owned()),
            target,
            read_only: false,
            options: Vec::new(),
        })
    }
}

fn host_path(source: &str, base: &PathBase<'_>) -> Result<String, String> {
    paths::resolve(base.dir, source, base.home).map(|p| p.to_string_lossy().into_owned())
}

fn check_target(target: &str) -> Result<String, String> {
    if target.starts_with('/') {
        Ok(target.to_owned())
    } else {
        Err(format!(
            "the container path `{target}` is not absolute (it must start with `/`)"
        ))
    }
}

/// Docker's rule for volume names: `[a-zA-Z0-9][a-zA-Z0-9_.-]*`.
fn check_volume_name(name: &str) -> Result<(), String> {
    if super::is_docker_name(name) {
        Ok(())
    } else {
        Err(format!(
            "`{name}` is neither a volume name (letters, digits, `_`, `.`, `-`) nor a host \
             path (start paths with `./`, `../`, `/` or `~`)"
        ))
    }
}

/// `ro`, `rw`, SELinux `z`/`Z`, `nocopy`, and the macOS consistency flags (no effect on Linux),
/// comma-separated.
fn apply_mode(mount: &mut Mount, mode: &str) -> Result<(), String> {
    for flag in mode.split(',') {
        match flag {
            "ro" => mount.read_only = true,
            "rw" => mount.read_only = false,
            "z" | "Z" | "nocopy" => mount.options.push(flag.to_owned()),
            "cached" | "delegated" | "consistent" => {}
            other => {
                return Err(format!(
                    "`{other}` is not a mount mode (ro, rw, z, Z, nocopy)"
                ));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> PathBase<'static> {
        PathBase {
            dir: Path::new("/p/docker/web"),
            home: Some("/home/u"),
        }
    }

    fn show(mount: &Mount) -> String {
        format!(
            "{:?} {} -> {}{}{}",
            mount.kind,
            mount.source.as_deref().unwrap_or("-"),
            mount.target,
            if mount.read_only { " ro" } else { "" },
            mount
                .options
                .iter()
                .map(|o| format!(" {o}"))
                .collect::<String>()
        )
    }

    #[test]
    fn short_forms() {
        let table = [
            ("/var/app/dist", "Volume - -> /var/app/dist"),
            ("data:/var/lib/db", "Volume data -> /var/lib/db"),
            ("../../app:/app", "Bind /p/app -> /app"),
            (
                "./conf:/etc/conf:ro",
                "Bind /p/docker/web/conf -> /etc/conf ro",
            ),
            ("~/cache:/cache:rw", "Bind /home/u/cache -> /cache"),
            ("/abs:/abs:ro,z", "Bind /abs -> /abs ro z"),
            ("data:/d:nocopy", "Volume data -> /d nocopy"),
            ("./x:/x:cached", "Bind /p/docker/web/x -> /x"),
        ];
        for (spec, want) in table {
            let got = parse_short(spec, &base()).unwrap_or_else(|e| panic!("{spec}: {e}"));
            assert_eq!(show(&got), want, "{spec}");
        }
    }

    #[test]
    fn bad_short_forms() {
        for bad in [
            "relative",
            "data:relative",
            "a:/b:ro:extra",
            ":/x",
            "./x:/x:rx",
            "bad name:/x",
            "~bob/x:/x",
        ] {
            assert!(parse_short(bad, &base()).is_err(), "{bad:?}");
        }
    }
}
