"""torch's matmul on a CUDA card, fp32 with TF32 off and fp16, on kiln's matmul shapes and
layouts, in GFLOP/s: the anchor for bench:kernels' matmul rows on a real GPU.

    python3 scripts/anchors/torch_matmul.py --shapes 512x1024x4096 --layouts nn,nt --dtypes float32,float16

Layouts as kiln names them ('nt': B stored [N, K]; 'tn': A stored [K, M]); the transposes are
views, as cuBLAS takes them. Exits with status 3 and a message when torch sees no CUDA device.
"""
import argparse
import sys

import torch

from common import emit, log, median, parse_shapes, versions


def time_one(M: int, K: int, N: int, layout: str, dtype: torch.dtype, budget_flops: float) -> dict:
    g = torch.Generator(device="cuda").manual_seed(0)
    a = torch.randn((K, M) if layout[0] == "t" else (M, K), generator=g, device="cuda", dtype=dtype)
    b = torch.randn((N, K) if layout[1] == "t" else (K, N), generator=g, device="cuda", dtype=dtype)
    a_op = a.t() if layout[0] == "t" else a
    b_op = b.t() if layout[1] == "t" else b
    c = torch.empty((M, N), device="cuda", dtype=dtype)
    torch.matmul(a_op, b_op, out=c)
    torch.cuda.synchronize()
    flops = 2.0 * M * N * K
    iters = max(3, int(budget_flops / flops))
    times = []
    for _ in range(5):
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        for _ in range(iters):
            torch.matmul(a_op, b_op, out=c)
        end.record()
        end.synchronize()
        times.append(start.elapsed_time(end) / iters)
    ms = median(times)
    return {"shape": f"M={M} K={K} N={N}", "layout": layout, "dtype": str(dtype).replace("torch.", ""), "ms": ms, "gflops": flops / ms / 1e6}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--shapes", required=True, help="MxKxN,... as in kiln's bench")
    p.add_argument("--layouts", default="nn,nt,tn")
    p.add_argument("--dtypes", default="float32,float16")
    p.add_argument("--flops-per-rep", type=float, default=2e11)
    args = p.parse_args()
    if not torch.cuda.is_available():
        print("torch_matmul: torch sees no CUDA device", file=sys.stderr)
        sys.exit(3)
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    rows = []
    for M, K, N in parse_shapes(args.shapes):
        for layout in args.layouts.split(","):
            for name in args.dtypes.split(","):
                row = time_one(M, K, N, layout, getattr(torch, name), args.flops_per_rep)
                log(f"  torch {row['dtype']} {row['shape']} {layout}: {row['gflops']:.0f} GFLOP/s")
                rows.append(row)
    emit({"anchor": "torch matmul (CUDA, TF32 off)", "versions": versions(torch), "device": torch.cuda.get_device_name(), "rows": rows})


if __name__ == "__main__":
    main()
