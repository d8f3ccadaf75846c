#!/usr/bin/env python3
"""Regenerate the golden OPT fixtures under test/fixtures/golden/.

Run with Debian's PyTorch (not the pyenv python first on PATH):

    apt-get install -y python3-torch
    /usr/bin/python3 scripts/make-golden-fixtures.py

The script is self-contained: it holds its own plain-PyTorch implementation of
Hugging Face's `OPTForCausalLM` (eager attention path), written from a reading of
`modeling_opt.py` / `configuration_opt.py`; it does not import `transformers` or
`safetensors`. Everything is seeded, runs single-threaded, and every file under
test/fixtures/golden/ is rewritten on each run (the directory is wiped first).
test/fixtures/golden/README.md documents the layout; keep it in sync with this
script (the README is generated from a template at the bottom of this file,
with the numbers measured during the run filled in).
"""

from __future__ import annotations

import collections
import io
import json
import math
import os
import shutil
import struct
import sys

import torch
import torch.nn.functional as F

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT_DIR = os.path.join(ROOT, "test", "fixtures", "golden")

torch.set_num_threads(1)
torch.use_deterministic_algorithms(True)

# ----------------------------------------------------------------------------
# Configurations
# ----------------------------------------------------------------------------

ADAMW_LR = 1e-2
ADAMW_BETAS = (0.9, 0.999)
ADAMW_EPS = 1e-8
ADAMW_WD = 0.1
CLIP_MAX_NORM = 1.0
GEN_NEW_TOKENS = 8
LN_EPS = 1e-5  # nn.LayerNorm default, used by every OPT LayerNorm

CONFIGS = {
    "prenorm": dict(
        seed=1234,
        vocab_size=97,
        hidden_size=32,
        word_embed_proj_dim=32,
        num_hidden_layers=2,
        num_attention_heads=4,
        ffn_dim=48,
        max_position_embeddings=40,
        do_layer_norm_before=True,
        _remove_final_layer_norm=False,
    ),
    "postnorm350m": dict(
        seed=350,
        vocab_size=101,
        hidden_size=32,
        word_embed_proj_dim=16,
        num_hidden_layers=2,
        num_attention_heads=4,
        ffn_dim=64,
        max_position_embeddings=40,
        do_layer_norm_before=False,
        _remove_final_layer_norm=False,
    ),
}

# Perturbation applied after HF-style init (see README): LN weight = 1 + s*N(0,1),
# LN bias = s*N(0,1), every Linear bias = s*N(0,1); then every Linear weight (incl.
# project_in/out) is multiplied by LINEAR_GAIN and both embedding matrices by EMBED_GAIN.
# With the plain std-0.02 init the network is nearly linear and constant: attention is
# almost uniform (a wrong softmax scale moves the logits by ~1e-4), greedy generation
# just repeats one token, and the opt-350m-style grad norm is ~0.16 (clipping would not act).
# With std 0.2 Linear weights (~1/sqrt(fan_in)) and std 0.1 embeddings all of that is exercised.
PERTURB_LN_W = 0.1
PERTURB_LN_B = 0.05
PERTURB_BIAS = 0.05
LINEAR_GAIN = 10.0
EMBED_GAIN = 5.0


def hf_config_json(c):
    """config.json with every key HF's OPTConfig (+ PretrainedConfig essentials) writes."""
    return collections.OrderedDict(
        [
            ("_name_or_path", f"kiln-golden-{c['name']}"),
            ("_remove_final_layer_norm", c["_remove_final_layer_norm"]),
            ("activation_dropout", 0.0),
            ("activation_function", "relu"),
            ("architectures", ["OPTForCausalLM"]),
            ("attention_dropout", 0.0),
            ("bos_token_id", 2),
            ("do_layer_norm_before", c["do_layer_norm_before"]),
            ("dropout", 0.0),
            ("enable_bias", True),
            ("eos_token_id", 2),
            ("ffn_dim", c["ffn_dim"]),
            ("hidden_size", c["hidden_size"]),
            ("init_std", 0.02),
            ("layer_norm_elementwise_affine", True),
            ("layerdrop", 0.0),
            ("max_position_embeddings", c["max_position_embeddings"]),
            ("model_type", "opt"),
            ("num_attention_heads", c["num_attention_heads"]),
            ("num_hidden_layers", c["num_hidden_layers"]),
            ("pad_token_id", 1),
            ("prefix", "</s>"),
            ("tie_word_embeddings", True),
            ("torch_dtype", "float32"),
            ("transformers_version", "4.46.0"),
            ("use_cache", True),
            ("vocab_size", c["vocab_size"]),
            ("word_embed_proj_dim", c["word_embed_proj_dim"]),
        ]
    )


# ----------------------------------------------------------------------------
# Parameters (HF names, HF registration order)
# ----------------------------------------------------------------------------

P = "model.decoder."


def param_specs(c):
    """[(name, shape, kind)] in the order HF's OPTForCausalLM registers parameters.

    kind: 'linw' (Linear weight), 'linb' (Linear bias), 'emb', 'lnw', 'lnb'.
    """
    H, E, V, FF = c["hidden_size"], c["word_embed_proj_dim"], c["vocab_size"], c["ffn_dim"]
    specs = [
        (P + "embed_tokens.weight", (V, E), "emb"),
        (P + "embed_positions.weight", (c["max_position_embeddings"] + 2, H), "emb"),
    ]
    if E != H:
        specs.append((P + "project_out.weight", (E, H), "linw"))
        specs.append((P + "project_in.weight", (H, E), "linw"))
    if c["do_layer_norm_before"] and not c["_remove_final_layer_norm"]:
        specs.append((P + "final_layer_norm.weight", (H,), "lnw"))
        specs.append((P + "final_layer_norm.bias", (H,), "lnb"))
    for i in range(c["num_hidden_layers"]):
        L = f"{P}layers.{i}."
        for proj in ("k_proj", "v_proj", "q_proj", "out_proj"):
            specs.append((L + f"self_attn.{proj}.weight", (H, H), "linw"))
            specs.append((L + f"self_attn.{proj}.bias", (H,), "linb"))
        specs.append((L + "self_attn_layer_norm.weight", (H,), "lnw"))
        specs.append((L + "self_attn_layer_norm.bias", (H,), "lnb"))
        specs.append((L + "fc1.weight", (FF, H), "linw"))
        specs.append((L + "fc1.bias", (FF,), "linb"))
        specs.append((L + "fc2.weight", (H, FF), "linw"))
        specs.append((L + "fc2.bias", (H,), "linb"))
        specs.append((L + "final_layer_norm.weight", (H,), "lnw"))
        specs.append((L + "final_layer_norm.bias", (H,), "lnb"))
    return specs


