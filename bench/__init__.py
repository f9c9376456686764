"""Benchmark of the payments service (run with `bench/run.sh` or `python -m bench`)."""
