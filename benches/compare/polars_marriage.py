"""The 12-rule comparison audit (benches/compare/marriage12.yaml) as Polars lazy expressions.

Usage: python polars_marriage.py FILE (.parquet or .csv) -> JSON on stdout, as
duckdb_marriage.py: {"rows": N, "anomalous_rows": N, "rules": {"MAR-001": N, ...}}. Same
semantics as qc: a rule fails a row only when its check is false (NULL passes), except
not_null; `when` false or NULL makes the rule not applicable.
"""

import json
import sys

import polars as pl

W = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]


def shape18(c):
    return pl.col(c).str.contains(r"^[0-9]{17}[0-9X]$")


def shape15(c):
    return pl.col(c).str.contains(r"^[0-8][0-9]{14}$")


def not_foreign(c):
    return pl.col(c).str.slice(0, 1) != "9"


def birth(c):
    """The birth date an ID number encodes (NULL when unreadable or before 1880)."""
    d18 = pl.col(c).str.slice(6, 8).str.to_date("%Y%m%d", strict=False)
    d15 = ("19" + pl.col(c).str.slice(6, 6)).str.to_date("%Y%m%d", strict=False)
    return (
        pl.when(shape18(c) & not_foreign(c))
        .then(pl.when(d18 >= pl.date(1880, 1, 1)).then(d18))
        .when(shape15(c))
        .then(d15)
    )


def sex(c):
    def parity(pos):
        digit = pl.col(c).str.slice(pos, 1).cast(pl.Int32, strict=False)
        return pl.when(digit % 2 == 1).then(pl.lit("1")).otherwise(pl.lit("2"))

    return (
        pl.when(shape18(c) & not_foreign(c))
        .then(parity(16))
        .when(shape15(c))
        .then(parity(14))
    )


def valid(c):
    total = sum(
        pl.col(c).str.slice(i, 1).cast(pl.Int32, strict=False) * w for i, w in enumerate(W)
    )
    check = pl.lit("10X98765432").str.slice(total % 11, 1)
    citizen = (
        shape18(c)
        & not_foreign(c)
        & ~pl.col(c).str.slice(0, 6).is_in(["810000", "820000", "830000"])
    )
    return (
        pl.when(pl.col(c).is_null())
        .then(True)
        .when(citizen)
        .then((check == pl.col(c).str.slice(17, 1)) & birth(c).is_not_null())
        .when(shape15(c))
        .then(birth(c).is_not_null())
        .otherwise(False)
    )


def citizen_card(side):
    return pl.col(f"{side}_id_type") == "居民身份证"


def adult(years):
    return pl.col("male_birth").dt.offset_by(f"{years}y") <= pl.col("reg_date")


# Per rule: (applies, fails); a row fails when applies AND fails (NULL counts as not).
RULES = {
    "MAR-001": (
        pl.lit(True),
        pl.col("reg_id").is_null() | pl.col("reg_id").str.contains(r"^[\s\x{3000}]*$"),
    ),
    "MAR-002": (
        pl.lit(True),
        ~pl.col("business_type").is_in(["结婚", "离婚", "补领结婚证", "补领离婚证"]),
    ),
    "MAR-003": (
        pl.lit(True),
        ~pl.col("cert_no").str.contains(r"^(J|L|BJ|BL)[0-9]{6}-(19|20)[0-9]{2}-[0-9]{6}$"),
    ),
    "MAR-007": (citizen_card("male"), ~valid("male_id")),
    "MAR-008": (citizen_card("female"), ~valid("female_id")),
    "MAR-009": (citizen_card("male"), birth("male_id") != pl.col("male_birth")),
    "MAR-010": (citizen_card("female"), birth("female_id") != pl.col("female_birth")),
    "MAR-011": (citizen_card("male"), sex("male_id") != pl.col("male_sex")),
    "MAR-012": (citizen_card("female"), sex("female_id") != pl.col("female_sex")),
    "MAR-013": (
        pl.col("business_type") == "结婚",
        ~pl.when(pl.col("reg_date") >= pl.date(1981, 1, 1)).then(adult(22)).otherwise(adult(20)),
    ),
    "MAR-016": (pl.lit(True), pl.col("reg_date") < pl.date(1950, 5, 1)),
    "MAR-017": (pl.lit(True), pl.col("male_sex") == pl.col("female_sex")),
}


def main():
    path = sys.argv[1]
    if path.endswith(".csv"):
        dates = ["reg_date", "male_birth", "female_birth"]
        frame = pl.scan_csv(path, infer_schema=False).with_columns(
            [pl.col(d).str.to_date("%Y-%m-%d", strict=False) for d in dates]
        )
    else:
        frame = pl.scan_parquet(path)
    flags = [(a & f).fill_null(False).alias(rid) for rid, (a, f) in RULES.items()]
    any_failed = pl.any_horizontal([pl.col(rid) for rid in RULES])
    out = (
        frame.select(flags)
        .select(
            [pl.len().alias("rows"), any_failed.sum().alias("anomalous_rows")]
            + [pl.col(rid).sum() for rid in RULES]
        )
        .collect()
        .row(0, named=True)
    )
    print(json.dumps({
        "rows": out["rows"],
        "anomalous_rows": out["anomalous_rows"],
        "rules": {rid: out[rid] for rid in RULES},
    }))


if __name__ == "__main__":
    main()
