"""numpy's float32 matmul (its BLAS's sgemm) on kiln's matmul shapes and layouts, in GFLOP/s.

    python3 scripts/anchors/numpy_sgemm.py --shapes 512x1024x4096 --layouts nn,nt [--threads 2]

Layouts as kiln names them: 'nt' multiplies A by Bᵀ with B stored [N, K], 'tn' multiplies Aᵀ
(stored [K, M]) by B; numpy passes the transposes to sgemm as flags, without copying. The BLAS
kernel actually chosen (threadpoolctl's 'architecture', e.g. SkylakeX or Haswell) is reported,
since OPENBLAS_CORETYPE in the environment can force a slower one.
"""
import argparse
import os
import time

import numpy as np

from common import emit, log, median, parse_shapes, versions


def blas_info(threads: int):
    """threadpoolctl's description of the BLAS numpy uses, and a limiter to `threads` (or None)."""
    try:
        import threadpoolctl
    except ImportError:
        return {"threadpoolctl": "not importable", "blas": openblas_core_by_ctypes()}, None
    limiter = threadpoolctl.threadpool_limits(limits=threads, user_api="blas")
    pools = [p for p in threadpoolctl.threadpool_info() if p.get("user_api") == "blas"]
    info = [{k: p.get(k) for k in ("internal_api", "version", "architecture", "num_threads", "filepath")} for p in pools]
    return {"threadpoolctl": threadpoolctl.__version__, "blas": info}, limiter


def openblas_core_by_ctypes() -> list:
    """Without threadpoolctl: ask the OpenBLAS that numpy loaded for its core name directly."""
    import ctypes

    try:
        with open("/proc/self/maps", encoding="utf-8") as f:
            paths = sorted({line.split()[-1] for line in f if "openblas" in line.lower() and line.rstrip().endswith(".so")})
    except OSError:
        return []
    info = []
    for path in paths:
        lib = ctypes.CDLL(path)
        for symbol in ("scipy_openblas_get_corename64_", "scipy_openblas_get_corename", "openblas_get_corename"):
            if hasattr(lib, symbol):
                fn = getattr(lib, symbol)
                fn.restype = ctypes.c_char_p
                info.append({"internal_api": "openblas", "architecture": fn().decode(), "filepath": path})
                break
    return info


def time_one(M: int, K: int, N: int, layout: str, budget_flops: float, threads: int) -> dict:
    rng = np.random.default_rng(0)
    a = rng.standard_normal((K, M) if layout[0] == "t" else (M, K), dtype=np.float32)
    b = rng.standard_normal((N, K) if layout[1] == "t" else (K, N), dtype=np.float32)
    a_op = a.T if layout[0] == "t" else a
    b_op = b.T if layout[1] == "t" else b
    c = np.empty((M, N), dtype=np.float32)
    np.matmul(a_op, b_op, out=c)  # warm-up: threads started, pages touched
    flops = 2.0 * M * N * K
    iters = max(1, int(budget_flops / flops))
    times = []
    cpu = float("inf")
    for _ in range(3):
        c0 = time.process_time()
        t0 = time.perf_counter()
        for _ in range(iters):
            np.matmul(a_op, b_op, out=c)
        times.append((time.perf_counter() - t0) / iters)
        cpu = min(cpu, (time.process_time() - c0) / iters)
    ms = median(times) * 1e3
    # As kiln's bench estimates lavapipe's speed on an idle machine: work per CPU-second of this
    # process times the cores its threads may use, unaffected by other jobs sharing the cores.
    cpu_gflops = flops / cpu / 1e9 * threads if cpu > 0 else None
    return {"shape": f"M={M} K={K} N={N}", "layout": layout, "ms": ms, "gflops": flops / ms / 1e6, "cpu_gflops": cpu_gflops}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--shapes", required=True, help="MxKxN,... as in kiln's bench")
    p.add_argument("--layouts", default="nn,nt", help="comma-separated: nn, nt, tn")
    p.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    p.add_argument("--flops-per-rep", type=float, default=6e9)
    args = p.parse_args()
    layouts = args.layouts.split(",")
    for layout in layouts:
        if layout not in ("nn", "nt", "tn"):
            raise SystemExit(f"--layouts: '{layout}' is not nn, nt or tn")
    info, _limiter = blas_info(args.threads)
    rows = []
    for M, K, N in parse_shapes(args.shapes):
        for layout in layouts:
            row = time_one(M, K, N, layout, args.flops_per_rep, args.threads)
            log(f"  numpy sgemm {row['shape']} {layout}: {row['gflops']:.1f} GFLOP/s (cpu-est {row['cpu_gflops'] or 0:.1f})")
            rows.append(row)
    env = {k: os.environ.get(k) for k in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "OPENBLAS_NUM_THREADS")}
    emit({"anchor": "numpy sgemm", "versions": versions(np), "threads": args.threads, "env": env, **info, "rows": rows})


if __name__ == "__main__":
    main()
