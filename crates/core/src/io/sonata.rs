//! SONATA spike reports in HDF5 (cargo feature `sonata`).
//!
//! The layout of the SONATA developer guide's spike file, as NEST, bmtk,
//! Neurodamus and libsonata read it:
//!
//! ```text
//! /                                attributes magic = 0x0A7A (uint32), version = [0, 1] (uint32)
//! /spikes/<population>             attribute sorting: enum {none = 0, by_id = 1, by_time = 2} (int8)
//! /spikes/<population>/timestamps  float64, attribute units = "ms"
//! /spikes/<population>/node_ids    uint64
//! ```
//!
//! lifsim's spikes are sorted by time, then id, so `sorting` is `by_time`.
//! The population group also carries `lifsim_n_nodes`, `lifsim_dt_ms` and
//! `lifsim_steps`, which SONATA readers ignore and lifsim uses to plot and
//! describe the file without guessing.

use std::path::Path;

use hdf5::types::{TypeDescriptor, VarLenAscii, VarLenUnicode};
use hdf5::H5Type;

use crate::error::{Error, Result};
use crate::io::output::StagedFile;
use crate::io::spikes::{alloc_events, SpikeFileKind, SpikeTrain};
use crate::io::stream::{EventStream, PopulationRange};

/// SONATA's file magic number (root attribute `magic`).
pub const SONATA_MAGIC: u32 = 0x0A7A;
/// The SONATA format version written (root attribute `version`).
pub const SONATA_VERSION: [u32; 2] = [0, 1];

/// The order of a spike report, the `sorting` attribute of SONATA.
#[allow(non_camel_case_types)] // the member names are SONATA's
#[derive(H5Type, Clone, Copy, Debug, PartialEq, Eq)]
#[repr(i8)]
pub enum Sorting {
    /// No order.
    none = 0,
    /// By node id.
    by_id = 1,
    /// By time.
    by_time = 2,
}

/// Spikes per write call (8 MiB of timestamps).
const CHUNK: usize = 1 << 20;

fn h5err(path: &Path, e: hdf5::Error) -> Error {
    Error::file(path, format!("HDF5: {e}"))
}

/// Writes the complete steps of `stream` as a SONATA spike report at `out`,
/// through [`StagedFile`] (a temporary file renamed into place), a chunk at a time.
pub fn write_from_stream(stream: &EventStream, out: &Path) -> Result<()> {
    let staged = StagedFile::create(out)?;
    write_file(stream, staged.path(), out)?;
    staged.commit()
}

fn write_file(stream: &EventStream, temp: &Path, out: &Path) -> Result<()> {
    let e = |err| h5err(out, err);
    let h = stream.header();
    let count = stream.spikes() as usize;
    let file = hdf5::File::create(temp).map_err(e)?;
    file.new_attr::<u32>()
        .create("magic")
        .and_then(|a| a.write_scalar(&SONATA_MAGIC))
        .map_err(e)?;
    file.new_attr::<u32>()
        .shape(2)
        .create("version")
        .and_then(|a| a.write_raw(&SONATA_VERSION))
        .map_err(e)?;
    let pop = file
        .create_group("spikes")
        .and_then(|g| g.create_group(&h.population))
        .map_err(e)?;
    pop.new_attr::<Sorting>()
        .create("sorting")
        .and_then(|a| a.write_scalar(&Sorting::by_time))
        .map_err(e)?;
    pop.new_attr::<u64>()
        .create("lifsim_n_nodes")
        .and_then(|a| a.write_scalar(&h.n))
        .map_err(e)?;
    pop.new_attr::<f64>()
        .create("lifsim_dt_ms")
        .and_then(|a| a.write_scalar(&h.dt))
        .map_err(e)?;
    pop.new_attr::<u64>()
        .create("lifsim_steps")
        .and_then(|a| a.write_scalar(&stream.steps_complete()))
        .map_err(e)?;
    write_populations(&pop, &h.populations).map_err(e)?;
    if let Some(r) = &h.recorded {
        for (attr, k) in [("lifsim_recorded_starts", 0), ("lifsim_recorded_stops", 1)] {
            let values: Vec<u64> = r.iter().map(|r| r[k]).collect();
            pop.new_attr::<u64>()
                .shape(values.len())
                .create(attr)
                .and_then(|a| a.write_raw(&values))
                .map_err(e)?;
        }
    }
    let times = pop
        .new_dataset::<f64>()
        .shape(count)
        .create("timestamps")
        .map_err(e)?;
    let units: VarLenUnicode = "ms".parse().expect("ASCII");
    times
        .new_attr::<VarLenUnicode>()
        .create("units")
        .and_then(|a| a.write_scalar(&units))
        .map_err(e)?;
    let ids = pop
        .new_dataset::<u64>()
        .shape(count)
        .create("node_ids")
        .map_err(e)?;
    // One pass over the stream fills both datasets, a chunk at a time.
    let (mut at, mut failed) = (0usize, None);
    let (mut tbuf, mut ibuf) = (Vec::new(), Vec::new());
    stream.for_each_chunk(|ks, is| {
        if failed.is_some() || ks.is_empty() {
            return;
        }
        for (kc, ic) in ks.chunks(CHUNK).zip(is.chunks(CHUNK)) {
            tbuf.clear();
            ibuf.clear();
            tbuf.extend(kc.iter().map(|&k| (k + 1) as f64 * h.dt));
            ibuf.extend(ic.iter().map(|&i| i as u64));
            let range = at..at + kc.len();
            let r = times
                .write_slice(&tbuf[..], range.clone())
                .and_then(|()| ids.write_slice(&ibuf[..], range));
            if let Err(err) = r {
                failed = Some(err);
                return;
            }
            at += kc.len();
        }
    })?;
    if let Some(err) = failed {
        return Err(e(err));
    }
    file.flush().map_err(e)?;
    Ok(())
}

