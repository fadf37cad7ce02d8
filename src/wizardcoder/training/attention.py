"""Padding-free attention for devices without a variable-length kernel (CPU, GPUs without flash-attn).

A padding-free batch is one sequence of several rows. transformers keeps rows apart with a
block-diagonal mask over the whole sequence, so SDPA still computes every query against every key
(N^2) and falls back to its masked kernel: on CPU that cost ate most of what dropping the padding
saved. TRL's collator also passes the row boundaries (``cu_seq_lens_q``), so this attention runs
causal SDPA on each row separately: sum(n_i^2) work, the fast unmasked kernel, and the same
result as the padded batch. Anything without boundaries goes to the stock SDPA path unchanged.
"""

from __future__ import annotations

import itertools
from typing import Any

NAME = "wizardcoder_varlen_sdpa"


def varlen_sdpa_forward(module: Any, query: Any, key: Any, value: Any, attention_mask: Any, dropout: float = 0.0,
                        scaling: float | None = None, is_causal: bool | None = None, **kwargs: Any) -> tuple[Any, None]:
    import torch
    from transformers.integrations.sdpa_attention import repeat_kv, sdpa_attention_forward

    cu = kwargs.get("cu_seq_lens_q")
    if cu is None or query.shape[0] != 1 or query.shape[2] != key.shape[2] or kwargs.get("position_bias") is not None:
        return sdpa_attention_forward(module, query, key, value, attention_mask, dropout=dropout, scaling=scaling,
                                      is_causal=is_causal, **kwargs)
    groups = getattr(module, "num_key_value_groups", 1)
    if groups > 1:
        key, value = repeat_kv(key, groups), repeat_kv(value, groups)
    bounds = cu.tolist()
    outs = [torch.nn.functional.scaled_dot_product_attention(query[:, :, s:e], key[:, :, s:e], value[:, :, s:e],
                                                             dropout_p=dropout, scale=scaling, is_causal=True)
            for s, e in itertools.pairwise(bounds) if e > s]
    if bounds[-1] < query.shape[2]:  # padding to a multiple after the last row: attends to itself only, unused
        tail = query.shape[2] - bounds[-1]
        outs.append(torch.nn.functional.scaled_dot_product_attention(
            query[:, :, -tail:], key[:, :, -tail:], value[:, :, -tail:], scale=scaling, is_causal=True))
    out = torch.cat(outs, dim=2)
    return out.transpose(1, 2).contiguous(), None


def register() -> str:
    """Make the attention (and its mask builder, the SDPA one, for batches without boundaries) known by name."""
    from transformers import AttentionInterface
    from transformers.masking_utils import AttentionMaskInterface, sdpa_mask

    AttentionInterface.register(NAME, varlen_sdpa_forward)
    AttentionMaskInterface.register(NAME, sdpa_mask)
    return NAME
