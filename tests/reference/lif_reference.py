"""Pure-NumPy reference of the lifsim seed model (SPEC sections 1 and 2).

Written from the specification, independently of the Rust code, to be compared
with lifsim bit for bit. It follows the seed notebook's update step line by
line; the generalisations default to the seed's behaviour:

    fired = V >= v_thresh
    V     = where(fired, v_reset, V)
    I_syn = W @ fired
    dV    = (dt / tau_m) * (-V + v_rest + r * (I_syn + i_ext))
    V     = V + dV
    V     = where(fired | refractory, v_reset, V)
    spikes[k] = fired

With v_rest = v_reset and i_ext = 0, `r * (I_syn + 0.0)` equals the seed's
`r * I_syn` exactly. A neuron that fires at step k is held at v_reset for that
step (the seed) and for `round(t_ref / dt)` further steps.

Initial voltages "uniform" are drawn with lifsim's generator, re-implemented
here from its published definition (xoshiro256++ seeded by SplitMix64).
"""

import numpy as np

MASK = (1 << 64) - 1


def steps_for(t_max, dt):
    """The seed's step count: len(np.arange(0, t_max, dt)) - 1."""
    return len(np.arange(0, t_max, dt)) - 1


def _mix64(z):
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
    return z ^ (z >> 31)


class Xoshiro256pp:
    """xoshiro256++ 1.0 (Blackman and Vigna), seeded through SplitMix64."""

    def __init__(self, seed):
        s, state = seed & MASK, []
        for _ in range(4):
            s = (s + 0x9E3779B97F4A7C15) & MASK
            state.append(_mix64(s))
        self.s = state

    @staticmethod
    def _rotl(x, k):
        return ((x << k) | (x >> (64 - k))) & MASK

    def next_u64(self):
        s = self.s
        result = (self._rotl((s[0] + s[3]) & MASK, 23) + s[0]) & MASK
        t = (s[1] << 17) & MASK
        s[2] ^= s[0]
        s[3] ^= s[1]
        s[1] ^= s[2]
        s[0] ^= s[3]
        s[2] ^= t
        s[3] = self._rotl(s[3], 45)
        return result

    def uniform(self):
        """Uniform in [0, 1) from the top 53 bits."""
        return float(self.next_u64() >> 11) * (1.0 / (1 << 53))


PURPOSE_INITIAL_VOLTAGE = 2


def stream(seed, purpose, index):
    """lifsim's stream for (seed, purpose, index)."""
    key = _mix64(_mix64(_mix64(seed) ^ purpose) ^ index)
    return Xoshiro256pp(key)


def uniform_v0(n, v_reset, v_thresh, seed):
    """lifsim's `--v0 uniform`: v_reset + (v_thresh - v_reset) * u, neuron by neuron."""
    rng = stream(seed, PURPOSE_INITIAL_VOLTAGE, 0)
    return np.array([v_reset + (v_thresh - v_reset) * rng.uniform() for _ in range(n)])


def simulate(W, dt=0.01, t_max=100.0, tau_m=20.0, v_reset=-65.0, v_thresh=-50.0,
             r=1.0, v_rest=None, i_ext=0.0, v0=None, t_ref=0.0, dtype=np.float64):
    """Runs the model; returns the boolean spike array of shape (steps, N).

    In float32 every parameter and array is rounded to float32 first and all
    arithmetic stays in float32, as JAX does by default.
    """
    f = np.dtype(dtype).type
    W = np.asarray(W).astype(dtype)
    n = len(W)
    v_rest = v_reset if v_rest is None else v_rest
    dt_, tau_m_, v_reset_, v_thresh_, r_, v_rest_ = map(f, (dt, tau_m, v_reset, v_thresh, r, v_rest))
    i_ext_ = np.broadcast_to(np.asarray(i_ext, dtype=np.float64).astype(dtype), (n,))
    V = np.full(n, v_reset_, dtype=dtype) if v0 is None else np.asarray(v0, np.float64).astype(dtype)
    ref_steps = int(round(t_ref / dt))
    held = np.zeros(n, dtype=np.int64)  # steps a neuron is still clamped after this one
    c = dt_ / tau_m_
    steps = steps_for(t_max, dt)
    spikes = np.zeros((steps, n), dtype=bool)
    for k in range(steps):
        fired = V >= v_thresh_
        V = np.where(fired, v_reset_, V)
        I_syn = W.dot(fired.astype(dtype))
        dV = c * (-V + v_rest_ + r_ * (I_syn + i_ext_))
        V = V + dV
        clamp = fired | (held > 0)
        V = np.where(clamp, v_reset_, V).astype(dtype)
        held = np.where(fired, ref_steps, np.maximum(held - 1, 0))
        spikes[k] = fired
    return spikes