/// Reads the spikes of `population` (or of the file's only population) from a
/// SONATA spike report.
pub fn read(path: &Path, population: Option<&str>) -> Result<SpikeTrain> {
    let e = |err| h5err(path, err);
    let file = hdf5::File::open(path).map_err(e)?;
    let spikes = file.group("spikes").map_err(|_| {
        Error::file(
            path,
            "has no /spikes group; it is not a SONATA spike report",
        )
    })?;
    let names = spikes.member_names().map_err(e)?;
    let name = match (population, names.as_slice()) {
        (Some(p), _) if names.iter().any(|n| n == p) => p.to_string(),
        (Some(p), _) => {
            return Err(Error::file(
                path,
                format!("has no population {p:?} (it has {})", names.join(", ")),
            ))
        }
        (None, [one]) => one.clone(),
        (None, []) => return Err(Error::file(path, "has no population under /spikes")),
        (None, many) => {
            return Err(Error::file(
                path,
                format!(
                    "has populations {}; choose one (--population)",
                    many.join(", ")
                ),
            ))
        }
    };
    let pop = spikes.group(&name).map_err(e)?;
    let tds = pop
        .dataset("timestamps")
        .map_err(|_| Error::file(path, format!("/spikes/{name} has no timestamps")))?;
    let ids_ds = pop
        .dataset("node_ids")
        .map_err(|_| Error::file(path, format!("/spikes/{name} has no node_ids")))?;
    if tds.size() != ids_ds.size() {
        return Err(Error::file(
            path,
            format!(
                "/spikes/{name} has {} timestamps but {} node_ids",
                tds.size(),
                ids_ds.size()
            ),
        ));
    }
    let (mut times, mut ids) = alloc_events(path, tds.size())?;
    times.extend(tds.read_raw::<f64>().map_err(e)?);
    ids.extend(ids_ds.read_raw::<u64>().map_err(e)?);
    let scale = match read_string_attr(&tds, "units").as_deref() {
        Some("s") => 1e3,
        Some("us") => 1e-3,
        _ => 1.0,
    };
    if scale != 1.0 {
        times.iter_mut().for_each(|t| *t *= scale);
    }
    let attr_u64 = |a: &str| pop.attr(a).and_then(|a| a.read_scalar::<u64>()).ok();
    let dt = pop
        .attr("lifsim_dt_ms")
        .and_then(|a| a.read_scalar::<f64>())
        .ok();
    let max_id = ids.iter().max().map_or(0, |&m| m.saturating_add(1));
    let n = attr_u64("lifsim_n_nodes").unwrap_or(0).max(max_id);
    let last = times.iter().copied().fold(0.0f64, f64::max);
    let duration_ms = match (attr_u64("lifsim_steps"), dt) {
        (Some(s), Some(dt)) => (s as f64 * dt).max(last),
        _ => last,
    };
    let populations = read_populations(path, &pop, n)?;
    let recorded = read_recorded(path, &pop, n)?;
    Ok(SpikeTrain {
        kind: SpikeFileKind::Sonata,
        n: n as usize,
        dt,
        duration_ms,
        times,
        ids,
        population: Some(name),
        populations,
        recorded,
        complete: true,
    })
}

