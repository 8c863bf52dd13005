"""lifsim.Network: networks built, saved and loaded from Python, run piece by
piece, checkpointed, and their errors."""

import math
from pathlib import Path

import numpy as np
import pytest

import lifsim_testing  # noqa: F401  (a clear message when lifsim is not installed)

import lifsim

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"


def short_cuba(duration=300.0):
    net = lifsim.Network.load(EXAMPLES / "cuba.toml")
    net.set(duration=duration)
    return net


def same(a, b):
    return np.array_equal(a.ids, b.ids) and np.array_equal(a.times, b.times)


# -- descriptions ------------------------------------------------------------


@pytest.mark.parametrize("name", ["cuba", "coba", "brunel", "brunel_alpha", "microcircuit"])
def test_every_example_saves_and_loads_as_itself(name, tmp_path):
    net = lifsim.Network.load(EXAMPLES / f"{name}.toml")
    net.save(tmp_path / "again.toml")
    again = lifsim.Network.load(tmp_path / "again.toml")
    assert again == net
    assert again.to_toml() == net.to_toml()


def test_a_saved_and_loaded_network_gives_the_same_spikes(tmp_path):
    net = short_cuba(200.0)
    net.save(tmp_path / "c.toml")
    a, b = net.run(threads=1), lifsim.Network.load(tmp_path / "c.toml").run(threads=1)
    assert len(a) > 100 and same(a, b)


def test_populations_are_handles_with_their_ids():
    net = lifsim.Network(dt=0.1)
    E = net.population("E", 30)
    I = net.population("I", 10, model="iaf_psc_delta")
    assert (E.start, E.stop, I.start, I.stop) == (0, 30, 30, 40)
    assert net["I"].model == "iaf_psc_delta" and net.n == 40
    assert list(net.populations) == ["E", "I"]
    np.testing.assert_array_equal(I.ids, np.arange(30, 40))


def test_defaults_are_the_network_files():
    # A population given nothing has a file's defaults (the parameter table's).
    net = lifsim.Network(dt=0.1)
    net.population("P", 1)
    from_file = lifsim.NetworkDescription.from_toml('duration = 0.0\n[[population]]\nname = "P"\nsize = 1\n',
                                                    name="network")
    assert net.description == from_file


# -- per-neuron values --------------------------------------------------------


def first_spike_ms(tau, r, i, v_rest, theta):
    """The time V(t) = v_rest + r i (1 - exp(-t / tau)) reaches theta (inf if never)."""
    if r * i <= theta - v_rest:
        return math.inf
    return -tau * math.log(1.0 - (theta - v_rest) / (r * i))


def test_per_neuron_currents_and_initial_voltages_from_numpy():
    tau, r, v_rest, theta, dt = 10.0, 40.0, -70.0, -55.0, 0.1
    i_ext = np.array([0.30, 0.40, 0.50, 0.80])  # nA: r i = 12 (never fires), 16, 20, 32 mV
    v0 = np.array([-70.0, -69.0, -68.5, -71.25])
    net = lifsim.Network(dt=dt, seed=1)
    net.population("P", 4, model="iaf_psc_delta", tau_m=tau, r=r, v_rest=v_rest, v_reset=v_rest,
                   v_thresh=theta, t_ref=1000.0, i_ext=i_ext, v0=v0)
    sim = net.build()
    np.testing.assert_array_equal(sim.voltages(), v0)
    # From v_rest instead, each neuron fires once (t_ref holds it after) when
    # the exact solution crosses theta: in the step that contains that time.
    net = lifsim.Network(dt=dt, seed=1)
    net.population("P", 4, model="iaf_psc_delta", tau_m=tau, r=r, v_rest=v_rest, v_reset=v_rest,
                   v_thresh=theta, t_ref=1000.0, i_ext=list(i_ext), v0=v_rest)
    spikes = net.run(200.0)
    assert 0 not in spikes.ids
    for k in (1, 2, 3):
        t = first_spike_ms(tau, r, i_ext[k], v_rest, theta)
        (got,) = spikes.times[spikes.ids == k]
        assert t <= got < t + dt + 1e-9, (k, t, got)


