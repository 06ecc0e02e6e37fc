//! The `stevedore` binary (also reachable as `image` and `deploy` through symlinks).

fn main() -> std::process::ExitCode {
    let status = stevedore::run(std::env::args_os().collect());
    std::process::ExitCode::from(status.code())
}