/// The network's populations as attributes of the report's group:
/// `lifsim_population_names` (strings), `lifsim_population_starts` and
/// `lifsim_population_stops` (uint64), as an events `.npz` has them.
fn write_populations(group: &hdf5::Group, pops: &[PopulationRange]) -> hdf5::Result<()> {
    if pops.is_empty() {
        return Ok(());
    }
    let names: Vec<VarLenUnicode> = pops
        .iter()
        .map(|p| {
            p.name
                .parse()
                .expect("a VarLenUnicode holds any string without NUL")
        })
        .collect();
    group
        .new_attr::<VarLenUnicode>()
        .shape(pops.len())
        .create("lifsim_population_names")?
        .write_raw(&names)?;
    for (attr, values) in [
        (
            "lifsim_population_starts",
            pops.iter().map(|p| p.start).collect::<Vec<u64>>(),
        ),
        (
            "lifsim_population_stops",
            pops.iter().map(|p| p.stop).collect(),
        ),
    ] {
        group
            .new_attr::<u64>()
            .shape(values.len())
            .create(attr)?
            .write_raw(&values)?;
    }
    Ok(())
}

/// What [`write_populations`] wrote (none where the attributes are absent).
fn read_populations(path: &Path, group: &hdf5::Group, n: u64) -> Result<Vec<PopulationRange>> {
    let Ok(names) = group.attr("lifsim_population_names") else {
        return Ok(Vec::new());
    };
    let e = |err| h5err(path, err);
    let names: Vec<VarLenUnicode> = names.read_raw().map_err(e)?;
    let names = names.iter().map(|s| s.to_string()).collect();
    let read = |a: &str| -> Result<Vec<u64>> {
        group
            .attr(a)
            .and_then(|a| a.read_raw::<u64>())
            .map_err(|_| Error::file(path, format!("has lifsim_population_names but no {a}")))
    };
    let (starts, stops) = (
        read("lifsim_population_starts")?,
        read("lifsim_population_stops")?,
    );
    crate::io::stream::populations_from("lifsim_population_names", names, starts, stops, n)
        .map_err(|m| Error::file(path, m))
}

/// The `lifsim_recorded_starts` and `lifsim_recorded_stops` attributes
/// (none: every neuron recorded; [`crate::io::recorded`]).
fn read_recorded(
    path: &Path,
    group: &hdf5::Group,
    n: u64,
) -> Result<Option<crate::io::recorded::IdRanges>> {
    let read = |a: &str| group.attr(a).and_then(|a| a.read_raw::<u64>()).ok();
    match (
        read("lifsim_recorded_starts"),
        read("lifsim_recorded_stops"),
    ) {
        (None, None) => Ok(None),
        (Some(starts), Some(stops)) => {
            crate::io::recorded::from_arrays("lifsim_recorded_starts", starts, stops, n)
                .map(Some)
                .map_err(|m| Error::file(path, m))
        }
        _ => Err(Error::file(
            path,
            "has one of lifsim_recorded_starts, lifsim_recorded_stops but not both",
        )),
    }
}

fn read_string_attr(loc: &hdf5::Location, name: &str) -> Option<String> {
    let a = loc.attr(name).ok()?;
    a.read_scalar::<VarLenUnicode>()
        .map(|s| s.to_string())
        .or_else(|_| a.read_scalar::<VarLenAscii>().map(|s| s.to_string()))
        .ok()
}

/// One line per group, dataset and attribute of any HDF5 file: what
/// `lifsim info` prints for `.h5` files.
pub fn describe(path: &Path) -> Result<Vec<String>> {
    let e = |err| h5err(path, err);
    let file = hdf5::File::open(path).map_err(e)?;
    let mut lines = Vec::new();
    describe_attrs(&file, "/", &mut lines);
    describe_group(&file, "", &mut lines).map_err(e)?;
    Ok(lines)
}

