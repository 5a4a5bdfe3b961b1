//! `qc check` diagnostics, one snapshot per bad pack.

use crate::util::{code, run, stdout};

fn check(pack: &str) -> (i32, String) {
    let o = run(&["check", pack]);
    (code(&o), stdout(&o))
}

#[test]
fn shipped_packs_are_valid() {
    let o = run(&["check", "rules/"]);
    assert_eq!(code(&o), 0, "{}", stdout(&o));
}

#[test]
fn every_bind_error_is_reported_with_its_spot() {
    let (code, out) = check("testdata/bad_packs/many_errors.yaml");
    assert_eq!(code, 2);
    insta::assert_snapshot!("check_many_errors", out);
}

#[test]
fn yaml_errors_are_located() {
    // A missing source is the data's problem (3), the others the pack's (2).
    for (name, status) in [
        ("yaml_syntax", 2),
        ("unknown_field", 2),
        ("missing_source", 3),
    ] {
        let (code, out) = check(&format!("testdata/bad_packs/{name}.yaml"));
        assert_eq!(code, status, "{name}");
        insta::assert_snapshot!(format!("check_{name}"), out);
    }
}

#[test]
fn check_json_lists_diagnostics() {
    let o = run(&[
        "check",
        "testdata/bad_packs/many_errors.yaml",
        "--format",
        "json",
    ]);
    assert_eq!(code(&o), 2);
    let doc: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    let codes: Vec<&str> = doc["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["code"].as_str().unwrap())
        .collect();
    for expected in [
        "unknown-type",
        "unknown-column",
        "type-mismatch",
        "invalid-regex",
        "duplicate-rule-id",
        "unknown-code-list",
        "invalid-sql",
        "forbidden-sql",
        "unknown-dimension",
    ] {
        assert!(
            codes.contains(&expected),
            "{expected} missing from {codes:?}"
        );
    }
}

#[test]
fn explain_prints_a_kind_and_rejects_unknown_ones() {
    // Chinese by default, English on request.
    let o = run(&["check", "--explain", "pattern"]);
    assert_eq!(code(&o), 0);
    assert!(
        stdout(&o).starts_with("# pattern（格式）"),
        "{}",
        stdout(&o)
    );
    assert!(stdout(&o).contains("## 检查内容"));
    let o = run(&["check", "--explain", "pattern", "--lang", "en"]);
    assert_eq!(code(&o), 0);
    assert!(stdout(&o).contains("## What it checks"));
    assert_eq!(code(&run(&["check", "--explain", "nonsense"])), 2);
}

/// `qc check --expand TABLE` prints the rules a table is audited with, templates bound to its
/// columns and its overrides applied.
#[test]
fn expand_shows_a_tables_bound_rules() {
    let o = run(&["check", "testdata/cases/templates.yaml", "--expand", "b"]);
    assert_eq!(code(&o), 0, "{}", crate::util::stderr(&o));
    insta::assert_snapshot!("expand_templates_b", stdout(&o));
}
