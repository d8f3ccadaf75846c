"""PyTorch's anchor for bench:train and bench:model: transformers' OPTForCausalLM with random
weights, the same config, shapes and steps as kiln's benchmark, timed the same way.

    python3 scripts/anchors/torch_opt.py train --config '{...}' --batch 1 --seq 256,512 --steps 3
    python3 scripts/anchors/torch_opt.py model --config '{...}' --prefill 512 --decode-prompt 128 --decode-steps 32

--config is the Hugging Face config.json the kiln benchmark built its model from. A training step
is what kiln's is: zero grads, forward with labels (dropout on), loss, backward, global-norm
clipping to 1.0, AdamW (lr 5e-5, no weight decay), the loss read back; one untimed warm-up
step first. On CUDA, fp32 matmuls run in true fp32 (TF32 off), eager (no torch.compile).
"""
import argparse
import json
import resource
import time

import torch
import transformers
from transformers import OPTConfig, OPTForCausalLM

from common import emit, log, versions


def setup(args) -> tuple:
    torch.set_num_threads(args.threads)
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    device = torch.device(args.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise SystemExit("torch_opt: --device cuda but torch sees no CUDA device")
    torch.manual_seed(0)
    config = OPTConfig(**json.loads(args.config))
    model = OPTForCausalLM(config).to(device)
    return model, device


def sync(device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def token_ids(B: int, T: int, vocab: int, device) -> torch.Tensor:
    g = torch.Generator().manual_seed(12345)
    return torch.randint(4, vocab, (B, T), generator=g).to(device)


def run_facts(model, device) -> dict:
    """Peak memory, and the attention path transformers chose (sdpa where torch offers it)."""
    facts = {"attention": model.config._attn_implementation, "rss_peak_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024}
    if device.type == "cuda":
        facts["cuda_peak_bytes"] = torch.cuda.max_memory_allocated(device)
    return facts


def train(args) -> dict:
    model, device = setup(args)
    model.train()
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=5e-5, weight_decay=0.0)
    rows = []
    for T in (int(t) for t in args.seq.split(",")):
        ids = token_ids(args.batch, T, model.config.vocab_size, device)
        times = []
        for s in range(args.steps + 1):
            sync(device)
            t0 = time.perf_counter()
            optimizer.zero_grad(set_to_none=False)
            loss = model(input_ids=ids, labels=ids).loss
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            optimizer.step()
            value = loss.item()
            seconds = time.perf_counter() - t0
            log(f"  torch T={T} step {s}{' (warm-up)' if s == 0 else ''}: {seconds:.2f} s, loss {value:.4f}")
            if s > 0:
                times.append(seconds)
        mean = sum(times) / len(times)
        rows.append({"B": args.batch, "T": T, "step_seconds": times, "tokens_per_second": args.batch * T / mean, "loss": value})
    return {"rows": rows, **run_facts(model, device)}


def last_token(logits: torch.Tensor) -> int:
    """The greedy choice, on the host, as kiln's bench reads its logits back and argmaxes them."""
    return int(logits[0, -1].float().cpu().argmax())


@torch.no_grad()
def model_bench(args) -> dict:
    model, device = setup(args)
    model.eval()
    V = model.config.vocab_size
    model(input_ids=token_ids(1, 16, V, device), use_cache=True)  # warm-up
    ids = token_ids(1, args.prefill, V, device)
    sync(device)
    t0 = time.perf_counter()
    last_token(model(input_ids=ids, use_cache=True).logits)
    prefill_seconds = time.perf_counter() - t0
    out = model(input_ids=token_ids(1, args.decode_prompt, V, device), use_cache=True)
    token, past = last_token(out.logits), out.past_key_values
    sync(device)
    t0 = time.perf_counter()
    for _ in range(args.decode_steps):
        out = model(input_ids=torch.tensor([[token]], device=device), past_key_values=past, use_cache=True)
        token, past = last_token(out.logits), out.past_key_values
    decode_seconds = time.perf_counter() - t0
    return {
        "prefill": {"tokens": args.prefill, "seconds": prefill_seconds, "tokens_per_second": args.prefill / prefill_seconds},
        "decode": {"prompt_tokens": args.decode_prompt, "steps": args.decode_steps, "seconds": decode_seconds, "tokens_per_second": args.decode_steps / decode_seconds},
        **run_facts(model, device),
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("mode", choices=["train", "model"])
    p.add_argument("--config", required=True, help="the model's config.json as a JSON string")
    p.add_argument("--device", default="cpu")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--batch", type=int, default=1)
    p.add_argument("--seq", default="256,512")
    p.add_argument("--steps", type=int, default=3)
    p.add_argument("--prefill", type=int, default=512)
    p.add_argument("--decode-prompt", type=int, default=128)
    p.add_argument("--decode-steps", type=int, default=32)
    args = p.parse_args()
    result = train(args) if args.mode == "train" else model_bench(args)
    device = torch.device(args.device)
    adapter = torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu"
    emit({
        "anchor": f"PyTorch {args.mode}",
        "versions": versions(torch, transformers),
        "device": adapter,
        "threads": torch.get_num_threads(),
        "dtype": "float32",
        **result,
    })


if __name__ == "__main__":
    main()
