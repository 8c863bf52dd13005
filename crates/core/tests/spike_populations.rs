//! Every spike file of a network run records its populations (names and id
//! ranges), and reading it back gives them; a file whose population arrays
//! contradict each other or its neuron count is refused, naming the file.

use std::path::Path;

use lifsim_core::io::npz::save_npz;
use lifsim_core::io::spikes::{OutputFormat, SpikeOutput, SpikeTrain};
use lifsim_core::io::stream::{PopulationRange, StreamHeader};
use lifsim_core::recording::SpikeSink;

fn pops() -> Vec<PopulationRange> {
    [("E", 0, 4), ("I", 4, 5), ("Ext ü", 5, 7)]
        .into_iter()
        .map(|(name, start, stop)| PopulationRange {
            name: name.into(),
            start,
            stop,
        })
        .collect()
}

fn write(format: OutputFormat, out: &Path) {
    let header = StreamHeader {
        n: 7,
        dt: 0.5,
        steps: 10,
        population: "net".into(),
        populations: pops(),
        recorded: None,
    };
    let mut o = SpikeOutput::create(format, out, header).unwrap();
    for k in 0..10 {
        o.record(k, &[(k % 7) as u32]);
    }
    o.finish().unwrap();
}

#[test]
fn events_files_carry_the_populations() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("s.npz");
    write(OutputFormat::Events, &out);
    let train = SpikeTrain::load(&out, None).unwrap();
    assert_eq!(train.populations, pops());
    assert_eq!(train.ids, (0..10).map(|k| k % 7).collect::<Vec<u64>>());
}

#[cfg(feature = "sonata")]
#[test]
fn sonata_reports_carry_the_populations() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("s.h5");
    write(OutputFormat::Sonata, &out);
    assert_eq!(SpikeTrain::load(&out, None).unwrap().populations, pops());
}

#[test]
fn a_dense_array_has_no_room_for_them() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("s.npy");
    write(OutputFormat::Dense, &out);
    let train = SpikeTrain::load(&out, Some(0.5)).unwrap();
    assert!(train.populations.is_empty());
    assert_eq!(train.times.len(), 10);
}

/// An events file written elsewhere with population arrays of its own.
fn events_with(dir: &Path, names: &[&str], starts: &[u64], stops: &[u64]) -> std::path::PathBuf {
    let path = dir.join("e.npz");
    save_npz(&path, |z| {
        z.add("times", &[1.0f64, 2.0], &[2])?;
        z.add("ids", &[0u64, 6], &[2])?;
        z.add("n", &[7u64], &[])?;
        z.add_strings("population_names", names)?;
        z.add("population_starts", starts, &[starts.len()])?;
        z.add("population_stops", stops, &[stops.len()])
    })
    .unwrap();
    path
}

#[test]
fn population_arrays_that_lie_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let ok = events_with(dir.path(), &["A", "B"], &[0, 3], &[3, 7]);
    let names: Vec<String> = SpikeTrain::load(&ok, None)
        .unwrap()
        .populations
        .into_iter()
        .map(|p| p.name)
        .collect();
    assert_eq!(names, ["A", "B"]);
    // (names, starts, stops, what the error says)
    type Case<'a> = (&'a [&'a str], &'a [u64], &'a [u64], &'a str);
    let cases: [Case; 4] = [
        (
            &["A", "B"],
            &[0, 2],
            &[3, 7],
            "the populations must cover 0..N in order",
        ),
        (&["A", "B"], &[0, 3], &[3, 6], "cover ids 0..6 of 7 neurons"),
        (
            &["A"],
            &[0, 3],
            &[3, 7],
            "1 population_names but 2 starts and 2 stops",
        ),
        (&["", "B"], &[0, 3], &[3, 7], "is not a name"),
    ];
    for (names, starts, stops, want) in cases {
        let bad = events_with(dir.path(), names, starts, stops);
        let e = SpikeTrain::load(&bad, None).unwrap_err().to_string();
        assert!(e.contains("e.npz") && e.contains(want), "{e}");
    }
}
