"""Delos benchmarks: `make bench` (`python -m bench`) prints the figures the targets are judged by."""
