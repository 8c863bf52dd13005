//! `lifsim plot`: a spike raster with the population rate below it, as a PNG.
//!
//! Rendering is pure Rust (plotters' bitmap backend) with the DejaVu Sans font
//! compiled into the binary, so it works on a machine with no fonts at all.
//! Spikes are binned into the raster's pixels (one count per pixel, shaded by
//! count), so a raster of millions of spikes draws as fast as one of ten.
//! A network's populations (which spike files record) are bands of their own
//! colour, with their names; `--per-population K` draws the first K of each.

mod rows;

use std::path::Path;
use std::sync::Once;

use anyhow::{anyhow, bail, Result};
use lifsim_core::io::output::StagedFile;
use lifsim_core::io::spikes::{SpikeFileKind, SpikeTrain};
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::FontStyle;

use self::rows::Rows;
use crate::args::PlotArgs;

/// The font every label is drawn with, shipped in the repository.
static FONT: &[u8] = include_bytes!("../../../../assets/fonts/DejaVuSans.ttf");
const FAMILY: &str = "sans-serif";

/// Raster ticks and rate bars.
const INK: RGBColor = RGBColor(24, 36, 96);
const RATE_FILL: RGBColor = RGBColor(120, 150, 210);

/// How a plot looks.
#[derive(Clone, Debug)]
pub struct PlotOptions {
    /// Image width (pixels).
    pub width: u32,
    /// Image height (pixels).
    pub height: u32,
    /// First line of the title (the network's name); the second says N,
    /// duration and rate.
    pub label: String,
    /// Only spikes at or after this time (ms).
    pub t_start: Option<f64>,
    /// Only spikes before this time (ms).
    pub t_stop: Option<f64>,
    /// Only the first this many neurons of each population.
    pub per_population: Option<u64>,
}

/// The PNG `lifsim plot` writes when no `--out` names one.
pub const DEFAULT_OUT: &str = "raster.png";

/// Runs `lifsim plot`.
pub fn plot(args: &PlotArgs) -> Result<()> {
    let out = match &args.out {
        Some(out) => out.clone(),
        None => default_out()?,
    };
    lifsim_core::io::output::RunFiles::new()
        .input("the spike file", &args.spikes)
        .output("--out", &out)
        .check()?;
    let train = SpikeTrain::load_population(&args.spikes, args.dt, args.population.as_deref())?;
    let label = args.title.clone().unwrap_or_else(|| {
        args.spikes
            .file_name()
            .map(|f| f.to_string_lossy().into_owned())
            .unwrap_or_default()
    });
    let opts = PlotOptions {
        width: args.width,
        height: args.height,
        label,
        t_start: args.t_start,
        t_stop: args.t_stop,
        per_population: args.per_population,
    };
    // Drawn before the notes, so a plot that cannot be drawn fails in one line.
    render(&train, &opts, &out)?;
    if !train.complete {
        eprintln!(
            "lifsim: note: {} is the stream of a run that did not finish; plotting its first {} ms",
            args.spikes.display(),
            fmt_num(train.duration_ms)
        );
    }
    if train.kind == SpikeFileKind::Dense && args.dt.is_none() {
        eprintln!(
            "lifsim: note: {} has no time step; assuming dt = {} ms (give --dt)",
            args.spikes.display(),
            fmt_num(train.dt.unwrap_or(0.0))
        );
    }
    println!("plot        {}", out.display());
    Ok(())
}

/// [`DEFAULT_OUT`], unless a file (or anything else) is already there: a
/// name the user did not give never replaces their file.
fn default_out() -> Result<std::path::PathBuf> {
    let out = std::path::PathBuf::from(DEFAULT_OUT);
    if std::fs::symlink_metadata(&out).is_ok() {
        bail!("{DEFAULT_OUT} already exists; lifsim plot writes {DEFAULT_OUT} only where nothing is: name the output with --out FILE.png (--out {DEFAULT_OUT} replaces it)");
    }
    Ok(out)
}

