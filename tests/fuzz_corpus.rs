//! The fuzz targets' corpus replayed in the normal suite: the seeds in `fuzz/corpus/<target>/`
//! and every input that once made a target fail, kept in `fuzz/regressions/<target>/`.
//! Fuzzing itself runs outside CI: `just fuzz TARGET SECONDS`.

#[path = "../fuzz/bodies.rs"]
mod bodies;

use crate::util::root;

/// Every committed input of `target`; at least one must exist (the replay is not vacuous).
fn inputs(target: &str) -> Vec<Vec<u8>> {
    let mut files = Vec::new();
    for dir in ["corpus", "regressions"] {
        let Ok(entries) = std::fs::read_dir(root().join("fuzz").join(dir).join(target)) else {
            continue;
        };
        for e in entries.flatten() {
            files.push(e.path());
        }
    }
    files.sort();
    assert!(
        !files.is_empty(),
        "no committed inputs for fuzz target {target}"
    );
    files.iter().map(|f| std::fs::read(f).unwrap()).collect()
}

#[test]
fn pack_corpus() {
    for input in inputs("pack") {
        bodies::pack(&input);
    }
}

#[test]
fn csv_corpus() {
    for input in inputs("csv") {
        bodies::csv(&input);
    }
}

#[test]
fn id_number_corpus() {
    for input in inputs("id_number") {
        bodies::id_number(&input);
    }
}
