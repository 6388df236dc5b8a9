"""evaluate.py with a config of kind fgd-openb on the shipped sample traces: the files it writes, resuming,
command-line overrides, errors (exit 2, "error:" naming the file or field) and parallel workers."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
import yaml

from podgym.agents.commands import evaluate

SAMPLE = Path(__file__).resolve().parent / "data" / "openb"
NODES = str(SAMPLE / "nodes.csv")
PODS = str(SAMPLE / "pods.csv")
MULTI = str(SAMPLE / "pods_multigpu.csv")
PNG = b"\x89PNG\r\n\x1a\n"


def write_config(tmp_path: Path, name: str = "fgd.yaml", **fields) -> str:
    cfg = {
        "kind": "fgd-openb",
        "nodes": NODES,
        "traces": [PODS],
        "policies": ["best-fit", "fgd"],
        "seeds": [1, 2],
        "tune": 1.3,
        "out": str(tmp_path / "from-config"),
    }
    cfg.update(fields)
    path = tmp_path / name
    path.write_text(yaml.safe_dump(cfg))
    return str(path)


def rows_without_seconds(out: Path) -> list[dict]:
    rows = json.loads((out / "results.json").read_text())
    for r in rows:
        r.pop("seconds")
    return rows


def table_rows(summary: str) -> list[list[str]]:
    """The data rows (first cell) of every table in summary.md, table by table."""
    tables, current = [], None
    for line in summary.splitlines():
        if line.startswith("| trace |"):
            current = []
            tables.append(current)
        elif line.startswith("|---"):
            continue
        elif line.startswith("|") and current is not None:
            current.append(line.strip("|").split("|")[0].strip())
        else:
            current = None
    return tables


def test_writes_cells_results_summary_and_figures(tmp_path, capsys):
    out = tmp_path / "out"
    assert evaluate.main(["--config", write_config(tmp_path), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    # Cell files are named trace__policy__seed__<key of the node list, trace and tune>.json.
    cells = sorted(p.name.rsplit("__", 1)[0] for p in (out / "cells").glob("*.json"))
    assert cells == ["pods__best-fit__1", "pods__best-fit__2", "pods__fgd__1", "pods__fgd__2"]
    assert not (tmp_path / "from-config").exists()  # --out wins over the config's out

    rows = json.loads((out / "results.json").read_text())
    assert len(rows) == 4
    assert sorted((r["trace"], r["policy"], r["seed"]) for r in rows) == [
        ("pods", "best-fit", 1),
        ("pods", "best-fit", 2),
        ("pods", "fgd", 1),
        ("pods", "fgd", 2),
    ]
    for r in rows:
        (path,) = (out / "cells").glob(f"{r['trace']}__{r['policy']}__{r['seed']}__*.json")
        cell = json.loads(path.read_text())
        assert cell == r
        assert 0 < r["placed"] <= r["pods"]

    table = list(csv.DictReader(io.StringIO((out / "results.csv").read_text())))
    assert len(table) == 4
    assert list(table[0]) == ["trace", "policy", "seed", "pods", "placed", "alloc_100", "alloc_130", "seconds"]
    assert {(t["policy"], int(t["seed"])) for t in table} == {(r["policy"], r["seed"]) for r in rows}

    summary = (out / "summary.md").read_text()
    # five tables (130 %, 100 %, the paired differences to fgd at both, seconds), each with one row per trace;
    # columns in the policies' order
    assert table_rows(summary) == [["pods"]] * 5
    assert "| trace | best-fit | fgd |" in summary
    assert "## Paired difference to fgd, 130% arrived" in summary
    assert printed.startswith(summary)

    for name in ("pods-allocation.png", "pods-frag-ratio.png", "pods-frag-amount.png"):
        assert (out / name).read_bytes()[:8] == PNG
    assert len(list(out.glob("*.png"))) == 3


def test_second_run_skips_done_cells(tmp_path, capsys):
    out = tmp_path / "out"
    cfg = write_config(tmp_path)
    assert evaluate.main(["--config", cfg, "--out", str(out)]) == 0
    first_out = capsys.readouterr().out
    cells = sorted((out / "cells").glob("*.json"))
    stamps = {p: p.stat().st_mtime_ns for p in cells}
    results = (out / "results.json").read_bytes()
    summary = (out / "summary.md").read_bytes()
    assert evaluate.main(["--config", cfg, "--out", str(out)]) == 0
    assert capsys.readouterr().out == first_out
    assert sorted((out / "cells").glob("*.json")) == cells
    assert {p: p.stat().st_mtime_ns for p in cells} == stamps  # not rerun, not rewritten
    assert (out / "results.json").read_bytes() == results
    assert (out / "summary.md").read_bytes() == summary

    # A resumed run with one more seed runs only the new cells and reports all of them.
    assert evaluate.main(["--config", cfg, "--out", str(out), "--seeds", "1", "2", "3"]) == 0
    assert {p: p.stat().st_mtime_ns for p in cells} == stamps
    assert len(json.loads((out / "results.json").read_text())) == 6


def test_command_line_overrides_the_config(tmp_path, capsys):
    # The config points at files that do not exist and a policy set that --policies replaces.
    cfg = write_config(tmp_path, nodes=str(tmp_path / "missing-nodes.csv"), traces=[str(tmp_path / "missing.csv")])
    out = tmp_path / "out"
    argv = ["--config", cfg, "--out", str(out), "--nodes", NODES, "--pods", PODS, MULTI]
    argv += ["--policies", "random", "--seeds", "7"]
    assert evaluate.main(argv) == 0
    capsys.readouterr()
    cells = sorted(p.name.rsplit("__", 1)[0] for p in (out / "cells").glob("*.json"))
    assert cells == ["pods__random__7", "pods_multigpu__random__7"]
    rows = json.loads((out / "results.json").read_text())
    assert sorted((r["trace"], r["policy"], r["seed"]) for r in rows) == [
        ("pods", "random", 7),
        ("pods_multigpu", "random", 7),
    ]
    summary = (out / "summary.md").read_text()
    assert table_rows(summary) == [["pods", "pods_multigpu"]] * 3
    assert "| trace | random |" in summary
    assert len(list(out.glob("*.png"))) == 6


def test_results_only_report_the_requested_cells(tmp_path, capsys):
    # Cells of an earlier, larger run stay on disk but the report covers only this run's grid.
    out = tmp_path / "out"
    cfg = write_config(tmp_path)
    assert evaluate.main(["--config", cfg, "--out", str(out)]) == 0
    assert evaluate.main(["--config", cfg, "--out", str(out), "--policies", "fgd", "--seeds", "2"]) == 0
    capsys.readouterr()
    rows = json.loads((out / "results.json").read_text())
    assert [(r["policy"], r["seed"]) for r in rows] == [("fgd", 2)]
    assert len(list((out / "cells").glob("*.json"))) == 4


def run_error(argv, capsys) -> str:
    assert evaluate.main(argv) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith("error:")  # the whole message (YAML errors span lines)
    return captured.err


def test_unknown_policy(tmp_path, capsys):
    err = run_error(["--config", write_config(tmp_path, policies=["fgd", "nope"]), "--out", str(tmp_path)], capsys)
    assert "policies" in err and "'nope'" in err
    err = run_error(["--config", write_config(tmp_path), "--policies", "bogus", "--out", str(tmp_path)], capsys)
    assert "policies" in err and "'bogus'" in err
    assert not (tmp_path / "cells").exists()


def test_missing_trace_file(tmp_path, capsys):
    missing = str(tmp_path / "no-such-trace.csv")
    err = run_error(["--config", write_config(tmp_path, traces=[missing]), "--out", str(tmp_path / "o")], capsys)
    assert missing in err
    err = run_error(["--config", write_config(tmp_path), "--nodes", missing, "--out", str(tmp_path / "o")], capsys)
    assert missing in err
    assert not (tmp_path / "o").exists()


def test_invalid_yaml(tmp_path, capsys):
    path = tmp_path / "broken.yaml"
    path.write_text("kind: fgd-openb\npolicies: [fgd\n")
    err = run_error(["--config", str(path)], capsys)
    assert str(path) in err and "YAML" in err


def test_missing_config_file(tmp_path, capsys):
    path = str(tmp_path / "absent.yaml")
    assert path in run_error(["--config", path], capsys)


@pytest.mark.parametrize(
    "fields, field",
    [
        ({"kind": "rl-benchmark"}, "kind"),
        ({"seeds": []}, "seeds"),
        ({"tune": 0}, "tune"),
        ({"extra": 1}, "extra"),
    ],
)
def test_invalid_config_fields(tmp_path, capsys, fields, field):
    path = write_config(tmp_path, **fields)
    err = run_error(["--config", path], capsys)
    assert path in err and field in err


def test_workers_give_the_same_results(tmp_path, capsys):
    cfg = write_config(tmp_path)
    assert evaluate.main(["--config", cfg, "--out", str(tmp_path / "serial")]) == 0
    assert evaluate.main(["--config", cfg, "--out", str(tmp_path / "pool"), "--workers", "2"]) == 0
    capsys.readouterr()
    assert rows_without_seconds(tmp_path / "pool") == rows_without_seconds(tmp_path / "serial")
    assert len(rows_without_seconds(tmp_path / "pool")) == 4


def test_another_node_list_is_not_served_from_old_cells(tmp_path):
    """Resuming into the same output with a different node list must compute new cells, not reuse old ones."""
    out = tmp_path / "out"
    config = write_config(tmp_path, policies=["random"], seeds=[1])
    assert evaluate.main(["--config", str(config), "--out", str(out)]) == 0
    first = json.loads((out / "results.json").read_text())
    small = tmp_path / "three-nodes.csv"
    lines = Path(NODES).read_text().splitlines()
    small.write_text("\n".join(lines[:4]) + "\n")
    assert evaluate.main(["--config", str(config), "--out", str(out), "--nodes", str(small)]) == 0
    second = json.loads((out / "results.json").read_text())
    assert len(list((out / "cells").glob("*.json"))) == 2
    assert second[0]["placed"] <= first[0]["placed"]
    assert second != first


def test_the_tie_rule_is_another_cell_and_recorded(tmp_path, capsys):
    """--tie-break random runs new cells beside the experiment's rank ones and says so in every result row; it
    applies to the FGD experiment only."""
    out = tmp_path / "out"
    config = write_config(tmp_path, policies=["fgd"], seeds=[1])
    assert evaluate.main(["--config", config, "--out", str(out)]) == 0
    assert evaluate.main(["--config", config, "--out", str(out), "--tie-break", "random"]) == 0
    capsys.readouterr()
    assert len(list((out / "cells").glob("*.json"))) == 2
    assert [r["tie_break"] for r in json.loads((out / "results.json").read_text())] == ["random"]
    err = run_error(["--policies", "fgd", "--scenarios", "default", "--tie-break", "random"], capsys)
    assert "--tie-break" in err and "fgd-openb" in err


def test_two_policies_reported_under_one_name_are_refused(tmp_path, capsys):
    """Two ONNX files both named policy.onnx would be merged into one row: refused before any work, naming both."""
    a, b = tmp_path / "a" / "policy.onnx", tmp_path / "b" / "policy.onnx"
    for path in (a, b):
        path.parent.mkdir()
        path.write_bytes(b"onnx")
    err = run_error(["--config", write_config(tmp_path), "--policies", str(a), str(b), "--out", str(tmp_path)], capsys)
    assert str(a) in err and str(b) in err and "policies[1]" in err
    assert not (tmp_path / "cells").exists()


def _exported(directory: Path, typical) -> str:
    """The same small scoring network (fixed torch seed) exported with `typical` in its policy.json, and saved as
    the torch model file of a run (model.zip, the weights where SB3 keeps them)."""
    import io
    import zipfile

    import torch as th

    from podgym.agents.commands.export import write_policy
    from podgym.agents.network import NodeScoringNet

    th.manual_seed(5)
    net = NodeScoringNet(16).eval()
    path, _ = write_policy(net, directory, typical=typical)
    weights = io.BytesIO()
    th.save({f"mlp_extractor.net.{k}": v for k, v in net.state_dict().items()}, weights)
    with zipfile.ZipFile(directory / "model.zip", "w") as archive:
        archive.writestr("policy.pth", weights.getvalue())
    return str(path)


def test_a_learned_policy_reads_fgd_score_against_the_traces_typical_pods_as_fgd(tmp_path):
    """In the experiment an exported policy measures fgd_score against the trace's typical pods, the ones FGD's
    score uses ("experiment"), whatever its policy.json carries: the run equals that of the same network
    exported with the trace's typical pods and run as the extender serves it ("export")."""
    from podgym.agents.fgd_experiment import run_one
    from podgym.envs.fragmentation import typical_pods
    from podgym.envs.workload.openb import read_openb_pods
    from tests.plugin import typical

    own = typical_pods(read_openb_pods(MULTI, times=False))
    assert own.to_json() != typical().to_json()  # the premise: the two sets differ
    carried = _exported(tmp_path / "carried", typical())
    traces = _exported(tmp_path / "traces", own)
    experiment = run_one(NODES, MULTI, carried, seed=3, policy_typical_pods="experiment").as_dict()
    served = run_one(NODES, MULTI, traces, seed=3, policy_typical_pods="export").as_dict()
    for row in (experiment, served):
        row.pop("seconds")
    assert experiment.pop("policy_typical_pods") == "experiment"
    assert served.pop("policy_typical_pods") == "export"
    assert experiment == served
    with pytest.raises(ValueError, match=r"only an exported \.onnx policy"):
        run_one(NODES, MULTI, str(tmp_path / "carried" / "model.zip"), seed=3, policy_typical_pods="export")


