"""Fuzz the user-facing entry points with generated bad input (hypothesis).

Every entry -- scenario TOML through ``uesim check``/``uesim run``, the Python API
(``check_scenario``/``run_scenario``), topology files, htsim ``.cm`` files and flags,
and random command lines -- must answer bad input with one clear message and a
non-zero exit status (a :class:`ScenarioError` from the API), never a traceback.
About 1,200 generated inputs in all; the default run takes well under a minute.
"""
import contextlib
import copy
import io
import json
import math
import os
import tempfile
import traceback

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from uesim.experiments.cli import main
from uesim.experiments.scenario import check_scenario
from uesim.experiments.run import run_scenario
from uesim.experiments.schema import ScenarioError

def FAST(n):
    return settings(max_examples=n, deadline=None, suppress_health_check=list(HealthCheck),
                    derandomize=True, database=None)
TMP = tempfile.mkdtemp(prefix="uesim-fuzz-")
COUNT = {"inputs": 0}

BASE = {
    "seed": 1,
    "topology": {"generator": "leaf_spine", "n_leaves": 2, "n_spines": 1, "hosts_per_leaf": 2},
    "fabric": {"buffer_bytes": 200_000},
    "transport": {"name": "window", "cc": {"name": "fixed", "cwnd_bytes": 16384},
                  "lb": {"name": "oblivious"}},
    "traffic": {"pattern": "permutation", "size_bytes": 20_000},
    "run": {"until_ps": 3_000_000},
}
# keys a mutation may hit (run.until_ps stays: it bounds every run)
PATHS = [("seed",), ("name",), ("plugins",), ("topology",), ("fabric",), ("transport",), ("traffic",),
         ("faults",), ("run", "check"), ("run", "allow_large"), ("run", "check_every"),
         ("topology", "generator"), ("topology", "n_leaves"), ("topology", "n_spines"),
         ("topology", "hosts_per_leaf"), ("topology", "k"), ("topology", "dims"), ("topology", "file"),
         ("topology", "delay_ps"), ("topology", "host_rate_bps"),
         ("fabric", "buffer_bytes"), ("fabric", "buffer_bdp"), ("fabric", "ecn"), ("fabric", "trimming"),
         ("fabric", "trim_bytes"), ("fabric", "switch_latency_ps"), ("fabric", "nic_buffer_bytes"),
         ("transport", "name"), ("transport", "mtu_bytes"), ("transport", "header_bytes"),
         ("transport", "ack_bytes"), ("transport", "rto_ps"), ("transport", "cc"), ("transport", "lb"),
         ("transport", "cc", "name"), ("transport", "cc", "cwnd_bytes"), ("transport", "lb", "name"),
         ("transport", "lb", "n_paths"), ("transport", "mode"), ("transport", "rate_bps"),
         ("traffic", "pattern"), ("traffic", "size_bytes"), ("traffic", "receiver"), ("traffic", "flows"),
         ("traffic", "senders"), ("traffic", "n_senders"), ("traffic", "file"), ("traffic", "start_ps"),
         ("faults", "events"), ("faults", "degrade_links"), ("faults", "reconverge_ps"), ("faults", "stall_ps"),
         ("faults", "degrade_edges"), ("faults", "degrade_factor")]

junk = st.one_of(
    st.integers(-3, 6),
    st.sampled_from([2**63 - 1, -(2**63), 10**12, 0.5, -1.5, 1e308, math.nan, math.inf, "", "x", "fat_tree",
                     "uet", "reps", "nscc", "cm", "explicit", "incast", [], {}, True, False,
                     [0, 1], [[0, 1]], [["a", "b"]], [{"src": 0, "dst": 1, "size_bytes": 100}],
                     [{"src": 0, "dst": 9, "size_bytes": -1}], {"name": "nscc"}, {"name": 3},
                     {"kmin_bytes": 10, "kmax_bytes": 5}, [{"at_ps": 0, "action": "link_down"}],
                     [{"at_ps": 0, "action": "link_down", "link": ["leaf0", "spine0"]}],
                     [{"at_ps": 1, "action": "loss", "link": ["gpu0", "leaf0"], "prob": 0.5}],
                     [{"at_ps": 1, "action": "switch_down", "switch": "spine0"}], ["no_such_module"],
                     "/nonexistent/file.graphml", "x.json"]),
    st.text(max_size=6),
    st.lists(st.integers(-2, 3), max_size=3),
)


@st.composite
def mutated(draw):
    raw = copy.deepcopy(BASE)
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(PATHS))
        op = draw(st.sampled_from(["set", "set", "set", "delete", "unknown"]))
        node = raw
        for key in path[:-1]:
            if not isinstance(node.get(key), dict):
                node[key] = {}
            node = node[key]
        if op == "delete":
            node.pop(path[-1], None)
        elif op == "unknown":
            node[draw(st.sampled_from(["bogus", "Seed", "rate", "k2"]))] = draw(junk)
        else:
            node[path[-1]] = draw(junk)
    raw.setdefault("run", {})
    if isinstance(raw["run"], dict):
        raw["run"]["until_ps"] = 3_000_000
    return raw


