"""Tiny random causal LMs with a byte-level BPE tokenizer trained here, offline.

Two families, like the WizardCoder bases: Llama (Code Llama: BOS ``<s>`` added to every text,
EOS ``</s>``) and GPTBigCode (StarCoder: no BOS, ``<|endoftext|>`` for everything). Neither
tokenizer has a pad token, so the trainer's pad handling is exercised.
"""

from __future__ import annotations

from pathlib import Path

CORPUS = [
    "Below is an instruction that describes a task. Write a response that appropriately completes the request.",
    "Below is an instruction that describes a task, paired with an input that provides further context.",
    "### Instruction:\n### Input:\n### Response:",
    "def add(a, b):\n    return a + b\n",
    "def is_prime(n):\n    if n < 2:\n        return False\n    for i in range(2, int(n ** 0.5) + 1):\n"
    "        if n % i == 0:\n            return False\n    return True\n",
    "Write a function that reverses a string. Here is the code:\nprint(s[::-1])",
    "for x in range(10):\n    print(x * x)\nclass Stack:\n    def push(self, item):\n        self.items.append(item)\n",
    "Sort the list in ascending order and return the sum of the even numbers. Use Python 3.",
]


def train_tokenizer(family: str, vocab_size: int = 400):
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast

    if family == "llama":
        bos, eos, unk = "<s>", "</s>", "<unk>"
        specials = [unk, bos, eos]
    else:
        bos = eos = unk = "<|endoftext|>"
        specials = [eos]
    tok = Tokenizer(models.BPE(unk_token=unk))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=specials,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tok.train_from_iterator(CORPUS * 20, trainer=trainer)
    if family == "llama":
        tok.post_processor = processors.TemplateProcessing(single=f"{bos} $A", pair=f"{bos} $A {bos} $B",
                                                           special_tokens=[(bos, tok.token_to_id(bos))])
    else:
        tok.post_processor = processors.ByteLevel(trim_offsets=False)
    return PreTrainedTokenizerFast(tokenizer_object=tok, bos_token=bos, eos_token=eos, unk_token=unk)


def make_tiny_model(family: str, out: Path, seed: int = 0) -> Path:
    """A saved tiny ``family`` model directory (``llama`` or ``gpt_bigcode``) at ``out``."""
    import torch
    from transformers import AutoModelForCausalLM, GPTBigCodeConfig, LlamaConfig

    tokenizer = train_tokenizer(family)
    vocab = len(tokenizer)
    if family == "llama":
        config = LlamaConfig(vocab_size=vocab, hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                             num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=512,
                             bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
                             tie_word_embeddings=False)
    elif family == "gpt_bigcode":
        config = GPTBigCodeConfig(vocab_size=vocab, n_embd=64, n_layer=2, n_head=4, n_positions=512,
                                  multi_query=True, bos_token_id=tokenizer.bos_token_id,
                                  eos_token_id=tokenizer.eos_token_id)
    else:
        raise ValueError(family)
    torch.manual_seed(seed)
    model = AutoModelForCausalLM.from_config(config)
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    return out
