#!/usr/bin/env python3
"""Check that transformers loads what kiln's LlamaForCausalLM.save writes.

    node scripts/save-llama-fixtures.mjs <out>        # or any kiln-saved directory per fixture
    python3 scripts/check-llama-save.py <saved dir> <fixture dir>

Loads <saved dir> with AutoModelForCausalLM (float64, sdpa, as the fixtures were made), runs the
fixture's inputs and compares the logits of real positions with the fixture's expected logits
(relative to their largest magnitude). Exits 1 when they differ by more than 1e-6.
"""

import json
import os
import sys

import torch
from safetensors.torch import load_file
from transformers import AutoModelForCausalLM


def main(saved, fixture):
    model = AutoModelForCausalLM.from_pretrained(saved, attn_implementation="sdpa").double().eval()
    with open(os.path.join(fixture, "inputs.json")) as f:
        inputs = json.load(f)
    ids = torch.tensor(inputs["input_ids"])
    mask = torch.tensor(inputs["attention_mask"])
    with torch.no_grad():
        logits = model(input_ids=ids, attention_mask=mask).logits
    want = load_file(os.path.join(fixture, "expected.safetensors"))["logits"].double()
    real = mask.bool()
    err = ((logits - want)[real].abs().max() / want[real].abs().max()).item()
    print(f"{saved}: {type(model).__name__}, logits max error / max|ref| = {err:.2e}")
    return 0 if err < 1e-6 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