def test_a_list_of_the_wrong_length_is_refused():
    net = lifsim.Network()
    with pytest.raises(ValueError, match=r'population "P".*v0.*3 values.*5 neurons|v0.*population "P".*3 values'):
        net.population("P", 5, v0=np.zeros(3))


# -- matrices ------------------------------------------------------------------


class CsrLike:
    """What lifsim takes of a scipy.sparse matrix: tocsr() with indptr, indices, data, shape."""

    def __init__(self, dense):
        self.shape = dense.shape
        rows, cols = np.nonzero(dense)
        self.indptr = np.concatenate([[0], np.cumsum(np.bincount(rows, minlength=dense.shape[0]))]).astype(np.int32)
        self.indices = cols.astype(np.int32)
        self.data = dense[rows, cols]

    def tocsr(self):
        return self


def matrix_network(matrix):
    n = matrix.shape[0] if hasattr(matrix, "shape") else len(matrix)
    net = lifsim.Network(dt=0.1, seed=4)
    A = net.population("A", n, model="iaf_psc_exp", tau_m=10.0, v_rest=-60.0, v_reset=-65.0, v_thresh=-50.0,
                       r=10.0, t_ref=2.0, i_ext=np.linspace(0.9, 1.2, n))
    net.connect(A, A, matrix=matrix, delay=0.5, synapse="exponential", tau_syn=2.0)
    return net


def weights(n=60, seed=9):
    rng = np.random.default_rng(seed)
    return np.round(rng.normal(0.0, 0.4, (n, n)) * 64) / 64 * (rng.random((n, n)) < 0.25)


def test_dense_and_sparse_matrices_give_the_same_network():
    w = weights()
    dense = matrix_network(w).run(300.0)
    sparse = matrix_network(CsrLike(w)).run(300.0)
    silent = matrix_network(np.zeros_like(w)).run(300.0)
    assert len(dense) > 100 and same(dense, sparse)
    assert not same(dense, silent), "the synapses change the spikes"
    assert matrix_network(w).build().synapses == np.count_nonzero(w)


def test_scipy_sparse_matrices():
    sparse = pytest.importorskip("scipy.sparse")
    w = weights()
    for m in (sparse.csr_matrix(w), sparse.csc_matrix(w), sparse.coo_matrix(w)):
        assert same(matrix_network(m).run(200.0), matrix_network(w).run(200.0))


# -- running in pieces ---------------------------------------------------------


@pytest.mark.parametrize("threads", [1, 2])
def test_pieces_give_the_spikes_of_one_run(threads):
    net = short_cuba(500.0)
    whole = net.run(threads=threads)
    sim = net.build(threads=threads)
    pieces = [sim.run(d) for d in (100.0, 0.1, 249.9, 150.0)]
    assert sim.t == pytest.approx(500.0) and sim.step == 5000
    assert sum(len(p) for p in pieces) == len(whole) > 1000
    assert same(sim.spikes(), whole)
    assert [p.t_start for p in pieces] == pytest.approx([0.0, 100.0, 100.1, 350.0])
    for p in pieces:
        assert np.all((p.times > p.t_start) & (p.times <= p.t_stop + 1e-9))


def test_a_run_can_go_past_the_network_duration():
    net = short_cuba(100.0)
    sim = net.build()
    sim.run()  # to the duration
    assert sim.t == pytest.approx(100.0)
    assert len(sim.run()) == 0 and sim.t == pytest.approx(100.0)  # nothing left
    more = sim.run(100.0)
    assert sim.t == pytest.approx(200.0) and len(more) > 0
    net.set(duration=200.0)
    assert same(sim.spikes(), net.run())


