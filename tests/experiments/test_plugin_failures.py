"""A plug-in CC that sets an impossible value or raises stops the run with one line
naming the CC, the hook and the value (exit 2, no traceback unless --debug); a run
with stuck flows exits with status 4."""
from __future__ import annotations

import pytest

from uesim.experiments import check_scenario, run_scenario
from uesim.experiments.cli import STUCK_EXIT, main
from uesim.experiments.plugin_guard import PluginError, guarded, needs_guard

PLUGIN = '''
from uesim.protocols import CongestionControl, register_cc

@register_cc("t_zero_window")
class ZeroWindow(CongestionControl):
    def on_ack(self, ctx):
        self.cwnd_bytes = 0

@register_cc("t_negative_window")
class NegativeWindow(CongestionControl):
    def on_ack(self, ctx):
        self.cwnd_bytes = -4096

@register_cc("t_nan_window")
class NanWindow(CongestionControl):
    def on_ack(self, ctx):
        self.cwnd_bytes = float("nan")

@register_cc("t_infinite_rate")
class InfiniteRate(CongestionControl):
    def on_start(self, ctx):
        self.rate_bps = float("inf")

@register_cc("t_raises")
class Raises(CongestionControl):
    def on_nack(self, ctx):
        pass
    def on_ack(self, ctx):
        raise RuntimeError("boom")

@register_cc("t_no_init")
class NoInit(CongestionControl):
    def on_start(self, ctx):
        self.cwnd_bytes = ctx.bdp_bytes

@register_cc("t_float_window")
class FloatWindow(CongestionControl):
    def on_ack(self, ctx):
        self.cwnd_bytes = max(self.mtu_bytes, self.cwnd_bytes * 0.99)

@register_cc("t_slots_zero")
class SlotsZero(CongestionControl):
    __slots__ = ()          # no instance __dict__: still a Python class, still checked
    def on_ack(self, ctx):
        self.cwnd_bytes = 0

@register_cc("t_slots_nan")
class SlotsNan(CongestionControl):
    __slots__ = ()
    def on_ack(self, ctx):
        self.cwnd_bytes = float("nan")

@register_cc("t_numpy_window")
class NumpyWindow(CongestionControl):
    def on_ack(self, ctx):
        import numpy as np
        self.cwnd_bytes = np.int64(8) * self.mtu_bytes

@register_cc("t_init_raises")
class InitRaises(CongestionControl):
    def __init__(self, mtu_bytes=4096):
        super().__init__(mtu_bytes=mtu_bytes)
        {}["missing"]

@register_cc("t_nested")
class Nested(CongestionControl):
    def on_nack(self, ctx):
        pass
    def on_ack(self, ctx):
        self.on_nack(ctx)           # a hook calling another: the message names on_ack
        self.cwnd_bytes = -1
'''

SCENARIO = '''
name = "plugin-{cc}"
seed = 1
plugins = ["uesim_test_badcc"]
[topology]
generator = "leaf_spine"
n_leaves = 1
n_spines = 1
hosts_per_leaf = 4
[transport]
name = "uet"
cc = {{ name = "{cc}" }}
lb = {{ name = "oblivious" }}
[traffic]
pattern = "permutation"
size_bytes = 200_000
'''


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    d = tmp_path_factory.mktemp("plugins")
    (d / "uesim_test_badcc.py").write_text(PLUGIN)
    return d


def run_cli(folder, cc, capsys, *extra):
    path = folder / f"{cc}.toml"
    path.write_text(SCENARIO.format(cc=cc))
    status = main(["run", str(path), *extra])
    out = capsys.readouterr()
    return status, out.out, out.err