/// Checks, before a run, that `path` is a `.png` that can be written.
pub fn check_out(path: &Path) -> Result<()> {
    let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("");
    if !ext.eq_ignore_ascii_case("png") {
        bail!("{}: plots are PNG files; name it *.png", path.display());
    }
    lifsim_core::io::output::check_writable(path)?;
    Ok(())
}

fn register_font() -> Result<()> {
    static REGISTER: Once = Once::new();
    let mut ok = true;
    REGISTER.call_once(|| {
        ok = plotters::style::register_font(FAMILY, FontStyle::Normal, FONT).is_ok();
    });
    if !ok {
        bail!("the built-in font could not be loaded");
    }
    Ok(())
}

/// Draws `train` into the PNG `out` through a [`StagedFile`] (atomically).
pub fn render(train: &SpikeTrain, opts: &PlotOptions, out: &Path) -> Result<()> {
    check_out(out)?;
    register_font()?;
    if opts.width < 300 || opts.height < 200 || opts.width > 20_000 || opts.height > 20_000 {
        bail!(
            "a plot must be between 300x200 and 20000x20000 pixels, got {}x{}",
            opts.width,
            opts.height
        );
    }
    if opts.per_population == Some(0) {
        bail!("--per-population must be at least 1, got 0");
    }
    let (t0, t1) = time_axis(train.duration_ms, opts.t_start, opts.t_stop)?;
    let staged = StagedFile::create(out)?;
    draw(train, opts, (t0, t1.max(t0 + 1e-9)), staged.path())
        .map_err(|e| e.context(out.display().to_string()))?;
    Ok(staged.commit()?)
}

/// The plot's time axis `(t0, t1)` for spikes covering `duration` ms and the
/// window asked for. plotters steps through an axis in tick-sized increments:
/// an infinite axis, or one so narrow that a tick is below the precision of
/// its numbers, never ends. So every time must be finite and within
/// `MAX_TIME_MS`, and the window at least a billionth of its end.
fn time_axis(duration: f64, t_start: Option<f64>, t_stop: Option<f64>) -> Result<(f64, f64)> {
    use lifsim_core::model::MAX_TIME_MS;
    let in_range = |t: f64| t.is_finite() && (0.0..=MAX_TIME_MS).contains(&t);
    for (flag, t) in [("--t-start", t_start), ("--t-stop", t_stop)] {
        if let Some(t) = t.filter(|&t| !in_range(t)) {
            bail!("invalid {flag}: must be a time from 0 to {MAX_TIME_MS:e} ms, got {t}");
        }
    }
    if !in_range(duration) {
        bail!("the spikes cover {duration} ms; lifsim plots at most {MAX_TIME_MS:e} ms");
    }
    let t0 = t_start.unwrap_or(0.0);
    if let Some(stop) = t_stop.filter(|&stop| stop <= t0) {
        bail!(
            "--t-start ({} ms) must be before --t-stop ({} ms)",
            fmt_num(t0),
            fmt_num(stop)
        );
    }
    if duration > 0.0 && t0 >= duration {
        bail!(
            "--t-start ({} ms) is not before the end of the spikes ({} ms)",
            fmt_num(t0),
            fmt_num(duration)
        );
    }
    let t1 = t_stop.unwrap_or(duration).min(duration.max(t0));
    let narrowest = 1e-9 * t1.max(1.0);
    if t1 - t0 >= narrowest {
        Ok((t0, t1))
    } else if duration == 0.0 {
        // No steps, nothing to show: any window will do.
        Ok((t0, t0 + 1e-9 * t0.max(1.0)))
    } else {
        bail!("the window from {t0} to {t1} ms is too narrow to plot; make it at least {narrowest:e} ms")
    }
}

