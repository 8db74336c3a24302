r"""A real English corpus that needs no download: the docstrings of Python's standard library.

Every machine that runs the book has Python, and Python's standard library
documents itself: the module, class and function docstrings together are about
0.7 million characters of technical English (Python 3.11: some 2,200 distinct
docstrings from about 190 modules). That is small next to an LLM's corpus but
large enough to measure entropies per unit, to train a tiny language model in a
minute, and to compare a model's code length with a real compressor's.

The corpus depends on the Python version (docstrings are edited between
releases), so the book's checks compare quantities computed on the same text and
never hard-code a number of the corpus.

Units. The same text can be cut into bytes (UTF-8), characters (Unicode code
points) or WordPiece tokens (the MiniLM tokenizer of chapter 4,
:func:`wordpiece_tokenizer`); :func:`encode` does all three, and
:class:`Vocabulary` maps any of them onto ``0..V-1`` for a model.

Book: chapter *From bits to tokens* (``01_bits_to_tokens/bits_vs_tokens``) and the
capstone (``06_conclusions/capstone``).
"""

from __future__ import annotations

import hashlib
import sys
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from ._backend import numpy_core, numpy_rng

__all__ = [
    "UNITS",
    "stdlib_docstrings",
    "split_documents",
    "fingerprint",
    "wordpiece_tokenizer",
    "encode",
    "Vocabulary",
    "plugin_entropy",
]

UNITS = ("byte", "char", "wordpiece")
Unit = Literal["byte", "char", "wordpiece"]

# Modules that open windows, start programs, print on import, or only exist on some platforms.
_SKIP = frozenset(
    {
        "antigravity",
        "this",
        "idlelib",
        "tkinter",
        "turtle",
        "turtledemo",
        "lib2to3",
        "ensurepip",
        "pydoc_data",
        "test",
        "venv",
        "xxlimited",
        "msilib",
        "winreg",
        "winsound",
        "nt",
        "msvcrt",
        "pty",
        "tty",
        "curses",
        "readline",
        "crypt",
        "nis",
        "ossaudiodev",
        "spwd",
        "sqlite3",
        "dbm",
        "webbrowser",
        "__hello__",
        "__phello__",
    }
)


def _default_modules() -> list[str]:
    return sorted(m for m in sys.stdlib_module_names if not m.startswith("_") and m not in _SKIP)


#: Run by a fresh interpreter (``python -I``): reads the docstrings of the modules named in
#: ``argv[1]`` (JSON) and writes ``{"docs": [...], "failed": {name: error}}`` to the file ``argv[2]``.
#: A fresh process, because a running one may have replaced standard-library objects: the
#: IPython kernel swaps ``pdb.Pdb`` for its own debugger, whose docstrings are not the stdlib's.
_COLLECT = r"""
import importlib, inspect, json, sys, warnings

def docstrings_of(module):
    name = module.__name__
    found = [inspect.getdoc(module)]
    for attr, obj in sorted(vars(module).items()):
        if attr.startswith("_") or getattr(obj, "__module__", None) != name:
            continue
        if inspect.isclass(obj) or inspect.isfunction(obj):
            found.append(inspect.getdoc(obj))
        if inspect.isclass(obj):
            found.extend(inspect.getdoc(m) for a, m in sorted(vars(obj).items())
                         if not a.startswith("_") and inspect.isfunction(m))
    return found

names, out, min_chars = json.loads(sys.argv[1]), sys.argv[2], int(sys.argv[3])
seen, docs, failed = set(), [], {}
with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # deprecated modules warn on import
    for name in names:
        try:
            module = importlib.import_module(name)
        except Exception as err:  # platform-specific modules
            failed[name] = repr(err)
            continue
        for doc in docstrings_of(module):
            if doc and len(doc) >= min_chars and doc not in seen:
                seen.add(doc)
                docs.append(doc)
with open(out, "w", encoding="utf-8") as f:
    json.dump({"docs": docs, "failed": failed}, f)
"""


