use super::*;
use crate::io::npy::NpyArray;

fn header(n: u64, steps: u64) -> StreamHeader {
    StreamHeader {
        n,
        dt: 0.5,
        steps,
        population: DEFAULT_POPULATION.into(),
        populations: Vec::new(),
        recorded: None,
    }
}

/// Spikes of a small made-up run, step by step.
fn spikes_of_step(k: usize) -> Vec<u32> {
    (0..5u32)
        .filter(|&i| (k + i as usize).is_multiple_of(3))
        .collect()
}

#[test]
fn output_formats_are_named_once() {
    let names: Vec<&str> = OutputFormat::ALL.iter().map(|f| f.name()).collect();
    assert_eq!(OutputFormat::CHOICES, names.join("|"));
    for f in OutputFormat::ALL {
        assert_eq!(f.name().parse::<OutputFormat>().unwrap(), f);
        assert_eq!(f.to_string(), f.name());
        assert_eq!(
            OutputFormat::of_record(f.record_mode()).record_mode(),
            f.record_mode()
        );
        assert_eq!(f.is_spike_train(), OutputFormat::SPIKE_TRAINS.contains(&f));
    }
    for mode in [RecordMode::Dense, RecordMode::Events, RecordMode::Counts] {
        let f = OutputFormat::of_record(mode);
        assert_eq!(f.record_mode(), mode);
        // The record mode's own names are the format's.
        assert_eq!(f.name().parse::<RecordMode>().unwrap(), mode);
    }
    assert_eq!(
        OutputFormat::list(&OutputFormat::SPIKE_TRAINS),
        "dense, events or sonata"
    );
    assert_eq!(
        OutputFormat::list(&OutputFormat::ALL),
        "dense, events, sonata or counts"
    );
    let err = "xyz".parse::<OutputFormat>().unwrap_err().to_string();
    assert_eq!(
        err,
        "invalid parameter format: must be dense, events, sonata or counts, got \"xyz\""
    );
    let dir = tempfile::tempdir().unwrap();
    let err = SpikeOutput::create(
        OutputFormat::Counts,
        &dir.path().join("c.npy"),
        header(2, 3),
    );
    assert!(err.is_err_and(|e| e.to_string().contains("counts are not a spike train")));
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

#[test]
fn every_format_holds_the_same_spikes() {
    let dir = tempfile::tempdir().unwrap();
    let steps = 40;
    let mut want_times = Vec::new();
    let mut want_ids = Vec::new();
    for k in 0..steps {
        for i in spikes_of_step(k) {
            want_times.push((k + 1) as f64 * 0.5);
            want_ids.push(i as u64);
        }
    }
    let formats = [OutputFormat::Dense, OutputFormat::Events];
    for (format, name) in formats.iter().zip(["s.npy", "s.npz"]) {
        let out = dir.path().join(name);
        let mut o = SpikeOutput::create(*format, &out, header(5, steps as u64)).unwrap();
        for k in 0..steps {
            o.record(k, &spikes_of_step(k));
        }
        let rec = o.finish().unwrap();
        assert_eq!(rec.total as usize, want_ids.len());
        assert_eq!(rec.counts.iter().sum::<u64>(), rec.total);
        // The stream is gone; only the output remains.
        let left: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        assert!(left.iter().all(|f| !f.ends_with(".spikes")), "{left:?}");
        let t = SpikeTrain::load(&out, Some(0.5)).unwrap();
        assert_eq!(t.times, want_times, "{format:?}");
        assert_eq!(t.ids, want_ids, "{format:?}");
        assert_eq!((t.n, t.duration_ms), (5, 20.0), "{format:?}");
    }
    // The dense file is exactly the raster.
    let a = NpyArray::open(&dir.path().join("s.npy")).unwrap();
    assert_eq!(a.header().shape, vec![steps, 5]);
    for k in 0..steps {
        for i in 0..5u32 {
            assert_eq!(
                a.data()[k * 5 + i as usize] != 0,
                spikes_of_step(k).contains(&i)
            );
        }
    }
}

#[test]
fn a_killed_run_leaves_a_readable_prefix() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("run.npz.spikes");
    let mut w = EventStreamWriter::create(&path, header(5, 100)).unwrap();
    for k in 0..30 {
        w.record(k, &spikes_of_step(k));
    }
    let at = w.sync(false).unwrap();
    for k in 30..37 {
        w.record(k, &spikes_of_step(k));
    }
    w.sync(false).unwrap();
    // Steps 37 and 38 reach the file without a marker, and a record is cut
    // in half: what a SIGKILL mid-write leaves.
    w.record(37, &[1, 2]);
    w.record(38, &[4]);
    drop(w); // flushes the buffer, writes no marker
    {
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap();
        f.write_all(&[7, 7, 7]).unwrap();
    }
    let s = EventStream::open(&path).unwrap();
    assert_eq!(s.steps_complete(), 37);
    assert!(!s.is_complete());
    assert_eq!(s.trailing_spikes(), 3);
    assert_eq!(s.trailing_bytes(), 3 * 12 + 3);
    let t = SpikeTrain::load(&path, None).unwrap();
    let want: usize = (0..37).map(|k| spikes_of_step(k).len()).sum();
    assert_eq!(t.len(), want);
    assert!(!t.complete);
    assert_eq!(t.duration_ms, 37.0 * 0.5);

    // Resuming from the earlier position cuts the rest and goes on.
    let mut w = EventStreamWriter::resume(&path, at).unwrap();
    assert_eq!(w.spikes(), at.spikes);
    for k in 30..100 {
        w.record(k, &spikes_of_step(k));
    }
    w.finish().unwrap();
    let s = EventStream::open(&path).unwrap();
    assert!(s.is_complete());
    let want: usize = (0..100).map(|k| spikes_of_step(k).len()).sum();
    assert_eq!(s.spikes() as usize, want);
    // A position that is not a marker is refused.
    let bad = StreamPosition {
        bytes: at.bytes + 12,
        ..at
    };
    let e = EventStreamWriter::resume(&path, bad).err().unwrap();
    assert!(e.to_string().contains("not the stream"), "{e}");
}

