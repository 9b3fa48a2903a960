"""Benchmarks (issue 7): `python -m bench.run [--quick]` writes bench/results/latest.*."""