def stdlib_docstrings(modules: Sequence[str] | None = None, *, min_chars: int = 40) -> list[str]:
    """The distinct docstrings of the standard library, in a fixed order.

    For each module (sorted by name), its own docstring, then those of its
    public classes and functions (sorted by name), then those of each class's
    public methods. Docstrings are cleaned with ``inspect.getdoc``;
    duplicates and those shorter than ``min_chars`` are dropped.

    The modules are read by a fresh, isolated interpreter (``python -I``, about
    2 s for the whole library), not by the calling process: a running process
    may have replaced standard-library objects (the IPython kernel swaps
    ``pdb.Pdb`` for its own debugger), and the corpus must not depend on that.

    Parameters
    ----------
    modules : sequence of str, optional
        Module names to read. Default: every public top-level module of
        ``sys.stdlib_module_names`` that imports on this platform, less a few
        that have side effects on import (``antigravity``, ``this``, GUI
        toolkits).
    min_chars : int, default 40

    Returns
    -------
    list of str
        One document per docstring. Same Python version, same list, in a
        script, a test or a notebook kernel.

    Raises
    ------
    ValueError
        If ``min_chars`` is negative, or a module named in ``modules`` cannot
        be imported, or nothing is left.
    RuntimeError
        If the interpreter that reads the modules fails.

    Examples
    --------
    >>> docs = stdlib_docstrings(["json"])
    >>> docs[0].startswith("JSON (JavaScript Object Notation)")
    True
    """
    import json
    import os
    import subprocess
    import tempfile

    if isinstance(min_chars, bool) or not isinstance(min_chars, int) or min_chars < 0:
        raise ValueError(f"`min_chars` must be a non-negative int, got {min_chars!r}")
    if modules is not None and (isinstance(modules, str) or not all(isinstance(m, str) for m in modules)):
        raise TypeError("`modules` must be a sequence of module names (str)")
    names = list(modules) if modules is not None else _default_modules()
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "docs.json")
        run = subprocess.run(
            [sys.executable, "-I", "-c", _COLLECT, json.dumps(names), out, str(min_chars)],
            capture_output=True,
            text=True,
            cwd=tmp,
            check=False,
        )
        if run.returncode != 0 or not os.path.exists(out):
            raise RuntimeError(f"reading the standard library's docstrings failed:\n{run.stderr[-2000:]}")
        with open(out, encoding="utf-8") as f:
            result = json.load(f)
    if modules is not None and result["failed"]:
        name, err = next(iter(result["failed"].items()))
        raise ValueError(f"`modules`: cannot import {name!r} ({err})")
    docs: list[str] = result["docs"]
    if not docs:
        raise ValueError("no docstring is left: lower `min_chars` or name other `modules`")
    return docs


def split_documents(
    docs: Sequence[str], test_fraction: float = 0.1, *, seed: int | np.random.Generator | None = 0
) -> tuple[list[str], list[str]]:
    """Split documents (not characters) into a training and a test set.

    Splitting whole documents keeps the test text unseen: a split inside a
    docstring would let the model see the first half of a sentence whose end
    it is tested on.

    Parameters
    ----------
    docs : sequence of str
    test_fraction : float in (0, 1), default 0.1
    seed : int, None or numpy.random.Generator, default 0
        Random state (see CONTRIBUTING.md, glossary).

    Returns
    -------
    train, test : list of str
        Each keeps the documents' original order.
    """
    if isinstance(docs, str) or len(docs) < 2:
        raise ValueError("`docs` must be a sequence of at least two documents")
    if not 0.0 < float(test_fraction) < 1.0:
        raise ValueError(f"`test_fraction` must lie in (0, 1), got {test_fraction!r}")
    n_test = max(1, min(len(docs) - 1, round(test_fraction * len(docs))))
    order = numpy_rng(seed).permutation(len(docs))
    test_idx = set(order[:n_test].tolist())
    train = [d for i, d in enumerate(docs) if i not in test_idx]
    test = [d for i, d in enumerate(docs) if i in test_idx]
    return train, test


def fingerprint(docs: Iterable[str]) -> str:
    """First 12 hex digits of the SHA-256 of the documents, to say which corpus a number came from."""
    h = hashlib.sha256()
    for d in docs:
        h.update(d.encode("utf-8"))
        h.update(b"\0")
    return h.hexdigest()[:12]


def wordpiece_tokenizer() -> Any:
    """The WordPiece tokenizer of all-MiniLM-L6-v2 (30,522 tokens, lower-cased), no padding, no special tokens.

    Read from the installed model package with ``tokenizers``; raises
    :class:`semlib.embeddings.MissingOptionalDependency` if the package is missing.
    """
    from .embeddings import _require, model_dir

    _require("tokenizers", "tokenizers", "to read the model's vocabulary")
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(model_dir() / "tokenizer.json"))
    tok.no_padding()
    tok.no_truncation()
    return tok


