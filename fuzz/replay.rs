//! Replays the committed fuzz inputs through their targets' entry points, for the unit tests of
//! the crates' `fuzzing` modules (each includes this file with `#[path]`): every file under
//! `fuzz/seeds/<target>/` and `fuzz/regressions/<target>/` must keep the target's invariants, so
//! a crash the fuzzer once found stays fixed in `cargo test`.

use std::path::Path;

/// A fuzz target: its name under `fuzz/` and its entry point.
pub type Target = (&'static str, fn(&[u8]));

/// Runs every committed input of each target; panics naming the inputs that break an
/// invariant, or a target without seeds.
pub fn replay(targets: &[Target]) {
    let fuzz = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz");
    let mut failed = Vec::new();
    for (target, run) in targets {
        let mut seeds = 0;
        for kind in ["seeds", "regressions"] {
            let Ok(entries) = std::fs::read_dir(fuzz.join(kind).join(target)) else {
                continue;
            };
            for entry in entries {
                let path = entry.expect("a directory entry").path();
                let data = std::fs::read(&path).expect("a readable input");
                seeds += usize::from(kind == "seeds");
                if std::panic::catch_unwind(|| run(&data)).is_err() {
                    failed.push(path.display().to_string());
                }
            }
        }
        assert!(seeds > 0, "no seeds for {target}");
    }
    assert!(failed.is_empty(), "inputs that break an invariant: {failed:#?}");
}