fn draw(train: &SpikeTrain, opts: &PlotOptions, (t0, t1): (f64, f64), path: &Path) -> Result<()> {
    let n = train.n.max(1);
    let rows = Rows::new(train, opts.per_population);
    let n_rows = rows.rows.max(1) as f64;
    let window = t1 - t0;
    // Spikes in the window, for the rate and the title.
    let in_window =
        |t: f64| t > t0 - 1e-12 && (t < t1 || (t1 >= train.duration_ms && t <= t1 + 1e-9));
    let spikes = train.times.iter().filter(|&&t| in_window(t)).count();
    let rate = lifsim_core::recording::rate_hz(spikes as u64, train.n, window);

    let root = BitMapBackend::new(path, (opts.width, opts.height)).into_drawing_area();
    let e = |err: DrawingAreaErrorKind<_>| anyhow!("cannot draw the plot ({err})");
    root.fill(&WHITE).map_err(e)?;
    let (w, h) = (opts.width as f64, opts.height as f64);
    let title_px = (h * 0.035).clamp(16.0, 40.0);
    let text_px = (title_px * 0.7).max(13.0);
    let title = format!(
        "N = {} neurons, {} ms{}, {} spikes, mean rate {:.2} Hz",
        train.n,
        fmt_num(window),
        if t0 > 0.0 || t1 < train.duration_ms {
            format!(" ({} to {} ms)", fmt_num(t0), fmt_num(t1))
        } else {
            String::new()
        },
        spikes,
        rate
    );
    let top = (title_px * 2.9) as u32;
    let (head, body) = root.split_vertically(top);
    head.draw(&Text::new(
        opts.label.clone(),
        ((w * 0.5) as i32, (title_px * 0.5) as i32),
        (FAMILY, title_px)
            .into_font()
            .color(&BLACK)
            .pos(plotters::style::text_anchor::Pos::new(
                plotters::style::text_anchor::HPos::Center,
                plotters::style::text_anchor::VPos::Top,
            )),
    ))
    .map_err(e)?;
    head.draw(&Text::new(
        title,
        ((w * 0.5) as i32, (title_px * 1.65) as i32),
        (FAMILY, text_px)
            .into_font()
            .color(&RGBColor(60, 60, 60))
            .pos(plotters::style::text_anchor::Pos::new(
                plotters::style::text_anchor::HPos::Center,
                plotters::style::text_anchor::VPos::Top,
            )),
    ))
    .map_err(e)?;

    let body_h = body.dim_in_pixel().1;
    let (upper, lower) = body.split_vertically((body_h as f64 * 0.68) as u32);
    let left = (text_px * 4.4) as u32;
    let margin_right = (w * 0.03) as u32;

    // The raster.
    let mut raster = ChartBuilder::on(&upper)
        .margin_right(margin_right)
        .margin_top(4)
        .x_label_area_size((text_px * 1.6) as u32)
        .y_label_area_size(left)
        // Row i is the band [i - 0.5, i + 0.5): ticks fall on neurons.
        .build_cartesian_2d(t0..t1, -0.5f64..n_rows - 0.5)
        .map_err(e)?;
    let y_desc = match opts.per_population {
        Some(k) if rows.bands.len() > 1 => format!("neuron (first {k} per population)"),
        Some(k) => format!("neuron (first {k})"),
        None => "neuron index".to_string(),
    };
    raster
        .configure_mesh()
        .disable_mesh()
        .y_desc(y_desc)
        .x_labels(10)
        .y_labels(8)
        .x_label_formatter(&|v| fmt_num(*v))
        .y_label_formatter(&|v| format!("{:.0}", v))
        .label_style((FAMILY, text_px * 0.9))
        .axis_desc_style((FAMILY, text_px))
        .draw()
        .map_err(e)?;
    let area = raster.plotting_area().strip_coord_spec();
    let (pw, ph) = area.dim_in_pixel();
    draw_raster(train, &area, (pw, ph), (t0, t1), &rows).map_err(e)?;
    label_bands(&area, &rows, ph, text_px).map_err(e)?;
    if spikes == 0 {
        area.draw(&Text::new(
            "no spikes",
            ((pw / 2) as i32, (ph / 2) as i32),
            (FAMILY, title_px)
                .into_font()
                .color(&RGBColor(150, 150, 150))
                .pos(plotters::style::text_anchor::Pos::new(
                    plotters::style::text_anchor::HPos::Center,
                    plotters::style::text_anchor::VPos::Center,
                )),
        ))
        .map_err(e)?;
    }

    // The population rate, in bins of a round number of ms.
    let bin = rate_bin(window, train.dt, pw);
    let bins = ((window / bin).ceil() as usize).max(1);
    let mut counts = vec![0u64; bins];
    for &t in &train.times {
        if in_window(t) {
            // A spike at time t belongs to the step ending at t: bin (t - t0 - tiny) / bin.
            let b = (((t - t0) / bin - 1e-9).floor().max(0.0) as usize).min(bins - 1);
            counts[b] += 1;
        }
    }
    let rates: Vec<f64> = counts
        .iter()
        .map(|&c| c as f64 / n as f64 / (bin * 1e-3))
        .collect();
    let top_rate = rates.iter().copied().fold(0.0f64, f64::max);
    let y_max = if top_rate > 0.0 { top_rate * 1.1 } else { 1.0 };
    let mut chart = ChartBuilder::on(&lower)
        .margin_right(margin_right)
        .margin_top((text_px * 0.6) as u32)
        .margin_bottom(6)
        .x_label_area_size((text_px * 3.0) as u32)
        .y_label_area_size(left)
        .build_cartesian_2d(t0..t1, 0f64..y_max)
        .map_err(e)?;
    chart
        .configure_mesh()
        .light_line_style(TRANSPARENT)
        .bold_line_style(RGBColor(215, 215, 215))
        .x_desc("time (ms)")
        .y_desc("rate (Hz)")
        .x_labels(10)
        .y_labels(5)
        .x_label_formatter(&|v| fmt_num(*v))
        .y_label_formatter(&|v| fmt_num(*v))
        .label_style((FAMILY, text_px * 0.9))
        .axis_desc_style((FAMILY, text_px))
        .draw()
        .map_err(e)?;
    chart
        .draw_series(
            rates
                .iter()
                .enumerate()
                .filter(|(_, &r)| r > 0.0)
                .map(|(b, &r)| {
                    let x0 = t0 + b as f64 * bin;
                    Rectangle::new([(x0, 0.0), ((x0 + bin).min(t1), r)], RATE_FILL.filled())
                }),
        )
        .map_err(e)?;
    let outline: Vec<(f64, f64)> = rates
        .iter()
        .enumerate()
        .flat_map(|(b, &r)| {
            let x0 = t0 + b as f64 * bin;
            [(x0, r), ((x0 + bin).min(t1), r)]
        })
        .collect();
    chart
        .draw_series(std::iter::once(PathElement::new(
            outline,
            INK.stroke_width(1),
        )))
        .map_err(e)?;
    // The mean rate, dashed across the panel.
    if rate > 0.0 {
        let dash = window / 120.0;
        chart
            .draw_series((0..120).step_by(2).map(|k| {
                let x = t0 + k as f64 * dash;
                PathElement::new(vec![(x, rate), (x + dash, rate)], RED.stroke_width(1))
            }))
            .map_err(e)?;
        let (px, py) = chart.plotting_area().get_pixel_range();
        lower
            .draw(&Text::new(
                format!("- - mean {:.2} Hz", rate),
                (
                    px.end - 8 - lower.get_base_pixel().0,
                    py.start + 4 - lower.get_base_pixel().1,
                ),
                (FAMILY, text_px * 0.85).into_font().color(&RED).pos(
                    plotters::style::text_anchor::Pos::new(
                        plotters::style::text_anchor::HPos::Right,
                        plotters::style::text_anchor::VPos::Top,
                    ),
                ),
            ))
            .map_err(e)?;
    }
    root.present().map_err(e)?;
    Ok(())
}

