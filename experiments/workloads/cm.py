"""htsim connection matrices (``.cm`` files), triggers included.

The format, as htsim's ``ConnectionMatrix::load`` (``datacenter/connection_matrix.cpp``,
uet-htsim 40ccb05) reads it:

* a header of ``Nodes N``, ``Connections C``, ``Triggers T``, ``Failures F`` lines (any
  order, all optional here; htsim checks the three counts against the body and so do we);
* ``#`` comment lines and blank lines anywhere;
* one line per flow, ``SRC->DST`` followed by keyword/value pairs in any order:
  ``start T_us`` (htsim truncates it to whole microseconds), ``size BYTES``, ``id N``
  (flow id, not 0), ``trigger K`` (start when trigger ``K`` fires, instead of ``start``;
  needs ``id``), ``send_done_trigger K`` (activate trigger ``K`` when the sender has every
  ACK), ``recv_done_trigger K`` (activate ``K`` when the receiver has every byte),
  ``prio P`` (read and ignored by ``htsim_uec``), ``msg N`` (connection reuse, not
  supported);
* one line per trigger, ``trigger id K oneshot|multishot|barrier [count N]``:

  - ``oneshot``: the first activation starts every flow waiting on it (htsim aborts on a
    second activation);
  - ``multishot``: each activation starts the next waiting flow, in file order (extra
    activations do nothing);
  - ``barrier``: the ``count``-th activation starts every waiting flow (htsim aborts on
    more activations than ``count``);
* ``failure switch_type TOR|AGG|CORE switch_id I link_id L`` lines (read, reported, not
  supported by the uesim front end).

Every error names the file, the line and what is wrong.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from uesim.experiments.schema import ScenarioError

TRIGGER_KINDS = ("oneshot", "multishot", "barrier")
_FLOW_KEYS = ("start", "size", "id", "trigger", "send_done_trigger", "recv_done_trigger", "prio", "msg")
_HEADER = ("Nodes", "Connections", "Triggers", "Failures")


@dataclass
class ConnectionMatrix:
    """A parsed ``.cm`` file.

    Attributes
    ----------
    path : str
    nodes : int or None
        The ``Nodes`` header (None when absent).
    flows : list of dict
        ``{"id", "src", "dst", "size_bytes", "start_ps", "cm_id", "start_trigger",
        "send_done_trigger", "recv_done_trigger", "line"}``; ``id`` is the index in file
        order, ``cm_id`` the file's ``id`` (None when absent), ``start_ps`` is None for
        a flow started by a trigger.
    triggers : list of dict
        ``{"id", "kind", "count", "line"}``, ``kind`` one of ``oneshot``, ``multishot``,
        ``barrier``; ``count`` is the barrier's activation count (0 for the others).
    failures : list of dict
        ``{"switch_type", "switch_id", "link_id", "line"}``.
    """

    path: str
    nodes: int | None = None
    flows: list = field(default_factory=list)
    triggers: list = field(default_factory=list)
    failures: list = field(default_factory=list)


def _int(where: str, what: str, token: str | None, minimum: int | None = None) -> int:
    if token is None:
        raise ScenarioError(f"{where}: {what} needs a value")
    try:
        value = int(token)
    except ValueError:
        raise ScenarioError(f"{where}: {what} {token!r} is not an integer") from None
    if minimum is not None and value < minimum:
        raise ScenarioError(f"{where}: {what} {value} must be >= {minimum}")
    return value


def _start_us(where: str, token: str | None) -> int:
    if token is None:
        raise ScenarioError(f"{where}: start needs a value")
    try:
        value = float(token)
    except ValueError:
        raise ScenarioError(f"{where}: start {token!r} is not a number (microseconds)") from None
    if not value >= 0 or value == float("inf"):
        raise ScenarioError(f"{where}: start {token} must be a number >= 0 (microseconds)")
    return int(value)      # htsim: timeFromUs((uint32_t)start), whole microseconds


def _parse_flow(where: str, tokens: list[str], index: int, n_nodes: int | None) -> dict:
    head = tokens[0]
    src_s, _, dst_s = head.partition("->")
    src = _int(where, "source host", src_s or None, 0)
    dst = _int(where, "destination host", dst_s or None, 0)
    flow = {"id": index, "src": src, "dst": dst, "size_bytes": None, "start_ps": None, "cm_id": None,
            "start_trigger": None, "send_done_trigger": None, "recv_done_trigger": None}
    start = None
    i = 1
    while i < len(tokens):
        key = tokens[i]
        value = tokens[i + 1] if i + 1 < len(tokens) else None
        if key == "start":
            start = _start_us(where, value)
        elif key == "size":
            flow["size_bytes"] = _int(where, "size", value, 1)
        elif key == "id":
            flow["cm_id"] = _int(where, "id", value, 1)     # htsim: "Flow ID zero is not allowed"
        elif key in ("trigger", "send_done_trigger", "recv_done_trigger"):
            flow["start_trigger" if key == "trigger" else key] = _int(where, key, value, 1)
        elif key == "prio":
            _int(where, "prio", value)                       # parsed, unused by htsim_uec
        elif key == "msg":
            raise ScenarioError(f"{where}: 'msg' (htsim connection reuse, -conn_reuse) is not supported")
        else:
            raise ScenarioError(f"{where}: unknown token {key!r}; a flow line takes "
                                f"{', '.join(_FLOW_KEYS)}")
        i += 2
    if flow["size_bytes"] is None:
        raise ScenarioError(f"{where}: flow has no 'size BYTES'")
    if start is None and flow["start_trigger"] is None:
        raise ScenarioError(f"{where}: no start method specified for flow (need 'start T' or 'trigger K')")
    if start is not None and flow["start_trigger"] is not None:
        raise ScenarioError(f"{where}: both start time and trigger specified for flow")
    if flow["start_trigger"] is not None and flow["cm_id"] is None:
        raise ScenarioError(f"{where}: a flow started by a trigger needs an 'id N' (htsim asserts it)")
    if start is not None:
        flow["start_ps"] = start * 1_000_000
    if src == dst:
        raise ScenarioError(f"{where}: source and destination are both host {src}")
    if n_nodes is not None:
        for name, h in (("source", src), ("destination", dst)):
            if h >= n_nodes:
                raise ScenarioError(f"{where}: {name} host {h} out of range 0..{n_nodes - 1}")
    return flow


def _parse_trigger(where: str, tokens: list[str]) -> dict:
    trig = {"id": None, "kind": None, "count": 0}
    i = 1
    while i < len(tokens):
        key = tokens[i]
        if key in ("id", "count"):
            value = tokens[i + 1] if i + 1 < len(tokens) else None
            trig[key] = _int(where, f"trigger {key}", value, 1 if key == "id" else 0)
            i += 2
            continue
        if key in TRIGGER_KINDS:
            if trig["kind"] is not None:
                raise ScenarioError(f"{where}: trigger has two types ({trig['kind']}, {key})")
            trig["kind"] = key
        else:
            raise ScenarioError(f"{where}: unknown token {key!r}; a trigger line is "
                                f"'trigger id K oneshot|multishot|barrier [count N]'")
        i += 1
    if trig["id"] is None:
        raise ScenarioError(f"{where}: trigger with no id")
    if trig["kind"] is None:
        raise ScenarioError(f"{where}: trigger with no type (oneshot, multishot or barrier)")
    if trig["kind"] == "barrier" and trig["count"] < 1:
        raise ScenarioError(f"{where}: barrier trigger {trig['id']} needs 'count N' with N >= 1")
    return trig


def _parse_failure(where: str, tokens: list[str]) -> dict:
    out = {}
    i = 1
    while i < len(tokens):
        key, value = tokens[i], tokens[i + 1] if i + 1 < len(tokens) else None
        if key == "switch_type":
            if value not in ("TOR", "AGG", "CORE"):
                raise ScenarioError(f"{where}: switch_type {value!r}; allowed: TOR, AGG, CORE")
            out[key] = value
        elif key in ("switch_id", "link_id"):
            out[key] = _int(where, key, value, 0)
        else:
            raise ScenarioError(f"{where}: unknown failure attribute {key!r}")
        i += 2
    return out


def read_cm(path: str | Path, n_hosts: int | None = None) -> ConnectionMatrix:
    """Read an htsim connection matrix, triggers included.

    Parameters
    ----------
    path : str or Path
    n_hosts : int, optional
        Check host indices against this (else against the ``Nodes`` header, if any).

    Returns
    -------
    ConnectionMatrix

    Raises
    ------
    ScenarioError
        Naming the file, the line and what is wrong.

    Examples
    --------
    >>> import tempfile, os
    >>> with tempfile.NamedTemporaryFile("w", suffix=".cm", delete=False) as f:
    ...     _ = f.write("Nodes 4\\nConnections 2\\nTriggers 1\\n"
    ...                 "0->1 id 1 start 2.7 size 1000 send_done_trigger 1\\n"
    ...                 "2->3 id 2 trigger 1 size 500\\n"
    ...                 "trigger id 1 oneshot\\n")
    >>> cm = read_cm(f.name); os.unlink(f.name)
    >>> [(fl["start_ps"], fl["start_trigger"]) for fl in cm.flows], cm.triggers[0]["kind"]
    ([(2000000, None), (None, 1)], 'oneshot')
    """
    path = Path(path)
    try:
        lines = path.read_text().splitlines()
    except OSError as exc:
        raise ScenarioError(f"connection matrix {str(path)!r}: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise ScenarioError(f"connection matrix {str(path)!r}: not a text file") from None
    cm = ConnectionMatrix(path=str(path))
    declared = {}
    header_done = False
    triggers: dict[int, dict] = {}
    for lineno, line in enumerate(lines, 1):
        where = f"{path}:{lineno}"
        tokens = line.split()
        if not tokens or tokens[0].startswith("#"):
            continue
        head = tokens[0]
        if head in _HEADER:
            if header_done:
                raise ScenarioError(f"{where}: header line {head!r} after the first flow/trigger line")
            declared[head] = _int(where, head, tokens[1] if len(tokens) > 1 else None, 0)
            continue
        if not header_done:
            header_done = True
            cm.nodes = declared.get("Nodes")
            if n_hosts is None:
                n_hosts = cm.nodes
        if "->" in head:
            cm.flows.append(_parse_flow(where, tokens, len(cm.flows), n_hosts))
            cm.flows[-1]["line"] = lineno
        elif head == "trigger":
            trig = _parse_trigger(where, tokens)
            if trig["id"] in triggers:
                raise ScenarioError(f"{where}: trigger {trig['id']} already defined at line "
                                    f"{triggers[trig['id']]['line']}")
            trig["line"] = lineno
            triggers[trig["id"]] = trig
            cm.triggers.append(trig)
        elif head == "failure":
            cm.failures.append({**_parse_failure(where, tokens), "line": lineno})
        else:
            raise ScenarioError(f"{where}: cannot parse {line.strip()!r}; expected SRC->DST ..., "
                                f"trigger ..., failure ... or a header line ({', '.join(_HEADER)})")
    if not header_done:
        cm.nodes = declared.get("Nodes")
    for head, items in (("Connections", cm.flows), ("Triggers", cm.triggers), ("Failures", cm.failures)):
        if head in declared and declared[head] != len(items):
            raise ScenarioError(f"{path}: mismatch in {head.lower()} count: header says "
                                f"{declared[head]}, the file has {len(items)}")
    seen = {}
    for f in cm.flows:
        if f["cm_id"] is not None:
            if f["cm_id"] in seen:
                raise ScenarioError(f"{path}:{f['line']}: flow id {f['cm_id']} already used at line "
                                    f"{seen[f['cm_id']]}")
            seen[f["cm_id"]] = f["line"]
        for key in ("start_trigger", "send_done_trigger", "recv_done_trigger"):
            k = f[key]
            if k is not None and k not in triggers:
                word = "trigger" if key == "start_trigger" else key
                raise ScenarioError(f"{path}:{f['line']}: {word} {k} is referenced but not specified "
                                    f"(no 'trigger id {k} ...' line)")
    if not cm.flows:
        raise ScenarioError(f"{path}: no flows (lines SRC->DST start T size B)")
    return cm
