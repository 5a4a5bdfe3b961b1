"""The 12-rule comparison audit (benches/compare/marriage12.yaml) as one DuckDB query.

Usage: python duckdb_marriage.py FILE (.parquet or .csv) -> JSON on stdout:
{"rows": N, "anomalous_rows": N, "rules": {"MAR-001": N, ...}}. Same semantics as qc: a rule
fails a row only when its check is false (NULL passes), except not_null; `when` false or NULL
makes the rule not applicable.
"""

import json
import sys

import duckdb

W = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]


def shape18(c):
    return f"regexp_full_match({c}, '[0-9]{{17}}[0-9X]')"


def shape15(c):
    return f"regexp_full_match({c}, '[0-8][0-9]{{14}}')"


def birth(c):
    """The birth date an ID number encodes (NULL when unreadable or before 1880)."""
    d18 = f"try_strptime(substr({c}, 7, 8), '%Y%m%d')::DATE"
    d15 = f"try_strptime('19' || substr({c}, 7, 6), '%Y%m%d')::DATE"
    return (
        f"CASE WHEN {shape18(c)} AND substr({c}, 1, 1) <> '9' "
        f"THEN CASE WHEN {d18} >= DATE '1880-01-01' THEN {d18} END "
        f"WHEN {shape15(c)} THEN {d15} END"
    )


def sex(c):
    return (
        f"CASE WHEN {shape18(c)} AND substr({c}, 1, 1) <> '9' "
        f"THEN CASE WHEN CAST(substr({c}, 17, 1) AS INT) % 2 = 1 THEN '1' ELSE '2' END "
        f"WHEN {shape15(c)} "
        f"THEN CASE WHEN CAST(substr({c}, 15, 1) AS INT) % 2 = 1 THEN '1' ELSE '2' END END"
    )


def valid(c):
    total = " + ".join(f"CAST(substr({c}, {i + 1}, 1) AS INT) * {w}" for i, w in enumerate(W))
    citizen = (
        f"{shape18(c)} AND substr({c}, 1, 1) <> '9' "
        f"AND substr({c}, 1, 6) NOT IN ('810000', '820000', '830000')"
    )
    return (
        f"CASE WHEN {c} IS NULL THEN TRUE "
        f"WHEN {citizen} THEN substr('10X98765432', ({total}) % 11 + 1, 1) = substr({c}, 18, 1) "
        f"AND {birth(c)} IS NOT NULL "
        f"WHEN {shape15(c)} THEN {birth(c)} IS NOT NULL "
        f"ELSE FALSE END"
    )


# Per rule: (applies, fails), SQL booleans; a row fails when applies AND fails.
RULES = {
    "MAR-001": ("TRUE", "reg_id IS NULL OR regexp_full_match(reg_id, '[\\s\\x{3000}]*')"),
    "MAR-002": ("TRUE", "business_type NOT IN ('结婚', '离婚', '补领结婚证', '补领离婚证')"),
    "MAR-003": ("TRUE", "NOT regexp_full_match(cert_no, '(J|L|BJ|BL)[0-9]{6}-(19|20)[0-9]{2}-[0-9]{6}')"),
    "MAR-007": ("male_id_type = '居民身份证'", f"NOT ({valid('male_id')})"),
    "MAR-008": ("female_id_type = '居民身份证'", f"NOT ({valid('female_id')})"),
    "MAR-009": ("male_id_type = '居民身份证'", f"({birth('male_id')}) <> male_birth"),
    "MAR-010": ("female_id_type = '居民身份证'", f"({birth('female_id')}) <> female_birth"),
    "MAR-011": ("male_id_type = '居民身份证'", f"({sex('male_id')}) <> male_sex"),
    "MAR-012": ("female_id_type = '居民身份证'", f"({sex('female_id')}) <> female_sex"),
    "MAR-013": (
        "business_type = '结婚'",
        "NOT (CASE WHEN reg_date >= DATE '1981-01-01' "
        "THEN male_birth + INTERVAL 22 YEAR <= reg_date "
        "ELSE male_birth + INTERVAL 20 YEAR <= reg_date END)",
    ),
    "MAR-016": ("TRUE", "reg_date < DATE '1950-05-01'"),
    "MAR-017": ("TRUE", "male_sex = female_sex"),
}


def main():
    path = sys.argv[1]
    if path.endswith(".csv"):
        source = f"read_csv('{path}', header = true, all_varchar = true)"
        typed = (
            "SELECT * REPLACE (TRY_CAST(reg_date AS DATE) AS reg_date, "
            "TRY_CAST(male_birth AS DATE) AS male_birth, "
            "TRY_CAST(female_birth AS DATE) AS female_birth) FROM " + source
        )
    else:
        typed = f"SELECT * FROM read_parquet('{path}')"
    flags = ",\n".join(
        f"coalesce(({applies}) AND ({fails}), FALSE) AS \"{rid}\""
        for rid, (applies, fails) in RULES.items()
    )
    counts = ", ".join(f'count_if("{rid}")' for rid in RULES)
    any_failed = " OR ".join(f'"{rid}"' for rid in RULES)
    sql = (
        f"WITH t AS ({typed}), f AS (SELECT {flags} FROM t) "
        f"SELECT count(*), count_if({any_failed}), {counts} FROM f"
    )
    row = duckdb.connect().execute(sql).fetchone()
    print(json.dumps({
        "rows": row[0],
        "anomalous_rows": row[1],
        "rules": dict(zip(RULES, row[2:])),
    }))


if __name__ == "__main__":
    main()
