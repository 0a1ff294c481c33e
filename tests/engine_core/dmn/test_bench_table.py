"""The benchmark's table gives the same answer in Flowgate's and SpiffWorkflow's DMN engines (the
timing itself is `make bench`'s job: docs/benchmarks/dmn.md)."""

from __future__ import annotations

from tests.benchmarks import dmn_bench


def test_both_engines_agree_on_the_benchmark_table():
    results = dmn_bench.measure(rounds=3)  # asserts both results inside
    assert set(results) == {"Flowgate", "SpiffWorkflow"}
