//! State monitors streamed to disk (`[record]`'s `state_to = "disk"`,
//! `lifsim run --stream-state`): the run drains its samples in blocks
//! ([`crate::NetworkSimulation::drain_state_record`]) and [`StateStream`]
//! appends each block to temporary files beside the output, one per monitor
//! and column (`<stem>.state.npz.partial-<monitor>-<column>`, column 0 the
//! times, then one per variable: raw little-endian `f64`, row-major). At
//! the end [`StateStream::finish`] copies them into `<stem>.state.npz`
//! (the layout of [`super::files::save_state`], so readers see no
//! difference) without loading a whole monitor, atomically. The temporary
//! files go when the stream is dropped, whether the run succeeded or not;
//! a crash leaves them under their `.partial-` name.

use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use super::files::prefixes;
use super::StateRecord;
use crate::error::{Error, Result};
use crate::io::npy::Elem;
use crate::io::npz::save_npz;

/// One temporary column file.
struct Column {
    path: PathBuf,
    file: Option<BufWriter<File>>,
}

impl Column {
    fn create(path: PathBuf) -> Result<Self> {
        let file = File::create(&path).map_err(|e| Error::io(&path, e))?;
        Ok(Self {
            path,
            file: Some(BufWriter::new(file)),
        })
    }

    fn append(&mut self, values: &[f64]) -> Result<()> {
        let w = self.file.as_mut().expect("open until finish");
        values
            .iter()
            .try_for_each(|x| w.write_all(&x.to_le_bytes()))
            .map_err(|e| written(&self.path, e))
    }

    /// Flushes the file (before it is read back); appending goes on after.
    fn flush(&mut self) -> Result<()> {
        if let Some(w) = &mut self.file {
            w.flush().map_err(|e| written(&self.path, e))?;
        }
        Ok(())
    }

    /// Copies the file's bytes into `out`.
    fn copy_into(&self, out: &mut dyn Write) -> std::io::Result<()> {
        let mut r = BufReader::new(File::open(&self.path)?);
        std::io::copy(&mut r, out).map(drop)
    }
}

/// The state monitors of a run, streamed to temporary files beside
/// `<stem>.state.npz`.
pub struct StateStream {
    target: PathBuf,
    /// Per monitor: its population and ids (no samples).
    heads: Vec<StateRecord>,
    /// Per monitor: samples so far.
    samples: Vec<usize>,
    /// Per monitor: its times, then one column per variable.
    columns: Vec<Vec<Column>>,
}

impl StateStream {
    /// A stream into `target` (`<stem>.state.npz`) of the monitors whose
    /// first drained blocks are `first` (their population, ids and
    /// variables; their samples are written too).
    pub fn create(target: &Path, first: &[StateRecord]) -> Result<Self> {
        let mut stream = Self {
            target: target.to_path_buf(),
            heads: Vec::new(),
            samples: vec![0; first.len()],
            columns: Vec::new(),
        };
        for (m, r) in first.iter().enumerate() {
            stream.heads.push(StateRecord {
                population: r.population.clone(),
                ids: r.ids.clone(),
                times_ms: Vec::new(),
                values: r.values.iter().map(|(v, _)| (v.clone(), vec![])).collect(),
            });
            let mut cols = Vec::new();
            for c in 0..=r.values.len() {
                cols.push(Column::create(partial_path(target, m, c))?);
            }
            stream.columns.push(cols);
        }
        for (m, r) in first.iter().enumerate() {
            stream.append(m, r)?;
        }
        Ok(stream)
    }

    /// The file written at the end (`<stem>.state.npz`).
    pub fn target(&self) -> &Path {
        &self.target
    }

    /// Appends monitor `m`'s drained block `r`.
    pub fn append(&mut self, m: usize, r: &StateRecord) -> Result<()> {
        let cols = &mut self.columns[m];
        cols[0].append(&r.times_ms)?;
        for (col, (_, values)) in cols[1..].iter_mut().zip(&r.values) {
            col.append(values)?;
        }
        self.samples[m] += r.times_ms.len();
        Ok(())
    }

    /// Writes `<stem>.state.npz` from the temporary files (atomically) and
    /// removes them.
    pub fn finish(mut self) -> Result<()> {
        self.write()
    }

    /// Writes `<stem>.state.npz` from the temporary files (atomically) with
    /// every sample so far, keeping them: the stream goes on, and a later
    /// write replaces the file with more samples (a Python simulation run
    /// in pieces writes it after each).
    pub fn write(&mut self) -> Result<()> {
        for col in self.columns.iter_mut().flatten() {
            col.flush()?;
        }
        let names = prefixes(&self.heads);
        let shared = self.same_times()?;
        let (heads, samples, columns) = (&self.heads, &self.samples, &self.columns);
        save_npz(&self.target, |npz| {
            if shared {
                npz.add_streamed("times_ms", Elem::F64, &[samples[0]], |w| {
                    columns[0][0].copy_into(w)
                })?;
            }
            for (m, (h, name)) in heads.iter().zip(&names).enumerate() {
                let ids: Vec<u64> = h.ids.iter().map(|&i| i as u64).collect();
                npz.add(&format!("{name}/ids"), &ids, &[ids.len()])?;
                let n = samples[m];
                npz.add_streamed(&format!("{name}/times_ms"), Elem::F64, &[n], |w| {
                    columns[m][0].copy_into(w)
                })?;
                for ((var, _), col) in h.values.iter().zip(&columns[m][1..]) {
                    let shape = [n, h.ids.len()];
                    npz.add_streamed(&format!("{name}/{var}"), Elem::F64, &shape, |w| {
                        col.copy_into(w)
                    })?;
                }
            }
            Ok(())
        })
    }