def test_the_policys_typical_pods_are_another_cell_and_recorded(tmp_path, capsys):
    """--policy-typical-pods export runs new cells for learned policies only (FGD's cells are shared) and says so
    in their rows; it needs .onnx policies and applies to the FGD experiment only."""
    from tests.plugin import typical

    model = _exported(tmp_path / "model", typical())
    out = tmp_path / "out"
    config = write_config(tmp_path, policies=[model, "fgd"], seeds=[1])
    assert evaluate.main(["--config", config, "--out", str(out)]) == 0
    assert evaluate.main(["--config", config, "--out", str(out), "--policy-typical-pods", "export"]) == 0
    capsys.readouterr()
    assert len(list((out / "cells").glob("*.json"))) == 3  # FGD's one cell serves both runs
    rows = json.loads((out / "results.json").read_text())
    assert {r["policy"]: r["policy_typical_pods"] for r in rows} == {"policy.onnx": "export", "fgd": "experiment"}
    err = run_error(["--policies", "fgd", "--scenarios", "default", "--policy-typical-pods", "export"], capsys)
    assert "--policy-typical-pods" in err and "fgd-openb" in err
    run = str(tmp_path / "model" / "model.zip")
    err = run_error(["--config", config, "--policies", run, "--policy-typical-pods", "export"], capsys)
    assert run in err and ".onnx" in err
