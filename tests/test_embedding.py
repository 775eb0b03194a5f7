"""The embedding metric's encoder: a mean-pooling sentence-transformers model is encoded without importing
sentence-transformers (nor scikit-learn and scipy under it), with the vectors sentence-transformers gives."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import numpy as np
import pytest

from ecombench.metrics.embedding import Embedders, _is_mean_pooled, resolve_embedding_model

TEXTS = [
    "  A red cotton shirt for summer.  ",
    "",
    "x",
    "Waterproof hiking boots " * 80,
    "Ünïcödé  café\tthé",
    "Laptops and tablets: computers you carry.",
    "\n",
]


@pytest.mark.slow
def test_a_mean_pooling_model_encodes_as_sentence_transformers_does():
    from sentence_transformers import SentenceTransformer

    path = resolve_embedding_model("sent-transformer")
    assert _is_mean_pooled(path)
    ours = Embedders(batch_size=3).encoder("sent-transformer")(TEXTS)  # batches of mixed lengths; a text of 400+ tokens is cut
    theirs = SentenceTransformer(str(path), device="cpu").encode(TEXTS, batch_size=32)
    cosines = (ours @ theirs.T).diagonal() / (np.linalg.norm(ours, axis=1) * np.linalg.norm(theirs, axis=1))
    assert cosines.min() > 1 - 1e-6


@pytest.mark.slow
def test_the_embedding_metric_imports_neither_sentence_transformers_nor_scikit_learn():
    code = (
        "import sys; from ecombench.metrics.embedding import Embedders; Embedders().encoder('sent-transformer')(['a shirt']);"
        "print(sorted(m for m in ('sentence_transformers', 'sklearn', 'scipy.stats') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_a_model_of_other_pooling_goes_to_sentence_transformers(tmp_path):
    path = resolve_embedding_model("sent-transformer")
    for name in ("modules.json", "sentence_bert_config.json", "config.json"):
        shutil.copy(path / name, tmp_path / name)
    (tmp_path / "1_Pooling").mkdir()
    pooling = json.loads((path / "1_Pooling" / "config.json").read_text())
    (tmp_path / "1_Pooling" / "config.json").write_text(json.dumps(pooling))
    assert _is_mean_pooled(tmp_path)
    (tmp_path / "1_Pooling" / "config.json").write_text(json.dumps({**pooling, "pooling_mode_mean_tokens": False, "pooling_mode_cls_token": True}))
    assert not _is_mean_pooled(tmp_path)  # CLS pooling: sentence-transformers encodes it
    (tmp_path / "1_Pooling" / "config.json").write_text(json.dumps(pooling))
    (tmp_path / "sentence_bert_config.json").write_text(json.dumps({"max_seq_length": 256, "do_lower_case": True}))
    assert not _is_mean_pooled(tmp_path)  # lower-cased input: sentence-transformers encodes it
