"""OFFLINE STAND-IN for Hugging Face inference: a local server speaking its wire protocol.

Not a model and not Hugging Face: answers are deterministic functions of the request (see
`answers`), so tests, the e2e suite and the offline demo run without network. Run it with
`hf-inference-standin --port N` (or `python -m hf_inference_standin`). It ships apart from the
service: the service's package and image never contain it.
"""

from __future__ import annotations

from .answers import SUMMARY_PREFIX as SUMMARY_PREFIX
from .answers import generated_tokens as generated_tokens
from .answers import summarize as summarize
from .answers import text_classification as text_classification
from .answers import token_classification as token_classification
from .server import create_app as create_app

__all__ = [
    "SUMMARY_PREFIX",
    "create_app",
    "generated_tokens",
    "summarize",
    "text_classification",
    "token_classification",
]
