//! `lifsim info FILE...`: what is in a file lifsim reads or writes.
//!
//! The kind is told from the file's first bytes, not its name: `.npy` arrays
//! (spike rasters, weight matrices, per-neuron vectors), `.npz` archives (spike
//! events, sparse matrices, anything else member by member), `.spikes` event
//! streams (complete, or left by a run that was killed) and HDF5 files (SONATA
//! spike reports; any other HDF5 tree). A network file (`.toml`) is described
//! by `info_network`.

use std::io::Read;
use std::path::Path;

use anyhow::{bail, Result};
use lifsim_core::io::npy::{self, Elem, NpyArray};
use lifsim_core::io::npz::NpzReader;
use lifsim_core::io::spikes::{check_dt, SpikeTrain, HDF5_MAGIC};
use lifsim_core::io::stream::{self, EventStream};

use super::plot::fmt_num;
use crate::args::InfoArgs;

/// Runs `lifsim info`.
pub fn info(args: &InfoArgs) -> Result<()> {
    if let Some(dt) = args.dt {
        check_dt(dt).map_err(|e| lifsim_core::Error::param("dt", e))?;
    }
    for (k, path) in args.files.iter().enumerate() {
        if super::info_network::is_network_file(path) {
            if k > 0 && !args.json {
                println!();
            }
            super::info_network::describe_network(path, args.json)?;
            continue;
        }
        if args.json {
            bail!(
                "{}: --json describes network files (.toml); this is not one",
                path.display()
            );
        }
        if k > 0 {
            println!();
        }
        describe(path, args.dt)?;
    }
    Ok(())
}

fn row(key: &str, value: impl std::fmt::Display) {
    println!("  {key:<12} {value}");
}

fn describe(path: &Path, dt: Option<f64>) -> Result<()> {
    let mut magic = [0u8; 8];
    let mut f =
        std::fs::File::open(path).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    let named = |e: std::io::Error| anyhow::anyhow!("{}: {e}", path.display());
    let got = f.read(&mut magic).map_err(named)?;
    let len = f.metadata().map_err(named)?.len();
    let magic = &magic[..got];
    if magic.starts_with(b"\x93NUMPY") {
        describe_npy(path, dt, len)
    } else if magic.starts_with(b"PK") {
        describe_npz(path, dt, len)
    } else if stream::is_stream(magic) {
        describe_stream(path, len)
    } else if magic == HDF5_MAGIC {
        describe_h5(path, len)
    } else {
        bail!(
            "{}: is not a file lifsim reads or writes (.npy, .npz, .spikes stream, HDF5 .h5)",
            path.display()
        )
    }
}

fn size(bytes: u64) -> String {
    lifsim_core::error::human_bytes(bytes)
}

fn describe_npy(path: &Path, dt: Option<f64>, len: u64) -> Result<()> {
    let a = NpyArray::open(path)?;
    let h = a.header().clone();
    let order = if h.fortran_order {
        "Fortran (column-major)"
    } else {
        "C (row-major)"
    };
    let kind = match (h.elem, h.shape.as_slice()) {
        (Elem::Bool, [_, _]) => "dense spike array (steps, N)",
        (Elem::F64 | Elem::F32, [r, c]) if r == c => {
            "weight matrix W (N x N); W[i, j] is from j onto i"
        }
        (Elem::F64 | Elem::F32, [_]) => "one value per neuron (i_ext, v0, ...)",
        (Elem::U64 | Elem::I64 | Elem::U32 | Elem::I32, [_]) => {
            "integer vector (spike counts, ids, ...)"
        }
        _ => "NumPy array",
    };
    println!("{}: .npy, {kind}", path.display());
    row("array", format!("{}, {order}", h.describe()));
    row("size", size(len));
    match (h.elem, h.shape.as_slice()) {
        (Elem::Bool, [steps, n]) => {
            let train = SpikeTrain::load(path, dt)?;
            let dt_used = train.dt.unwrap_or(0.0);
            row(
                "steps",
                format!(
                    "{steps} (dt {} ms{}, {} ms)",
                    fmt_num(dt_used),
                    if dt.is_none() {
                        " assumed; give --dt"
                    } else {
                        ""
                    },
                    fmt_num(*steps as f64 * dt_used)
                ),
            );
            row("neurons", n);
            spike_summary(&train);
        }
        (Elem::F64 | Elem::F32, [r, c]) if r == c => {
            let (min, max, mean, nonzero) = stats(&a);
            row("neurons", r);
            row(
                "weights",
                format!("min {}, max {}, mean {:.6}", fmt_g(min), fmt_g(max), mean),
            );
            row(
                "nonzero",
                format!(
                    "{} of {} ({:.2} %)",
                    nonzero,
                    r * c,
                    100.0 * nonzero as f64 / (r * c).max(1) as f64
                ),
            );
            row(
                "lifsim reads",
                if h.fortran_order {
                    "memory-mapped, without a copy (for its dtype)"
                } else {
                    "with one transposing copy (gen-weights writes Fortran order, read without one)"
                },
            );
        }
        (Elem::F64 | Elem::F32 | Elem::U64 | Elem::I64 | Elem::U32 | Elem::I32, [n]) => {
            let (min, max, mean, _) = stats(&a);
            row(
                "values",
                format!(
                    "{n}: min {}, max {}, mean {:.6}",
                    fmt_g(min),
                    fmt_g(max),
                    mean
                ),
            );
        }
        _ => {}
    }
    Ok(())
}

