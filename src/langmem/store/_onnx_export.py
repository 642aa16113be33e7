"""Export all-MiniLM-L6-v2's safetensors weights to an ONNX graph of its last hidden states.

Run once per weights, in a child process (the only place torch is imported)::

    python -m langmem.store._onnx_export MODEL_DIR OUT
"""

from __future__ import annotations

import os
import sys
import warnings


def export(model_dir: str, out: str) -> None:
    """Write the graph ``(input_ids, attention_mask) -> last_hidden_state`` to ``out``."""
    import torch
    from transformers import BertModel
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    bert = BertModel.from_pretrained(model_dir, attn_implementation="eager").eval()

    class Hidden(torch.nn.Module):
        """The tracer passes positional arguments; BertModel is called with keywords."""

        def __init__(self) -> None:
            super().__init__()
            self.bert = bert

        def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
            types = torch.zeros_like(input_ids)
            out = self.bert(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=types
            )
            return out.last_hidden_state

    ids = torch.ones(2, 8, dtype=torch.long)
    mask = ids.clone()
    mask[1, 5:] = 0  # a padded row, so that the traced graph applies the mask
    names = ["input_ids", "attention_mask", "last_hidden_state"]
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")  # the tracer's notes on shapes it keeps dynamic
        torch.onnx.export(
            Hidden(),
            (ids, mask),
            out,
            input_names=names[:2],
            output_names=names[2:],
            dynamic_axes={name: {0: "texts", 1: "tokens"} for name in names},
            opset_version=17,
            dynamo=False,
        )
    with open(out, "rb") as f:
        os.fsync(f.fileno())


if __name__ == "__main__":
    export(*sys.argv[1:])
