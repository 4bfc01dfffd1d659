"""docs/plots.md: every Python example runs and writes the files it names."""
import re
from pathlib import Path

import pytest

pytest.importorskip("matplotlib", reason="plots need matplotlib (pip install 'uesim[plots]')")

DOC = Path(__file__).resolve().parents[3] / "docs" / "plots.md"
BLOCKS = re.findall(r"```python\n(.*?)```", DOC.read_text(), re.S)


def test_the_doc_has_examples():
    assert len(BLOCKS) >= 6


@pytest.mark.parametrize("i", range(len(BLOCKS)))
def test_example_runs(i, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    code = BLOCKS[i]
    exec(compile(code, f"{DOC.name} example {i + 1}", "exec"), {"__name__": "__doc_example__"})
    written = re.findall(r'"([\w.]+\.(?:png|html))"', code)
    for name in written:
        assert (tmp_path / name).stat().st_size > 1000, name
    if "incast queue peaks" in code:
        out = capsys.readouterr().out
        assert re.search(r"utilisation while backlogged 1\.000", out), out
