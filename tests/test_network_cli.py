"""`lifsim run NETWORK.toml`: connectivity read from dense .npy and scipy.sparse
.npz files, an independent NumPy implementation of the exact-integration engine,
the example networks' rates against NEST's and Brian2's, and bad input."""

import json
import subprocess
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
DT = 0.1


def run(lifsim_bin, tmp_path, text, *flags, expect_ok=True):
    net = tmp_path / "net.toml"
    net.write_text(text)
    out = tmp_path / "spikes.npz"
    proc = subprocess.run(
        [str(lifsim_bin), "run", str(net), "--out", str(out), *map(str, flags)],
        capture_output=True, text=True,
    )
    if not expect_ok:
        return proc
    assert proc.returncode == 0, proc.stderr
    return dict(np.load(out)) if out.exists() else None


def save_sparse(path, w, fmt):
    """What scipy.sparse.save_npz writes (indices, indptr, format, shape, data;
    row and col for coo), made with NumPy alone."""
    rows, cols = np.nonzero(w)
    if fmt == "coo":
        np.savez(path, row=rows.astype(np.int32), col=cols.astype(np.int32), data=w[rows, cols],
                 format=np.array(b"coo"), shape=np.array(w.shape))
        return
    major = w if fmt == "csr" else w.T
    r, c = np.nonzero(major)
    indptr = np.concatenate([[0], np.cumsum(np.bincount(r, minlength=major.shape[0]))])
    np.savez(path, indices=c.astype(np.int32), indptr=indptr.astype(np.int32), data=major[r, c],
             format=np.array(fmt.encode()), shape=np.array(w.shape))


# A network of 5 populations x 10 neurons with different constant currents
# (some fire alone, some only with input), recurrent delta synapses (from one
# file, 1 ms delay) and exponential synapses (from another, no delay).
N, GROUPS, T_SIM = 50, 5, 300.0
TAU, TAU_S, R, E_L, V_RESET, V_TH, T_REF = 10.0, 3.0, 40.0, -70.0, -72.0, -55.0, 2.0
CURRENTS = [0.30, 0.34, 0.37, 0.39, 0.42]  # nA: r I = 12 .. 16.8 mV against 15 mV
D_DELTA = 1.0


def weights():
    rng = np.random.default_rng(5)
    w_delta = np.round(rng.normal(0.5, 1.5, (N, N)) * 16) / 16 * (rng.random((N, N)) < 0.2)
    w_exp = np.round(rng.normal(0.02, 0.08, (N, N)) * 256) / 256 * (rng.random((N, N)) < 0.2)
    return w_delta, w_exp


def network_text(delta_file, exp_file):
    names = [f"g{k}" for k in range(GROUPS)]
    lines = [f"dt = {DT}", f"duration = {T_SIM}", ""]
    for name, i in zip(names, CURRENTS):
        lines += ["[[population]]", f'name = "{name}"', f"size = {N // GROUPS}", f"tau_m = {TAU}",
                  f"v_rest = {E_L}", f"v_reset = {V_RESET}", f"v_thresh = {V_TH}", f"r = {R}",
                  f"t_ref = {T_REF}", f"i_ext = {i}", f"v0 = {E_L}", ""]
    everyone = json.dumps(names)
    lines += ["[[projection]]", f"source = {everyone}", f"target = {everyone}", 'rule = "from_file"',
              f'file = "{delta_file}"', f"delay = {D_DELTA}", 'synapse = "delta"', ""]
    lines += ["[[projection]]", f"source = {everyone}", f"target = {everyone}", 'rule = "from_file"',
              f'file = "{exp_file}"', "delay = 0.0", 'synapse = "exponential"', f"tau_syn = {TAU_S}", ""]
    return "\n".join(lines)