def test_spikes_by_population():
    spikes = short_cuba(200.0).run()
    E, I = spikes["E"], spikes["I"]
    assert len(E) + len(I) == len(spikes)
    assert E.ids.max() < 3200 <= I.ids.min()
    assert spikes.names == ["E", "I"] and set(np.unique(spikes.population)) == {0, 1}
    rates = spikes.rates()
    assert rates["E"] == pytest.approx(len(E) / (3200 * 0.2))


# -- state and checkpoints -----------------------------------------------------


def test_state_can_be_taken_and_put_back():
    sim = short_cuba().build()
    sim.run(150.0)
    state = sim.state()
    assert state["step"] == 1500
    arrays = {k: v for k, v in state.items() if k not in ("step", "pending")}
    assert "until" in arrays and all(a.shape[0] == 4000 for a in arrays.values())
    first = sim.run(100.0)
    sim.set_state(state)
    assert sim.step == 1500
    again = sim.run(100.0)
    assert len(first) > 100 and same(first, again)


@pytest.mark.parametrize("threads", [1, 2])
def test_checkpoint_and_resume_give_the_spikes_of_one_run(tmp_path, threads):
    net = short_cuba(400.0)
    whole = net.run(threads=2)
    sim = net.build(threads=2)
    head = sim.run(150.0)
    sim.save_checkpoint(tmp_path / "ck.npz")
    resumed = lifsim.resume(tmp_path / "ck.npz", threads=threads)
    assert resumed.step == 1500
    tail = resumed.run(250.0)
    assert np.array_equal(np.concatenate([head.ids, tail.ids]), whole.ids)
    assert np.array_equal(np.concatenate([head.times, tail.times]), whole.times)


def test_progress_shows_a_bar(capsys):
    net = short_cuba(100.0)
    net.run(progress=True)
    err = capsys.readouterr().err
    try:
        import tqdm  # noqa: F401
    except ImportError:
        assert "1000/1000 steps" in err


# -- errors ----------------------------------------------------------------------


def test_type_errors_name_the_parameter():
    net = lifsim.Network()
    with pytest.raises(TypeError, match="tau_m"):
        net.population("P", 3, tau_m="20")
    with pytest.raises(TypeError, match="unexpected keyword argument 'tau'"):
        net.population("P", 3, tau=20.0)
    with pytest.raises(TypeError, match="size must be an integer"):
        net.population("P", 3.5)
    net.population("P", 3)
    with pytest.raises(TypeError, match="weight"):
        net.connect("P", "P", rule="all_to_all", weight="heavy")


def test_value_errors_name_the_place_and_parameter():
    net = lifsim.Network()
    with pytest.raises(ValueError, match=r'tau_m.*population "P"|population "P".*tau_m'):
        net.population("P", 3, tau_m=-1.0)
    assert net.n == 0, "a refused entry leaves the network as it was"
    P = net.population("P", 3)
    with pytest.raises(ValueError, match='no population named "Q"'):
        net.connect(P, "Q", rule="all_to_all", weight=1.0)
    with pytest.raises(ValueError, match="p.*must be in \\[0, 1\\]"):
        net.connect(P, P, rule="fixed_probability", p=1.5, weight=1.0)
    with pytest.raises(ValueError, match="unknown rule"):
        net.connect(P, P, rule="everything", weight=1.0)
    with pytest.raises(ValueError, match="rate"):
        net.poisson(P, rate=-5.0, weight=0.1)
    with pytest.raises(ValueError, match="duration.*multiple of dt"):
        net.build().run(0.05)
    with pytest.raises(ValueError, match="dt"):
        lifsim.Network(dt=0.0)


def test_file_errors():
    with pytest.raises(FileNotFoundError):
        lifsim.Network.load("no/such/net.toml")
    with pytest.raises(ValueError, match="no populations"):
        lifsim.Network().save("never.toml")
    assert not Path("never.toml").exists()