def encode(text: str, unit: Unit, *, tokenizer: Any = None) -> list[int]:
    """Cut ``text`` into units and return their integer codes.

    Parameters
    ----------
    text : str
    unit : {"byte", "char", "wordpiece"}
        ``byte``: the UTF-8 bytes (0–255). ``char``: Unicode code points.
        ``wordpiece``: MiniLM token ids, without ``[CLS]``/``[SEP]``; note that
        this tokenizer lower-cases and drops whitespace, so it describes a
        *normalised* text (see the chapter).
    tokenizer : tokenizers.Tokenizer, optional
        For ``wordpiece``; default :func:`wordpiece_tokenizer` (loaded once per call).

    Returns
    -------
    list of int

    Examples
    --------
    >>> encode("héllo", "byte")[:3], encode("héllo", "char")[:3]
    ([104, 195, 169], [104, 233, 108])
    """
    if not isinstance(text, str):
        raise TypeError(f"`text` must be str, got {type(text).__name__}")
    if unit == "byte":
        return list(text.encode("utf-8"))
    if unit == "char":
        return [ord(c) for c in text]
    if unit == "wordpiece":
        tok = tokenizer if tokenizer is not None else wordpiece_tokenizer()
        return list(tok.encode(text, add_special_tokens=False).ids)
    raise ValueError(f"`unit` must be one of {UNITS}, got {unit!r}")


@dataclass
class Vocabulary:
    """Map unit codes onto ``0..V-1``, most frequent first, with one id for unseen codes.

    Build it from training codes with :meth:`fit`; codes it has not seen map to
    :attr:`unk_id` (the last id), so a model trained on the training text can
    score any test text.

    Attributes
    ----------
    codes : list of int
        ``codes[i]`` is the unit code of id ``i`` (the last, ``unk_id``, has code -1).
    counts : numpy.ndarray
        Training counts per id (0 for ``unk_id``).
    """

    codes: list[int]
    counts: np.ndarray
    _index: dict[int, int] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._index = {c: i for i, c in enumerate(self.codes)}

    @classmethod
    def fit(cls, codes: Iterable[int], max_size: int | None = None) -> Vocabulary:
        """The vocabulary of ``codes``; with ``max_size``, keep the ``max_size - 1`` most frequent."""
        counter = Counter(codes)
        if not counter:
            raise ValueError("`codes` is empty")
        if max_size is not None and (not isinstance(max_size, int) or max_size < 2):
            raise ValueError(f"`max_size` must be an int >= 2, got {max_size!r}")
        common = sorted(counter.items(), key=lambda kv: (-kv[1], kv[0]))
        if max_size is not None:
            common = common[: max_size - 1]
        codes_ = [c for c, _ in common] + [-1]
        counts = np.array([n for _, n in common] + [0], dtype=np.int64)
        return cls(codes_, counts)

    @property
    def size(self) -> int:
        """V, the number of ids (the unseen-code id included)."""
        return len(self.codes)

    @property
    def unk_id(self) -> int:
        """The id of every code not seen by :meth:`fit` (the last id, V − 1)."""
        return len(self.codes) - 1

    def ids(self, codes: Iterable[int]) -> np.ndarray:
        """Ids of ``codes`` (``unk_id`` for codes not in the vocabulary), as int64."""
        unk = self.unk_id
        return np.fromiter((self._index.get(c, unk) for c in codes), dtype=np.int64)


@numpy_core("codes")
def plugin_entropy(codes: Iterable[int] | np.ndarray, base: float | None = None) -> float:
    r"""Plug-in (maximum-likelihood) entropy of the unigram frequencies of ``codes``.

    .. math:: \hat H = -\sum_a \hat p(a)\log \hat p(a),\qquad \hat p(a) = n_a / n.

    This is the entropy of a memoryless source fitted to the text, an upper
    bound on the text's entropy *rate* (conditioning reduces entropy), and
    biased low by about :math:`(K-1)/(2n)` nats for K distinct symbols
    (Miller–Madow). Nats by default; ``base=2`` for bits.
    """
    arr = np.asarray(list(codes) if not isinstance(codes, np.ndarray) else codes)
    if arr.size == 0:
        raise ValueError("`codes` is empty")
    _, counts = np.unique(arr, return_counts=True)
    p = counts / counts.sum()
    h = float(-(p * np.log(p)).sum())
    if base is not None:
        if base <= 0 or base == 1:
            raise ValueError(f"`base` must be positive and not 1, got {base!r}")
        h /= np.log(base)
    return h
