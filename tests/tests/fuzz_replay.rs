//! Every fuzz target's seeds and committed crash inputs (`fuzz/seeds/<target>`,
//! `fuzz/regressions/<target>`) replayed through the target's own check on each
//! `make test`, without libFuzzer and without building the fuzz workspace: the checks
//! (`fuzz/src/lib.rs`) are compiled here as a module.
//!
//! The targets are the files of `fuzz/fuzz_targets/`, the one list; `fuzz/Cargo.toml`'s
//! `[[bin]]` entries and `fuzz/run.sh` follow it. A target without a check below, without
//! seeds, or without a regressions folder holding at least one input fails here (a target
//! that never crashed keeps one representative input there: fuzz/regressions/README.md).

#[path = "../../fuzz/src/lib.rs"]
mod checks;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// The check of each target, by its name: `checks::<target>`, which its file calls.
macro_rules! check_of {
    ($($target:ident),* $(,)?) => {
        fn check_of(target: &str) -> Option<fn(&[u8])> {
            match target {
                $(stringify!($target) => Some(checks::$target),)*
                _ => None,
            }
        }
    };
}

check_of!(
    douyin_callback,
    douyin_callback_signed,
    wechat_notify_xml,
    route_bodies,
    openid_body,
    prepay_body,
    refund_body,
    settle_body,
    query_path,
);

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz")
}

/// Entries of `dir` (sorted), failing on a folder that cannot be read.
fn entries(dir: &Path) -> Vec<PathBuf> {
    let read = std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    let mut paths: Vec<PathBuf> = read.map(|entry| entry.expect("readable folder").path()).collect();
    paths.sort();
    paths
}

fn file_name(path: &Path) -> String {
    path.file_name().unwrap().to_string_lossy().into_owned()
}

/// The targets: the stems of `fuzz/fuzz_targets/*.rs`.
fn targets() -> Vec<String> {
    let targets: Vec<String> = entries(&fuzz_dir().join("fuzz_targets"))
        .iter()
        .filter(|path| path.extension().is_some_and(|ext| ext == "rs"))
        .map(|path| path.file_stem().unwrap().to_string_lossy().into_owned())
        .collect();
    assert!(!targets.is_empty(), "no fuzz target in fuzz/fuzz_targets");
    targets
}

/// The inputs of `fuzz/<kind>/<target>`, which must exist and hold at least one.
fn inputs(kind: &str, target: &str) -> Vec<PathBuf> {
    let dir = fuzz_dir().join(kind).join(target);
    assert!(
        dir.is_dir(),
        "fuzz/{kind}/{target} is missing: every target has one (see fuzz/regressions/README.md)"
    );
    let files: Vec<PathBuf> = entries(&dir).into_iter().filter(|p| p.is_file()).collect();
    assert!(
        !files.is_empty(),
        "fuzz/{kind}/{target} is empty: it must hold at least one input (see fuzz/regressions/README.md)"
    );
    files
}

/// Runs `input` through `check`, naming the file when it panics.
fn replay(target: &str, check: fn(&[u8]), input: &Path) {
    let bytes = std::fs::read(input).unwrap_or_else(|e| panic!("{}: {e}", input.display()));
    if let Err(panic) = std::panic::catch_unwind(|| check(&bytes)) {
        let message = panic
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
            .unwrap_or_default();
        panic!("fuzz target {target} fails on {}: {message}", input.display());
    }
}

#[test]
fn every_seed_and_regression_passes_its_targets_check() {
    let mut replayed = 0;
    for target in targets() {
        let check = check_of(&target)
            .unwrap_or_else(|| panic!("fuzz target {target} has no check in tests/tests/fuzz_replay.rs"));
        for kind in ["seeds", "regressions"] {
            for input in inputs(kind, &target) {
                replay(&target, check, &input);
                replayed += 1;
            }
        }
    }
    println!("{replayed} fuzz inputs replayed");
}

#[test]
fn each_target_file_runs_the_check_replayed_for_it() {
    for target in targets() {
        let path = fuzz_dir().join("fuzz_targets").join(format!("{target}.rs"));
        let source = std::fs::read_to_string(&path).unwrap();
        assert!(
            source.contains(&format!("minipay_fuzz::{target}(data)")),
            "{} must call minipay_fuzz::{target}(data), the check replayed for it",
            path.display()
        );
    }
}

/// `name = "..."` of each `[[bin]]` table of fuzz/Cargo.toml.
fn cargo_bins() -> BTreeSet<String> {
    let manifest = std::fs::read_to_string(fuzz_dir().join("Cargo.toml")).unwrap();
    let mut bins = BTreeSet::new();
    let mut in_bin = false;
    for line in manifest.lines().map(str::trim) {
        if line.starts_with('[') {
            in_bin = line == "[[bin]]";
        } else if in_bin && let Some(value) = line.strip_prefix("name") {
            let name = value.trim_start().trim_start_matches('=').trim().trim_matches('"');
            bins.insert(name.to_owned());
        }
    }
    bins
}

#[test]
fn cargo_fuzz_builds_exactly_the_targets_and_no_folder_is_orphaned() {
    let targets: BTreeSet<String> = targets().into_iter().collect();
    assert_eq!(
        cargo_bins(),
        targets,
        "fuzz/Cargo.toml's [[bin]] entries and fuzz/fuzz_targets differ"
    );
    for kind in ["seeds", "regressions"] {
        for folder in entries(&fuzz_dir().join(kind)).iter().filter(|p| p.is_dir()) {
            assert!(
                targets.contains(&file_name(folder)),
                "fuzz/{kind}/{} belongs to no target",
                file_name(folder)
            );
        }
    }
}
