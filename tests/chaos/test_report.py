"""The results table of docs/reliability.md is computed from the runs, exactly."""

from __future__ import annotations

import json

from tests.chaos.report import render


def test_the_table_sums_runs_and_takes_median_and_max_recovery(tmp_path):
    runs = [
        {
            "scenario": "worker_kill",
            "run": 0,
            "instances": 6,
            "violations": 0,
            "recovery_seconds": 10.0,
            "details": [],
            "restarts": [],
        },
        {
            "scenario": "worker_kill",
            "run": 1,
            "instances": 6,
            "violations": 0,
            "recovery_seconds": 14.0,
            "details": [],
            "restarts": [],
        },
        {
            "scenario": "worker_kill",
            "run": 2,
            "instances": 6,
            "violations": 1,
            "recovery_seconds": 31.0,
            "details": ["[job_stuck] job 9 ..."],
            "restarts": ["worker exited by itself (code 1); restarted"],
        },
    ]
    source = tmp_path / "results.json"
    source.write_text(
        json.dumps(
            {
                "generated_at": "2026-12-03T08:00:00+00:00",
                "machine": {"cpus": 2, "python": "3.11.7", "platform": "Linux"},
                "runs": runs,
            }
        )
    )
    text = render(source, tmp_path / "reliability.md")
    lines = text.splitlines()
    assert "| `worker_kill` | 3 | 18 | 1 | 14.0 | 31.0 | **no** | 1 |" in lines
    assert "| `redis_outage` | 0 | - | - | - | - | not run | - |" in lines
    assert "| **total** | 3 | 18 | 1 | | | | |" in lines
    assert "## Results: bounded form (5 runs per scenario, as in CI)" in lines
    assert "- `worker_kill` run 2: [job_stuck] job 9 ..." in lines
    assert "- `worker_kill` run 2: worker exited by itself (code 1); restarted" in lines
    assert (tmp_path / "reliability.md").read_text() == text


def test_the_full_forms_section_is_kept_when_its_results_are_not_here(tmp_path):
    source = tmp_path / "results.json"
    source.write_text(
        json.dumps(
            {
                "generated_at": "2026-12-07T21:00:00+00:00",
                "machine": {"cpus": 2, "python": "3.11.7", "platform": "Linux"},
                "runs": [],
            }
        )
    )
    target = tmp_path / "reliability.md"
    full = "## Results: `make chaos FULL=1` (20 runs per scenario)\n\n| `worker_kill` | 20 |\n"
    target.write_text(f"# old page\n\n{full}\n## Found from outside (issue 19): old text\n")
    text = render(source, target, full_path=tmp_path / "results-full.json")
    assert f"{full}\n## Found from outside (issue 19)" in text
    assert text.count("## Results: `make chaos FULL=1`") == 1
    assert "# old page" not in text
    again = render(source, target, full_path=tmp_path / "results-full.json")
    assert again == text
