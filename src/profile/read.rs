//! A batch's columns as Rust values, read the one way every part of the profile reads them:
//! text, integers, dates as days; and which of a batch's rows are well-formed records.

use arrow::array::{Array, ArrayRef, AsArray, RecordBatch};
use arrow::datatypes::{DataType, Date32Type, Float64Type, Int64Type};

use crate::rules::BoundColumn;
use crate::scan::META_ERROR;
use crate::values;

/// A text column's values; `None` for a column of another type.
pub fn texts(a: &ArrayRef) -> Option<Vec<Option<&str>>> {
    match a.data_type() {
        DataType::Utf8 => Some(a.as_string::<i32>().iter().collect()),
        DataType::LargeUtf8 => Some(a.as_string::<i64>().iter().collect()),
        DataType::Utf8View => Some(a.as_string_view().iter().collect()),
        _ => None,
    }
}

/// An integer column's values; `None` for a column of another type.
pub fn integers(a: &ArrayRef) -> Option<Vec<Option<i64>>> {
    if !a.data_type().is_integer() {
        return None;
    }
    arrow::compute::cast(a, &DataType::Int64)
        .ok()
        .map(|d| d.as_primitive::<Int64Type>().iter().collect())
}

/// An integer column's values; text read as integers where it is one (trimmed).
pub fn ints(a: &ArrayRef) -> Option<Vec<Option<i64>>> {
    integers(a).or_else(|| {
        texts(a).map(|t| {
            t.into_iter()
                .map(|v| v.and_then(|s| s.trim().parse().ok()))
                .collect()
        })
    })
}

/// A number column's values as floats, NaN and infinities as NULL; `None` for a column of
/// another type.
pub fn floats(a: &ArrayRef) -> Option<Vec<Option<f64>>> {
    if !a.data_type().is_numeric() {
        return None;
    }
    arrow::compute::cast(a, &DataType::Float64).ok().map(|d| {
        d.as_primitive::<Float64Type>()
            .iter()
            .map(|v| v.filter(|x| x.is_finite()))
            .collect()
    })
}

/// A date column's values as days; text read as the CSV reader reads a date column by
/// default (`YYYY-MM-DD`, `YYYYMMDD`, `YYYY/MM/DD`).
pub fn days(a: &ArrayRef) -> Option<Vec<Option<i32>>> {
    match a.data_type() {
        DataType::Date32 => Some(a.as_primitive::<Date32Type>().iter().collect()),
        DataType::Date64 => arrow::compute::cast(a, &DataType::Date32)
            .ok()
            .map(|d| d.as_primitive::<Date32Type>().iter().collect()),
        _ => texts(a).map(|t| {
            t.into_iter()
                .map(|v| v.and_then(|s| values::parse_date(s, &[])))
                .collect()
        }),
    }
}

/// Those of `rows` where `array` is not NULL.
pub fn present(array: &ArrayRef, rows: &[usize]) -> Vec<usize> {
    rows.iter()
        .copied()
        .filter(|&r| array.is_valid(r))
        .collect()
}

/// The rows of `batch` that are well-formed records (all of them but malformed CSV records).
pub fn well_formed(batch: &RecordBatch) -> Vec<usize> {
    match batch.column_by_name(META_ERROR) {
        Some(e) => (0..e.len()).filter(|&i| e.is_null(i)).collect(),
        None => (0..batch.num_rows()).collect(),
    }
}

/// The values of the columns `role` (indexes into `columns`) in `batch`, as `read` reads
/// them: all NULL for a column missing or unreadable.
pub fn role_values<'a, T: Clone>(
    batch: &'a RecordBatch,
    columns: &[BoundColumn],
    role: &[usize],
    read: impl Fn(&'a ArrayRef) -> Option<Vec<Option<T>>>,
) -> Vec<Vec<Option<T>>> {
    role.iter()
        .map(|&i| {
            batch
                .column_by_name(&columns[i].name)
                .and_then(&read)
                .unwrap_or_else(|| vec![None; batch.num_rows()])
        })
        .collect()
}