/// Each population's name in its colour, at the right end of its band.
fn label_bands<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    rows: &Rows,
    ph: u32,
    text_px: f64,
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    let pw = area.dim_in_pixel().0 as i32;
    let per_row = ph as f64 / rows.rows.max(1) as f64;
    for b in rows
        .bands
        .iter()
        .filter(|b| !b.name.is_empty() && b.shown > 0)
    {
        let middle = (b.row0 as f64 + b.shown as f64 / 2.0) * per_row;
        area.draw(&Text::new(
            b.name.clone(),
            (pw - 6, ph as i32 - middle as i32),
            (FAMILY, text_px).into_font().color(&b.color).pos(
                plotters::style::text_anchor::Pos::new(
                    plotters::style::text_anchor::HPos::Right,
                    plotters::style::text_anchor::VPos::Center,
                ),
            ),
        ))?;
    }
    Ok(())
}

/// Bins spikes into the plot's pixels and shades each pixel by its count, in
/// its population's colour: a neuron is a band of rows (row 0 at the bottom),
/// a spike a tick across it.
fn draw_raster<DB: DrawingBackend>(
    train: &SpikeTrain,
    area: &DrawingArea<DB, Shift>,
    (pw, ph): (u32, u32),
    (t0, t1): (f64, f64),
    rows: &Rows,
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    let (pw, ph) = (pw as usize, ph as usize);
    if pw == 0 || ph == 0 {
        return Ok(());
    }
    let mut grid = vec![0u32; pw * ph];
    // The population of each pixel's last spike (bands do not overlap, so
    // only a pixel row shared by two bands can mix them).
    let mut owner = vec![0u8; pw * ph];
    let band = ph as f64 / rows.rows.max(1) as f64;
    // Leave a pixel between neurons when each has room for it.
    let gap = usize::from(band >= 4.0);
    let span = t1 - t0;
    // Sparse rasters get 2x2-pixel spikes, so single spikes stay visible.
    let dot = if train.len() * 40 < pw * ph { 2 } else { 1 };
    for (&t, &id) in train.times.iter().zip(&train.ids) {
        if t < t0 || t > t1 {
            continue;
        }
        let Some((i, pop)) = rows.of(id) else {
            continue;
        };
        let x = (((t - t0) / span * pw as f64) as usize).min(pw - dot.min(pw));
        let lo = ph - ((i as f64 + 1.0) * band).round() as usize;
        let hi = (ph - (i as f64 * band).round() as usize).max(lo + dot);
        let hi = if hi - lo > gap.max(dot) { hi - gap } else { hi };
        let lo = lo.min(ph.saturating_sub(dot));
        for y in lo..hi.min(ph) {
            for x in x..(x + dot).min(pw) {
                grid[y * pw + x] = grid[y * pw + x].saturating_add(1);
                owner[y * pw + x] = pop.min(u8::MAX as usize) as u8;
            }
        }
    }
    // Shade by count, saturating at the 95th percentile of the occupied pixels.
    let mut occupied: Vec<u32> = grid.iter().copied().filter(|&c| c > 0).collect();
    if occupied.is_empty() {
        return Ok(());
    }
    let k = (occupied.len() * 95 / 100).min(occupied.len() - 1);
    let saturate = *occupied.select_nth_unstable(k).1 as f64;
    for y in 0..ph {
        for x in 0..pw {
            let c = grid[y * pw + x];
            if c == 0 {
                continue;
            }
            let s = 0.45 + 0.55 * (c as f64 / saturate.max(1.0)).min(1.0);
            let mix = |ink: u8| (255.0 - s * (255.0 - ink as f64)).round() as u8;
            let ink = rows.bands[(owner[y * pw + x] as usize).min(rows.bands.len() - 1)].color;
            let color = RGBColor(mix(ink.0), mix(ink.1), mix(ink.2));
            area.draw_pixel((x as i32, y as i32), &color)?;
        }
    }
    Ok(())
}