fn describe_group(g: &hdf5::Group, at: &str, lines: &mut Vec<String>) -> hdf5::Result<()> {
    for name in g.member_names()? {
        let full = format!("{at}/{name}");
        if let Ok(sub) = g.group(&name) {
            lines.push(format!("{full}/  (group)"));
            describe_attrs(&sub, &full, lines);
            describe_group(&sub, &full, lines)?;
        } else if let Ok(ds) = g.dataset(&name) {
            let dtype = ds
                .dtype()
                .and_then(|t| t.to_descriptor())
                .map_or_else(|_| "?".to_string(), |t| type_name(&t));
            let shape = ds.shape();
            lines.push(format!(
                "{full}  {dtype} {}",
                crate::io::npy::shape_str(&shape)
            ));
            describe_attrs(&ds, &full, lines);
        }
    }
    Ok(())
}

fn describe_attrs(loc: &hdf5::Location, at: &str, lines: &mut Vec<String>) {
    let Ok(names) = loc.attr_names() else { return };
    for name in names {
        let Ok(a) = loc.attr(&name) else { continue };
        let desc = a.dtype().and_then(|t| t.to_descriptor()).ok();
        let value = match &desc {
            Some(TypeDescriptor::Enum(en)) => a
                .read_scalar::<Sorting>()
                .map(|s| format!("{s:?}"))
                .unwrap_or_else(|_| {
                    let names: Vec<_> = en.members.iter().map(|m| m.name.as_str()).collect();
                    format!("enum {{{}}}", names.join(", "))
                }),
            Some(TypeDescriptor::VarLenUnicode | TypeDescriptor::VarLenAscii) => {
                read_string_attr(loc, &name).map_or("?".into(), |s| format!("{s:?}"))
            }
            Some(TypeDescriptor::Float(_)) if a.size() == 1 => {
                a.read_scalar::<f64>().map_or("?".into(), |v| v.to_string())
            }
            Some(TypeDescriptor::Unsigned(_) | TypeDescriptor::Integer(_)) if a.size() <= 8 => a
                .read_raw::<i64>()
                .map_or("?".into(), |v| match v.as_slice() {
                    [one] if name == "magic" => format!("{one:#x}"),
                    [one] => one.to_string(),
                    many => format!("{many:?}"),
                }),
            Some(t) => type_name(t),
            None => "?".into(),
        };
        let sep = if at.ends_with('/') { "" } else { " " };
        lines.push(format!("{at}{sep}@{name} = {value}"));
    }
}

fn type_name(t: &TypeDescriptor) -> String {
    use hdf5::types::{FloatSize, IntSize};
    let bits = |s: &IntSize| (*s as usize) * 8;
    match t {
        TypeDescriptor::Integer(s) => format!("int{}", bits(s)),
        TypeDescriptor::Unsigned(s) => format!("uint{}", bits(s)),
        TypeDescriptor::Float(FloatSize::U4) => "float32".into(),
        TypeDescriptor::Float(FloatSize::U8) => "float64".into(),
        TypeDescriptor::VarLenUnicode | TypeDescriptor::VarLenAscii => "string".into(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::io::spikes::{OutputFormat, SpikeOutput};
    use crate::io::stream::StreamHeader;
    use crate::recording::SpikeSink;

    #[test]
    fn writes_what_it_reads_and_describes_it() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("s.h5");
        let header = StreamHeader {
            n: 10,
            dt: 0.1,
            steps: 50,
            population: "exc".into(),
            populations: Vec::new(),
            recorded: None,
        };
        let mut o = SpikeOutput::create(OutputFormat::Sonata, &out, header).unwrap();
        let mut want = (Vec::new(), Vec::new());
        for k in 0..50usize {
            let fired: Vec<u32> = (0..10)
                .filter(|i| (k * 7 + *i as usize).is_multiple_of(11))
                .collect();
            for &i in &fired {
                want.0.push((k + 1) as f64 * 0.1);
                want.1.push(i as u64);
            }
            o.record(k, &fired);
        }
        o.finish().unwrap();
        let t = read(&out, None).unwrap();
        assert_eq!((t.times, t.ids), want);
        assert_eq!((t.n, t.dt, t.duration_ms), (10, Some(0.1), 5.0));
        let lines = describe(&out).unwrap().join("\n");
        for want in [
            "/@magic = 0xa7a",
            "/@version = [0, 1]",
            "/spikes/exc @sorting = by_time",
            "/spikes/exc/timestamps  float64",
            "/spikes/exc/timestamps @units = \"ms\"",
            "/spikes/exc/node_ids  uint64",
        ] {
            assert!(lines.contains(want), "{want:?} not in\n{lines}");
        }
        let e = read(&out, Some("inh")).unwrap_err().to_string();
        assert!(e.contains("no population \"inh\" (it has exc)"), "{e}");
        // Nothing but the output is left.
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }
}
