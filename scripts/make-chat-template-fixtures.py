#!/usr/bin/env python3
"""Regenerate test/fixtures/golden-llama/chat/: a tiny byte-level BPE tokenizer with ChatML-style
special tokens, two chat templates written for these fixtures (one marking the assistant's text
with {% generation %} blocks), and what transformers' apply_chat_template makes of a few
conversations: the rendered text (with tools and add_generation_prompt), the token ids, and for
the generation template the assistant mask (return_assistant_tokens_mask).

    python3 -m pip install transformers tokenizers
    python3 scripts/make-chat-template-fixtures.py
"""

import json
import os
import shutil
import tempfile

from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
from transformers import AutoTokenizer

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "test", "fixtures", "golden-llama", "chat")
SPECIALS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]

TEMPLATE = """{%- if tools %}<|im_start|>system
{% if messages[0].role == 'system' %}{{ messages[0].content }}
{% endif %}
You may call these functions:
{% for tool in tools %}{{ tool | tojson }}
{% endfor %}
Reply with <call>{"name": ..., "arguments": ...}</call>.<|im_end|>
{% elif messages[0].role == 'system' %}<|im_start|>system
{{ messages[0].content }}<|im_end|>
{% endif %}
{%- for message in messages %}
{%- if message.role == 'assistant' %}<|im_start|>assistant
@@OPEN@@{% if message.content %}{{ message.content }}{% endif %}
{%- if message.tool_calls %}{% for call in message.tool_calls %}<call>{{ call.function | tojson }}</call>{% endfor %}{% endif %}<|im_end|>@@CLOSE@@
{% elif message.role == 'tool' %}<|im_start|>tool
{{ message.content }}<|im_end|>
{% elif message.role != 'system' %}<|im_start|>{{ message.role }}
{{ message.content }}<|im_end|>
{% endif %}
{%- endfor %}
{%- if add_generation_prompt %}<|im_start|>assistant
{% endif %}"""

TEMPLATES = {
    "messages": TEMPLATE.replace("@@OPEN@@", "").replace("@@CLOSE@@", ""),
    "generation": TEMPLATE.replace("@@OPEN@@", "{% generation %}").replace("@@CLOSE@@", "{% endgeneration %}"),
}

TOOLS = [{"type": "function", "function": {"name": "get_weather", "description": "Weather for a city",
                                           "parameters": {"type": "object", "properties": {"city": {"type": "string"}},
                                                          "required": ["city"]}}}]

CONVERSATIONS = {
    "tools": dict(tools=TOOLS, messages=[
        {"role": "system", "content": "You are a helpful assistant."},
        {"role": "user", "content": "What is the weather in Paris?"},
        {"role": "assistant", "content": "", "tool_calls": [
            {"type": "function", "function": {"name": "get_weather", "arguments": {"city": "Paris"}}}]},
        {"role": "tool", "content": "{\"temperature\": 21, \"sky\": \"clear\"}"},
        {"role": "assistant", "content": "It is 21 degrees and clear in Paris."},
    ]),
    "plain": dict(tools=None, messages=[
        {"role": "user", "content": "Say hello."},
        {"role": "assistant", "content": "Hello there!"},
        {"role": "user", "content": "Again, in French."},
        {"role": "assistant", "content": "Bonjour !"},
    ]),
}

CORPUS = [
    "You are a helpful assistant. What is the weather in Paris? It is 21 degrees and clear.",
    "Say hello. Hello there! Again, in French. Bonjour ! assistant user system tool",
    '{"type": "function", "function": {"name": "get_weather", "description": "Weather for a city"}}',
    '{"parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}',
    "You may call these functions: Reply with <call>{\"name\": ..., \"arguments\": ...}</call>.",
    '{"temperature": 21, "sky": "clear"}',
]


def tokenizer_json():
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=420, special_tokens=SPECIALS,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tok.train_from_iterator(CORPUS * 4, trainer)
    return tok


def main():
    shutil.rmtree(OUT, ignore_errors=True)
    os.makedirs(OUT)
    tokenizer_json().save(os.path.join(OUT, "tokenizer.json"))
    base_config = {"tokenizer_class": "PreTrainedTokenizerFast", "bos_token": None, "eos_token": "<|im_end|>",
                   "pad_token": "<|endoftext|>", "model_max_length": 512}
    with open(os.path.join(OUT, "tokenizer_config.json"), "w") as f:
        json.dump({**base_config, "chat_template": TEMPLATES["messages"]}, f, indent=1)
    cases = []
    for tname, template in TEMPLATES.items():
        with tempfile.TemporaryDirectory() as d:
            shutil.copy(os.path.join(OUT, "tokenizer.json"), d)
            with open(os.path.join(d, "tokenizer_config.json"), "w") as f:
                json.dump({**base_config, "chat_template": template}, f)
            tok = AutoTokenizer.from_pretrained(d)
        for cname, conv in CONVERSATIONS.items():
            for agp in (False, True):
                msgs = conv["messages"][:-1] if agp else conv["messages"]
                kw = dict(tools=conv["tools"], add_generation_prompt=agp)
                text = tok.apply_chat_template(msgs, tokenize=False, **kw)
                enc = tok.apply_chat_template(msgs, tokenize=True, return_dict=True,
                                              return_assistant_tokens_mask=tname == "generation", **kw)
                case = dict(template=tname, conversation=cname, add_generation_prompt=agp, text=text,
                            input_ids=list(enc["input_ids"]))
                if tname == "generation":
                    case["assistant_masks"] = list(enc["assistant_masks"])
                cases.append(case)
    with open(os.path.join(OUT, "expected.json"), "w") as f:
        json.dump({"templates": TEMPLATES, "conversations": CONVERSATIONS, "cases": cases}, f, indent=1, ensure_ascii=False)
    print(f"{len(cases)} cases; vocab {tokenizer_json().get_vocab_size()}")


if __name__ == "__main__":
    main()
