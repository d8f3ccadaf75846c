#!/usr/bin/env python3
"""Regenerate the golden Llama-family fixtures under test/fixtures/golden-llama/.

    python3 -m pip install torch transformers safetensors
    python3 scripts/make-llama-golden-fixtures.py

Unlike scripts/make-golden-fixtures.py (OPT, a self-contained re-implementation), this script runs
Hugging Face's own modeling code: transformers' LlamaForCausalLM, Qwen2ForCausalLM and
Qwen3ForCausalLM converted to float64 (sdpa attention; see build()). Three tiny configurations,
each chosen to exercise what its family adds:

  llama-gqa-tied   grouped-query attention (4 heads, 2 KV heads), tied embeddings, rope_scaling
                   of type llama3 (original context 8, so both the slowed and the smoothly
                   interpolated frequency bands occur at the fixture's positions)
  qwen2-bias-pad   q/k/v biases, an untied LM head, left padding with pad_token_id 1 (nn.Embedding's
                   padding_idx), a sharded copy of the weights (model.safetensors.index.json)
  qwen3-qknorm     QK-norm, head_dim 6 != hidden 16 / 4 heads, GQA, left padding, a bf16 copy

Every file under test/fixtures/golden-llama/ is rewritten on each run. The README there says what
each file holds; keep it in sync with this script.
"""

from __future__ import annotations

import json
import os
import shutil

import torch
import torch.nn.functional as F
from safetensors.torch import save_file
from transformers import (
    LlamaConfig,
    LlamaForCausalLM,
    Qwen2Config,
    Qwen2ForCausalLM,
    Qwen3Config,
    Qwen3ForCausalLM,
)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT_DIR = os.path.join(ROOT, "test", "fixtures", "golden-llama")
GEN_NEW_TOKENS = 6

torch.set_num_threads(1)
torch.use_deterministic_algorithms(True)

COMMON = dict(vocab_size=80, hidden_size=16, intermediate_size=24, num_hidden_layers=2, num_attention_heads=4,
              max_position_embeddings=64, rms_norm_eps=1e-6, bos_token_id=2, eos_token_id=3)

CASES = {
    "llama-gqa-tied": dict(
        cls=(LlamaConfig, LlamaForCausalLM), seed=17, padded=False,
        config=dict(COMMON, num_key_value_heads=2, tie_word_embeddings=True,
                    rope_parameters=dict(rope_type="llama3", rope_theta=10000.0, factor=4.0, low_freq_factor=1.0,
                                         high_freq_factor=4.0, original_max_position_embeddings=8)),
    ),
    "qwen2-bias-pad": dict(
        cls=(Qwen2Config, Qwen2ForCausalLM), seed=25, padded=True,
        config=dict(COMMON, num_key_value_heads=4, tie_word_embeddings=False, pad_token_id=1,
                    rope_parameters=dict(rope_type="default", rope_theta=1000000.0)),
    ),
    "qwen3-qknorm": dict(
        cls=(Qwen3Config, Qwen3ForCausalLM), seed=36, padded=True,
        config=dict(COMMON, num_key_value_heads=2, head_dim=6, tie_word_embeddings=True, pad_token_id=1,
                    rope_parameters=dict(rope_type="default", rope_theta=1000000.0)),
    ),
}


