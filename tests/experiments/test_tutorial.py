"""docs/protocols.md: the Python DCTCP runs from its scenario through `uesim run --plugin`,
agrees with the compiled DCTCP exactly, and the Python load balancer runs too."""
import json
from pathlib import Path

from uesim.experiments.cli import main

EXAMPLES = Path(__file__).resolve().parents[2] / "docs" / "examples"


def run_json(capsys, *args):
    assert main(["run", *map(str, args), "--json"]) == 0
    return json.loads(capsys.readouterr().out.strip().splitlines()[-1])


def variant(tmp_path, **replace):
    text = (EXAMPLES / "incast_my_dctcp.toml").read_text()
    for old, new in replace.items():
        assert old in text
        text = text.replace(old, new)
    path = tmp_path / "incast.toml"
    path.write_text(text)
    return path


def test_python_dctcp_equals_compiled_dctcp(capsys, tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(EXAMPLES))
    py = run_json(capsys, EXAMPLES / "incast_my_dctcp.toml", "--plugin", "my_dctcp")
    compiled = run_json(capsys, variant(tmp_path, **{'cc = { name = "my_dctcp" }': 'cc = { name = "dctcp" }'}))
    nscc = run_json(capsys, variant(tmp_path, **{'cc = { name = "my_dctcp" }': 'cc = { name = "nscc" }'}))
    assert py["finished"] == 15
    for key in ("last_fct_us", "fct_p50_us", "fct_p99_us", "retransmits", "ecn_marks", "events"):
        assert py[key] == compiled[key], key
    # NSCC is a different algorithm: it moves the result
    assert nscc["retransmits"] != py["retransmits"] and nscc["ecn_marks"] > 2 * py["ecn_marks"]


def test_python_load_balancer_runs(capsys, tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(EXAMPLES))
    path = variant(tmp_path, **{'plugins = ["my_dctcp"]': 'plugins = ["my_dctcp", "avoid_marked"]',
                                'lb = { name = "mixed", n_paths = 64 }': 'lb = { name = "avoid_marked", n_paths = 64 }'})
    out = run_json(capsys, path)
    assert out["finished"] == 15


def test_unknown_plugin_is_one_clear_error(capsys):
    assert main(["run", str(EXAMPLES / "incast_my_dctcp.toml"), "--plugin", "no_such_module"]) == 2
    err = capsys.readouterr().err
    assert "no_such_module" in err and "cannot import" in err and "Traceback" not in err
