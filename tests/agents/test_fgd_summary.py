"""The FGD experiment's summary: paired differences to FGD per trace (issue: mean, std and the paired-bootstrap
difference to FGD with its interval, per trace)."""

from __future__ import annotations

from podgym.agents.fgd_report import paired_markdown, summary_markdown


def row(trace: str, policy: str, seed: int, a130: float | None, a100: float | None = 90.0) -> dict:
    return {"trace": trace, "policy": policy, "seed": seed, "alloc_130": a130, "alloc_100": a100, "seconds": 1.0}


def test_paired_differences_to_fgd_per_trace():
    rows = []
    for seed, fgd in zip(range(42, 48), (95.1, 95.4, 95.3, 95.6, 95.2, 95.5)):
        rows += [row("default", "fgd", seed, fgd), row("default", "better", seed, fgd + 0.5)]
        rows += [row("default", "mixed", seed, fgd + (0.3 if seed % 2 else -0.3))]
    rows += [row("cpu050", "fgd", 42, 94.0), row("cpu050", "better", 43, 95.0)]  # no shared seed
    text = "\n".join(paired_markdown(rows, ["better", "mixed", "fgd"]))
    default = next(line for line in text.splitlines() if line.startswith("| default"))
    better, mixed = default.split("|")[2:4]
    assert better.strip() == "+0.50 [+0.50, +0.50] * (n=6)"
    assert mixed.strip().startswith("+0.00 [") and "*" not in mixed
    assert "| cpu050 | — |" in text
    assert "## Paired difference to fgd, 100% arrived" in text
    assert "Paired difference" in summary_markdown(rows, ["better", "mixed", "fgd"])


def test_no_paired_section_without_fgd_or_without_another_policy():
    rows = [row("default", "best-fit", 42, 93.0), row("default", "fgd", 42, 95.0)]
    assert paired_markdown(rows, ["best-fit"]) == []
    assert paired_markdown(rows, ["fgd"]) == []
