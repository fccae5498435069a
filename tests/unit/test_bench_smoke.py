"""The benchmark's machinery in its tiny mode: it runs end to end and prints its table and ratio line.

No timing is asserted: figures from a shared test machine say nothing; the
point is that `make bench` cannot rot unnoticed.
"""

from __future__ import annotations

import re

import pytest

from bench.__main__ import main


@pytest.mark.timeout(180)
def test_tiny_benchmark_prints_the_comparison_table_and_the_ratio_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--tiny"]) == 0

    out = capsys.readouterr().out
    assert re.search(r"^server\s+conc\s+req/s\s+p50 ms\s+p99 ms\s+RSS MiB", out, re.MULTILINE)
    for concurrency in (1, 8, 64):
        assert re.search(rf"^baseline\s+{concurrency}\s+\d+", out, re.MULTILINE)
        assert re.search(rf"^delos\s+{concurrency}\s+\d+", out, re.MULTILINE)
    assert re.search(r"^query_vs_baseline_throughput_ratio=\d+\.\d+$", out, re.MULTILINE)
    assert re.search(r"^asklambo_handler_us_per_call=\d+\.\d+$", out, re.MULTILINE)
    assert re.search(r"^PASS 0 statements on the serving thread", out, re.MULTILINE)
    for heading in ("Cold start", "Memory", "Ingest"):
        assert f"== {heading}" in out
