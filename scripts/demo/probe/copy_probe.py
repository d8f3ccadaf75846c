"""What a tiny model learns first, measured in PyTorch (docs/demo.md, "What a tiny model learns first").

Trains a randomly initialised OPT or Llama of the demo's shape on the demo's tokenized conversations
(scripts/demo/probe/dumpTokens.ts writes them) with the demo's recipe (AdamW, warmup then cosine,
global-norm clipping at 1.0, loss on the assistant's tokens), and every --every steps prints the
mean loss of each kind of target token on the last 200 conversations, which it never trains on:
the Thought, the function name, the arguments (their numbers apart), the answer's text and the
numbers it cites (the last apart from any earlier one, which lies a turn further back). A kind
near 0 is learned; one at the log of its number of candidates is guessed.

    python3 scripts/demo/probe/copy_probe.py --data tokens.json --arch llama --steps 1500

Needs torch and transformers; kiln itself never runs Python.
"""
import argparse
import json
import math
import random

import torch
from transformers import LlamaConfig, LlamaForCausalLM, OPTConfig, OPTForCausalLM

KINDS = {1: 'thought', 2: 'action', 3: 'args', 4: 'answer-text', 5: 'answer-number', 6: 'format', 7: 'thought-number', 8: 'arg-number',
         9: 'earlier-answer-number'}
WARMUP = 20
HELD_OUT = 200


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--data', required=True, help='tokens.json from dumpTokens')
    p.add_argument('--arch', choices=['opt', 'llama'], default='llama')
    p.add_argument('--steps', type=int, default=1500)
    p.add_argument('--lr', type=float, default=3e-3)
    p.add_argument('--schedule', choices=['cosine', 'linear', 'constant'], default='cosine', help='after warmup, as kiln names them')
    p.add_argument('--batch', type=int, default=2)
    p.add_argument('--layers', type=int, default=2)
    p.add_argument('--hidden', type=int, default=128)
    p.add_argument('--heads', type=int, default=4)
    p.add_argument('--ffn', type=int, default=512)
    p.add_argument('--vocab', type=int, default=2048)
    p.add_argument('--every', type=int, default=250)
    p.add_argument('--seed', type=int, default=0)
    p.add_argument('--threads', type=int, default=1)
    p.add_argument('--beta2', type=float, default=0.999, help="AdamW's second-moment decay")
    p.add_argument('--weight-decay', type=float, default=0.01)
    p.add_argument('--init-std', type=float, default=0.02, help="the initial weights' standard deviation (initializer_range, OPT's init_std)")
    p.add_argument('--rope-theta', type=float, default=10000.0, help="Llama's rotary base")
    p.add_argument('--mimetic', default='', metavar='A1,B1,A2,B2',
                   help="Llama's attention initialised mimetically (Trockman & Kolter, 2023): Wq^T Wk ~ A1 Z + B1 I and "
                        "Wo Wv ~ A2 Z - B2 I with Z Gaussian; 'none' for a pair leaves those weights as drawn")
    p.add_argument('--weight', action='append', default=[], metavar='KIND=W',
                   help='weight the loss of one kind of target token (e.g. answer-number=20); the loss is then the weighted mean')
    return p.parse_args()


def factor_pair(d, alpha, beta, gen):
    """L, R (d x d) with L @ R = alpha Z / sqrt(d) + beta I, each carrying the square root of the singular values."""
    m = alpha * torch.randn(d, d, generator=gen, dtype=torch.float64) / d ** 0.5 + beta * torch.eye(d, dtype=torch.float64)
    u, s, vt = torch.linalg.svd(m)
    return (u * s.sqrt()).float(), (s.sqrt()[:, None] * vt).float()


def mimetic_init(model, spec, seed):
    """Sets each layer's q/k (and o/v) projections so that their products are near a scaled identity plus noise.
    The heads split the factors' components: head h gets rows h*hs..(h+1)*hs of Wq, Wk and Wv (columns of Wo)."""
    a1, b1, a2, b2 = [None if x == 'none' else float(x) for x in spec.split(',')]
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for layer in model.model.layers:
            att = layer.self_attn
            d = att.q_proj.weight.shape[1]
            if b1 is not None:
                left, right = factor_pair(d, a1, b1, gen)
                att.q_proj.weight.copy_(left.T)  # q.k = x Wq^T Wk y
                att.k_proj.weight.copy_(right)
            if b2 is not None:
                left, right = factor_pair(d, a2, -b2, gen)
                att.o_proj.weight.copy_(left)  # the head's map x -> Wo Wv x
                att.v_proj.weight.copy_(right)


