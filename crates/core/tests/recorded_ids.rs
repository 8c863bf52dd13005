//! A spike file of some neurons only says which (`recorded_starts` /
//! `recorded_stops` in an `.npz`, `"recorded"` in a `.spikes` header,
//! `lifsim_recorded_*` attributes in SONATA), and reading it back gives
//! them; a file of every neuron has no such field; a file whose recorded
//! ranges contradict it is refused, naming the file.

use std::path::{Path, PathBuf};

use lifsim_core::io::npz::{save_npz, NpzReader};
use lifsim_core::io::spikes::{OutputFormat, SpikeOutput, SpikeTrain};
use lifsim_core::io::stream::{stream_path_for, PopulationRange, StreamHeader};
use lifsim_core::recording::SpikeSink;

/// E = 0..6, I = 6..10; E's first 3 and I's 7 and 9 recorded.
const RECORDED: [[u64; 2]; 3] = [[0, 3], [7, 8], [9, 10]];

fn header(recorded: Option<Vec<[u64; 2]>>) -> StreamHeader {
    StreamHeader {
        n: 10,
        dt: 0.5,
        steps: 12,
        population: "net".into(),
        populations: vec![
            PopulationRange {
                name: "E".into(),
                start: 0,
                stop: 6,
            },
            PopulationRange {
                name: "I".into(),
                start: 6,
                stop: 10,
            },
        ],
        recorded,
    }
}

/// Spikes of the recorded neurons 0, 1, 2, 7, 9 over 12 steps.
fn spikes_of_step(k: usize) -> Vec<u32> {
    [0u32, 1, 2, 7, 9]
        .into_iter()
        .filter(|&i| (k + i as usize).is_multiple_of(4))
        .collect()
}

fn write(format: OutputFormat, out: &Path, recorded: Option<Vec<[u64; 2]>>) {
    let mut o = SpikeOutput::create(format, out, header(recorded)).unwrap();
    for k in 0..12 {
        o.record(k, &spikes_of_step(k));
    }
    o.finish().unwrap();
}

fn check(train: &SpikeTrain) {
    assert_eq!(train.recorded.as_deref(), Some(&RECORDED[..]));
    assert_eq!(train.recorded_neurons(), 5);
    let count: usize = (0..12).map(|k| spikes_of_step(k).len()).sum();
    assert_eq!(train.len(), count);
    // 12 steps of 0.5 ms over 5 neurons, not 10.
    let want = count as f64 / (5.0 * 6.0e-3);
    assert!((train.mean_rate_hz() - want).abs() < 1e-9 * want);
}

#[test]
fn events_files_and_streams_say_which_neurons_they_hold() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("s.npz");
    write(OutputFormat::Events, &out, Some(RECORDED.to_vec()));
    check(&SpikeTrain::load(&out, None).unwrap());
    let mut z = NpzReader::open(&out).unwrap();
    assert_eq!(
        z.array("recorded_starts").unwrap().to_u64_vec().unwrap(),
        vec![0, 7, 9]
    );
    assert_eq!(
        z.array("recorded_stops").unwrap().to_u64_vec().unwrap(),
        vec![3, 8, 10]
    );
    // The stream, as a killed run leaves it.
    let out = dir.path().join("k.npz");
    let mut o =
        SpikeOutput::create(OutputFormat::Events, &out, header(Some(RECORDED.to_vec()))).unwrap();
    for k in 0..12 {
        o.record(k, &spikes_of_step(k));
    }
    o.stream().sync(false).unwrap();
    let stream = stream_path_for(&out);
    check(&SpikeTrain::load(&stream, None).unwrap());
    o.abandon().unwrap();
}

#[cfg(feature = "sonata")]
#[test]
fn sonata_reports_say_which_neurons_they_hold() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("s.h5");
    write(OutputFormat::Sonata, &out, Some(RECORDED.to_vec()));
    check(&SpikeTrain::load(&out, None).unwrap());
    // Without a choice: no attributes, every neuron.
    write(OutputFormat::Sonata, &out, None);
    let t = SpikeTrain::load(&out, None).unwrap();
    assert_eq!((&t.recorded, t.recorded_neurons()), (&None, 10));
}

#[test]
fn files_of_every_neuron_have_no_recorded_field() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("s.npz");
    write(OutputFormat::Events, &out, None);
    let mut names = NpzReader::open(&out).unwrap().names();
    names.sort();
    assert_eq!(
        names,
        [
            "dt",
            "ids",
            "n",
            "population_names",
            "population_starts",
            "population_stops",
            "steps",
            "times"
        ]
    );
    let t = SpikeTrain::load(&out, None).unwrap();
    assert_eq!((&t.recorded, t.recorded_neurons()), (&None, 10));
    // The stream's header has no "recorded" key.
    let mut o = SpikeOutput::create(OutputFormat::Events, &out, header(None)).unwrap();
    o.stream().sync(false).unwrap();
    let bytes = std::fs::read(stream_path_for(&out)).unwrap();
    let text = String::from_utf8_lossy(&bytes);
    assert!(text.contains("\"populations\"") && !text.contains("recorded"));
    o.abandon().unwrap();
}

/// An events file with the given recorded arrays (and spikes of 1 and 4).
fn events_with(dir: &Path, starts: Option<&[u64]>, stops: Option<&[u64]>) -> PathBuf {
    let path = dir.join("e.npz");
    save_npz(&path, |z| {
        z.add("times", &[0.5f64, 1.0], &[2])?;
        z.add("ids", &[1u32, 4], &[2])?;
        z.add("n", &[10u64], &[])?;
        if let Some(s) = starts {
            z.add("recorded_starts", s, &[s.len()])?;
        }
        if let Some(s) = stops {
            z.add("recorded_stops", s, &[s.len()])?;
        }
        Ok(())
    })
    .unwrap();
    path
}

/// Optional `recorded_starts` or `recorded_stops` of a case.
type Ranges<'a> = Option<&'a [u64]>;

#[test]
fn contradictory_recorded_ranges_are_refused_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let ok = events_with(d, Some(&[0]), Some(&[5]));
    assert_eq!(
        SpikeTrain::load(&ok, None).unwrap().recorded,
        Some(vec![[0, 5]])
    );
    let cases: [(Ranges, Ranges, &str); 4] = [
        (
            Some(&[0]),
            None,
            "has one of recorded_starts, recorded_stops but not both",
        ),
        (
            Some(&[0, 1]),
            Some(&[2]),
            "has 2 recorded_starts but 1 stops",
        ),
        (Some(&[0]), Some(&[11]), "recorded range 0 is ids 0..11"),
        (
            Some(&[0]),
            Some(&[3]),
            "ids[1] is 4, a neuron the file says was not recorded",
        ),
    ];
    for (starts, stops, want) in cases {
        let path = events_with(d, starts, stops);
        let e = SpikeTrain::load(&path, None).unwrap_err().to_string();
        assert!(e.contains(want) && e.contains("e.npz"), "{e}");
    }
}
