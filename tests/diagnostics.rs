//! Every diagnostic code has a fixture under `testdata/diagnostics/` that reports it, a
//! snapshot of how it is rendered, and the exit status of its group, the same under
//! `qc check` and `qc run`.

use std::path::PathBuf;

use qc::diagnostic::{Code, Group};

use crate::util::{code, root, run, stderr, stdout};

/// Codes no pack can trigger: what an invariant of qc guards.
const UNTRIGGERABLE: [Code; 1] = [Code::Internal];

/// The fixture of `c`: `<name>.yaml`, or the folder `<name>/` (checked as `pack.yaml` inside
/// it when present, else as a whole).
fn fixture(c: Code) -> String {
    let base = PathBuf::from("testdata/diagnostics");
    let file = base.join(format!("{}.yaml", c.name()));
    let folder = base.join(c.name());
    let path = if root().join(&file).exists() {
        file
    } else if root().join(folder.join("pack.yaml")).exists() {
        folder.join("pack.yaml")
    } else {
        folder
    };
    assert!(
        root().join(&path).exists(),
        "diagnostic `{c}` has no fixture: add testdata/diagnostics/{}.yaml",
        c.name()
    );
    path.to_string_lossy().into_owned()
}

/// The codes `qc check --format json` reports for `pack`, and its exit code.
fn checked_codes(pack: &str) -> (i32, Vec<String>) {
    let o = run(&["check", pack, "--format", "json"]);
    let doc: serde_json::Value = serde_json::from_str(&stdout(&o))
        .unwrap_or_else(|e| panic!("{pack}: not JSON ({e}): {}", stdout(&o)));
    let codes = doc["diagnostics"]
        .as_array()
        .expect("a diagnostics list")
        .iter()
        .filter_map(|d| d["code"].as_str().map(str::to_string))
        .collect();
    (code(&o), codes)
}

/// Exit code and stderr of `qc run --keep-going` on `pack`, in a scratch folder.
fn run_keep_going(pack: &str) -> (i32, String) {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out").to_string_lossy().into_owned();
    let store = tmp.path().join("qc.db").to_string_lossy().into_owned();
    let o = run(&[
        "run",
        "--rules",
        pack,
        "--out",
        &out,
        "--store",
        &store,
        "--keep-going",
    ]);
    (code(&o), stderr(&o))
}

#[test]
fn every_code_has_a_fixture_that_reports_it() {
    for c in Code::ALL {
        if UNTRIGGERABLE.contains(&c) {
            continue;
        }
        let pack = fixture(c);
        if c == Code::SourceLeftOut {
            // Only a run leaves a file out (under --keep-going).
            let (status, text) = run_keep_going(&pack);
            assert!(text.contains(&format!("[{c}]")), "{c}: {text}");
            assert_eq!(status, 3, "{c}: a partial run exits 3");
            insta::assert_snapshot!(format!("diagnostic_{}", c.name()), text);
            continue;
        }
        let (status, codes) = checked_codes(&pack);
        assert!(
            codes.iter().any(|x| x == c.name()),
            "{pack} does not report `{c}`; it reports {codes:?}"
        );
        let o = run(&["check", &pack]);
        // A warning alone leaves `qc check` passing.
        let warning = matches!(
            c,
            Code::RuleSkipped | Code::RulePartial | Code::EncodingMismatch
        );
        let expected = match c.group() {
            _ if warning => 0,
            Group::Pack => 2,
            Group::Source | Group::Internal => 3,
        };
        assert_eq!(status, expected, "{c}: exit status of `qc check`");
        assert_eq!(code(&o), expected, "{c}: exit status of `qc check` (text)");
        insta::assert_snapshot!(format!("diagnostic_{}", c.name()), stdout(&o));
    }
}

#[test]
fn check_and_run_agree_on_the_exit_status() {
    for c in [
        Code::SourceNotFound,
        Code::UnknownColumn,
        Code::SourceMissingColumn,
    ] {
        let pack = fixture(c);
        let (checked, _) = checked_codes(&pack);
        let tmp = tempfile::tempdir().unwrap();
        let out = tmp.path().join("out").to_string_lossy().into_owned();
        let store = tmp.path().join("qc.db").to_string_lossy().into_owned();
        let o = run(&[
            "run", "--rules", &pack, "--out", &out, "--store", &store, "--quiet",
        ]);
        assert_eq!(code(&o), checked, "{c}: `qc run` and `qc check` differ");
    }
}

#[test]
fn codes_are_named_once_and_mean_something() {
    let mut names: Vec<&str> = Code::ALL.iter().map(|c| c.name()).collect();
    names.sort_unstable();
    let before = names.len();
    names.dedup();
    assert_eq!(names.len(), before, "a code name is used twice");
    for c in Code::ALL {
        assert_eq!(Code::parse(c.name()), Some(c));
        assert!(
            c.name()
                .chars()
                .all(|ch| ch.is_ascii_lowercase() || ch == '-'),
            "{c} is not kebab-case"
        );
        assert!(c.meaning().len() > 20, "{c}: say what it means");
    }
}
