"""Copying a number out of a reply, alone: how fast the demo's model shape learns it (docs/demo.md).

A random Llama of the demo's shape (2 layers, hidden 128, 4 heads) trains on synthetic token
sequences in which the only target is a number to copy from earlier in the sequence, as an
answer copies a number from a tool's reply. Three settings:

  alone        one reply `KEY : n`, among filler tokens; no other number in the sequence
  distractors  the same, with two other numbers of the same kind elsewhere in the sequence
  two-replies  one or two topics, each with its reply; the answer names each topic and its number

    python3 scripts/demo/probe/copy_sanity.py --setting alone --batch 8

Prints the mean loss of each 100 steps; log(90) = 4.5 is a guess among the 90 numbers.
"""
import argparse
import random

import torch
from transformers import LlamaConfig, LlamaForCausalLM

from copy_probe import train_step

VOCAB = 2048
NUMBERS = list(range(1000, 1090))
FILLER = list(range(100, 900))
TOPICS = list(range(1700, 1780))
KEY, COLON, ANSWER, END = 1500, 1501, 1502, 1503


def filler(low, high):
    return [random.choice(FILLER) for _ in range(random.randint(low, high))]


def one_reply(distractors):
    n = random.choice(NUMBERS)
    before = filler(5, 60)
    if distractors:
        before.insert(3, random.choice(NUMBERS))
    after = filler(2, 8) + ([random.choice(NUMBERS)] if distractors else [random.choice(FILLER)])
    seq = before + [KEY, COLON, n, END] + after + [ANSWER, n]
    return seq, [-100] * (len(seq) - 1) + [n]


def two_replies():
    k = 1 if random.random() < 0.5 else 2
    topics = random.sample(TOPICS, k)
    numbers = [random.choice(NUMBERS) for _ in range(k)]
    seq = filler(5, 30) + topics + filler(3, 10)
    for t, n in zip(topics, numbers):
        seq += [t] + filler(2, 6) + [KEY, COLON, n, END] + filler(2, 8)
    seq.append(ANSWER)
    labels = [-100] * len(seq)
    for t, n in zip(topics, numbers):
        seq += [t, n]
        labels += [-100, n]
    return seq, labels


def example(setting):
    if setting == 'two-replies':
        return two_replies()
    return one_reply(setting == 'distractors')


def main():
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--setting', choices=['alone', 'distractors', 'two-replies'], default='alone')
    p.add_argument('--batch', type=int, default=8)
    p.add_argument('--steps', type=int, default=1500)
    p.add_argument('--lr', type=float, default=3e-3)
    a = p.parse_args()
    torch.manual_seed(0)
    random.seed(0)
    torch.set_num_threads(1)
    config = LlamaConfig(vocab_size=VOCAB, hidden_size=128, num_hidden_layers=2, intermediate_size=512, num_attention_heads=4,
                         num_key_value_heads=4, max_position_embeddings=512, tie_word_embeddings=True, attn_implementation='eager')
    model = LlamaForCausalLM(config)
    opt = torch.optim.AdamW(model.parameters(), lr=a.lr, weight_decay=0.01)
    losses = []
    for step in range(a.steps):
        batch = [example(a.setting) for _ in range(a.batch)]
        T = max(len(s) for s, _ in batch)
        ids = torch.full((a.batch, T), 1)
        labels = torch.full((a.batch, T), -100)
        mask = torch.zeros((a.batch, T), dtype=torch.long)
        for b, (s, l) in enumerate(batch):
            ids[b, :len(s)], labels[b, :len(l)], mask[b, :len(s)] = torch.tensor(s), torch.tensor(l), 1
        losses.append(train_step(model, opt, ids, labels, mask))
        if (step + 1) % 100 == 0:
            print(f'step {step + 1}: mean loss {sum(losses[-100:]) / 100:.3f}', flush=True)


if __name__ == '__main__':
    main()
