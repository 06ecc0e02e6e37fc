//! Host paths in compose files: relative to the compose file's directory, `~` from `HOME`,
//! cleaned lexically (Docker wants absolute paths, and symlinks must stay as the user wrote them).

use std::path::{Component, Path, PathBuf};

/// Whether a volume source is a host path rather than a volume name (Compose's rule).
pub(crate) fn looks_like_path(source: &str) -> bool {
    source.starts_with(['.', '/', '~'])
}

/// Resolve `raw` against `base` (absolute): `~` and `~/…` use `home`; the result is cleaned of
/// `.` and `..`. `Err` names the problem.
pub(crate) fn resolve(base: &Path, raw: &str, home: Option<&str>) -> Result<PathBuf, String> {
    let joined = if raw == "~" || raw.starts_with("~/") {
        let home = home.ok_or_else(|| format!("`{raw}` needs HOME, which is not set"))?;
        Path::new(home).join(raw.trim_start_matches('~').trim_start_matches('/'))
    } else if raw.starts_with('~') {
        return Err(format!(
            "`{raw}`: `~user` paths are not supported; write the full path"
        ));
    } else {
        base.join(raw)
    };
    Ok(clean(&joined))
}

/// Remove `.` and resolve `..` lexically; `..` above the root stays at the root.
pub(crate) fn clean(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => {
                if !out.pop() {
                    out.push("..");
                }
            }
            other => out.push(other.as_os_str()),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_relative_home_and_absolute() {
        let base = Path::new("/p/docker/django/dev");
        let table = [
            ("../../..", "/p"),
            ("../../../app/apps", "/p/app/apps"),
            (".", "/p/docker/django/dev"),
            ("./x/./y/", "/p/docker/django/dev/x/y"),
            ("/abs/../etc", "/etc"),
            ("~", "/home/u"),
            ("~/data", "/home/u/data"),
            ("/../..", "/"),
        ];
        for (raw, want) in table {
            assert_eq!(
                resolve(base, raw, Some("/home/u")),
                Ok(PathBuf::from(want)),
                "{raw}"
            );
        }
        assert!(resolve(base, "~/x", None).is_err());
        assert!(resolve(base, "~bob/x", Some("/h")).is_err());
    }
}