/// A round bin width (1, 2 or 5 times a power of ten ms) giving about one
/// bin per 6 pixels, never below the time step.
fn rate_bin(window: f64, dt: Option<f64>, width_px: u32) -> f64 {
    let target = window / (width_px as f64 / 6.0).clamp(10.0, 250.0);
    let p = 10f64.powf(target.log10().floor());
    let nice = [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * p)
        .find(|&b| b >= target)
        .unwrap_or(10.0 * p);
    match dt {
        // A bin must hold a whole number of steps.
        Some(dt) if dt > 0.0 => ((nice / dt).round().max(1.0)) * dt,
        _ => nice,
    }
}

/// `12.5`, `100`, `0.01`: numbers without float noise.
pub fn fmt_num(x: f64) -> String {
    let s = format!("{x:.6}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" {
        "0".to_string()
    } else {
        s.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn train(n: usize, duration: f64, spikes: &[(f64, u64)]) -> SpikeTrain {
        SpikeTrain {
            kind: SpikeFileKind::Events,
            n,
            dt: Some(0.1),
            duration_ms: duration,
            times: spikes.iter().map(|s| s.0).collect(),
            ids: spikes.iter().map(|s| s.1).collect(),
            population: None,
            populations: Vec::new(),
            recorded: None,
            complete: true,
        }
    }

    fn opts() -> PlotOptions {
        PlotOptions {
            width: 600,
            height: 400,
            label: "test".into(),
            t_start: None,
            t_stop: None,
            per_population: None,
        }
    }

    #[test]
    fn bins_are_round_and_whole_steps() {
        assert_eq!(rate_bin(100.0, Some(0.01), 1200), 0.5);
        assert_eq!(rate_bin(1000.0, Some(0.1), 1200), 5.0);
        assert!((rate_bin(1.0, Some(0.1), 1200) - 0.1).abs() < 1e-12);
        assert_eq!(fmt_num(99.99000000000001), "99.99");
        assert_eq!(fmt_num(100.0), "100");
    }

    #[test]
    fn draws_a_png_and_leaves_nothing_else() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("r.png");
        let spikes: Vec<(f64, u64)> = (0..200).map(|k| (k as f64 * 0.5 + 0.1, k % 10)).collect();
        render(&train(10, 100.0, &spikes), &opts(), &out).unwrap();
        let bytes = std::fs::read(&out).unwrap();
        assert!(bytes.starts_with(b"\x89PNG\r\n\x1a\n"));
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
        // A silent network still plots (an empty raster, a zero rate).
        render(&train(1000, 100.0, &[]), &opts(), &out).unwrap();
    }

    #[test]
    fn the_time_axis_is_finite_and_wide_enough() {
        assert_eq!(time_axis(100.0, None, None).unwrap(), (0.0, 100.0));
        assert_eq!(
            time_axis(100.0, Some(20.0), Some(40.0)).unwrap(),
            (20.0, 40.0)
        );
        assert_eq!(
            time_axis(100.0, Some(20.0), Some(400.0)).unwrap(),
            (20.0, 100.0)
        );
        // No steps: a window of nothing, but a window plotters can step through.
        let (t0, t1) = time_axis(0.0, Some(1e12), None).unwrap();
        assert!(t0 == 1e12 && t1 - t0 >= 0.99e-9 * t0, "{t0} {t1}");
        let bad = [
            (f64::INFINITY, None, None, "the spikes cover inf ms"),
            (f64::NAN, None, None, "the spikes cover NaN ms"),
            (1e300, None, None, "lifsim plots at most 1e15 ms"),
            (
                100.0,
                Some(f64::NAN),
                None,
                "invalid --t-start: must be a time from 0",
            ),
            (100.0, Some(-1.0), None, "invalid --t-start"),
            (100.0, None, Some(f64::INFINITY), "invalid --t-stop"),
            (
                100.0,
                Some(50.0),
                Some(50.0),
                "must be before --t-stop (50 ms)",
            ),
            (
                100.0,
                Some(200.0),
                None,
                "is not before the end of the spikes (100 ms)",
            ),
            (1e12, Some(5e11), Some(5e11 + 1e-4), "too narrow to plot"),
        ];
        for (duration, t_start, t_stop, want) in bad {
            let e = time_axis(duration, t_start, t_stop)
                .unwrap_err()
                .to_string();
            assert!(e.contains(want), "{duration} {t_start:?} {t_stop:?}: {e}");
        }
    }

    #[test]
    fn refuses_what_it_cannot_draw() {
        let dir = tempfile::tempdir().unwrap();
        let e = render(&train(1, 1.0, &[]), &opts(), &dir.path().join("r.jpg")).unwrap_err();
        assert!(e.to_string().contains("name it *.png"), "{e}");
        let tiny = PlotOptions {
            width: 10,
            ..opts()
        };
        let e = render(&train(1, 1.0, &[]), &tiny, &dir.path().join("r.png")).unwrap_err();
        assert!(e.to_string().contains("between 300x200"), "{e}");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }
}