#[test]
fn npz_events_from_elsewhere_are_read() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("brian.npz");
    crate::io::npz::save_npz(&path, |z| {
        z.add("times", &[1.5f32, 2.0, 7.25], &[3])?;
        z.add("ids", &[3i64, 0, 9], &[3])
    })
    .unwrap();
    let t = SpikeTrain::load(&path, None).unwrap();
    assert_eq!(t.times, vec![1.5, 2.0, 7.25]);
    assert_eq!(t.ids, vec![3, 0, 9]);
    assert_eq!((t.n, t.duration_ms, t.dt), (10, 7.25, None));
}

/// An events `.npz` with `times`, `ids` and optional scalars `n`, `dt`, `steps`.
fn events_npz(dir: &Path, times: &[f64], ids: &[u64], scalars: &[(&str, f64)]) -> PathBuf {
    let path = dir.join("events.npz");
    crate::io::npz::save_npz(&path, |z| {
        z.add("times", times, &[times.len()])?;
        z.add("ids", ids, &[ids.len()])?;
        for (name, v) in scalars {
            z.add(name, &[*v], &[])?;
        }
        Ok(())
    })
    .unwrap();
    path
}

/// Times, ids, scalars of an events file, and what its error must say.
type EventsCase<'a> = (&'a [f64], &'a [u64], &'a [(&'a str, f64)], &'a str);

#[test]
fn event_headers_that_lie_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let cases: [EventsCase; 12] = [
        (
            &[1.0],
            &[0],
            &[("n", 1e20)],
            "events.npz:n: is 1e20; it must be a whole number from 0 to 4294967295",
        ),
        (
            &[1.0],
            &[0],
            &[("n", 1e11)],
            "events.npz:n: is 100000000000.0",
        ),
        (&[1.0], &[0], &[("n", -1.0)], "events.npz:n: is -1.0"),
        (&[1.0], &[0], &[("n", 2.5)], "events.npz:n: is 2.5"),
        (&[1.0], &[0], &[("n", f64::NAN)], "events.npz:n: is NaN"),
        (
            &[1.0],
            &[u64::MAX],
            &[],
            "ids[0] is 18446744073709551615; lifsim reads neuron ids below 4294967295",
        ),
        (
            &[1.0, 2.0],
            &[0, 5],
            &[("n", 3.0)],
            "ids[1] is 5, not below the file's 3 neurons",
        ),
        (
            &[1.0],
            &[0],
            &[("dt", f64::INFINITY), ("steps", 10.0)],
            "events.npz:dt: must be a positive number of ms",
        ),
        (
            &[1.0],
            &[0],
            &[("dt", 0.0)],
            "events.npz:dt: must be a positive number of ms",
        ),
        (
            &[1.0],
            &[0],
            &[("dt", 0.1), ("steps", f64::INFINITY)],
            "events.npz:steps: is inf",
        ),
        (
            &[1.0],
            &[0],
            &[("dt", 0.1), ("steps", 1e17)],
            "covers 1e16 ms (steps times dt); lifsim reads at most 1e15 ms",
        ),
        (
            &[1e300],
            &[0],
            &[],
            "times[0] is 1e300 ms; spike times must be finite and within 1e15 ms",
        ),
    ];
    for (times, ids, scalars, want) in cases {
        let path = events_npz(d, times, ids, scalars);
        let e = SpikeTrain::load(&path, None).unwrap_err().to_string();
        assert!(e.contains(want), "{scalars:?}: {e}\n  wanted: {want}");
    }
    // The largest N lifsim can count is still read.
    let path = events_npz(
        d,
        &[1.0],
        &[7],
        &[("n", MAX_NEURONS as f64), ("dt", 0.5), ("steps", 4.0)],
    );
    let t = SpikeTrain::load(&path, None).unwrap();
    assert_eq!(
        (t.n as u64, t.dt, t.duration_ms),
        (MAX_NEURONS, Some(0.5), 2.0)
    );
}