def init_params(c):
    g = torch.Generator().manual_seed(c["seed"])
    std = 0.02
    params = collections.OrderedDict()
    specs = param_specs(c)
    # 1. HF _init_weights: normal(0, init_std) for Linear/Embedding weights, zero biases,
    #    zero padding row of embed_tokens, LayerNorm weight 1 / bias 0.
    for name, shape, kind in specs:
        if kind in ("linw", "emb"):
            t = torch.randn(shape, generator=g, dtype=torch.float32) * std
            if name == P + "embed_tokens.weight":
                t[1].zero_()  # padding_idx = pad_token_id = 1
        elif kind == "linb" or kind == "lnb":
            t = torch.zeros(shape, dtype=torch.float32)
        elif kind == "lnw":
            t = torch.ones(shape, dtype=torch.float32)
        params[name] = t
    # 2. Fixture perturbation (documented in the README).
    for name, shape, kind in specs:
        if kind == "lnw":
            params[name] += PERTURB_LN_W * torch.randn(shape, generator=g)
        elif kind == "lnb":
            params[name] += PERTURB_LN_B * torch.randn(shape, generator=g)
        elif kind == "linb":
            params[name] += PERTURB_BIAS * torch.randn(shape, generator=g)
        elif kind == "linw":
            params[name] *= LINEAR_GAIN
        elif kind == "emb":
            params[name] *= EMBED_GAIN
    return params


def is_no_decay(name):
    """transformers.Trainer's split: biases and LayerNorm parameters get weight_decay 0."""
    return name.endswith(".bias") or "layer_norm" in name


# ----------------------------------------------------------------------------
# The model (functional, eager-attention semantics of HF OPT)
# ----------------------------------------------------------------------------


def layer_norm(x, w, b):
    return F.layer_norm(x, (x.shape[-1],), w, b, LN_EPS)


def linear(x, w, b=None):
    y = x @ w.t()
    return y + b if b is not None else y


def build_mask(attention_mask, dtype):
    """Additive 4-D mask [B,1,T,T], as HF's _prepare_4d_causal_attention_mask_with_cache_position.

    Entry (i, j) is 0 where query i may see key j (j <= i and key j is real), otherwise
    exactly torch.finfo(dtype).min (filled, never summed twice, never -inf).
    """
    B, T = attention_mask.shape
    minv = torch.finfo(dtype).min
    causal = torch.triu(torch.full((T, T), minv, dtype=dtype), diagonal=1) if T != 1 else torch.zeros((T, T), dtype=dtype)
    m = causal[None, None].expand(B, 1, T, T).clone()
    padding = (m + attention_mask[:, None, None, :].to(dtype)) == 0
    return m.masked_fill(padding, minv)


def attention(h, p, L, c, mask):
    B, T, H = h.shape
    nh = c["num_attention_heads"]
    hd = H // nh
    scaling = hd ** -0.5
    q = linear(h, p[L + "self_attn.q_proj.weight"], p[L + "self_attn.q_proj.bias"]) * scaling
    k = linear(h, p[L + "self_attn.k_proj.weight"], p[L + "self_attn.k_proj.bias"])
    v = linear(h, p[L + "self_attn.v_proj.weight"], p[L + "self_attn.v_proj.bias"])
    q = q.view(B, T, nh, hd).transpose(1, 2)
    k = k.view(B, T, nh, hd).transpose(1, 2)
    v = v.view(B, T, nh, hd).transpose(1, 2)
    scores = q @ k.transpose(-1, -2)  # scaling already applied to q
    scores = scores + mask
    probs = torch.softmax(scores.float() if scores.dtype != torch.float64 else scores, dim=-1).to(q.dtype)
    out = (probs @ v).transpose(1, 2).reshape(B, T, H)
    return linear(out, p[L + "self_attn.out_proj.weight"], p[L + "self_attn.out_proj.bias"])


def decoder_layer(h, p, i, c, mask, stats):
    L = f"{P}layers.{i}."
    ln1 = (p[L + "self_attn_layer_norm.weight"], p[L + "self_attn_layer_norm.bias"])
    ln2 = (p[L + "final_layer_norm.weight"], p[L + "final_layer_norm.bias"])
    pre = c["do_layer_norm_before"]
    # attention block (dropout p=0 omitted)
    residual = h
    x = layer_norm(h, *ln1) if pre else h
    h = residual + attention(x, p, L, c, mask)
    if not pre:
        h = layer_norm(h, *ln1)
    # feed-forward block: residual is taken AFTER the post-LN above (350m)
    residual = h
    x = layer_norm(h, *ln2) if pre else h
    a = linear(x, p[L + "fc1.weight"], p[L + "fc1.bias"])
    if stats is not None:
        stats.append(a.detach().abs().min().item())
    x = linear(torch.relu(a), p[L + "fc2.weight"], p[L + "fc2.bias"])
    h = residual + x
    if not pre:
        h = layer_norm(h, *ln2)
    return h


def forward(p, c, input_ids, attention_mask, stats=None):
    """Returns (logits [B,T,V], hidden_states list (HF output_hidden_states semantics), layer outputs)."""
    dtype = p[P + "embed_tokens.weight"].dtype
    am = attention_mask.to(torch.long)
    emb = F.embedding(input_ids, p[P + "embed_tokens.weight"], padding_idx=1)
    pos_ids = (torch.cumsum(am, dim=1) * am - 1).long()
    pos = F.embedding(pos_ids + 2, p[P + "embed_positions.weight"])
    if P + "project_in.weight" in p:
        emb = linear(emb, p[P + "project_in.weight"])
    h = emb + pos
    mask = build_mask(am, dtype)
    hidden_states, layer_outputs = [], []
    for i in range(c["num_hidden_layers"]):
        hidden_states.append(h)
        h = decoder_layer(h, p, i, c, mask, stats)
        layer_outputs.append(h)
    if P + "final_layer_norm.weight" in p:
        h = layer_norm(h, p[P + "final_layer_norm.weight"], p[P + "final_layer_norm.bias"])
    if P + "project_out.weight" in p:
        h = linear(h, p[P + "project_out.weight"])
    hidden_states.append(h)
    logits = h @ p[P + "embed_tokens.weight"].t()  # tied LM head, no bias
    return logits, hidden_states, layer_outputs


def causal_lm_loss(logits, labels):
    V = logits.shape[-1]
    return F.cross_entropy(
        logits[:, :-1].reshape(-1, V).float() if logits.dtype != torch.float64 else logits[:, :-1].reshape(-1, V),
        labels[:, 1:].reshape(-1),
        ignore_index=-100,
        reduction="mean",
    )


# ----------------------------------------------------------------------------
# Training references
# ----------------------------------------------------------------------------


def leaf_params(params, dtype):
    return collections.OrderedDict((k, v.detach().clone().to(dtype).requires_grad_(True)) for k, v in params.items())


def compute_grads(params, c, inputs, dtype):
    p = leaf_params(params, dtype)
    logits, _, _ = forward(p, c, *inputs[:2])
    loss = causal_lm_loss(logits, inputs[2])
    loss.backward()
    return loss.detach(), collections.OrderedDict((k, v.grad.detach().clone()) for k, v in p.items())