    /// Whether every monitor has the same times (then `times_ms` is
    /// written once more at the top, as `save_state` does), compared file
    /// by file in pieces.
    fn same_times(&self) -> Result<bool> {
        let Some(first) = self.columns.first() else {
            return Ok(false);
        };
        for (m, cols) in self.columns.iter().enumerate().skip(1) {
            if self.samples[m] != self.samples[0] || !same_bytes(&first[0].path, &cols[0].path)? {
                return Ok(false);
            }
        }
        Ok(true)
    }
}

impl Drop for StateStream {
    fn drop(&mut self) {
        for col in self.columns.iter_mut().flatten() {
            drop(col.file.take());
            let _ = std::fs::remove_file(&col.path);
        }
    }
}

/// A failed write of temporary file `path`, worded as the spike stream's.
fn written(path: &Path, e: std::io::Error) -> Error {
    Error::file(path, format!("cannot be written ({e})"))
}

/// The temporary file of monitor `m`'s column `c` beside `target`.
pub fn partial_path(target: &Path, m: usize, c: usize) -> PathBuf {
    let mut s = target.as_os_str().to_owned();
    s.push(format!(".partial-{m}-{c}"));
    PathBuf::from(s)
}

/// Whether files `a` and `b` hold the same bytes.
fn same_bytes(a: &Path, b: &Path) -> Result<bool> {
    let open = |p: &Path| {
        File::open(p)
            .map(BufReader::new)
            .map_err(|e| Error::io(p, e))
    };
    let (mut ra, mut rb) = (open(a)?, open(b)?);
    let (mut ba, mut bb) = (vec![0u8; 1 << 16], vec![0u8; 1 << 16]);
    loop {
        let na = read_full(&mut ra, &mut ba).map_err(|e| Error::io(a, e))?;
        let nb = read_full(&mut rb, &mut bb).map_err(|e| Error::io(b, e))?;
        if na != nb || ba[..na] != bb[..nb] {
            return Ok(false);
        }
        if na == 0 {
            return Ok(true);
        }
    }
}

/// Reads until `buf` is full or the file ends; the bytes read.
fn read_full(r: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..])? {
            0 => break,
            k => n += k,
        }
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::io::npz::NpzReader;

    fn record(pop: &str, ids: Vec<usize>, times: Vec<f64>, vars: &[&str]) -> StateRecord {
        let w = ids.len();
        let values = vars
            .iter()
            .enumerate()
            .map(|(k, v)| {
                let x = (0..times.len() * w)
                    .map(|i| i as f64 * 0.5 - k as f64)
                    .collect();
                (v.to_string(), x)
            })
            .collect();
        StateRecord {
            population: pop.into(),
            ids,
            times_ms: times,
            values,
        }
    }

    /// Rows `lo..hi` of a record.
    fn rows(r: &StateRecord, lo: usize, hi: usize) -> StateRecord {
        let w = r.ids.len();
        StateRecord {
            times_ms: r.times_ms[lo..hi].to_vec(),
            values: r
                .values
                .iter()
                .map(|(v, x)| (v.clone(), x[lo * w..hi * w].to_vec()))
                .collect(),
            ..r.clone()
        }
    }

    fn members(path: &Path) -> Vec<(String, Vec<u8>)> {
        let mut z = NpzReader::open(path).unwrap();
        let mut names = z.names();
        names.sort();
        names
            .into_iter()
            .map(|n| {
                let b = z.member_bytes(&n).unwrap();
                (n, b)
            })
            .collect()
    }

    #[test]
    fn streamed_blocks_give_the_file_save_state_writes() {
        let dir = tempfile::tempdir().unwrap();
        for same_times in [true, false] {
            let t2: Vec<f64> = if same_times {
                vec![1.0, 2.0, 3.0, 4.0, 5.0]
            } else {
                vec![2.0, 4.0, 6.0, 8.0, 10.0]
            };
            let whole = [
                record(
                    "E",
                    vec![0, 3, 7],
                    vec![1.0, 2.0, 3.0, 4.0, 5.0],
                    &["V_m", "I_syn"],
                ),
                record("E", vec![2], t2, &["V_m"]),
            ];
            let direct = dir.path().join("direct.state.npz");
            crate::monitor::files::save_state(&direct, &whole).unwrap();
            let target = dir.path().join("x.state.npz");
            let first: Vec<_> = whole.iter().map(|r| rows(r, 0, 0)).collect();
            let mut s = StateStream::create(&target, &first).unwrap();
            assert!(partial_path(&target, 1, 1).exists());
            for (lo, hi) in [(0, 2), (2, 2), (2, 5)] {
                for (m, r) in whole.iter().enumerate() {
                    s.append(m, &rows(r, lo, hi)).unwrap();
                }
            }
            s.finish().unwrap();
            assert_eq!(members(&target), members(&direct));
            assert_eq!(
                members(&target).iter().any(|(n, _)| n == "times_ms"),
                same_times
            );
            let left: Vec<_> = std::fs::read_dir(dir.path())
                .unwrap()
                .map(|e| e.unwrap().file_name().into_string().unwrap())
                .filter(|n| n.contains(".partial-"))
                .collect();
            assert!(left.is_empty(), "{left:?}");
        }
    }

    #[test]
    fn a_dropped_stream_leaves_no_partial_files_and_no_output() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("x.state.npz");
        let r = record("E", vec![0, 1], vec![1.0], &["V_m"]);
        let s = StateStream::create(&target, &[r]).unwrap();
        assert!(partial_path(&target, 0, 0).exists());
        drop(s);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }
}
