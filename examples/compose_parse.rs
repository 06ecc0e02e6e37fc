//! Load compose files with stevedore's loader and print how long each took, for
//! `bench/compose-parse.sh`.
//!
//! ```sh
//! cargo run --release --example compose_parse -- FILE...
//! ```

use std::time::Instant;

fn main() {
    let none = |_: &str| None;
    let mut failed = false;
    for path in std::env::args_os().skip(1) {
        let path = std::path::PathBuf::from(path);
        let started = Instant::now();
        match stevedore::compose::load(&path, &none) {
            Ok(file) => println!(
                "{}: {} services, {} warnings, {:.3} s",
                path.display(),
                file.services.len(),
                file.warnings.len(),
                started.elapsed().as_secs_f64()
            ),
            Err(err) => {
                eprintln!("{}: {err}", path.display());
                failed = true;
            }
        }
    }
    std::process::exit(i32::from(failed));
}