def toml_value(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return "nan" if math.isnan(v) else ("inf" if v == math.inf else "-inf" if v == -math.inf else repr(v))
    if isinstance(v, str):
        return json.dumps(v)
    if isinstance(v, list):
        return "[" + ", ".join(toml_value(x) for x in v) + "]"
    return "{" + ", ".join(f"{json.dumps(str(k))} = {toml_value(x)}" for k, x in v.items()) + "}"


def to_toml(raw: dict) -> str:
    lines = [f"{json.dumps(str(k))} = {toml_value(v)}" for k, v in raw.items() if not isinstance(v, dict)]
    for k, v in raw.items():
        if isinstance(v, dict):
            lines.append(f"[{json.dumps(str(k))}]")
            lines += [f"{json.dumps(str(a))} = {toml_value(b)}" for a, b in v.items()]
    return "\n".join(lines) + "\n"


def write(name: str, text) -> str:
    path = os.path.join(TMP, name)
    mode = "wb" if isinstance(text, bytes) else "w"
    with open(path, mode) as f:
        f.write(text)
    return path


def cli(argv) -> tuple[int, str]:
    """Run ``uesim ARGV`` in-process; (exit status, stdout + stderr)."""
    COUNT["inputs"] += 1
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(argv)
        except SystemExit as exc:
            code = exc.code
        except BaseException:              # noqa: BLE001 - this is what the test looks for
            err.write(traceback.format_exc())
            code = "raised"
    return code, out.getvalue() + err.getvalue()


def no_traceback(code, text, argv):
    assert "Traceback" not in text, f"uesim {argv}:\n{text[-3000:]}"
    assert code != "raised", f"uesim {argv}:\n{text[-3000:]}"


def is_valid(raw) -> bool:
    try:
        check_scenario(raw)
        return True
    except ScenarioError:
        return False


# ------------------------------------------------------------------ scenarios
@FAST(300)
@given(mutated())
def test_python_api_raises_only_scenario_errors(raw):
    COUNT["inputs"] += 1
    try:
        sc = check_scenario(raw)
    except ScenarioError as exc:
        assert str(exc)
        return
    try:
        run_scenario(sc)
    except ScenarioError as exc:
        assert str(exc)


@FAST(60)
@given(st.one_of(junk, st.dictionaries(st.sampled_from(["topology", "traffic", "seed", "x"]), junk, max_size=3)),
       st.sampled_from([None, 5, "x", print]))
def test_python_api_arguments(obj, progress):
    COUNT["inputs"] += 1
    for call in (lambda: check_scenario(obj), lambda: run_scenario(obj, progress=progress)):
        try:
            call()
        except ScenarioError as exc:
            assert str(exc)


@FAST(250)
@given(mutated(), st.sampled_from(["check", "run"]))
def test_scenario_files_through_the_cli(raw, command):
    path = write("s.toml", to_toml(raw))
    argv = [command, path] + (["--json"] if command == "run" else [])
    code, text = cli(argv)
    no_traceback(code, text, argv)
    if code == 0:
        assert is_valid(raw), f"exit 0 on an invalid scenario:\n{to_toml(raw)}"
    else:
        assert "uesim: error:" in text


@FAST(60)
@given(st.one_of(st.binary(max_size=200), st.text(max_size=200)))
def test_broken_toml_files(content):
    path = write("b.toml", content)
    code, text = cli(["check", path])
    no_traceback(code, text, ["check", path])


# ------------------------------------------------------------- topology files
NODE = st.fixed_dictionaries({"id": st.sampled_from(["gpu0", "gpu1", "sw", 3, None]),
                              "kind": st.sampled_from(["gpu", "switch", "x", 1])})
LINK = st.fixed_dictionaries({"source": st.sampled_from(["gpu0", "gpu1", "sw", "zz"]),
                              "target": st.sampled_from(["gpu0", "gpu1", "sw", 7]),
                              "rate_bps": st.sampled_from([100_000_000_000, 0, -1, "fast", 1.5]),
                              "delay_ps": st.sampled_from([1000, -5, None, "x"])})


@FAST(100)
@given(st.one_of(
    st.builds(lambda n, l, d: json.dumps({"directed": d, "multigraph": False, "graph": {}, "nodes": n, "links": l}),
              st.lists(NODE, max_size=4), st.lists(LINK, max_size=4), st.booleans()),
    st.text(max_size=120).map(lambda t: "<?xml version='1.0'?><graphml>" + t),
    st.sampled_from(["{}", "[]", "null", '{"nodes": 3}', '{"nodes": [], "links": [{}]}']),
), st.sampled_from(["json", "graphml"]), st.sampled_from(["describe", "scenario"]))
def test_topology_files(content, ext, how):
    path = write(f"t.{ext}", content)
    if how == "describe":
        argv = ["topo", "describe", path]
    else:
        raw = copy.deepcopy(BASE)
        raw["topology"] = {"file": path}
        argv = ["run", write("tf.toml", to_toml(raw)), "--json"]
    code, text = cli(argv)
    no_traceback(code, text, argv)
    if not _readable_topology(path):
        assert code != 0, f"exit 0 on a bad topology file:\n{content}"


def _readable_topology(path) -> bool:
    from uesim.experiments.run import build_topology
    try:
        build_topology({"file": path})
        return True
    except ScenarioError:
        return False


# --------------------------------------------------------------- htsim input
CM_TOKENS = ["0->1", "1->0", "2->2", "-1->3", "0->99", "a->b", "0->", "start", "size", "id", "trigger",
             "send_done_trigger", "recv_done_trigger", "prio", "msg", "0", "1", "2", "-3", "1.5", "1e30",
             "4096", "x", "oneshot", "multishot", "barrier", "count", "failure", "switch_type", "TOR"]
CM_HEADER = ["Nodes 16", "Nodes 0", "Nodes x", "Connections 1", "Connections 9", "Triggers 1", "Failures 0", ""]


@FAST(200)
@given(st.lists(st.sampled_from(CM_HEADER), max_size=3),
       st.lists(st.lists(st.sampled_from(CM_TOKENS), min_size=1, max_size=8).map(" ".join), max_size=4),
       st.booleans())
def test_cm_files_through_uesim_htsim(header, lines, good_line):
    body = header + (["0->1 start 0 size 8192"] if good_line else []) + lines
    path = write("f.cm", "\n".join(body) + "\n")
    argv = ["htsim", "-tm", path, "-nodes", "16", "-end", "5"]
    code, text = cli(argv)
    no_traceback(code, text, argv)
    from uesim.experiments.workloads.cm import read_cm
    try:
        read_cm(path, 16)
    except ScenarioError:
        assert code != 0 and "uesim htsim" in text, f"exit {code} on a bad .cm file:\n{text}"


HTSIM_FLAGS = ["-nodes", "-tiers", "-linkspeed", "-hop_latency", "-switch_latency", "-mtu", "-q", "-ecn",
               "-paths", "-load_balancing_algo", "-sender_cc_only", "-receiver_cc_only", "-sender_cc_algo",
               "-cwnd", "-disable_trim", "-trimsize", "-failed", "-seed", "-bogus", "--json", "-tm"]
HTSIM_VALUES = ["16", "0", "-1", "3", "2", "x", "1e9", "reps", "nscc", "99999999999999999999", "", "0.5", "4150"]


@FAST(150)
@given(st.lists(st.tuples(st.sampled_from(HTSIM_FLAGS), st.lists(st.sampled_from(HTSIM_VALUES), max_size=2)),
                min_size=1, max_size=4))
def test_htsim_flags(flags):
    cm = write("ok.cm", "Nodes 16\nConnections 1\n0->1 start 0 size 8192\n")
    argv = ["htsim", "-tm", cm, "-end", "5"] + [x for flag, vals in flags for x in (flag, *vals)]
    code, text = cli(argv)
    no_traceback(code, text, argv)


# ---------------------------------------------------------------- command line
ARGV_WORDS = ["run", "check", "topo", "describe", "draw", "htsim", "--json", "--seed", "-1", "x", "--rows",
              "-5", "--out", "/proc/nope", "--plugin", "no_such_mod_zz", "fat_tree:k=3", "fat_tree:k=x",
              "leaf_spine:n_leaves=2", "nope:a=1", "--force", "--check", "-o", "/proc/nope.png", "--help2",
              "/nonexistent.toml", "", "-tm", "collective", "all_to_all", "all-reduce", "bogus_op", "--gpus",
              "1", "--topology", "--min-bytes", "1Q", "--max-bytes", "4K", "--algo", "ring", "--channels",
              "0", "sweep", "results", "--jobs", "--retries", "--cluster", "nowhere:1"]


@FAST(200)
@given(st.lists(st.sampled_from(ARGV_WORDS + ["@good"]), min_size=0, max_size=6))
def test_random_command_lines(words):
    good = write("good.toml", to_toml(BASE))
    argv = [good if w == "@good" else w for w in words]
    code, text = cli(argv)
    no_traceback(code, text, argv)
    assert isinstance(code, int)
    if code != 0:
        assert text.startswith("uesim") or "usage:" in text, text      # one message naming the command


def test_the_fuzz_ran_enough_inputs():
    # runs last in this module (pytest keeps file order): >= 1,000 inputs were generated
    assert COUNT["inputs"] >= 1000, COUNT