def run_adamw(params, c, inputs, dtype, steps, clip, stats=None):
    p = leaf_params(params, dtype)
    decay = [v for k, v in p.items() if not is_no_decay(k)]
    no_decay = [v for k, v in p.items() if is_no_decay(k)]
    opt = torch.optim.AdamW(
        [{"params": decay, "weight_decay": ADAMW_WD}, {"params": no_decay, "weight_decay": 0.0}],
        lr=ADAMW_LR,
        betas=ADAMW_BETAS,
        eps=ADAMW_EPS,
    )
    losses, norms, snapshots = [], [], []
    for _ in range(steps):
        opt.zero_grad(set_to_none=True)
        logits, _, _ = forward(p, c, *inputs[:2], stats)
        loss = causal_lm_loss(logits, inputs[2])
        loss.backward()
        losses.append(loss.item())
        if clip:
            norms.append(torch.nn.utils.clip_grad_norm_(list(p.values()), CLIP_MAX_NORM).item())
        else:
            norms.append(torch.norm(torch.stack([v.grad.norm(2) for v in p.values()]), 2).item())
        opt.step()
        snapshots.append(collections.OrderedDict((k, v.detach().clone()) for k, v in p.items()))
    return losses, norms, snapshots


def greedy_generate(p, c, input_ids, attention_mask, n):
    ids, am = input_ids.clone(), attention_mask.clone()
    new, step_logits, margins = [], [], []
    with torch.no_grad():
        for _ in range(n):
            logits, _, _ = forward(p, c, ids, am)
            last = logits[:, -1, :]
            nxt = torch.argmax(last, dim=-1)  # first (lowest) index among ties
            top2 = torch.topk(last, 2, dim=-1).values
            margins.append((top2[:, 0] - top2[:, 1]).min().item())
            step_logits.append(last.clone())
            new.append(nxt)
            ids = torch.cat([ids, nxt[:, None]], dim=1)
            am = torch.cat([am, torch.ones_like(nxt)[:, None]], dim=1)
    return torch.stack(new, 1), ids, am, torch.stack(step_logits, 0), min(margins)


# ----------------------------------------------------------------------------
# Serialisation
# ----------------------------------------------------------------------------

ST_DTYPES = {torch.float32: "F32", torch.float16: "F16", torch.int64: "I64"}


