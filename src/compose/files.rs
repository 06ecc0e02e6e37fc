//! A Compose project made of several files: each file read and interpolated, its `extends`
//! resolved (same file or another), the files merged in order by the Compose merge rules, the
//! top-level `include`s loaded as projects of their own, then profiles applied.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::rc::Rc;

use serde_norway::{Mapping, Value};

use super::error::ComposeError;
use super::fields::{Cx, describe, key_text, scalar_text, untag};
use super::interpolate::{self, Variables};
use super::model::{ComposeFile, Format};
use super::yaml::{KeyPath, Source, Sources};
use super::{merge, normalize, paths};

/// What to load, and how.
#[derive(Clone, Copy)]
pub struct Request<'a> {
    /// The compose files, in order: later ones merge over earlier ones, and relative paths in
    /// all of them start at the first one's directory (the project directory).
    pub files: &'a [PathBuf],
    /// Where `${VAR}` values come from (see [`super::ProjectVariables`]).
    pub vars: Variables<'a>,
    /// The active profiles; `None`: `COMPOSE_PROFILES` from `vars` (comma-separated).
    pub profiles: Option<&'a [String]>,
    /// Services the command names (`run <service>`): as the Compose spec says, their profiles
    /// join the active ones, so naming a service with a profile enables it.
    pub targeted: &'a [String],
    /// Whether `env_file:` files are read (not when only build sections matter).
    pub read_env_files: bool,
}

/// One file read, in the spec form (v1 wrapped into `services:`), interpolated.
struct Loaded {
    root: Mapping,
    format: Format,
    source: Rc<Source>,
}

/// Load the project `request` describes; `first_text` is the first file's text when the
/// caller has it already.
pub(crate) fn load(
    request: &Request<'_>,
    first_text: Option<&str>,
) -> Result<ComposeFile, ComposeError> {
    let file = load_unfiltered(request, first_text)?;
    let mut active = active_profiles(request);
    for service in request.targeted.iter().filter_map(|n| file.services.get(n)) {
        for profile in &service.profiles {
            if !active.contains(profile) {
                active.push(profile.clone());
            }
        }
    }
    let file = super::profiles::apply(file, &active)?;
    // Compose refuses cycles at load time; so do we, so `start` never meets one half-way.
    file.startup_order()?;
    Ok(file)
}

/// Read `path`, parse it, apply merge keys, wrap v1 and interpolate.
fn read(
    path: &Path,
    vars: Variables<'_>,
    warnings: &mut Vec<(usize, String)>,
) -> Result<Loaded, ComposeError> {
    let text = fs_err::read_to_string(path).map_err(|source| ComposeError::Read {
        file: path.to_owned(),
        source,
    })?;
    parse_text(&text, path, vars, warnings)
}

fn parse_text(
    text: &str,
    path: &Path,
    vars: Variables<'_>,
    warnings: &mut Vec<(usize, String)>,
) -> Result<Loaded, ComposeError> {
    let mut source = Source::new(path, text);
    let invalid = |problem: String, expected: &str| ComposeError::Invalid {
        file: path.to_owned(),
        line: 1,
        key: KeyPath::root().to_string(),
        problem,
        expected: expected.into(),
    };
    let root = match source.parse()? {
        Value::Mapping(map) => map,
        Value::Null => {
            return Err(invalid(
                "the file is empty".into(),
                "`services:` with at least one service",
            ));
        }
        other => {
            return Err(invalid(
                format!("the file holds {}", describe(&other)),
                "a mapping with `services:` (or, in the legacy v1 format, services at the top \
                 level)",
            ));
        }
    };
    let format = normalize::detect_format(&root);
    let root = match format {
        Format::V1 => {
            source.v1 = true;
            normalize::wrap_v1(root)
        }
        Format::Spec => root,
    };
    let mut root = Value::Mapping(root);
    interpolate::interpolate_document(&mut root, &source, vars, warnings)?;
    let Value::Mapping(root) = root else {
        return Err(invalid(
            "the document changed shape during interpolation".into(),
            "a mapping",
        ));
    };
    Ok(Loaded {
        root,
        format,
        source: Rc::new(source),
    })
}

