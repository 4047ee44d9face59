"""assetmap benchmarks: `python -m benchmarks quick|all` (or `make bench-quick` / `make bench`)."""