@pytest.mark.parametrize("cc,line", [
    ("t_zero_window", "congestion control 't_zero_window' set cwnd_bytes = 0 in on_ack (a window must be > 0)"),
    ("t_negative_window", "congestion control 't_negative_window' set cwnd_bytes = -4096 in on_ack"),
    ("t_nan_window", "congestion control 't_nan_window' set cwnd_bytes = nan in on_ack (must be finite)"),
    ("t_infinite_rate", "congestion control 't_infinite_rate' set rate_bps = inf in on_start (must be finite)"),
    ("t_raises", "congestion control 't_raises' raised in on_ack: RuntimeError: boom"),
    ("t_slots_zero", "congestion control 't_slots_zero' set cwnd_bytes = 0 in on_ack (a window must be > 0)"),
    ("t_slots_nan", "congestion control 't_slots_nan' set cwnd_bytes = nan in on_ack (must be finite)"),
    ("t_init_raises", "congestion control 't_init_raises' raised in __init__: KeyError: 'missing'"),
    ("t_nested", "congestion control 't_nested' set cwnd_bytes = -1 in on_ack (a window must be > 0)"),
])
def test_a_bad_plugin_stops_the_run_with_one_line(folder, capsys, cc, line):
    status, out, err = run_cli(folder, cc, capsys)
    lines = err.strip().splitlines()
    assert status == 2 and len(lines) == 1
    assert lines[0].startswith("uesim: error: ") and line in lines[0] and "Traceback" not in err


def test_debug_shows_the_traceback(folder, capsys, monkeypatch):
    monkeypatch.setenv("UESIM_DEBUG", "")      # main() sets it to 1: monkeypatch unsets it after
    with pytest.raises(PluginError, match="t_raises.*on_ack.*boom"):
        run_cli(folder, "t_raises", capsys, "--debug")


def test_a_cc_without_init_and_a_float_window_work(folder, capsys):
    for cc in ("t_no_init", "t_float_window", "t_numpy_window"):
        status, out, err = run_cli(folder, cc, capsys)
        assert status == 0, err
        assert "4/4 flows finished" in out


def test_the_default_window_is_16_packets():
    from uesim.protocols import CongestionControl

    class Bare(CongestionControl):
        pass
    assert Bare().cwnd_bytes == 16 * 4096 and Bare(mtu_bytes=1000).cwnd_bytes == 16_000


def test_compiled_ccs_are_not_wrapped_and_roce_allows_no_window():
    from uesim.protocols import CC_REGISTRY, CongestionControl
    for name in ("nscc", "dcqcn", "dctcp"):
        assert not needs_guard(CC_REGISTRY[name]) and guarded(CC_REGISTRY[name]) is CC_REGISTRY[name]

    class RateOnly(CongestionControl):
        def on_start(self, ctx):
            self.cwnd_bytes = 0
    from uesim.protocols.hooks import CCContext
    guarded(RateOnly, zero_window_ok=True)().on_start(CCContext.for_test())
    with pytest.raises(PluginError, match="a window must be > 0"):
        guarded(RateOnly)().on_start(CCContext.for_test())


# gpu0's only link dies: flows to and from it can never finish
STUCK = '''
seed = 2
[topology]
generator = "fat_tree"
k = 4
[transport]
name = "window"
cc = { name = "fixed", cwnd_bytes = 65536 }
lb = { name = "oblivious" }
[traffic]
pattern = "permutation"
size_bytes = 300_000
[faults]
stall_ps = 5_000_000_000
events = [{ at_ps = 2_000_000, action = "link_down", link = ["gpu0", "tor0"] }]
'''


def test_a_run_with_stuck_flows_exits_with_status_4(tmp_path, capsys):
    path = tmp_path / "stuck.toml"
    path.write_text(STUCK)
    assert main(["run", str(path)]) == STUCK_EXIT == 4
    assert "2 flows cannot finish" in capsys.readouterr().out


def test_the_same_scenario_without_the_fault_exits_0(tmp_path, capsys):
    raw = {"seed": 2, "topology": {"generator": "fat_tree", "k": 4},
           "transport": {"name": "window", "cc": {"name": "fixed", "cwnd_bytes": 65536}},
           "traffic": {"pattern": "permutation", "size_bytes": 300_000}}
    assert not run_scenario(check_scenario(raw)).stats["stuck_flows"]
    path = tmp_path / "unfaulted.toml"
    path.write_text(STUCK.split("[faults]")[0])
    assert main(["run", str(path)]) == 0
    assert "cannot finish" not in capsys.readouterr().out