def perturb(model, seed):
    """Weights with O(1) effects: HF's std-0.02 init makes the network nearly linear and constant."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("norm.weight"):
                p.copy_(1 + 0.2 * torch.randn(p.shape, generator=g))
            elif name.endswith(".bias"):
                p.copy_(0.1 * torch.randn(p.shape, generator=g))
            elif "embed_tokens" in name or name == "lm_head.weight":
                p.copy_(0.3 * torch.randn(p.shape, generator=g))
            else:
                p.copy_(torch.randn(p.shape, generator=g) / p.shape[1] ** 0.5)
        if model.config.pad_token_id is not None:
            # nn.Embedding(padding_idx) rows are zero at init; keep that property.
            model.model.embed_tokens.weight[model.config.pad_token_id].zero_()


def make_inputs(case, V, g):
    B, T = (3, 10) if case["padded"] else (2, 9)
    ids = torch.randint(4, V, (B, T), generator=g)
    ids[:, 0] = 2
    mask = torch.ones(B, T, dtype=torch.long)
    if case["padded"]:
        for b, pads in ((1, 3), (2, 6)):
            ids[b, :pads] = 1
            ids[b, pads] = 2
            mask[b, :pads] = 0
    labels = ids.clone()
    labels[mask == 0] = -100
    for b in range(B):
        labels[b, int((mask[b] == 0).sum())] = -100  # the first real token predicts from a pad row
    labels[0, 4] = -100
    return ids, mask, labels


def causal_lm_loss(logits, labels):
    V = logits.shape[-1]
    return F.cross_entropy(logits[:, :-1].reshape(-1, V), labels[:, 1:].reshape(-1), ignore_index=-100)


def generation(model, ids, mask, pad_id):
    out = {}
    for use_cache in (True, False):
        r = model.generate(input_ids=ids, attention_mask=mask, max_new_tokens=GEN_NEW_TOKENS, do_sample=False,
                           use_cache=use_cache, pad_token_id=pad_id, return_dict_in_generate=True, output_logits=True)
        out[use_cache] = r
    new_c = out[True].sequences[:, ids.shape[1]:]
    new_n = out[False].sequences[:, ids.shape[1]:]
    assert torch.equal(new_c, new_n), "HF's cached and uncached generations differ"
    logits = torch.stack(out[True].logits, 0)
    top2 = torch.topk(logits, 2, dim=-1).values
    margin = (top2[..., 0] - top2[..., 1]).min().item()
    eos = model.config.eos_token_id
    rows = []
    for row in new_c.tolist():
        # HF pads a row after its EOS; kiln's generate returns the tokens up to and including EOS.
        rows.append(row[: row.index(eos) + 1] if eos in row else row)
    return rows, logits, margin


def build(name, case):
    out = os.path.join(OUT_DIR, name)
    ConfigCls, ModelCls = case["cls"]
    config = ConfigCls(**case["config"])
    torch.manual_seed(case["seed"])
    model = ModelCls(config).eval()
    perturb(model, case["seed"])
    model.save_pretrained(out, safe_serialization=True)
    V = config.vocab_size
    g = torch.Generator().manual_seed(case["seed"] + 1)
    ids, mask, labels = make_inputs(case, V, g)

    # sdpa, not eager: eager's softmax runs in float32, where a float64 model's mask value
    # (finfo(float64).min) becomes -inf and fully masked pad rows turn into NaN that reaches every
    # gradient. sdpa in float64 gives pad rows zeros and real rows the same values.
    m64 = ModelCls.from_pretrained(out, attn_implementation="sdpa").double().eval()
    logits = m64(input_ids=ids, attention_mask=mask).logits
    loss = causal_lm_loss(logits, labels)
    loss.backward()
    expected = {"logits": logits.detach().float(), "loss": loss.detach().reshape(1).float()}
    for n, p in m64.named_parameters():
        expected[f"grad.{n}"] = p.grad.detach().float()

    m32 = ModelCls.from_pretrained(out, attn_implementation="eager").eval()
    with torch.no_grad():
        l32 = m32(input_ids=ids, attention_mask=mask).logits.double()
    assert not logits.isnan().any() and not any(p.grad.isnan().any() for p in m64.parameters())
    real = mask.bool()
    f32_err = ((l32 - logits.detach())[real].abs().max() / logits.detach()[real].abs().max()).item()

    # Left-padded prompts of 6, 4 (and 2) real tokens: each row's first real tokens.
    pad_id = config.pad_token_id if config.pad_token_id is not None else config.eos_token_id
    lengths = (6, 4, 2)[: ids.shape[0]]
    prompt_ids = torch.full((ids.shape[0], 6), pad_id, dtype=torch.long)
    prompt_mask = torch.zeros((ids.shape[0], 6), dtype=torch.long)
    for b, n in enumerate(lengths):
        first = int((mask[b] == 0).sum())
        prompt_ids[b, 6 - n:] = ids[b, first:first + n]
        prompt_mask[b, 6 - n:] = 1
    with torch.no_grad():
        new_tokens, step_logits, margin = generation(m64, prompt_ids, prompt_mask, pad_id)
    expected["generate.step_logits"] = step_logits.float()
    prompts = [[t for t, m in zip(r, mr) if m] for r, mr in zip(prompt_ids.tolist(), prompt_mask.tolist())]

    extra = {}
    if name == "qwen2-bias-pad":
        m32.save_pretrained(os.path.join(out, "sharded"), safe_serialization=True, max_shard_size="12KB")
    if name == "qwen3-qknorm":
        bdir = os.path.join(out, "bf16")
        ModelCls.from_pretrained(out, dtype=torch.bfloat16).save_pretrained(bdir, safe_serialization=True)
        mb = ModelCls.from_pretrained(bdir, attn_implementation="sdpa").double().eval()
        with torch.no_grad():
            expected["bf16.logits"] = mb(input_ids=ids, attention_mask=mask).logits.float()
    for d in (out, os.path.join(out, "sharded"), os.path.join(out, "bf16")):
        if os.path.exists(os.path.join(d, "generation_config.json")):
            os.remove(os.path.join(d, "generation_config.json"))

    save_file(expected, os.path.join(out, "expected.safetensors"))
    with open(os.path.join(out, "inputs.json"), "w") as f:
        json.dump({"input_ids": ids.tolist(), "attention_mask": mask.tolist(), "labels": labels.tolist()}, f)
    with open(os.path.join(out, "generate.json"), "w") as f:
        json.dump({"max_new_tokens": GEN_NEW_TOKENS, "prompts": prompts, "new_tokens": new_tokens}, f)
    stats = dict(name=name, loss=loss.item(), max_logit=logits.abs().max().item(), f32_vs_f64=f32_err,
                 min_margin=margin, new_tokens=new_tokens, **extra)
    print(json.dumps(stats))
    return stats


def main():
    shutil.rmtree(OUT_DIR, ignore_errors=True)
    os.makedirs(OUT_DIR)
    stats = [build(n, c) for n, c in CASES.items()]
    with open(os.path.join(OUT_DIR, "stats.json"), "w") as f:
        json.dump(stats, f, indent=1)


if __name__ == "__main__":
    main()
