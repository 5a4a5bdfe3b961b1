//! Hive-style partition columns: a value per file, read from the folders above it
//! (`dt=2026-11-28/provider=310101/part-0.parquet`), typed as its column is declared, and
//! added to the scan's rows by their file (`__qc_file`).

use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

use arrow::array::{ArrayRef, AsArray};
use arrow::datatypes::DataType;
use datafusion::common::{Result as DfResult, ScalarValue, exec_datafusion_err};
use datafusion::logical_expr::{
    ColumnarValue, Expr, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility, ident,
};

use super::{META_FILE, file_name};
use crate::rules::source::BoundSource;
use crate::rules::{BoundColumn, ColumnType};

/// A partition folder's text as a value of `column`'s type (its date formats tried for a
/// date); `None` (Hive's NULL folder) is NULL. `Err` says what was expected.
pub fn value(raw: Option<&str>, column: &BoundColumn) -> Result<ScalarValue, String> {
    let expected = |what: &str| format!("`{}={}` is not {what}", column.name, raw.unwrap_or(""));
    let Some(raw) = raw else {
        return ScalarValue::try_from(&column.arrow).map_err(|e| e.to_string());
    };
    Ok(match column.ty {
        ColumnType::String => ScalarValue::Utf8(Some(raw.to_string())),
        ColumnType::Int => {
            ScalarValue::Int64(Some(raw.parse().map_err(|_| expected("an integer"))?))
        }
        ColumnType::Float => {
            ScalarValue::Float64(Some(raw.parse().map_err(|_| expected("a number"))?))
        }
        ColumnType::Date => ScalarValue::Date32(Some(
            crate::values::parse_date(raw, &column.format).ok_or_else(|| expected("a date"))?,
        )),
        ColumnType::Timestamp => ScalarValue::TimestampMicrosecond(
            Some(
                crate::values::parse_timestamp(raw, &column.format)
                    .ok_or_else(|| expected("a timestamp"))?,
            ),
            None,
        ),
        ColumnType::Bool => ScalarValue::Boolean(Some(
            crate::values::parse_bool(raw).ok_or_else(|| expected("true or false"))?,
        )),
    })
}

/// Each file's value of partition `column`, by the file's scan name; the first file whose
/// folder does not read as the column's type, with what is wrong.
pub fn values(
    source: &BoundSource,
    column: &BoundColumn,
) -> Result<HashMap<String, ScalarValue>, (std::path::PathBuf, String)> {
    source
        .files
        .iter()
        .map(|f| {
            let raw = source.partition_value(f, &column.name);
            value(raw.as_deref(), column)
                .map(|v| (file_name(f), v))
                .map_err(|e| (f.clone(), e))
        })
        .collect()
}

/// The expression of `column`'s value for each row, from the row's file.
pub fn column(source: &BoundSource, column: &BoundColumn) -> crate::error::Result<Expr> {
    let values = values(source, column).map_err(|(file, message)| {
        crate::error::Error::data(&file, format!("partition folder: {message}"))
    })?;
    let udf = ScalarUDF::new_from_impl(PartitionValue {
        name: format!("qc_partition_{}", column.name),
        values: Arc::new(values),
        ty: column.arrow.clone(),
        signature: Signature::any(1, Volatility::Immutable),
    });
    Ok(udf.call(vec![ident(META_FILE)]))
}

/// A partition column's value for each row, looked up by the row's file.
#[derive(Debug)]
struct PartitionValue {
    name: String,
    values: Arc<HashMap<String, ScalarValue>>,
    ty: DataType,
    signature: Signature,
}

impl PartialEq for PartitionValue {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name && Arc::ptr_eq(&self.values, &other.values)
    }
}

impl Eq for PartitionValue {}

impl Hash for PartitionValue {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.name.hash(state);
        std::ptr::hash(Arc::as_ptr(&self.values), state);
    }
}

impl PartitionValue {
    fn of(&self, file: &str) -> DfResult<&ScalarValue> {
        self.values
            .get(file)
            .ok_or_else(|| exec_datafusion_err!("{}: no partition value for {file}", self.name))
    }
}

impl ScalarUDFImpl for PartitionValue {
    fn name(&self) -> &str {
        &self.name
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _args: &[DataType]) -> DfResult<DataType> {
        Ok(self.ty.clone())
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> DfResult<ColumnarValue> {
        let n = args.number_rows;
        let files = ColumnarValue::values_to_arrays(&args.args)?;
        let files = &files[0];
        if let Some(file) = super::single_file(files) {
            return Ok(ColumnarValue::Array(self.of(file)?.to_array_of_size(n)?));
        }
        if n == 0 {
            return Ok(ColumnarValue::Array(arrow::array::new_empty_array(
                &self.ty,
            )));
        }
        let names = arrow::compute::cast(files, &DataType::Utf8)?;
        let names = names.as_string::<i32>();
        let values: Vec<ScalarValue> = (0..n)
            .map(|i| self.of(names.value(i)).cloned())
            .collect::<DfResult<_>>()?;
        let array: ArrayRef = ScalarValue::iter_to_array(values)?;
        Ok(ColumnarValue::Array(array))
    }
}