/// Min, max, mean and the number of nonzero elements.
fn stats(a: &NpyArray) -> (f64, f64, f64, usize) {
    let (mut min, mut max, mut sum, mut nonzero, mut count) =
        (f64::INFINITY, f64::NEG_INFINITY, 0.0, 0usize, 0usize);
    let mut see = |x: f64| {
        min = min.min(x);
        max = max.max(x);
        sum += x;
        nonzero += usize::from(x != 0.0);
        count += 1;
    };
    if let Some(s) = a.as_f64_slice() {
        s.iter().for_each(|&x| see(x));
    } else if let Some(s) = a.as_f32_slice() {
        s.iter().for_each(|&x| see(x as f64));
    } else {
        a.to_f64_vec().into_iter().for_each(see);
    }
    if count == 0 {
        return (0.0, 0.0, 0.0, 0);
    }
    (min, max, sum / count as f64, nonzero)
}

fn fmt_g(x: f64) -> String {
    if x != 0.0 && (x.abs() < 1e-3 || x.abs() >= 1e6) {
        format!("{x:.4e}")
    } else {
        fmt_num(x)
    }
}

fn describe_npz(path: &Path, dt: Option<f64>, len: u64) -> Result<()> {
    let mut z = NpzReader::open(path)?;
    let mut names = z.names();
    names.sort();
    let has = |m: &str| names.iter().any(|n| n == m);
    if has("meta") && has("step") && has("pending") {
        return describe_checkpoint(path, len);
    }
    let kind = if has("times") && has("ids") {
        "spike events (times in ms, ids)"
    } else if has("indptr") && has("indices") && has("data") {
        "sparse matrix (scipy.sparse)"
    } else {
        "NumPy archive"
    };
    println!("{}: .npz, {kind}", path.display());
    row("size", size(len));
    for name in &names {
        let a = match z.array(name) {
            Ok(a) => a,
            Err(e) => {
                // A member lifsim cannot decode (a string array): say so, go on.
                let msg = e.to_string();
                row(name, msg.rsplit(": ").next().unwrap_or(&msg));
                continue;
            }
        };
        let h = a.header();
        let value = if h.elem != Elem::Bool && (h.shape.is_empty() || h.shape == [1]) {
            let v = a.to_f64_vec();
            format!(" = {}", v.first().map_or(String::new(), |x| fmt_g(*x)))
        } else if name == "shape" && h.len().unwrap_or(0) <= 4 {
            let v: Vec<String> = a.to_f64_vec().iter().map(|x| fmt_g(*x)).collect();
            format!(" = ({})", v.join(", "))
        } else {
            String::new()
        };
        row(
            name,
            format!("{} {}{value}", h.elem.name(), npy::shape_str(&h.shape)),
        );
    }
    if has("times") && has("ids") {
        let train = SpikeTrain::load(path, dt)?;
        row("neurons", train.n);
        if let Some(dt) = train.dt {
            row("dt", format!("{} ms", fmt_num(dt)));
        }
        spike_summary(&train);
    } else if has("indptr") && has("indices") && has("data") {
        let nnz = z.array("data")?.header().len().unwrap_or(0);
        let rows = z
            .array("indptr")?
            .header()
            .len()
            .unwrap_or(1)
            .saturating_sub(1);
        row("nonzero", format!("{nnz} ({} pointer entries)", rows));
    }
    Ok(())
}