/// `--compose-profile`, else `COMPOSE_PROFILES`.
fn active_profiles(request: &Request<'_>) -> Vec<String> {
    match request.profiles {
        Some(profiles) => profiles.to_vec(),
        None => (request.vars)("COMPOSE_PROFILES")
            .map(|text| {
                text.split(',')
                    .map(str::trim)
                    .filter(|p| !p.is_empty())
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default(),
    }
}

/// The compose file's directory, absolute and cleaned (Docker needs absolute bind sources).
pub(crate) fn base_dir(path: &Path) -> Result<PathBuf, ComposeError> {
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    std::path::absolute(dir)
        .map(|dir| paths::clean(&dir))
        .map_err(|source| ComposeError::Read {
            file: path.to_owned(),
            source,
        })
}

/// The error for a bad `extends` or `include` at `path` of the file `source`.
fn invalid_at(source: &Source, path: &KeyPath, problem: String, expected: &str) -> ComposeError {
    ComposeError::Invalid {
        file: source.file.clone(),
        line: source.line_of(path),
        key: path.to_string(),
        problem,
        expected: expected.into(),
    }
}

/// Resolve every `extends` of `file`'s services. `chain` holds the files being resolved, to
/// refuse a loop through other files.
fn extends(
    file: &mut Loaded,
    sources: &mut Sources,
    vars: Variables<'_>,
    warnings: &mut Vec<(usize, String)>,
    chain: &mut Vec<PathBuf>,
) -> Result<(), ComposeError> {
    let names: Vec<Value> = match file.root.get("services") {
        Some(Value::Mapping(services)) => services.keys().cloned().collect(),
        _ => return Ok(()),
    };
    let mut done = HashSet::new();
    for name in names {
        let mut stack = Vec::new();
        extend_one(
            file,
            sources,
            &key_text(&name),
            &mut done,
            &mut stack,
            vars,
            warnings,
            chain,
        )?;
    }
    Ok(())
}

const EXTENDS_EXPECTED: &str =
    "`extends: SERVICE` or `extends: {service: SERVICE, file: OTHER_FILE}`";

#[allow(clippy::too_many_arguments)]
fn extend_one(
    file: &mut Loaded,
    sources: &mut Sources,
    name: &str,
    done: &mut HashSet<String>,
    stack: &mut Vec<String>,
    vars: Variables<'_>,
    warnings: &mut Vec<(usize, String)>,
    chain: &mut Vec<PathBuf>,
) -> Result<(), ComposeError> {
    if done.contains(name) {
        return Ok(());
    }
    let path = KeyPath::root().key("services").key(name);
    let epath = path.key("extends");
    let Some(Value::Mapping(services)) = file.root.get("services") else {
        return Ok(());
    };
    let Some(Value::Mapping(settings)) = services.get(name).map(untag) else {
        done.insert(name.to_owned());
        return Ok(());
    };
    let Some(spec) = settings.get("extends").map(untag) else {
        done.insert(name.to_owned());
        return Ok(());
    };
    if stack.iter().any(|s| s == name) {
        stack.push(name.to_owned());
        return Err(invalid_at(
            &file.source,
            &epath,
            format!(
                "services extend each other in a cycle: {}",
                stack.join(" -> ")
            ),
            "`extends` chains that end at a service without `extends`",
        ));
    }
    let (base_name, other) = match spec {
        Value::Mapping(map) => {
            let service = map.get("service").and_then(scalar_text).ok_or_else(|| {
                invalid_at(
                    &file.source,
                    &epath,
                    "`service` is missing".into(),
                    EXTENDS_EXPECTED,
                )
            })?;
            (service, map.get("file").and_then(scalar_text))
        }
        other => match scalar_text(other) {
            Some(service) => (service, None),
            None => {
                return Err(invalid_at(
                    &file.source,
                    &epath,
                    format!("found {}", describe(other)),
                    EXTENDS_EXPECTED,
                ));
            }
        },
    };
    let base_path = KeyPath::root().key("services").key(&base_name);
    let base = match other {
        None => {
            stack.push(name.to_owned());
            extend_one(
                file, sources, &base_name, done, stack, vars, warnings, chain,
            )?;
            stack.pop();
            let Some(Value::Mapping(services)) = file.root.get("services") else {
                return Ok(());
            };
            let Some(base) = services.get(base_name.as_str()) else {
                return Err(invalid_at(
                    &file.source,
                    &epath,
                    format!("names service `{base_name}`, which this file does not define"),
                    "a service of this file (or `file:` naming the file that defines it)",
                ));
            };
            sources.push_moved(file.source.clone(), &path, &base_path);
            base.clone()
        }
        Some(other) => {
            let dir = base_dir(&file.source.file)?;
            let other_path = paths::clean(&dir.join(&other));
            if chain.contains(&other_path) {
                return Err(invalid_at(
                    &file.source,
                    &epath,
                    format!(
                        "`{}` extends back into a file being read",
                        other_path.display()
                    ),
                    "`extends` chains between files without a loop",
                ));
            }
            let mut loaded = read(&other_path, vars, warnings).map_err(|err| match err {
                ComposeError::Read { source, .. } => invalid_at(
                    &file.source,
                    &epath,
                    format!("cannot read {}: {source}", other_path.display()),
                    "an existing compose file (relative to this one)",
                ),
                other => other,
            })?;
            let mut other_sources = Sources::new(loaded.source.clone());
            chain.push(other_path.clone());
            extends(&mut loaded, &mut other_sources, vars, warnings, chain)?;
            chain.pop();
            let base = match loaded.root.get("services") {
                Some(Value::Mapping(services)) => services.get(base_name.as_str()).cloned(),
                _ => None,
            };
            let Some(mut base) = base else {
                return Err(invalid_at(
                    &file.source,
                    &epath,
                    format!(
                        "names service `{base_name}`, which {} does not define",
                        other_path.display()
                    ),
                    "a service of that file",
                ));
            };
            // Relative paths in the base mean what they meant in its own file.
            rebase(&mut base, &base_dir(&other_path)?);
            sources.push_moved(loaded.source.clone(), &path, &base_path);
            base
        }
    };
    let Some(Value::Mapping(services)) = file.root.get_mut("services") else {
        return Ok(());
    };
    let Some(Value::Mapping(own)) = services.get(name).cloned().map(|v| untag(&v).clone()) else {
        return Ok(());
    };
    let mut own = own;
    own.remove("extends");
    let mut result = match untag(&base) {
        Value::Mapping(map) => map.clone(),
        _ => Mapping::new(),
    };
    merge::service(&mut result, own);
    services.insert(Value::from(name), Value::Mapping(result));
    done.insert(name.to_owned());
    Ok(())
}

/// Make the relative paths of service settings read from another file absolute (against that
/// file's directory `dir`): build context, env files, bind mount sources.
fn rebase(service: &mut Value, dir: &Path) {
    let Value::Mapping(map) = service else { return };
    let absolute = |text: &str| -> String {
        if Path::new(text).is_absolute() || text.contains("://") || text.starts_with('~') {
            text.to_owned()
        } else {
            paths::clean(&dir.join(text)).display().to_string()
        }
    };
    match map.get_mut("build") {
        Some(Value::String(context)) => *context = absolute(context),
        Some(Value::Mapping(build)) => {
            let context = build
                .get("context")
                .and_then(scalar_text)
                .unwrap_or_else(|| ".".into());
            build.insert(Value::from("context"), Value::from(absolute(&context)));
        }
        _ => {}
    }
    match map.get_mut("env_file") {
        Some(Value::String(one)) => *one = absolute(one),
        Some(Value::Sequence(items)) => {
            for item in items {
                match item {
                    Value::String(one) => *one = absolute(one),
                    Value::Mapping(long) => {
                        if let Some(Value::String(p)) = long.get_mut("path") {
                            *p = absolute(p);
                        }
                    }
                    _ => {}
                }
            }
        }
        _ => {}
    }
    if let Some(Value::Sequence(items)) = map.get_mut("volumes") {
        for item in items {
            match item {
                Value::String(short) if short.starts_with('.') => {
                    if let Some((source, rest)) = short.split_once(':') {
                        *short = format!("{}:{rest}", absolute(source));
                    }
                }
                Value::Mapping(long)
                    if long.get("type").and_then(scalar_text).as_deref() == Some("bind") =>
                {
                    if let Some(Value::String(source)) = long.get_mut("source") {
                        *source = absolute(source);
                    }
                }
                _ => {}
            }
        }
    }
}

const INCLUDE_EXPECTED: &str = "a list of compose file paths, or of `{path: PATH or [PATHS], \
     project_directory: DIR, env_file: PATH or [PATHS]}`";

/// The projects a file's top-level `include:` names, each loaded on its own (its paths
/// relative to its own directory) with the including project's variables.
fn include_projects(
    cx: &Cx<'_>,
    including: &Path,
    include: Value,
    request: &Request<'_>,
) -> Result<Vec<ComposeFile>, ComposeError> {
    let path = KeyPath::root().key("include");
    let dir = base_dir(including)?;
    let items = cx.list(&path, &include, INCLUDE_EXPECTED)?;
    let mut out = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let ip = path.index(i);
        let (files, env_files) = match untag(item) {
            Value::Mapping(map) => {
                let files = match map.get("path") {
                    Some(value) => cx.string_list(&ip.key("path"), &one_or_list(value), "paths")?,
                    None => return Err(cx.invalid(&ip, "`path` is missing", INCLUDE_EXPECTED)),
                };
                if map.contains_key("project_directory") {
                    return Err(cx.invalid(
                        &ip.key("project_directory"),
                        "`project_directory` is not supported by stevedore",
                        "included files whose paths are relative to their own directory",
                    ));
                }
                let env_files = match map.get("env_file") {
                    Some(value) => {
                        cx.string_list(&ip.key("env_file"), &one_or_list(value), "paths")?
                    }
                    None => Vec::new(),
                };
                (files, env_files)
            }
            other => (vec![cx.string(&ip, other, INCLUDE_EXPECTED)?], Vec::new()),
        };
        let files: Vec<PathBuf> = files.iter().map(|f| paths::clean(&dir.join(f))).collect();
        for file in &files {
            if !file.is_file() {
                return Err(cx.invalid(
                    &ip,
                    format!("the included file {} does not exist", file.display()),
                    "an existing compose file (relative to this one)",
                ));
            }
        }
        let mut dotenvs = Vec::new();
        for env_file in env_files {
            let env_path = paths::clean(&dir.join(env_file));
            let parsed = crate::project::dotenv::read(&env_path).map_err(|source| {
                ComposeError::EnvFile {
                    file: including.to_owned(),
                    line: cx.source.locate(&ip).1,
                    key: ip.to_string(),
                    source: Box::new(source),
                }
            })?;
            dotenvs.push(parsed);
        }
        let vars = |name: &str| {
            (request.vars)(name).or_else(|| {
                dotenvs
                    .iter()
                    .rev()
                    .find_map(|file| file.get(name).map(str::to_owned))
            })
        };
        let sub = Request {
            files: &files,
            vars: &vars,
            // Profiles select services of the whole project, so none are dropped here.
            profiles: Some(&[]),
            targeted: &[],
            read_env_files: request.read_env_files,
        };
        out.push(load_unfiltered(&sub, None)?);
    }
    Ok(out)
}

fn one_or_list(value: &Value) -> Value {
    match untag(value) {
        Value::Sequence(_) => value.clone(),
        other => Value::Sequence(vec![other.clone()]),
    }
}

/// [`load`] without profiles applied (an included project: the including one applies them).
fn load_unfiltered(
    request: &Request<'_>,
    first_text: Option<&str>,
) -> Result<ComposeFile, ComposeError> {
    let mut warnings = Vec::new();
    let mut merged: Option<(Mapping, Format, Sources)> = None;
    let mut includes = Vec::new();
    for (i, path) in request.files.iter().enumerate() {
        let mut file = match (i, first_text) {
            (0, Some(text)) => parse_text(text, path, request.vars, &mut warnings)?,
            _ => read(path, request.vars, &mut warnings)?,
        };
        let mut sources = Sources::new(file.source.clone());
        let mut chain = vec![path.clone()];
        extends(
            &mut file,
            &mut sources,
            request.vars,
            &mut warnings,
            &mut chain,
        )?;
        if let Some(include) = file.root.remove("include") {
            includes.push((include, sources.clone(), path.clone()));
        }
        merged = Some(match merged {
            None => (file.root, file.format, sources),
            Some((mut root, format, mut all)) => {
                merge::documents(&mut root, file.root);
                all.extend(sources);
                (root, format, all)
            }
        });
    }
    let Some((root, format, sources)) = merged else {
        return Err(ComposeError::Read {
            file: PathBuf::from("(no compose file)"),
            source: std::io::Error::new(std::io::ErrorKind::NotFound, "no compose file given"),
        });
    };
    let base_dir = base_dir(&request.files[0])?;
    let mut cx = Cx {
        source: &sources,
        base_dir: &base_dir,
        vars: request.vars,
        read_env_files: request.read_env_files,
        warnings,
    };
    let mut included = Vec::new();
    for (include, include_sources, path) in includes {
        let icx = Cx {
            source: &include_sources,
            base_dir: &base_dir,
            vars: request.vars,
            read_env_files: request.read_env_files,
            warnings: Vec::new(),
        };
        included.extend(include_projects(&icx, &path, include, request)?);
    }
    normalize::document(&mut cx, &root, format, included)
}
