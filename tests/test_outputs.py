"""What a run leaves behind: spike files in every format (read back by NumPy
and h5py), the raster plot, `lifsim info`, the progress bar, and the event
stream a killed run leaves on disk."""

import json
import os
import pty
import re
import signal
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest

from conftest import dyadic_weights
from lif_reference import simulate, uniform_v0


def lifsim(lifsim_bin, *args, check=True, **kw):
    proc = subprocess.run([str(lifsim_bin), *map(str, args)], capture_output=True, text=True, **kw)
    if check:
        assert proc.returncode == 0, proc.stderr
    return proc


def kill_after_first_checkpoint(cmd, ck, out):
    """Starts `cmd` (a run writing `out` with checkpoints to `ck`) and SIGKILLs
    it once its first checkpoint exists, before it finished `out`."""
    proc = subprocess.Popen([str(a) for a in cmd], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.time() + 60
    while time.time() < deadline and proc.poll() is None and not ck.exists():
        time.sleep(0.005)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert not out.exists() and ck.exists(), "the run was to be killed after its first checkpoint"


def events_of(dense):
    steps, ids = np.nonzero(dense)
    return steps, ids


@pytest.fixture(scope="module")
def active_net(tmp_path_factory):
    """A small active network and its reference spikes."""
    d = tmp_path_factory.mktemp("net")
    w = dyadic_weights(200, 64.0, seed=11)
    np.save(d / "w.npy", w)
    want = simulate(w, t_max=40.0, i_ext=20.0, v0=uniform_v0(200, -65.0, -50.0, seed=2))
    flags = ["--weights", d / "w.npy", "--t-max", 40, "--i-ext", 20, "--v0", "uniform", "--seed", 2]
    return flags, want


def test_every_format_holds_the_reference_spikes(tmp_path, lifsim_bin, active_net):
    flags, want = active_net
    steps, ids = events_of(want)
    dense = tmp_path / "s.npy"
    lifsim(lifsim_bin, "run", *flags, "--format", "dense", "--out", dense)
    np.testing.assert_array_equal(np.load(dense), want)
    npz = tmp_path / "s.npz"
    lifsim(lifsim_bin, "run", *flags, "--format", "events", "--out", npz)
    ev = np.load(npz)
    np.testing.assert_array_equal(ev["ids"], ids)
    np.testing.assert_array_equal(ev["times"], (steps + 1) * 0.01)
    assert int(ev["n"]) == 200 and float(ev["dt"]) == 0.01 and int(ev["steps"]) == want.shape[0]
    # Only the outputs remain: the streams they were written from are gone.
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.npy", "s.npz"]


def sonata_built(lifsim_bin, tmp_path):
    proc = lifsim(lifsim_bin, "run", "--t-max", 0.05, "--format", "sonata", "--out", tmp_path / "probe.h5", check=False)
    return proc.returncode == 0


def test_sonata_report_reads_in_h5py_and_equals_the_events(tmp_path, lifsim_bin, active_net):
    if not sonata_built(lifsim_bin, tmp_path):
        pytest.skip("lifsim built without --features sonata")
    h5py = pytest.importorskip("h5py")
    flags, want = active_net
    h5 = tmp_path / "s.h5"
    lifsim(lifsim_bin, "run", *flags, "--format", "sonata", "--population", "exc", "--out", h5)
    npz = tmp_path / "s.npz"
    lifsim(lifsim_bin, "run", *flags, "--format", "events", "--out", npz)
    ev = np.load(npz)
    with h5py.File(h5, "r") as f:
        # The SONATA guide's spike file.
        assert f.attrs["magic"] == 0x0A7A
        assert list(f.attrs["version"]) == [0, 1]
        pop = f["spikes/exc"]
        sorting = pop.attrs["sorting"]
        mapping = h5py.check_enum_dtype(pop.attrs.get_id("sorting").dtype)
        assert mapping == {"none": 0, "by_id": 1, "by_time": 2}
        assert sorting == mapping["by_time"]
        ts, ids = pop["timestamps"], pop["node_ids"]
        assert ts.dtype == np.float64 and ids.dtype == np.uint64
        units = ts.attrs["units"]
        assert (units.decode() if isinstance(units, bytes) else units) == "ms"
        np.testing.assert_array_equal(ts[()], ev["times"])
        np.testing.assert_array_equal(ids[()], ev["ids"].astype(np.uint64))
    assert len(ev["times"]) == want.sum() > 100
    info = lifsim(lifsim_bin, "info", h5).stdout
    assert "SONATA spike report" in info and "@sorting = by_time" in info
    assert f"{want.sum()} in 39.99 ms" in info
    png = tmp_path / "h5.png"
    lifsim(lifsim_bin, "plot", h5, "--out", png)
    assert png.read_bytes().startswith(b"\x89PNG")


def test_info_describes_what_lifsim_reads_and_writes(tmp_path, lifsim_bin, active_net):
    flags, want = active_net
    npz = tmp_path / "s.npz"
    lifsim(lifsim_bin, "run", *flags, "--format", "events", "--out", npz)
    dense = tmp_path / "s.npy"
    lifsim(lifsim_bin, "run", *flags, "--out", dense)
    w = flags[1]
    out = lifsim(lifsim_bin, "info", npz, dense, w).stdout
    rate = want.sum() / 200 / (want.shape[0] * 0.01e-3)
    assert f"{npz}: .npz, spike events" in out
    assert f"{dense}: .npy, dense spike array (steps, N)" in out
    assert f"{w}: .npy, weight matrix W (N x N)" in out
    assert out.count(f"{want.sum()} in 39.99 ms") == 2
    assert out.count(f"mean rate    {rate:.3f} Hz") == 2
    assert "float64 array of shape (200, 200)" in out
    bad = tmp_path / "notes.txt"
    bad.write_text("hello")
    proc = lifsim(lifsim_bin, "info", bad, check=False)
    assert proc.returncode == 2 and proc.stderr.startswith(f"lifsim: error: {bad}: is not a file lifsim reads")


def test_plot_writes_a_png_of_the_raster(tmp_path, lifsim_bin, active_net):
    flags, want = active_net
    npz = tmp_path / "s.npz"
    png = tmp_path / "r.png"
    out = lifsim(lifsim_bin, "run", *flags, "--format", "events", "--out", npz, "--plot", png).stdout
    assert f"plot        {png}" in out
    data = png.read_bytes()
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    assert (width, height) == (1200, 800)
    # The same from the dense file, with `lifsim plot`.
    dense = tmp_path / "s.npy"
    lifsim(lifsim_bin, "run", *flags, "--out", dense)
    png2 = tmp_path / "d.png"
    proc = lifsim(lifsim_bin, "plot", dense, "--out", png2, "--width", 800, "--height", 500)
    assert "assuming dt = 0.01 ms" in proc.stderr
    assert png2.read_bytes()[16:24] == (800).to_bytes(4, "big") + (500).to_bytes(4, "big")
    proc = lifsim(lifsim_bin, "plot", dense, "--out", tmp_path / "r.jpg", check=False)
    assert proc.returncode == 2 and "name it *.png" in proc.stderr


def test_progress_is_silent_off_a_terminal_and_drawn_on_one(tmp_path, lifsim_bin, active_net):
    flags, _ = active_net
    run = ["run", *flags, "--format", "events", "--out", tmp_path / "s.npz"]
    # Not a terminal: nothing on stderr, unless asked; then plain lines for logs.
    assert lifsim(lifsim_bin, *run).stderr == ""
    lines = lifsim(lifsim_bin, *run, "--progress", "always").stderr.splitlines()
    assert lines[-1].startswith("lifsim: 100% 3999/3999 steps, 39.99 ms simulated,"), lines
    # A terminal: the bar, with steps, simulated time, spikes and ETA.
    primary, secondary = pty.openpty()
    proc = subprocess.Popen([str(lifsim_bin), *map(str, run), "--progress", "always"],
                            stdout=subprocess.PIPE, stderr=secondary, text=True)
    os.close(secondary)
    out, _ = proc.communicate(timeout=60)
    shown = b""
    while True:
        try:
            chunk = os.read(primary, 65536)
        except OSError:
            break
        if not chunk:
            break
        shown += chunk
    os.close(primary)
    assert proc.returncode == 0
    text = shown.decode(errors="replace")
    assert re.search(r"steps, [\d.]+ ms simulated, [\d,]+ spikes, ETA", text), text
    assert "spikes      " in out
    # --quiet silences it, terminal or not.
    primary, secondary = pty.openpty()
    proc = subprocess.Popen([str(lifsim_bin), *map(str, run), "--progress", "always", "--quiet"],
                            stdout=subprocess.PIPE, stderr=secondary)
    os.close(secondary)
    proc.communicate(timeout=60)
    try:
        quiet = os.read(primary, 65536)
    except OSError:
        quiet = b""
    os.close(primary)
    assert quiet == b""


def read_stream(path):
    """A .spikes stream, parsed as its format is documented
    (crates/core/src/io/stream.rs): header, records, the last marker's step
    and the spike records before it."""
    raw = path.read_bytes()
    assert raw[:8] == b"LIFSPIKE"
    header_len = int.from_bytes(raw[12:16], "little")
    header = json.loads(raw[16:16 + header_len])
    body = raw[16 + header_len:]
    rec = np.frombuffer(body[: len(body) // 12 * 12], dtype=[("step", "<u8"), ("id", "<u4")])
    markers = np.flatnonzero(rec["id"] == 0xFFFFFFFF)
    if len(markers) == 0:
        return header, 0, rec[:0]
    spikes = rec[: markers[-1]]
    return header, int(rec["step"][markers[-1]]), spikes[spikes["id"] != 0xFFFFFFFF]


def test_a_killed_run_leaves_its_spikes_on_disk(tmp_path, lifsim_bin):
    """SIGKILL mid-run: the .spikes stream holds every spike of the steps it
    reports complete, equal to the same steps of a run that finished."""
    flags = ["--workload", "seed-active"]
    out = tmp_path / "long.npz"
    stream = tmp_path / "long.npz.spikes"
    proc = subprocess.Popen([str(lifsim_bin), "run", *flags, "--t-max", "100000", "--format", "events",
                             "--out", str(out)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    # Kill it once it has flushed complete steps (a few times a second).
    deadline = time.time() + 60
    while time.time() < deadline and proc.poll() is None:
        if stream.exists() and stream.stat().st_size > 64 and read_stream(stream)[1] > 0:
            break
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert not out.exists(), "the run was to be killed before it finished"
    header, done, got = read_stream(stream)
    assert header == {"n": 1000, "dt": 0.01, "steps": 9999999, "population": "lifsim"}
    assert done > 0 and len(got) > 0
    info = lifsim(lifsim_bin, "info", stream).stdout
    assert f"INCOMPLETE: the run stopped after step {done} of 9999999" in info, info
    assert f"spikes       {len(got)} in " in info, info
    # The same steps of a run that finished hold exactly these spikes.
    full = tmp_path / "full.npz"
    lifsim(lifsim_bin, "run", *flags, "--t-max", (done + 2) / 100, "--format", "events", "--out", full)
    ev = np.load(full)
    steps = np.round(ev["times"] / 0.01).astype(np.int64) - 1
    keep = steps < done
    np.testing.assert_array_equal(got["step"], steps[keep])
    np.testing.assert_array_equal(got["id"], ev["ids"][keep])
    png = tmp_path / "partial.png"
    proc = lifsim(lifsim_bin, "plot", stream, "--out", png)
    assert "did not finish" in proc.stderr and png.exists()


@pytest.mark.parametrize("fmt,name", [("events", "s.npz"), ("dense", "s.npy")])
def test_a_run_killed_and_resumed_from_its_checkpoint_is_bit_identical(tmp_path, lifsim_bin, fmt, name):
    """SIGKILL after a checkpoint, `lifsim resume`: the same output, bit for
    bit, as a run never interrupted."""
    flags = ["--workload", "seed-active", "--t-max", 5000 if fmt == "events" else 500, "--format", fmt]
    full = tmp_path / f"full-{name}"
    lifsim(lifsim_bin, "run", *flags, "--out", full, "--quiet")
    ck = tmp_path / "ck.npz"
    out = tmp_path / name
    kill_after_first_checkpoint([lifsim_bin, "run", *flags, "--out", out, "--checkpoint", ck,
                                 "--checkpoint-every", 20, "--quiet"], ck, out)
    info = lifsim(lifsim_bin, "info", ck).stdout
    step = int(re.search(r"step         (\d+) of", info).group(1))
    assert step > 0 and step % 2000 == 0, info
    resumed = tmp_path / f"resumed-{name}"
    lifsim(lifsim_bin, "resume", ck, "--out", resumed, "--quiet")
    if fmt == "dense":
        np.testing.assert_array_equal(np.load(resumed), np.load(full))
    else:
        a, b = np.load(full), np.load(resumed)
        assert sorted(a.files) == sorted(b.files)
        for k in a.files:
            np.testing.assert_array_equal(a[k], b[k])
    # Done: neither the stream nor the checkpoint is left, nor the temporary
    # file of a checkpoint the kill interrupted.
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([full.name, resumed.name])


def test_a_network_run_killed_and_resumed_is_bit_identical(tmp_path, lifsim_bin):
    """The same for the network engine (cuba: exponential synapses, currents,
    refractoriness), resumed on another thread count."""
    root = Path(__file__).resolve().parent.parent
    text = (root / "examples" / "cuba.toml").read_text()
    net = tmp_path / "cuba.toml"
    net.write_text(re.sub(r"(?m)^duration = .*$", "duration = 4000.0", text))
    full = tmp_path / "full.npz"
    lifsim(lifsim_bin, "run", net, "--out", full, "--quiet")
    ck, out = tmp_path / "ck.npz", tmp_path / "s.npz"
    kill_after_first_checkpoint([lifsim_bin, "run", net, "--out", out, "--checkpoint", ck,
                                 "--checkpoint-every", 100, "--threads", 2, "--quiet"], ck, out)
    info = lifsim(lifsim_bin, "info", ck).stdout
    assert "lifsim checkpoint (network engine)" in info and "state/isyn0" in info, info
    resumed = tmp_path / "resumed.npz"
    lifsim(lifsim_bin, "resume", ck, "--out", resumed, "--threads", 1, "--quiet")
    a, b = np.load(full), np.load(resumed)
    for k in a.files:
        np.testing.assert_array_equal(a[k], b[k])
    assert len(a["times"]) > 50_000