def write_safetensors(path, tensors):
    header = collections.OrderedDict([("__metadata__", {"format": "pt"})])
    blobs, off = [], 0
    for name in sorted(tensors):
        t = tensors[name].detach().contiguous().cpu()
        b = t.numpy().tobytes()  # little-endian host
        header[name] = {"dtype": ST_DTYPES[t.dtype], "shape": list(t.shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    hj = json.dumps(header, separators=(",", ":")).encode("utf-8")
    hj += b" " * ((8 - len(hj) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(hj)))
        f.write(hj)
        for b in blobs:
            f.write(b)


def read_safetensors(path):
    import numpy as np

    with open(path, "rb") as f:
        data = f.read()
    n = struct.unpack("<Q", data[:8])[0]
    header = json.loads(data[8 : 8 + n])
    out = {}
    npd = {"F32": np.float32, "F16": np.float16, "I64": np.int64}
    for k, v in header.items():
        if k == "__metadata__":
            continue
        a, b = v["data_offsets"]
        arr = np.frombuffer(data[8 + n + a : 8 + n + b], dtype=npd[v["dtype"]]).reshape(v["shape"])
        out[k] = torch.from_numpy(arr.copy())
    return out


def save_bin(path, params, prefix_from, prefix_to, dtype):
    sd = collections.OrderedDict()
    for k, v in params.items():
        sd[prefix_to + k[len(prefix_from) :]] = v.detach().to(dtype).clone().contiguous()
    torch.save(sd, path)


def _json(obj, ind=0):
    """JSON with one line per innermost list (rows of ids stay readable)."""
    pad = "  " * (ind + 1)
    if isinstance(obj, dict):
        items = [f"{pad}{json.dumps(k)}: {_json(v, ind + 1)}" for k, v in obj.items()]
        return "{\n" + ",\n".join(items) + "\n" + "  " * ind + "}"
    if isinstance(obj, list) and any(isinstance(x, (list, dict)) for x in obj):
        return "[\n" + ",\n".join(pad + _json(x, ind + 1) for x in obj) + "\n" + "  " * ind + "]"
    return json.dumps(obj)


def dump_json(path, obj):
    text = _json(obj)
    assert json.loads(text) == json.loads(json.dumps(obj))
    with open(path, "w") as f:
        f.write(text + "\n")


# ----------------------------------------------------------------------------
# Inputs
# ----------------------------------------------------------------------------

B, T = 3, 11


def make_inputs(c):
    g = torch.Generator().manual_seed(c["seed"] + 1)
    V = c["vocab_size"]

    def rand_tokens(n):
        # real tokens avoid the pad id 1; every real row starts with BOS 2 as OPT's tokenizer does
        t = torch.randint(3, V, (n,), generator=g)
        t[0] = 2
        return t

    if c["do_layer_norm_before"]:
        pads = [0, 0, 0]
        extra_ignore = {0: [3], 1: [5, 10], 2: [1, 7]}
    else:
        pads = [0, 3, 6]
        # row 1 keeps the label of its first real token (position 3): the logits of the
        # last pad position (2) therefore enter the loss. Row 2 ignores its first real token.
        extra_ignore = {0: [4, 9], 1: [7], 2: [6]}
    ids = torch.full((B, T), 1, dtype=torch.long)
    am = torch.zeros((B, T), dtype=torch.long)
    for r, npad in enumerate(pads):
        ids[r, npad:] = rand_tokens(T - npad)
        am[r, npad:] = 1
    labels = ids.clone()
    labels[am == 0] = -100
    for r, cols in extra_ignore.items():
        labels[r, cols] = -100

    # T = 1 set (B = 2, no padding)
    ids1 = torch.tensor([[2], [int(torch.randint(3, V, (1,), generator=g))]], dtype=torch.long)
    am1 = torch.ones_like(ids1)

    # generation prompts: 2 left-padded prompts (real lengths 6 and 3) and one unpadded prompt
    gp = torch.full((2, 6), 1, dtype=torch.long)
    gm = torch.zeros((2, 6), dtype=torch.long)
    gp[0, :] = rand_tokens(6)
    gm[0, :] = 1
    gp[1, 3:] = rand_tokens(3)
    gm[1, 3:] = 1
    up = rand_tokens(5)[None]
    um = torch.ones_like(up)
    return (ids, am, labels), (ids1, am1), (gp, gm), (up, um)


# ----------------------------------------------------------------------------
# Main
# ----------------------------------------------------------------------------


def fd_check(params, c, inputs, n=24):
    """Max |autograd - central finite difference| over n random (param, element) picks, float64.

    The padding row of embed_tokens is skipped (autograd drops its lookup gradient by design).
    """
    g = torch.Generator().manual_seed(7)
    _, grads = compute_grads(params, c, inputs, torch.float64)
    base = collections.OrderedDict((k, v.detach().double()) for k, v in params.items())
    names = [k for k in params if not k.endswith("k_proj.bias")]
    worst = 0.0
    with torch.no_grad():
        for _ in range(n):
            k = names[int(torch.randint(len(names), (1,), generator=g))]
            idx = tuple(int(torch.randint(s, (1,), generator=g)) for s in params[k].shape)
            if k.endswith("embed_tokens.weight") and idx[0] == 1:
                continue
            vals = []
            for delta in (1e-6, -1e-6):
                q = collections.OrderedDict((kk, vv.clone()) for kk, vv in base.items())
                q[k][idx] += delta
                lg, _, _ = forward(q, c, inputs[0], inputs[1])
                vals.append(causal_lm_loss(lg, inputs[2]).item())
            worst = max(worst, abs((vals[0] - vals[1]) / 2e-6 - grads[k][idx].item()))
    return worst


def maxdiff(a, b):
    return (a.double() - b.double()).abs().max().item()


def build_config(name, c):
    c = dict(c, name=name)
    d = os.path.join(OUT_DIR, name)
    os.makedirs(d)
    params = init_params(c)
    (ids, am, labels), (ids1, am1), (gp, gm), (up, um) = make_inputs(c)
    inputs = (ids, am, labels)
    report = {}
    labels_nopad = None
    if (am == 0).any():
        # same labels, but no target is predicted from a pad position's logits: also ignore the
        # first real token of every padded row
        labels_nopad = labels.clone()
        for r in range(B):
            npad = int((am[r] == 0).sum())
            if npad:
                labels_nopad[r, npad] = -100

    dump_json(os.path.join(d, "config.json"), hf_config_json(c))

    # ---- weights -----------------------------------------------------------
    write_safetensors(os.path.join(d, "model.safetensors"), params)
    write_safetensors(os.path.join(d, "model-f16.safetensors"), {k: v.half() for k, v in params.items()})
    bin_prefix = "decoder." if name == "postnorm350m" else P
    save_bin(os.path.join(d, "pytorch_model.bin"), params, P, bin_prefix, torch.float32)
    save_bin(os.path.join(d, "pytorch_model-f16.bin"), params, P, bin_prefix, torch.float16)
    report["bin_prefix"] = bin_prefix

    # ---- inputs ------------------------------------------------------------
    dump_json(
        os.path.join(d, "inputs.json"),
        dict(
            {"input_ids": ids.tolist(), "attention_mask": am.tolist(), "labels": labels.tolist()},
            **({"labels_nopad": labels_nopad.tolist()} if labels_nopad is not None else {}),
        ),
    )
    dump_json(os.path.join(d, "inputs-t1.json"), {"input_ids": ids1.tolist(), "attention_mask": am1.tolist()})

    # ---- forward / loss / grads -------------------------------------------
    expected = collections.OrderedDict()
    p32 = leaf_params(params, torch.float32)
    stats = []
    with torch.no_grad():
        logits, hs, lo = forward(p32, c, ids, am, stats)
        loss = causal_lm_loss(logits, labels)
    expected["logits"] = logits
    expected["loss"] = loss.reshape(1)
    for i, h in enumerate(hs):
        expected[f"hidden_states.{i}"] = h
    for i, h in enumerate(lo):
        expected[f"layer_outputs.{i}"] = h

    loss_g, grads = compute_grads(params, c, inputs, torch.float32)
    assert torch.equal(loss_g, loss), "train-mode loss differs from eval-mode loss"
    for k, g in grads.items():
        expected["grad." + k] = g
    if labels_nopad is not None:
        loss_np, grads_np = compute_grads(params, c, (ids, am, labels_nopad), torch.float32)
        expected["nopad.loss"] = loss_np.reshape(1)
        for k, g in grads_np.items():
            expected["nopad.grad." + k] = g
        report["nopad_fd_check"] = fd_check(params, c, (ids, am, labels_nopad))
    report["fd_check"] = fd_check(params, c, inputs)

    losses, norms, snaps = run_adamw(params, c, inputs, torch.float32, 3, clip=False, stats=stats)
    for k in params:
        expected["adamw1." + k] = snaps[0][k]
        expected["adamw3." + k] = snaps[2][k]
    expected["adamw_losses"] = torch.tensor(losses, dtype=torch.float32)
    closses, cnorms, csnaps = run_adamw(params, c, inputs, torch.float32, 3, clip=True, stats=stats)
    for k in params:
        expected["adamw3clip." + k] = csnaps[2][k]
    expected["adamw3clip_losses"] = torch.tensor(closses, dtype=torch.float32)
    expected["gradnorm"] = torch.tensor([cnorms[0]], dtype=torch.float32)
    expected["gradnorms_clip"] = torch.tensor(cnorms, dtype=torch.float32)
    assert abs(norms[0] - cnorms[0]) < 1e-5 * cnorms[0]
    assert min(cnorms) > CLIP_MAX_NORM, f"{name}: clipping would not act (norms {cnorms})"
    report["min_abs_fc1_preact"] = min(stats)  # over every training forward (grads + AdamW steps)
    report["losses"], report["clip_losses"], report["clip_norms"] = losses, closses, cnorms

    # ---- generation --------------------------------------------------------
    with torch.no_grad():
        g_new, g_seq, g_mask, g_logits, g_margin = greedy_generate(p32, c, gp, gm, GEN_NEW_TOKENS)
        u_new, u_seq, u_mask, u_logits, u_margin = greedy_generate(p32, c, up, um, GEN_NEW_TOKENS)
    expected["generate.padded.step_logits"] = g_logits
    expected["generate.unpadded.step_logits"] = u_logits
    gen = {
        "max_new_tokens": GEN_NEW_TOKENS,
        "strategy": "greedy argmax over the last position's logits, lowest index wins ties, "
        "one full (cache-free) forward per step, no EOS stopping",
        "padded": {
            "prompt_input_ids": gp.tolist(),
            "prompt_attention_mask": gm.tolist(),
            "new_tokens": g_new.tolist(),
            "sequences": g_seq.tolist(),
            "final_attention_mask": g_mask.tolist(),
            "min_top1_top2_margin": g_margin,
        },
        "unpadded": {
            "prompt_input_ids": up.tolist(),
            "prompt_attention_mask": um.tolist(),
            "new_tokens": u_new.tolist(),
            "sequences": u_seq.tolist(),
            "final_attention_mask": u_mask.tolist(),
            "min_top1_top2_margin": u_margin,
        },
    }
    dump_json(os.path.join(d, "generate.json"), gen)
    report["gen_margin"] = min(g_margin, u_margin)
    report["gen_has_eos"] = bool((g_new == 2).any() or (u_new == 2).any())
    report["gen_new"] = (g_new.tolist(), u_new.tolist())

    # ---- T = 1 -------------------------------------------------------------
    with torch.no_grad():
        l1, hs1, lo1 = forward(p32, c, ids1, am1)
    exp1 = collections.OrderedDict([("logits", l1)])
    for i, h in enumerate(hs1):
        exp1[f"hidden_states.{i}"] = h
    write_safetensors(os.path.join(d, "expected-t1.safetensors"), exp1)

    write_safetensors(os.path.join(d, "expected.safetensors"), expected)

    # ---- f16 weights, computed in f32 -----------------------------------
    p16 = read_safetensors(os.path.join(d, "model-f16.safetensors"))
    p16 = collections.OrderedDict((k, p16[k].float()) for k in params)
    with torch.no_grad():
        l16, _, _ = forward(p16, c, ids, am)
        loss16 = causal_lm_loss(l16, labels)
    write_safetensors(
        os.path.join(d, "expected-f16.safetensors"),
        collections.OrderedDict([("logits", l16), ("loss", loss16.reshape(1))]),
    )
    report["f16_vs_f32_logits"] = maxdiff(l16, logits)

    # ---- self-checks -------------------------------------------------------
    # (a) round trips of every written weight file
    rt = read_safetensors(os.path.join(d, "model.safetensors"))
    assert all(torch.equal(rt[k], params[k]) for k in params) and len(rt) == len(params)
    sd = torch.load(os.path.join(d, "pytorch_model.bin"))
    assert list(sd.keys()) == [bin_prefix + k[len(P) :] for k in params]
    assert all(torch.equal(sd[bin_prefix + k[len(P) :]], params[k]) for k in params)
    sd16 = torch.load(os.path.join(d, "pytorch_model-f16.bin"))
    assert all(torch.equal(sd16[bin_prefix + k[len(P) :]], params[k].half()) for k in params)
    # (b) float64 reference of the same computation -> tolerance guide
    p64 = leaf_params(params, torch.float64)
    with torch.no_grad():
        l64, _, _ = forward(p64, c, ids, am)
        loss64 = causal_lm_loss(l64, labels)
    _, g64 = compute_grads(params, c, inputs, torch.float64)
    _, _, s64 = run_adamw(params, c, inputs, torch.float64, 3, clip=False)
    _, n64, cs64 = run_adamw(params, c, inputs, torch.float64, 3, clip=True)
    kb = [k for k in params if k.endswith("k_proj.bias")]
    report["fp64"] = {
        "logits": maxdiff(logits, l64),
        "loss": abs(loss.item() - loss64.item()),
        "grad": max(maxdiff(grads[k], g64[k]) for k in params),
        "grad_rel": max(maxdiff(grads[k], g64[k]) / max(g64[k].abs().max().item(), 1e-30) for k in params if k not in kb),
        "adamw1": max(maxdiff(snaps[0][k], s64[0][k]) for k in params if k not in kb),
        "adamw3": max(maxdiff(snaps[2][k], s64[2][k]) for k in params if k not in kb),
        "adamw3clip": max(maxdiff(csnaps[2][k], cs64[2][k]) for k in params if k not in kb),
        "gradnorm": abs(cnorms[0] - n64[0]),
    }
    report["kbias_grad_max"] = max(grads[k].abs().max().item() for k in kb)
    report["kbias_adamw3_change"] = max(maxdiff(snaps[2][k], params[k]) for k in kb)
    report["grad_abs_max"] = max(g.abs().max().item() for g in grads.values())
    # (c) generation is the same in float64 (margins are comfortable)
    with torch.no_grad():
        g64new = greedy_generate(p64, c, gp, gm, GEN_NEW_TOKENS)[0]
        u64new = greedy_generate(p64, c, up, um, GEN_NEW_TOKENS)[0]
    assert torch.equal(g64new, g_new) and torch.equal(u64new, u_new)
    # (d) pad rows: padding row of embed_tokens got only LM-head gradient; fully masked query rows are uniform
    report["pad_row_grad_norm"] = grads[P + "embed_tokens.weight"][1].norm().item()
    # (e) sensitivity: a wrong attention scale (1/head_dim) must move the logits clearly
    hd = c["hidden_size"] // c["num_attention_heads"]
    wrong = collections.OrderedDict((k, v.detach().clone()) for k, v in params.items())
    for k in wrong:
        if k.endswith("q_proj.weight") or k.endswith("q_proj.bias"):
            wrong[k] = wrong[k] * (hd ** -0.5)
    with torch.no_grad():
        lw, _, _ = forward(wrong, c, ids, am)
    report["wrong_scale_logit_change"] = maxdiff(lw, logits)
    report["logits_absmax"] = logits.abs().max().item()
    report["loss"] = loss.item()
    report["loss_f16"] = loss16.item()
    # (f) T=1 logits equal the first position of an unpadded longer forward starting with the same token
    with torch.no_grad():
        lx, _, _ = forward(p32, c, torch.cat([ids1, ids1], 1), torch.ones(2, 2, dtype=torch.long))
    report["t1_vs_prefix"] = maxdiff(lx[:, 0], l1[:, 0])
    # (g) left-padding invariance: each padded row's real positions equal the same tokens run alone
    worst = 0.0
    with torch.no_grad():
        for r in range(B):
            npad = int((am[r] == 0).sum())
            alone, _, _ = forward(p32, c, ids[r : r + 1, npad:], am[r : r + 1, npad:])
            worst = max(worst, maxdiff(alone[0], logits[r, npad:]))
        alone_new = greedy_generate(p32, c, gp[1:, 3:], gm[1:, 3:], GEN_NEW_TOKENS)[0]
    assert worst < 1e-5, worst
    assert torch.equal(alone_new[0], g_new[1])
    report["pad_invariance"] = worst
    report["n_params"] = sum(v.numel() for v in params.values())
    return report


README_TEMPLATE = r"""# Golden OPT fixtures

Generated by `scripts/make-golden-fixtures.py` (PyTorch {torch_version}, CPU, float32,
single thread, fixed seeds). Regenerate with

    apt-get install -y python3-torch      # Debian's torch; not needed by the tests
    /usr/bin/python3 scripts/make-golden-fixtures.py

The script wipes and rewrites this whole directory, README included. Tests only read the files;
they never run Python.

The reference is a plain-PyTorch re-implementation of Hugging Face's `OPTForCausalLM` (eager
attention path, `transformers/models/opt/modeling_opt.py`), not HF's code itself.

## Configurations

| dir | vocab | hidden | word_embed_proj_dim | layers | heads | ffn | max_pos | do_layer_norm_before | decoder final LN | project_in/out | params |
|---|---|---|---|---|---|---|---|---|---|---|---|
| `prenorm/` | 97 | 32 | 32 | 2 | 4 | 48 | 40 | true | yes | no | {n_prenorm} |
| `postnorm350m/` | 101 | 32 | 16 | 2 | 4 | 64 | 40 | false (opt-350m style) | no | yes | {n_postnorm} |

Both: `activation_function` relu, `enable_bias` true, `layer_norm_elementwise_affine` true,
LayerNorm eps 1e-5, dropout / attention_dropout / activation_dropout / layerdrop 0.0,
`pad_token_id` 1, `bos_token_id` = `eos_token_id` = 2, `init_std` 0.02, tied LM head.

## Files in each config directory

All safetensors files: 8-byte little-endian header length, JSON header (`__metadata__`
`{{"format":"pt"}}` first, then tensors sorted by name), header padded with spaces to a multiple
of 8, then the raw little-endian data in that sorted order. Dtypes used: `F32`, `F16`.

| file | content |
|---|---|
| `config.json` | HF `config.json` (`model_type: "opt"`, `architectures: ["OPTForCausalLM"]`, `torch_dtype: "float32"`, every OPTConfig key incl. `enable_bias`, `layer_norm_elementwise_affine`, `_remove_final_layer_norm`, `word_embed_proj_dim`, `tie_word_embeddings: true`). |
| `model.safetensors` | weights, F32, HF names `model.decoder.*` (table below). No `lm_head.weight` (tied). |
| `model-f16.safetensors` | the same weights rounded to F16 (round-to-nearest-even), same names. |
| `pytorch_model.bin` | `torch.save` of the F32 state dict (zip format). Key prefix: `model.decoder.` for `prenorm`, **`decoder.`** for `postnorm350m` (as the real facebook/opt-350m hub checkpoint). No `lm_head.weight`. |
| `pytorch_model-f16.bin` | same as above with F16 tensors. |
| `inputs.json` | `{{"input_ids": [B][T], "attention_mask": [B][T], "labels": [B][T]}}`, B=3, T=11, ints; postnorm350m also has `labels_nopad` [B][T] (see Inputs). |
| `inputs-t1.json` | `{{"input_ids": [2][1], "attention_mask": [2][1]}}` (T=1, no padding). |
| `expected.safetensors` | F32 references, below. |
| `expected-t1.safetensors` | F32: `logits` [2,1,V], `hidden_states.<i>` for the T=1 inputs. No loss (with T=1 the shifted loss has no targets). |
| `expected-f16.safetensors` | F32: `logits` [B,T,V] and `loss` [1] from the model run **in float32** after loading `model-f16.safetensors` (weights upcast f16→f32), on `inputs.json`. Checks the f16 loading path. |
| `generate.json` | greedy generation, below. |

### Weight names and shapes (H = hidden, E = word_embed_proj_dim, V = vocab, FF = ffn, N = layer)

    model.decoder.embed_tokens.weight                      [V, E]      (padding row 1)
    model.decoder.embed_positions.weight                   [max_pos+2, H]
    model.decoder.project_out.weight                       [E, H]      postnorm350m only (Linear H->E, no bias)
    model.decoder.project_in.weight                        [H, E]      postnorm350m only (Linear E->H, no bias)
    model.decoder.final_layer_norm.{{weight,bias}}           [H]         prenorm only
    model.decoder.layers.N.self_attn.{{k,v,q,out}}_proj.weight [H, H]    (torch Linear layout [out, in])
    model.decoder.layers.N.self_attn.{{k,v,q,out}}_proj.bias   [H]
    model.decoder.layers.N.self_attn_layer_norm.{{weight,bias}} [H]
    model.decoder.layers.N.fc1.weight [FF, H], fc1.bias [FF], fc2.weight [H, FF], fc2.bias [H]
    model.decoder.layers.N.final_layer_norm.{{weight,bias}}  [H]

Order in the `.bin` state dicts is HF's registration order: embed_tokens, embed_positions,
project_out, project_in, final_layer_norm, then per layer k,v,q,out proj (weight, bias),
self_attn_layer_norm, fc1, fc2, final_layer_norm.

`.bin` layout (torch {torch_version}): a zip archive whose entries are `<stem>/data.pkl` (pickle protocol 2),
`<stem>/data/<n>` (raw little-endian storage, one per tensor, storage size == numel) and
`<stem>/version`{byteorder_note}, all stored uncompressed; `<stem>` is {bin_stems}. The pickle is an `collections.OrderedDict` of
`torch._utils._rebuild_tensor_v2(persistent_load(('storage', torch.FloatStorage|torch.HalfStorage, '<n>', 'cpu', numel)), storage_offset=0, size, stride, requires_grad=False, OrderedDict())`.
Loaders should not rely on the stem (real hub files use `archive/` too).

### Weights: init and fixture perturbation

1. HF `_init_weights`: every Linear / Embedding weight ~ normal(0, 0.02); Linear biases 0;
   row 1 (padding_idx) of `embed_tokens` = 0; LayerNorm weight 1, bias 0. `embed_positions`
   has no padding row (all 42 rows random).
2. Then, so that every parameter's role and gradient is tested, the fixtures perturb:
   LayerNorm weights += 0.1·N(0,1), LayerNorm biases += 0.05·N(0,1), all Linear biases
   (q/k/v/out/fc1/fc2) += 0.05·N(0,1); then every Linear weight (q/k/v/out/fc1/fc2 and
   project_in/out) is multiplied by 10 (std 0.2 ≈ 1/sqrt(fan_in)) and `embed_tokens`,
   `embed_positions` by 5 (std 0.1). Reason: with the plain std-0.02 init the network is
   nearly linear and constant — attention is almost uniform (a wrong softmax scale moves the
   logits by ~1e-4, below any sensible tolerance), greedy generation repeats one token no
   matter what the positions are, and the postnorm350m grad norm is ~0.16 so clipping at 1.0
   would not act. With the gains, scaling q by 1/head_dim instead of 1/sqrt(head_dim) changes
   the logits by {wrong_scale_pre:.2e} (prenorm) / {wrong_scale_post:.2e} (postnorm350m),
   generation is varied, and clipping acts without any loss or lr scaling.
   `config.json` still says `init_std: 0.02` (HF's value; it is not used at inference).
   The padding row of `embed_tokens` stays exactly 0 in the weight files.

## Inputs

`prenorm/inputs.json`: no padding (attention_mask all 1); every row starts with BOS 2; labels
= input_ids except -100 at (row 0: pos 3), (row 1: pos 5, 10), (row 2: pos 1, 7).

`postnorm350m/inputs.json`: left padding. Row 0: 11 real tokens. Row 1: 3 pads (positions
0-2). Row 2: 6 pads (positions 0-5). Pads have input id 1 and attention_mask 0; the first real
token of each row is BOS 2. Labels = input_ids with -100 at every pad position and at
(row 0: pos 4, 9), (row 1: pos 7), (row 2: pos 6 = its first real token).
**Row 1 keeps the label of its first real token (pos 3), so the logits of pad position 2 enter
the loss** exactly as in HF (that position's query attends uniformly, see below). Row 2 does not.
`labels_nopad` (postnorm350m only) = `labels` with row 1 position 3 also -100, so no pad
position's logits enter the loss: its loss and gradients (`nopad.*` below) do not depend on what
happens in fully masked query rows, which helps tell a pad-row bug from any other bug.

Real token ids are drawn from [3, V); id 1 appears only at pad positions.

## Semantics the TypeScript side must reproduce

* Position ids: `pos = cumsum(attention_mask, 1) * attention_mask - 1`, looked up at
  `pos + 2` in `embed_positions` (pads → -1 → row 1; first real token → row 2).
* `inputs_embeds = embed_tokens[ids]` (then `project_in` if present), `h = inputs_embeds + pos_embeds`.
* Attention: `q = (h Wq^T + bq) * head_dim^-0.5` (scaled after the bias), `k`, `v` with bias,
  scores `q k^T + mask`, softmax in fp32, `out_proj`. The additive mask is `torch.finfo(float32).min`
  (-3.4028235e38, never -inf) wherever key j > query i **or** key j is a pad, else 0 (the value is
  filled, not summed, so it never overflows). A query row whose keys are all masked (every pad
  query row: its own position and everything before it are pads) therefore has all entries
  equal to exactly `finfo.min` after the add, and its softmax is **uniform over all T keys**,
  future real tokens included. Its output is finite and is part of `logits` and of the loss
  (postnorm350m row 1, position 2) — a -inf mask would give NaN there. The backward pass is
  the ordinary softmax backward with those uniform probabilities (autograd differentiates the
  add `scores + min` as identity), so gradients do flow through pad query rows into q/k/v.
  **Consequence: for postnorm350m `grad.*` is what `loss.backward()` gives (what HF training
  computes), not the true derivative of the loss** — numerically the pad rows are constant
  (`score + min` rounds to `min`), so finite differences disagree with autograd by up to
  {fd_post:.1e}. With `labels_nopad` (and for prenorm) autograd and float64 central finite
  differences agree to {fd_ok:.0e}. An engine that uses the standard
  `dS = P ⊙ (dP − rowsum(dP ⊙ P))` and passes dS straight through the mask add matches
  `grad.*`; one that zeroes masked rows matches only `nopad.grad.*`.
  (HF's own backends disagree here: eager and CPU SDPA behave as above; on CUDA, SDPA
  "unmasks" fully masked rows to attend to all keys with their real scores. These fixtures
  follow eager.)
* Pre-LN layer (prenorm): `h = h + attn(LN1(h)); h = h + fc2(relu(fc1(LN2(h))))`.
  Post-LN layer (postnorm350m): `h = LN1(h + attn(h)); h = LN2(h + fc2(relu(fc1(h))))` —
  the FFN residual is the output of LN1, and LN2 (`final_layer_norm` of the layer) is applied
  after the FFN residual add; no LN before fc1. LN1 = `self_attn_layer_norm`.
* After the layers: decoder `final_layer_norm` (prenorm only), then `project_out` (postnorm350m
  only), then `logits = h @ embed_tokens.weight^T` (no bias).
* Loss: `cross_entropy(logits[:, :-1], labels[:, 1:], ignore_index=-100)`, mean over
  non-ignored targets (prenorm: {ntgt_pre} targets, postnorm350m: {ntgt_post}).

## `expected.safetensors` (all F32)

| key | shape | content |
|---|---|---|
| `logits` | [B,T,V] | forward logits (eval = train mode, dropout 0), all positions incl. pads |
| `loss` | [1] | mean CE loss as above |
| `hidden_states.<i>`, i = 0..L | [B,T,H] (last: [B,T,E]) | HF `output_hidden_states` semantics: `hidden_states.0` = embeddings+positions (after project_in), `hidden_states.i` = output of layer i-1, and the **last one (i = L) is after the decoder final_layer_norm / project_out** (so [B,T,16] for postnorm350m) |
| `layer_outputs.<i>`, i = 0..L-1 | [B,T,H] | raw output of decoder layer i (`layer_outputs.{{L-1}}` is before final LN / project_out) |
| `grad.<name>` | like the param | d loss / d param from `loss.backward()` for every parameter `<name>` (HF `model.decoder.*` names in both configs). `grad.model.decoder.embed_tokens.weight` is the total gradient of the tied matrix (lookup + LM head) |
| `adamw1.<name>` | like the param | parameters after 1 AdamW step |
| `adamw3.<name>` | like the param | parameters after 3 AdamW steps (each step: zero grads, forward + backward on the same batch, step) |
| `adamw_losses` | [3] | loss computed at the start of each of those 3 steps (first = `loss`) |
| `adamw3clip.<name>` | like the param | 3 steps as above with `torch.nn.utils.clip_grad_norm_(all params, 1.0)` between backward and step |
| `adamw3clip_losses` | [3] | loss at the start of each clipped step |
| `nopad.loss`, `nopad.grad.<name>` | [1], like the param | postnorm350m only: loss and gradients with `labels_nopad` |
| `gradnorm` | [1] | global L2 grad norm before clipping at step 1 (= norm of all of `grad.*`) |
| `gradnorms_clip` | [3] | pre-clip global norm at each of the 3 clipped steps |
| `generate.padded.step_logits` | [8,2,V] | last-position logits at each generation step, padded batch |
| `generate.unpadded.step_logits` | [8,1,V] | same, unpadded prompt |

AdamW: `torch.optim.AdamW`, lr 1e-2, betas (0.9, 0.999), eps 1e-8; two groups as transformers'
Trainer builds them: weight_decay 0.1 for every weight (all Linear weights, `embed_tokens`
(tied), `embed_positions`, `project_in/out`), 0 for every `*.bias` and every LayerNorm
parameter (`*layer_norm.weight`). Update (torch {torch_version}, step t from 1):

    p  = p * (1 - lr * wd)
    m  = b1 m + (1 - b1) g ;  v = b2 v + (1 - b2) g*g
    p  = p - (lr / (1 - b1^t)) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)

Clipping: `total = ||(||g_1||, ..., ||g_n||)||_2`; `coef = min(1, 1.0 / (total + 1e-6))`; every
grad *= coef. The natural grad norm already exceeds 1 at every step (step 1: prenorm
{gn_pre:.4f}, postnorm350m {gn_post:.4f}; all steps: {gns}), so clipping acts; no loss or lr
scaling was needed.

### Gradients that are (analytically) zero or special

* `self_attn.k_proj.bias` (every layer): **analytically zero**. It adds `q_i·b_k` to every
  score of query row i — a constant per row — and softmax is shift-invariant (masked entries
  are `finfo.min` either way). The stored values are fp32 round-off (max |g| = {kb_pre:.1e}
  prenorm, {kb_post:.1e} postnorm350m). Compare with an absolute tolerance, not relatively.
  **For the AdamW references this round-off is amplified**: Adam normalises g by sqrt(v)+eps,
  so with |g| ≈ 1e-9 vs eps = 1e-8 the k_proj.bias update is noise of up to ~lr per step
  (observed change after 3 steps: {kb_step:.1e}). Skip `adamw*.…k_proj.bias` or compare with
  atol ≈ 3·lr = 3e-2. Because k_proj.bias has no effect on the function, the noise does not
  leak into any other parameter.
* `embed_tokens` row 1 (padding_idx): the embedding **lookup** contributes nothing to it
  (`nn.Embedding(padding_idx=1)` drops the gradient of pad positions — postnorm350m pads do
  carry upstream gradient, which must be dropped). But the matrix is tied to the LM head, whose
  gradient reaches every row including row 1 (softmax over the vocab), so `grad.…embed_tokens.weight[1]`
  is **not** zero (norm {pad_pre:.2e} prenorm, {pad_post:.2e} postnorm350m) and AdamW moves row 1.
* `embed_positions` rows never looked up have exactly zero gradient (prenorm: only rows
  2..12 are used; postnorm350m: rows 1..12). Rows 0 and 13..41 stay zero-grad; under AdamW
  they only decay: `p * (1 - lr*wd)^t`.
* In postnorm350m, pad positions' label is -100 and pad keys are masked for real queries, but
  row 1's pad position 2 predicts the first real token, so pad positions still get gradient
  (via that loss term, and via the uniform pad-query attention, which reads real future tokens).

## `generate.json`

    {{ "max_new_tokens": 8, "strategy": "...",
      "padded":   {{ "prompt_input_ids": [2][6], "prompt_attention_mask": [2][6],
                    "new_tokens": [2][8], "sequences": [2][14], "final_attention_mask": [2][14],
                    "min_top1_top2_margin": float }},
      "unpadded": {{ same with a [1][5] prompt, sequences [1][13] }} }}

Padded prompts: row 0 has 6 real tokens, row 1 has 3 left pads then 3 real tokens. Each
step runs a full forward on the whole sequence so far (no KV cache), takes argmax of the
last position's logits (lowest index on ties), appends the token and a 1 to the attention
mask (positions keep following the cumsum rule). No EOS stopping (HF `generate` would stop
a row at EOS 2 and pad it; {eos_note}). The smallest top-1/top-2 logit margin over all
steps is {margin_pre:.2e} (prenorm) / {margin_post:.2e} (postnorm350m), far above fp32 error,
and a float64 run generates the same tokens.

## Tolerance guide (fp32 reference vs the same computation in float64)

| quantity | prenorm | postnorm350m |
|---|---|---|
| max abs logits diff | {d_logits_pre:.1e} | {d_logits_post:.1e} |
| abs loss diff | {d_loss_pre:.1e} | {d_loss_post:.1e} |
| max abs grad diff (all params) | {d_grad_pre:.1e} | {d_grad_post:.1e} |
| max abs diff after 1 / 3 / 3-clipped AdamW steps (excl. k_proj.bias) | {d_a1_pre:.1e} / {d_a3_pre:.1e} / {d_a3c_pre:.1e} | {d_a1_post:.1e} / {d_a3_post:.1e} / {d_a3c_post:.1e} |
| max abs logit | {lmax_pre:.2f} | {lmax_post:.2f} |
| max abs grad | {gmax_pre:.2e} | {gmax_post:.2e} |
| loss | {loss_pre:.6f} | {loss_post:.6f} |
| f16-weights logits vs f32-weights logits, max abs | {f16_pre:.1e} | {f16_post:.1e} |
| min abs fc1 pre-activation over all training forwards (ReLU kink distance) | {relu_pre:.1e} | {relu_post:.1e} |

Suggested: logits/hidden atol ~1e-4, grads atol ~1e-5 + rtol 1e-3, AdamW params atol ~1e-4
(after step 1 Adam's update is ≈ lr·sign(g), so a gradient element whose sign is decided by
round-off would differ by ~2·lr: the elements are far from that, except k_proj.bias).
"""


def main():
    if os.path.isdir(OUT_DIR):
        shutil.rmtree(OUT_DIR)
    os.makedirs(OUT_DIR)
    reports = {}
    for name, c in CONFIGS.items():
        reports[name] = build_config(name, c)
        print(name, json.dumps(reports[name], indent=1))

    import zipfile

    stems, byteorder = set(), False
    for name in CONFIGS:
        for fn in ("pytorch_model.bin", "pytorch_model-f16.bin"):
            with zipfile.ZipFile(os.path.join(OUT_DIR, name, fn)) as z:
                names = z.namelist()
                stems.add(names[0].split("/")[0])
                byteorder |= any(n.endswith("/byteorder") for n in names)

    def ntgt(name):
        with open(os.path.join(OUT_DIR, name, "inputs.json")) as f:
            lab = json.load(f)["labels"]
        return sum(1 for row in lab for x in row[1:] if x != -100)

    a, b = reports["prenorm"], reports["postnorm350m"]
    eos = [n for n in CONFIGS if reports[n]["gen_has_eos"]]
    readme = README_TEMPLATE.format(
        torch_version=torch.__version__,
        n_prenorm=a["n_params"],
        n_postnorm=b["n_params"],
        byteorder_note=" and `<stem>/byteorder`" if byteorder else "",
        bin_stems=" / ".join(f"`{s}`" for s in sorted(stems)) + " (torch derives it from the file name)",
        wrong_scale_pre=a["wrong_scale_logit_change"],
        wrong_scale_post=b["wrong_scale_logit_change"],
        ntgt_pre=ntgt("prenorm"),
        ntgt_post=ntgt("postnorm350m"),
        gn_pre=a["clip_norms"][0],
        gn_post=b["clip_norms"][0],
        gns=", ".join(f"{x:.3f}" for x in a["clip_norms"] + b["clip_norms"]),
        kb_pre=a["kbias_grad_max"],
        kb_post=b["kbias_grad_max"],
        kb_step=max(a["kbias_adamw3_change"], b["kbias_adamw3_change"]),
        pad_pre=a["pad_row_grad_norm"],
        pad_post=b["pad_row_grad_norm"],
        eos_note=("EOS (2) does appear among the new tokens of " + ", ".join(eos)) if eos else "EOS (2) never appears in these fixtures, so this makes no difference",
        margin_pre=a["gen_margin"],
        margin_post=b["gen_margin"],
        d_logits_pre=a["fp64"]["logits"],
        d_logits_post=b["fp64"]["logits"],
        d_loss_pre=a["fp64"]["loss"],
        d_loss_post=b["fp64"]["loss"],
        d_grad_pre=a["fp64"]["grad"],
        d_grad_post=b["fp64"]["grad"],
        d_a1_pre=a["fp64"]["adamw1"],
        d_a3_pre=a["fp64"]["adamw3"],
        d_a3c_pre=a["fp64"]["adamw3clip"],
        d_a1_post=b["fp64"]["adamw1"],
        d_a3_post=b["fp64"]["adamw3"],
        d_a3c_post=b["fp64"]["adamw3clip"],
        lmax_pre=a["logits_absmax"],
        lmax_post=b["logits_absmax"],
        gmax_pre=a["grad_abs_max"],
        gmax_post=b["grad_abs_max"],
        loss_pre=a["loss"],
        loss_post=b["loss"],
        f16_pre=a["f16_vs_f32_logits"],
        f16_post=b["f16_vs_f32_logits"],
        relu_pre=a["min_abs_fc1_preact"],
        relu_post=b["min_abs_fc1_preact"],
        fd_post=b["fd_check"],
        fd_ok=max(a["fd_check"], b["nopad_fd_check"]),
    )
    with open(os.path.join(OUT_DIR, "README.md"), "w") as f:
        f.write(readme)
    total = 0
    for dp, _, fns in os.walk(OUT_DIR):
        for fn in fns:
            total += os.path.getsize(os.path.join(dp, fn))
    print(f"wrote {OUT_DIR} ({total / 1e6:.2f} MB)")


if __name__ == "__main__":
    sys.exit(main())
