//! The embedded engine: a DataFusion session sized to the machine (or `--threads`).

use std::sync::Arc;

use datafusion::catalog::MemorySchemaProvider;
use datafusion::execution::SessionStateBuilder;
use datafusion::prelude::{SessionConfig, SessionContext};

use crate::error::{Error, Result};

/// Catalog under which each library is a schema: tables are `library.table` in SQL.
pub const CATALOG: &str = "qc";

/// A session with `threads` partitions, qc's SQL settings, and an empty catalog.
pub fn session(threads: usize) -> SessionContext {
    let mut config = SessionConfig::new()
        .with_target_partitions(threads.max(1))
        .with_default_catalog_and_schema(CATALOG, "public")
        .with_create_default_catalog_and_schema(true)
        .with_information_schema(false);
    let options = config.options_mut();
    // Column names are used as written in packs (no lower-casing of identifiers).
    options.sql_parser.enable_ident_normalization = false;
    // Positions inside rule SQL, for diagnostics that point at the spot.
    options.sql_parser.collect_spans = true;
    let state = SessionStateBuilder::new()
        .with_config(config)
        .with_default_features()
        .build();
    let ctx = SessionContext::new_with_state(state);
    crate::checks::udf::register(&ctx);
    ctx
}

/// Make `library` a schema of qc's catalog (idempotent).
pub fn ensure_library_schema(ctx: &SessionContext, library: &str) -> Result<()> {
    let catalog = ctx
        .catalog(CATALOG)
        .ok_or_else(|| Error::Internal("qc catalog missing".into()))?;
    if catalog.schema(library).is_none() {
        catalog
            .register_schema(library, Arc::new(MemorySchemaProvider::new()))
            .map_err(|e| Error::engine(format!("registering library {library}"), e))?;
    }
    Ok(())
}
