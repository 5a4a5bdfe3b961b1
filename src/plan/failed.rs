//! `qc_failed_rules(id, passed, id, passed, ...)`: per row, the ids of the rules whose
//! `passed` value is false, as a list — the `failed_rules` column of anomaly exports when the
//! export is written by the engine itself (on a cluster, by the executors).

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, ListBuilder, StringBuilder};
use arrow::datatypes::{DataType, Field};
use datafusion::common::{Result as DfResult, exec_err};
use datafusion::logical_expr::{
    ColumnarValue, Expr, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility, lit,
};

pub const NAME: &str = "qc_failed_rules";

/// The list type of the `failed_rules` column.
pub fn list_type() -> DataType {
    DataType::List(Arc::new(Field::new("item", DataType::Utf8, true)))
}

#[derive(Debug, PartialEq, Eq, Hash)]
pub struct FailedRules {
    signature: Signature,
}

impl Default for FailedRules {
    fn default() -> Self {
        FailedRules {
            signature: Signature::variadic_any(Volatility::Immutable),
        }
    }
}

impl ScalarUDFImpl for FailedRules {
    fn name(&self) -> &'static str {
        NAME
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _args: &[DataType]) -> DfResult<DataType> {
        Ok(list_type())
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> DfResult<ColumnarValue> {
        let n = args.number_rows;
        if !args.args.len().is_multiple_of(2) {
            return exec_err!("{NAME}: expected (rule id, passed) pairs");
        }
        let mut rules: Vec<(&str, ArrayRef)> = Vec::with_capacity(args.args.len() / 2);
        for pair in args.args.chunks(2) {
            let ColumnarValue::Scalar(id) = &pair[0] else {
                return exec_err!("{NAME}: a rule id must be a literal");
            };
            let Some(Some(id)) = id.try_as_str() else {
                return exec_err!("{NAME}: a rule id must be text, found {id:?}");
            };
            let passed = pair[1].to_array(n)?;
            if passed.data_type() != &DataType::Boolean {
                return exec_err!("{NAME}: rule {id}'s value must be boolean");
            }
            rules.push((id, passed));
        }
        let mut out = ListBuilder::new(StringBuilder::new());
        for row in 0..n {
            for (id, passed) in &rules {
                let passed = passed.as_boolean();
                if passed.is_valid(row) && !passed.value(row) {
                    out.values().append_value(id);
                }
            }
            out.append(true);
        }
        Ok(ColumnarValue::Array(Arc::new(out.finish())))
    }
}

/// `qc_failed_rules` over `(rule id, passed column)` pairs.
pub fn failed_rules<'a>(rules: impl IntoIterator<Item = (&'a str, Expr)>) -> Expr {
    let args = rules
        .into_iter()
        .flat_map(|(id, passed)| [lit(id), passed])
        .collect();
    ScalarUDF::new_from_impl(FailedRules::default()).call(args)
}

#[cfg(test)]
mod tests {
    use datafusion::prelude::SessionContext;

    #[test]
    fn lists_the_rules_whose_value_is_false() {
        let rt = tokio::runtime::Runtime::new().unwrap();
        rt.block_on(async {
            let ctx = SessionContext::new();
            ctx.register_udf(datafusion::logical_expr::ScalarUDF::new_from_impl(
                super::FailedRules::default(),
            ));
            let sql = "SELECT qc_failed_rules('A', a, 'B', b) AS f FROM (VALUES \
                       (true, true), (false, NULL), (false, false), (NULL, false)) AS t(a, b)";
            let batches = ctx.sql(sql).await.unwrap().collect().await.unwrap();
            let text = arrow::util::pretty::pretty_format_batches(&batches)
                .unwrap()
                .to_string();
            let rows: Vec<&str> = text.lines().skip(3).take(4).collect();
            assert_eq!(
                rows,
                ["| []     |", "| [A]    |", "| [A, B] |", "| [B]    |"],
                "{text}"
            );
        });
    }
}
