//! Checkpoints of a run over MPI ranks, written by the ranks: each rank its
//! own neurons' state to a file of its own, rank 0 the manifest naming them
//! (the protocol of `crate::checkpoint::parts`), so no rank gathers the
//! network's state. `checkpoint::load` stitches the files again, for any
//! number of ranks and threads; resumed over ranks, each rank reads only
//! the files that hold its own neurons (`checkpoint::Opened::state_of`).

use std::path::Path;

use super::NetworkSimulation;
use crate::checkpoint::{self, Checkpoint, CheckpointMeta, PartFile};
use crate::engine::exchange::Reduce;
use crate::error::{Error, Result};
use crate::model::Real;

impl<T: Real> NetworkSimulation<'_, T> {
    /// Writes a checkpoint of the run now to `path` with `meta` (rank 0's;
    /// `None` on the other ranks). One process writes the one file of
    /// [`checkpoint::save`]. Over several ranks the call is collective:
    /// each rank writes its neurons' state to its own file beside `path`
    /// ([`checkpoint::part_path`]), the ranks report success to rank 0,
    /// which then replaces the manifest at `path` and removes the files of
    /// earlier checkpoints; should any rank fail, every rank returns an
    /// error and the previous checkpoint stands.
    pub fn save_checkpoint(&self, path: &Path, meta: Option<&CheckpointMeta>) -> Result<()> {
        let Some(ranks) = self.ranks.as_deref().filter(|r| r.ranks() > 1) else {
            let meta = meta.ok_or_else(|| no_meta(0))?;
            return checkpoint::save(path, meta, &self.save_state());
        };
        let (rank, k) = (ranks.rank(), ranks.ranks());
        let local = self.save_state();
        let file = checkpoint::part_path(path, local.step, rank, k);
        let written = local
            .joined()
            .and_then(|mine| Ok((checkpoint::save_part(&file, local.step, &mine)?, mine.range)));
        // Each rank's report: 1, its checksum and neurons; or 0 and why not.
        let mut report = Vec::new();
        match &written {
            Ok((sum, range)) => {
                report.push(1u8);
                for x in [*sum, range.start as u64, range.end as u64] {
                    report.extend(x.to_le_bytes());
                }
            }
            Err(e) => {
                report.push(0u8);
                report.extend(e.to_string().bytes());
            }
        }
        let reports = ranks.gather_bytes(&report);
        // Rank 0 writes the manifest once every rank wrote its file.
        let manifest = match reports {
            Some(all) => (|| {
                let mut m = meta.ok_or_else(|| no_meta(rank))?.clone();
                m.parts = parts_of(path, local.step, &all)?;
                checkpoint::save_manifest(path, &m, local.step, &local.pending)?;
                // Best effort: a file left over is clutter, not a wrong state.
                let _ = checkpoint::remove_stale_parts(path, &m.parts);
                Ok(())
            })(),
            None => Ok(()),
        };
        let here = manifest.is_ok() && written.is_ok();
        if ranks.reduce(here as u64, Reduce::Min) == 1 {
            return Ok(());
        }
        let _ = std::fs::remove_file(&file);
        manifest?;
        written?;
        Err(Error::param(
            "checkpoint",
            format!(
                "another rank could not write its file of the checkpoint at step {}; {} is the previous one",
                local.step,
                path.display()
            ),
        ))
    }
}

/// The manifest's list of rank files from every rank's report (in rank
/// order) of the checkpoint `path` at `step`; the first rank that could
/// not write its file fails it.
fn parts_of(path: &Path, step: u64, reports: &[Vec<u8>]) -> Result<Vec<PartFile>> {
    let k = reports.len();
    let mut parts = Vec::with_capacity(k);
    for (q, r) in reports.iter().enumerate() {
        if r.first() != Some(&1) || r.len() != 25 {
            return Err(Error::param(
                "checkpoint",
                format!(
                    "rank {q} of {k} could not write its file: {}",
                    String::from_utf8_lossy(r.get(1..).unwrap_or_default())
                ),
            ));
        }
        let word =
            |i: usize| u64::from_le_bytes(r[1 + 8 * i..9 + 8 * i].try_into().expect("8 bytes"));
        let file = checkpoint::part_path(path, step, q, k);
        parts.push(PartFile {
            file: file
                .file_name()
                .unwrap_or_default()
                .to_string_lossy()
                .into_owned(),
            start: word(1),
            end: word(2),
            checksum: word(0),
        });
    }
    Ok(parts)
}

fn no_meta(rank: usize) -> Error {
    Error::param(
        "checkpoint",
        format!("rank {rank} writes the manifest but was given no meta"),
    )
}