@pytest.mark.parametrize("transport", ["window", "roce"])
def test_the_plugin_option_names_the_module(folder, capsys, monkeypatch, transport):
    # the scenario does not list the module: --plugin imports it (from the current folder)
    monkeypatch.chdir(folder)
    path = folder / f"via_option_{transport}.toml"
    text = SCENARIO.format(cc="t_negative_window").replace('plugins = ["uesim_test_badcc"]\n', "")
    path.write_text(text.replace('name = "uet"', f'name = "{transport}"')
                        .replace('lb = { name = "oblivious" }\n', ""))
    status = main(["run", str(path), "--plugin", "uesim_test_badcc"])
    err = capsys.readouterr().err
    rule = "a window must be >= 0 (0: no window)" if transport == "roce" else "a window must be > 0"
    assert status == 2 and "Traceback" not in err
    assert err.strip().splitlines() == [
        f"uesim: error: congestion control 't_negative_window' set cwnd_bytes = -4096 in on_ack ({rule})"]


@pytest.mark.parametrize("value", ["nan", "inf", "-inf"])
def test_a_non_finite_cc_parameter_in_the_scenario_is_one_line(tmp_path, capsys, value):
    path = tmp_path / "nonfinite.toml"
    text = SCENARIO.format(cc="fixed").replace('plugins = ["uesim_test_badcc"]\n', "")
    path.write_text(text.replace('{ name = "fixed" }', f'{{ name = "fixed", cwnd_bytes = {value} }}'))
    assert main(["run", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.strip() == f"uesim: error: transport.cc.cwnd_bytes = {float(value)!r}: must be a finite number"


def test_only_hooks_defined_in_python_are_wrapped():
    from uesim.protocols import CongestionControl
    from uesim.protocols.cc import Nscc

    class NsccSub(Nscc):            # on_ack, on_start, ... stay NSCC's compiled hooks
        def on_nack(self, ctx):
            Nscc.on_nack(self, ctx)

    class Deeper(NsccSub):
        pass
    assert needs_guard(NsccSub) and needs_guard(Deeper)
    for cls in (NsccSub, Deeper):
        g = guarded(cls, "sub")
        assert issubclass(g, cls) and "on_nack" in vars(g)
        assert not {"on_start", "on_ack", "on_timeout", "on_cnp", "on_timer"} & set(vars(g))
    assert guarded(NsccSub, "sub") is guarded(NsccSub, "sub")        # built once

    class Slotted(CongestionControl):
        __slots__ = ()
    assert needs_guard(Slotted) and not needs_guard(guarded(Slotted))


# the real process: exit status, stderr and --debug as a shell or a CI job sees them
def _uesim(cwd, *args):
    import subprocess
    import sys
    return subprocess.run([sys.executable, "-m", "uesim.experiments.cli", *map(str, args)],
                          capture_output=True, text=True, cwd=cwd, timeout=120)


def test_the_process_exits_2_with_one_line_and_debug_shows_the_traceback(folder):
    path = folder / "proc_zero.toml"
    path.write_text(SCENARIO.format(cc="t_zero_window"))
    out = _uesim(folder, "run", path)
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert out.stderr.strip().splitlines() == [
        "uesim: error: congestion control 't_zero_window' set cwnd_bytes = 0 in on_ack (a window must be > 0)"]
    out = _uesim(folder, "--debug", "run", path)
    assert out.returncode == 1 and "Traceback (most recent call last)" in out.stderr
    assert out.stderr.strip().splitlines()[-1].startswith(
        "uesim.experiments.plugin_guard.PluginError: congestion control 't_zero_window' set cwnd_bytes = 0")


def test_the_process_exits_4_on_stuck_flows_and_json_says_why_on_stderr(tmp_path):
    import json
    path = tmp_path / "stuck.toml"
    path.write_text(STUCK)
    out = _uesim(tmp_path, "run", path, "--json")
    assert out.returncode == 4 and "Traceback" not in out.stderr
    summary = json.loads(out.stdout.strip())          # stdout: one JSON line, nothing else
    assert (summary["flows"], summary["finished"]) == (16, 14)
    assert out.stderr.strip().startswith("uesim: 2 flows cannot finish (stuck")