def build_model(a):
    common = dict(vocab_size=a.vocab, hidden_size=a.hidden, num_hidden_layers=a.layers, num_attention_heads=a.heads,
                  max_position_embeddings=512, pad_token_id=1, bos_token_id=2, eos_token_id=2)
    if a.arch == 'opt':
        return OPTForCausalLM(OPTConfig(ffn_dim=a.ffn, do_layer_norm_before=True, word_embed_proj_dim=a.hidden,
                                        dropout=0.0, attention_dropout=0.0, init_std=a.init_std, **common))
    return LlamaForCausalLM(LlamaConfig(intermediate_size=a.ffn, num_key_value_heads=a.heads, rope_theta=a.rope_theta,
                                        initializer_range=a.init_std, tie_word_embeddings=True, attn_implementation='eager', **common))


def collate(batch):
    T = max(len(e[0]) for e in batch)
    ids = torch.full((len(batch), T), 1)
    labels = torch.full((len(batch), T), -100)
    mask = torch.zeros((len(batch), T), dtype=torch.long)
    kinds = torch.zeros((len(batch), T), dtype=torch.long)
    for b, (i, l, k) in enumerate(batch):
        ids[b, :len(i)], labels[b, :len(l)], mask[b, :len(i)], kinds[b, :len(k)] = torch.tensor(i), torch.tensor(l), 1, torch.tensor(k)
    return ids, labels, mask, kinds


def train_step(model, opt, ids, labels, mask, weights=None):
    """One optimizer step as kiln's trainer takes it: the mean loss over targets, each weighted by
    `weights` (none: all ones, kiln's plain mean), clipping at 1.0, AdamW."""
    if weights is None:
        weights = torch.ones(labels.shape)
    logits = model(input_ids=ids, attention_mask=mask).logits[:, :-1]
    y, w = labels[:, 1:], weights[:, 1:] * (labels[:, 1:] != -100)
    nll = torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1).clamp(min=0), reduction='none').reshape(y.shape)
    loss = (nll * w).sum() / w.sum()
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    opt.step()
    opt.zero_grad()
    return loss.item()


def loss_by_kind(model, held, vocab):
    model.eval()
    sums = {}
    with torch.no_grad():
        for i in range(0, len(held), 8):
            ids, labels, mask, kinds = collate(held[i:i + 8])
            logits = model(input_ids=ids, attention_mask=mask).logits[:, :-1]
            y, k = labels[:, 1:], kinds[:, 1:]
            nll = torch.nn.functional.cross_entropy(logits.reshape(-1, vocab), y.reshape(-1).clamp(min=0), reduction='none').reshape(y.shape)
            for kind in KINDS:
                sel = (k == kind) & (y != -100)
                if sel.any():
                    s, n = sums.get(kind, (0.0, 0))
                    sums[kind] = (s + nll[sel].sum().item(), n + int(sel.sum()))
    model.train()
    return ' '.join(f'{KINDS[k]}={s / n:.2f}' for k, (s, n) in sorted(sums.items()))


def main():
    a = parse_args()
    torch.manual_seed(a.seed)
    random.seed(a.seed)
    torch.set_num_threads(a.threads)
    examples = json.load(open(a.data))
    held, train = examples[-HELD_OUT:], examples[:-HELD_OUT]
    random.shuffle(train)
    model = build_model(a)
    if a.mimetic:
        mimetic_init(model, a.mimetic, a.seed)
    decay = [p for p in model.parameters() if p.dim() >= 2]
    no_decay = [p for p in model.parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{'params': decay, 'weight_decay': a.weight_decay}, {'params': no_decay, 'weight_decay': 0.0}], lr=a.lr, betas=(0.9, a.beta2))
    steps = min(a.steps, len(train) // a.batch)
    names = {v: k for k, v in KINDS.items()}
    kind_weights = {names[k]: float(w) for k, w in (x.split('=') for x in a.weight)}

    def lr_at(s):
        if s < WARMUP:
            return a.lr * s / WARMUP
        progress = (s - WARMUP) / max(1, steps - WARMUP)
        if a.schedule == 'constant':
            return a.lr
        if a.schedule == 'linear':
            return a.lr * (1 - progress)
        return a.lr * 0.5 * (1 + math.cos(math.pi * progress))

    print(f'{a.arch}: {sum(p.numel() for p in model.parameters()) / 1e6:.2f}M parameters, {steps} steps of {a.batch}', flush=True)
    losses = []
    for s in range(steps):
        ids, labels, mask, kinds = collate(train[s * a.batch:(s + 1) * a.batch])
        for g in opt.param_groups:
            g['lr'] = lr_at(s)
        weights = torch.ones(kinds.shape)
        for kind, w in kind_weights.items():
            weights[kinds == kind] = w
        losses.append(train_step(model, opt, ids, labels, mask, weights))
        if (s + 1) % a.every == 0 or s + 1 == steps:
            window = losses[-a.every:]
            print(f'step {s + 1}: train loss {sum(window) / len(window):.3f}; held-out loss by kind: {loss_by_kind(model, held, a.vocab)}', flush=True)


if __name__ == '__main__':
    main()
