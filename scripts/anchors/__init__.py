"""Anchors for kiln's benchmarks: PyTorch and numpy measuring the same work on the same host.
Each script prints one JSON object on stdout (progress on stderr); bench/anchors.ts runs them."""
