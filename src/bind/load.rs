//! `--rules` arguments → bound packs: every pack parsed and bound on its own, then the
//! set-based rules of all of them, which may read each other's tables.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use datafusion::prelude::SessionContext;

use super::parse;
use super::{BoundPack, SourceOptions};
use crate::diagnostic::{Code, Diagnostic};
use crate::error::Result;

/// Make rule SQL on `ctx` use the working-day calendar beside the packs of `paths`
/// (`codelists/cn_workdays.csv`, else the built-in one). One run has one calendar.
fn register_calendar(
    paths: &[PathBuf],
    ctx: &SessionContext,
) -> std::result::Result<(), Diagnostic> {
    use crate::checks::workdays::{self, Calendar};
    let mut chosen: Option<(std::sync::Arc<Calendar>, &Path)> = None;
    let mut read: Vec<&Path> = Vec::new();
    for path in paths {
        let dir = path.parent().unwrap_or(Path::new("."));
        // The packs of one folder share its calendar: read it once.
        if read.contains(&dir) {
            continue;
        }
        read.push(dir);
        let calendar = Calendar::beside(dir)
            .map_err(|e| Diagnostic::error(Code::InvalidCalendar, e).in_file(path))?;
        match &chosen {
            Some((first, first_pack)) if !first.same_days(&calendar) => {
                return Err(Diagnostic::error(
                    Code::InvalidCalendar,
                    format!(
                        "this pack's working-day calendar ({}) differs from the one of {} ({}); \
                         one run uses one calendar",
                        calendar.origin(),
                        first_pack.display(),
                        first.origin()
                    ),
                )
                .in_file(path));
            }
            Some(_) => {}
            None => chosen = Some((calendar, path)),
        }
    }
    if let Some((calendar, _)) = chosen {
        workdays::register(ctx, &calendar);
    }
    Ok(())
}

/// Parse and bind every pack named by `args` (files, or folders of packs). Returns the packs
/// that bound cleanly and every diagnostic found, in file order.
///
/// Two stages: each pack's tables and row rules bind on their own; then, with every table of
/// the run registered in `ctx`, the set-based rules (`unique`, `reference`, `query`) bind,
/// since they may read other tables and other packs.
pub async fn load(
    args: &[PathBuf],
    ctx: &SessionContext,
    sources: &SourceOptions,
) -> Result<(Vec<BoundPack>, Vec<Diagnostic>)> {
    let mut packs = Vec::new();
    let mut diagnostics = Vec::new();
    let mut libraries: HashMap<String, PathBuf> = HashMap::new();
    let paths = parse::pack_paths(args)?;
    if let Err(d) = register_calendar(&paths, ctx) {
        diagnostics.push(d);
        return Ok((Vec::new(), diagnostics));
    }
    let state = ctx.state();
    for path in paths {
        let pack = match parse::parse_file(&path)? {
            Ok(p) => p,
            Err(d) => {
                diagnostics.push(*d);
                continue;
            }
        };
        let id = &pack.doc.library.id;
        if let Some(first) = libraries.get(&id.value) {
            diagnostics.push(
                Diagnostic::error(
                    Code::DuplicateLibrary,
                    format!(
                        "library `{}` is also declared in {}",
                        id.value,
                        first.display()
                    ),
                )
                .at(pack.span(id)),
            );
            continue;
        }
        libraries.insert(id.value.clone(), path.clone());
        let (bound, diags) = super::bind(&pack, &state, sources).await;
        diagnostics.extend(diags);
        if let Some(b) = bound {
            packs.push((pack, b));
        }
    }
    let elsewhere = sibling_libraries(&libraries);
    super::sets::bind_set_rules(&mut packs, ctx, elsewhere, &mut diagnostics).await?;
    Ok((packs.into_iter().map(|(_, b)| b).collect(), diagnostics))
}

/// Libraries declared by packs beside the run's packs but not in the run (id → pack path).
fn sibling_libraries(in_run: &HashMap<String, PathBuf>) -> BTreeMap<String, PathBuf> {
    let folders: BTreeSet<PathBuf> = in_run
        .values()
        .filter_map(|p| p.parent().map(Path::to_path_buf))
        .collect();
    let mut out = BTreeMap::new();
    for folder in folders {
        let Ok(paths) = parse::pack_paths(std::slice::from_ref(&folder)) else {
            continue;
        };
        for path in paths {
            if let Ok(Ok(pack)) = parse::parse_file(&path) {
                let id = pack.doc.library.id.value;
                if !in_run.contains_key(&id) {
                    out.entry(id).or_insert(path);
                }
            }
        }
    }
    out
}
