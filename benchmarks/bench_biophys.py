"""Nernst and E_GABA over 10^5-10^6 elements: C array path vs numpy in-place
ufuncs vs pure Python; and the cost of one scalar call through the public API."""
import math

import pytest

from firmware.core import biophys, biophys_ref
from ratios import pair

np = pytest.importorskip("numpy")

if biophys.BACKEND != "c":
    pytest.skip("C core not built: nothing to compare", allow_module_level=True)

K = biophys_ref.rt_over_f_mv(37.0)
for fn in ("nernst", "e_gaba"):
    pair("%s: C array vs numpy in-place" % fn, "%s-numpy" % fn, "%s-c-array" % fn, 1.0)
    pair("%s: C array vs pure Python" % fn, "%s-python" % fn, "%s-c-array" % fn, 30.0)


@pytest.fixture
def size(quick):
    return 100_000 if quick else 1_000_000


@pytest.fixture
def data(size):
    rng = np.random.default_rng(7)
    return {
        "cl_in": rng.uniform(3.0, 40.0, size),
        "cl_out": rng.uniform(100.0, 130.0, size),
        "hco3_in": rng.uniform(10.0, 18.0, size),
        "hco3_out": rng.uniform(22.0, 28.0, size),
        "out": np.empty(size),
        "tmp": np.empty(size),
        "tmp2": np.empty(size),
    }


def _rounds(quick):
    return dict(rounds=10 if quick else 30, iterations=1, warmup_rounds=2)


def test_nernst_c_array(benchmark, data, quick, record):
    f = biophys.nernst_array
    benchmark.pedantic(f, args=(data["cl_in"], data["cl_out"], -1), kwargs={"out": data["out"]}, **_rounds(quick))
    assert data["out"][0] == pytest.approx(biophys.nernst(data["cl_in"][0], data["cl_out"][0], -1), rel=1e-12)
    record("nernst-c-array", benchmark)


def test_nernst_numpy(benchmark, data, quick, record):
    c_in, c_out, out = data["cl_in"], data["cl_out"], data["out"]
    scale = K / -1.0

    def numpy_nernst():
        np.divide(c_out, c_in, out=out)
        np.log(out, out=out)
        np.multiply(out, scale, out=out)

    benchmark.pedantic(numpy_nernst, **_rounds(quick))
    record("nernst-numpy", benchmark)


def test_nernst_python(benchmark, data, quick, record):
    n = 20_000  # pure Python is timed on a slice and scaled to the full size
    c_in, c_out = list(data["cl_in"][:n]), list(data["cl_out"][:n])
    benchmark.pedantic(biophys_ref.nernst_array, args=(c_in, c_out, -1), **_rounds(quick))
    record("nernst-python", benchmark)
    from conftest import RESULTS

    RESULTS["nernst-python"] *= len(data["cl_in"]) / n


def test_e_gaba_c_array(benchmark, data, quick, record):
    args = (data["cl_in"], data["cl_out"], data["hco3_in"], data["hco3_out"], 0.2)
    benchmark.pedantic(biophys.e_gaba_array, args=args, kwargs={"out": data["out"]}, **_rounds(quick))
    record("e_gaba-c-array", benchmark)


def test_e_gaba_numpy(benchmark, data, quick, record):
    d = data
    r = 0.2

    def numpy_e_gaba():
        np.divide(d["cl_in"], d["cl_out"], out=d["tmp"])
        np.log(d["tmp"], out=d["tmp"])
        np.divide(d["hco3_in"], d["hco3_out"], out=d["tmp2"])
        np.log(d["tmp2"], out=d["tmp2"])
        np.multiply(d["tmp2"], r, out=d["tmp2"])
        np.add(d["tmp"], d["tmp2"], out=d["out"])
        np.multiply(d["out"], K / (1.0 + r), out=d["out"])

    benchmark.pedantic(numpy_e_gaba, **_rounds(quick))
    record("e_gaba-numpy", benchmark)


def test_e_gaba_python(benchmark, data, quick, record):
    n = 20_000
    cols = [list(data[k][:n]) for k in ("cl_in", "cl_out", "hco3_in", "hco3_out")]
    benchmark.pedantic(biophys_ref.e_gaba_array, args=(*cols, 0.2), **_rounds(quick))
    record("e_gaba-python", benchmark)
    from conftest import RESULTS

    RESULTS["e_gaba-python"] *= len(data["cl_in"]) / n


CALLS = 1000  # per round: amortises the timer's own overhead (~100 ns) over many calls


def _per_call(benchmark, fn, args, quick, name, record):
    def loop():
        for _ in range(CALLS):
            fn(*args)

    def empty():
        for _ in range(CALLS):
            pass

    import timeit

    # the bare loop's cost, measured in the same run, is taken off the call cost
    baseline = min(timeit.repeat(empty, number=1, repeat=50))
    benchmark.pedantic(loop, rounds=20 if quick else 100, iterations=1, warmup_rounds=2)
    record(name, benchmark)
    from conftest import RESULTS

    RESULTS[name] = (RESULTS[name] - baseline) / CALLS


def test_nernst_scalar_call(benchmark, quick, record):
    _per_call(benchmark, biophys.nernst, (5.0, 120.0, -1), quick, "nernst-c-scalar-call", record)


def test_e_gaba_scalar_call(benchmark, quick, record):
    _per_call(benchmark, biophys.e_gaba, (5.0, 120.0, 15.0, 25.0, 0.2), quick, "e_gaba-c-scalar-call", record)


def test_python_scalar_call(benchmark, quick, record):
    _per_call(benchmark, biophys_ref.nernst, (5.0, 120.0, -1), quick, "nernst-python-scalar", record)
    assert not math.isnan(biophys_ref.nernst(5.0, 120.0, -1))