#[test]
fn a_stream_whose_times_overflow_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("run.npz.spikes");
    let stream = |dt: f64| {
        let h = StreamHeader {
            dt,
            ..header(5, 100)
        };
        let mut w = EventStreamWriter::create(&path, h).unwrap();
        for k in 0..20 {
            w.record(k, &[1, 2]);
        }
        w.finish().unwrap();
        SpikeTrain::load(&path, None).unwrap_err().to_string()
    };
    // The header's steps * dt bounds every spike time (io::stream).
    let e = stream(1e308);
    assert!(
        e.contains("run.npz.spikes: bad .spikes header: 100 steps of dt reach inf ms"),
        "{e}"
    );
    let e = stream(1e14);
    assert!(
        e.contains("100 steps of dt reach 1e16 ms, more than"),
        "{e}"
    );
}

#[test]
fn dense_files_check_their_time_step() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("d.npy");
    crate::io::save_npy(&path, &[false, true, true, false], &[2, 2], false).unwrap();
    for dt in [0.0, -1.0, f64::NAN, f64::INFINITY, 1e300] {
        let e = SpikeTrain::load(&path, Some(dt)).unwrap_err().to_string();
        assert!(
            e.starts_with("invalid parameter dt: must be a positive number"),
            "{dt}: {e}"
        );
    }
    // A finite dt whose times overflow.
    let e = SpikeTrain::load(&path, Some(1e15)).unwrap_err().to_string();
    assert!(e.contains("times[1] is 2000000000000000.0 ms"), "{e}");
    // Rows of no neurons hold no spikes however many rows the header claims.
    let empty = dir.path().join("e.npy");
    let header = npy::header_bytes(Elem::Bool, false, &[1 << 40, 0]);
    std::fs::write(&empty, header).unwrap();
    let t = SpikeTrain::load(&empty, Some(1e-3)).unwrap();
    assert_eq!((t.n, t.len()), (0, 0));
}

#[test]
fn wrong_files_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let w = dir.path().join("w.npy");
    crate::io::save_npy(&w, &[1.0f64; 4], &[2, 2], false).unwrap();
    let e = SpikeTrain::load(&w, None).unwrap_err().to_string();
    assert!(
        e.contains("float64 array of shape (2, 2)") && e.contains("bool"),
        "{e}"
    );
    let t = dir.path().join("t.txt");
    std::fs::write(&t, "hello, world").unwrap();
    let e = SpikeTrain::load(&t, None).unwrap_err().to_string();
    assert!(
        e.starts_with(&format!("{}: is not a spike file", t.display())),
        "{e}"
    );
}