def reference(w_delta, w_exp, steps):
    """NEST's exact integration (iaf_psc_delta + iaf_psc_exp in one neuron), in
    NumPy, written from the NEST model documentation, not from lifsim."""
    h = DT
    p22 = np.exp(-h / TAU)
    p20 = -R * np.expm1(-h / TAU)
    c = TAU / R
    p21 = -TAU / (c * (1.0 - TAU / TAU_S)) * np.exp(-h / TAU_S) * np.expm1(h * (1.0 / TAU_S - 1.0 / TAU))
    p11 = np.exp(-h / TAU_S)
    i_ext = np.repeat(CURRENTS, N // GROUPS)
    d = int(round(D_DELTA / h))
    y = np.zeros(N)  # V - E_L
    i_syn = np.zeros(N)
    refr = np.zeros(N, dtype=int)
    ring = np.zeros((d + 2, N))
    fired = np.array([], dtype=int)
    spikes = []
    for k in range(steps):
        for j in fired:  # spikes emitted at t_k, in id order
            i_syn += w_exp[:, j]  # no delay: the current jumps at t_k
            ring[(k + d) % (d + 2)] += w_delta[:, j]  # arrives at t_{k+d}
        jumps = ring[(k + 1) % (d + 2)].copy()
        ring[(k + 1) % (d + 2)] = 0.0
        v = y * p22 + i_syn * p21 + i_ext * p20 + jumps
        free = refr == 0
        y = np.where(free, v, V_RESET - E_L)  # input during refractoriness is lost
        refr = np.maximum(refr - 1, 0)
        i_syn = i_syn * p11
        fired = np.flatnonzero(y >= V_TH - E_L)
        y[fired] = V_RESET - E_L
        refr[fired] = int(round(T_REF / h))
        spikes += [(k, j) for j in fired]
    return spikes


@pytest.mark.parametrize("fmt", ["csr", "csc", "coo", "npy"])
def test_file_connectivity_matches_numpy_reference(lifsim_bin, tmp_path, fmt):
    w_delta, w_exp = weights()
    if fmt == "npy":
        np.save(tmp_path / "delta.npy", np.asfortranarray(w_delta))
        delta_file = "delta.npy"
    else:
        save_sparse(tmp_path / "delta.npz", w_delta, fmt)
        delta_file = "delta.npz"
    save_sparse(tmp_path / "exp.npz", w_exp, "csr")
    got = run(lifsim_bin, tmp_path, network_text(delta_file, "exp.npz"), "--format", "events")
    steps = int(round(T_SIM / DT))
    want = reference(w_delta, w_exp, steps)
    got_pairs = list(zip(np.round(got["times"] / DT).astype(int) - 1, got["ids"].tolist()))
    assert len(want) > 200  # an active network, every group firing
    assert len({j for _, j in want}) > 40
    assert got_pairs == want


def test_counts_and_json_summary(lifsim_bin, tmp_path):
    w_delta, w_exp = weights()
    save_sparse(tmp_path / "d.npz", w_delta, "csr")
    save_sparse(tmp_path / "e.npz", w_exp, "csr")
    counts_file = tmp_path / "counts.npy"
    summary = tmp_path / "summary.json"
    net = tmp_path / "net.toml"
    net.write_text(network_text("d.npz", "e.npz"))
    proc = subprocess.run([str(lifsim_bin), "run", str(net), "--format", "counts", "--out", str(counts_file),
                           "--json", str(summary)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    counts = np.load(counts_file)
    want = np.bincount([j for _, j in reference(w_delta, w_exp, int(round(T_SIM / DT)))], minlength=N)
    assert counts.tolist() == want.tolist()
    s = json.loads(summary.read_text())
    assert s["neurons"] == N and s["synapses"] == int((w_delta != 0).sum() + (w_exp != 0).sum())
    assert s["spikes"] == want.sum() and s["steps"] == 3000
    assert abs(s["rate_hz"] - want.sum() / N / 0.3) < 1e-9
    assert [p["name"] for p in s["populations"]] == [f"g{k}" for k in range(GROUPS)]
    assert s["setup_s"] > 0 and s["sim_s"] > 0 and s["peak_rss_bytes"] > 0
    assert "peak memory" in proc.stdout and "setup" in proc.stdout


def run_example(lifsim_bin, tmp_path, name, duration=None):
    text = (ROOT / "examples" / f"{name}.toml").read_text()
    if duration is not None:
        text = text.replace("duration = 1000.0", f"duration = {duration}")
    summary = tmp_path / "s.json"
    run(lifsim_bin, tmp_path, text, "--json", summary)
    return json.loads(summary.read_text())


def test_cuba_rate_agrees_with_brian2_and_nest(lifsim_bin, tmp_path):
    # Brian2's CUBA.py and NEST (iaf_psc_exp) give about 5.6 Hz on these parameters
    # (5.62 and 5.64 Hz measured with bench/peers, seed 1).
    s = run_example(lifsim_bin, tmp_path, "cuba")
    assert s["neurons"] == 4000 and s["steps"] == 10000
    assert abs(s["synapses"] - 0.02 * 4000 * 4000) < 5 * np.sqrt(0.02 * 0.98 * 4000 * 4000)
    assert abs(s["rate_hz"] - 5.6) / 5.6 < 0.10, s["rate_hz"]


def test_brunel_rate_agrees_with_nest(lifsim_bin, tmp_path):
    # NEST's brunel_delta_nest.py: about 32 Hz (31.96 Hz measured with bench/peers).
    # A shorter run (the rate is stationary after the first few ms) keeps the suite quick.
    s = run_example(lifsim_bin, tmp_path, "brunel", duration=200.0)
    assert s["neurons"] == 12500 and s["synapses"] == 12500 * 1250
    assert abs(s["rate_hz"] - 32.0) / 32.0 < 0.10, s["rate_hz"]
    for p in s["populations"]:
        assert abs(p["rate_hz"] - 32.0) / 32.0 < 0.10, p


@pytest.mark.parametrize(
    "edit,message",
    [
        (lambda t: t.replace('rule = "from_file"', 'rule = "fixed_indegree"', 1), "indegree"),
        (lambda t: t.replace("delay = 1.0", "delay = 0.0"), "delay"),
        (lambda t: t.replace("tau_m = 10.0", "tau_m = -1.0", 1), "tau_m"),
        (lambda t: t.replace('file = "d.npz"', 'file = "missing.npz"'), "missing.npz"),
        (lambda t: t + "\n[[input]]\ntype = \"poisson\"\ntarget = \"nobody\"\nrate = 10.0\nweight = 1.0\n", "nobody"),
        (lambda t: t.replace("size = 10", "size = ten", 1), "line"),
    ],
)
def test_bad_network_files_fail_cleanly(lifsim_bin, tmp_path, edit, message):
    w_delta, w_exp = weights()
    save_sparse(tmp_path / "d.npz", w_delta, "csr")
    save_sparse(tmp_path / "e.npz", w_exp, "csr")
    proc = run(lifsim_bin, tmp_path, edit(network_text("d.npz", "e.npz")), expect_ok=False)
    assert proc.returncode == 2
    err = proc.stderr.strip()
    assert err.startswith("lifsim: error: ") and "\n" not in err and message in err, err
    assert "panicked" not in err
    assert not (tmp_path / "spikes.npz").exists()


def test_wrong_matrix_shape_is_named(lifsim_bin, tmp_path):
    w_delta, w_exp = weights()
    save_sparse(tmp_path / "d.npz", w_delta[:, :40], "csr")
    save_sparse(tmp_path / "e.npz", w_exp, "csr")
    proc = run(lifsim_bin, tmp_path, network_text("d.npz", "e.npz"), expect_ok=False)
    assert proc.returncode == 2 and "d.npz" in proc.stderr and "(50, 50)" in proc.stderr, proc.stderr


def test_seed_flags_are_refused_for_network_files(lifsim_bin, tmp_path):
    proc = run(lifsim_bin, tmp_path, (ROOT / "examples" / "cuba.toml").read_text(), "--tau-m", "10",
               expect_ok=False)
    assert proc.returncode == 2 and "--tau-m" in proc.stderr and "--set POP.tau_m=VALUE" in proc.stderr