fn describe_checkpoint(path: &Path, len: u64) -> Result<()> {
    let (m, state) = lifsim_core::checkpoint::load(path)?;
    println!(
        "{}: lifsim checkpoint ({} engine)",
        path.display(),
        m.engine
    );
    row("size", size(len));
    row(
        "step",
        format!(
            "{} of {} ({} of {} ms)",
            state.step,
            m.steps,
            fmt_num(state.step as f64 * m.dt),
            fmt_num(m.steps as f64 * m.dt)
        ),
    );
    row("neurons", m.n);
    row(
        "spikes",
        format!(
            "{} so far, {} pending",
            m.position.spikes,
            state.pending.len()
        ),
    );
    for p in &state.partitions {
        for a in &p.arrays {
            row(
                &format!("state/{}", a.name),
                format!("{} values per neuron", a.width),
            );
        }
    }
    row("run", format!("lifsim run {}", m.args.join(" ")));
    row("in", &m.cwd);
    row("output", format!("{} ({})", m.out, m.format));
    row("stream", &m.stream);
    row("resume with", format!("lifsim resume {}", path.display()));
    Ok(())
}

fn describe_stream(path: &Path, len: u64) -> Result<()> {
    let s = EventStream::open(path)?;
    let h = s.header();
    let state = if s.is_complete() {
        "complete".to_string()
    } else {
        format!(
            "INCOMPLETE: the run stopped after step {} of {} ({} of {} ms)",
            s.steps_complete(),
            h.steps,
            fmt_num(s.steps_complete() as f64 * h.dt),
            fmt_num(h.steps as f64 * h.dt)
        )
    };
    println!("{}: .spikes event stream, {state}", path.display());
    row("size", size(len));
    row("population", &h.population);
    row("neurons", h.n);
    row("dt", format!("{} ms", fmt_num(h.dt)));
    row(
        "steps",
        format!("{} written of {}", s.steps_complete(), h.steps),
    );
    if s.trailing_bytes() > 0 {
        row(
            "unfinished",
            format!(
                "{} spike records ({} bytes) after the last complete step, left out",
                s.trailing_spikes(),
                s.trailing_bytes()
            ),
        );
    }
    spike_summary(&SpikeTrain::load(path, None)?);
    Ok(())
}

#[cfg(feature = "sonata")]
fn describe_h5(path: &Path, len: u64) -> Result<()> {
    let lines = lifsim_core::io::sonata::describe(path)?;
    let pops: Vec<String> = lines
        .iter()
        .filter_map(|l| l.strip_prefix("/spikes/"))
        .filter_map(|l| l.strip_suffix("/  (group)"))
        .map(str::to_string)
        .collect();
    let kind = if pops.is_empty() {
        "HDF5 file"
    } else {
        "SONATA spike report (HDF5)"
    };
    println!("{}: {kind}", path.display());
    row("size", size(len));
    for l in &lines {
        println!("  {l}");
    }
    for p in pops {
        let train = lifsim_core::io::sonata::read(path, Some(&p))?;
        train.validate(path)?;
        println!("  population {p}:");
        row("neurons", train.n);
        if let Some(dt) = train.dt {
            row("dt", format!("{} ms", fmt_num(dt)));
        }
        spike_summary(&train);
    }
    Ok(())
}

#[cfg(not(feature = "sonata"))]
fn describe_h5(path: &Path, len: u64) -> Result<()> {
    println!("{}: HDF5 file", path.display());
    row("size", size(len));
    row(
        "contents",
        "not shown: this lifsim was built without HDF5 support (build with --features sonata)",
    );
    Ok(())
}

/// Spikes, time span, rate and activity of a spike train.
fn spike_summary(t: &SpikeTrain) {
    row(
        "spikes",
        format!("{} in {} ms", t.len(), fmt_num(t.duration_ms)),
    );
    if t.recorded.is_some() {
        row(
            "recorded",
            format!("{} of {} neurons", t.recorded_neurons(), t.n),
        );
    }
    let over = if t.recorded.is_some() {
        " (over the recorded neurons)"
    } else {
        ""
    };
    row("mean rate", format!("{:.3} Hz{over}", t.mean_rate_hz()));
    if t.is_empty() {
        return;
    }
    // Distinct ids from the ids themselves: memory as for the spikes, whatever
    // N the file claims.
    let mut ids = t.ids.clone();
    ids.sort_unstable();
    ids.dedup();
    let active = ids.len();
    let of = if t.recorded.is_some() {
        "recorded neurons"
    } else {
        "neurons"
    };
    row(
        "active",
        format!("{active} of {} {of} fired", t.recorded_neurons()),
    );
    let first = t.times.iter().copied().fold(f64::INFINITY, f64::min);
    let last = t.times.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    row(
        "first, last",
        format!("{} ms, {} ms", fmt_num(first), fmt_num(last)),
    );
    let sorted = t
        .times
        .windows(2)
        .zip(t.ids.windows(2))
        .all(|(ts, is)| ts[0] < ts[1] || (ts[0] == ts[1] && is[0] < is[1]));
    row(
        "order",
        if sorted {
            "by time, then id"
        } else {
            "not sorted by time"
        },
    );
}
