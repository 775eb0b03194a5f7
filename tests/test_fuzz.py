"""Property tests: arbitrary input to the readers raises nothing but ecombench's own clear errors.

Examples per property: ``ECOMBENCH_FUZZ_EXAMPLES`` (CI: 200; a nightly run: 10000).
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ecombench.errors import EcombenchError
from ecombench.records import load_records
from ecombench.scorefile import score_files
from ecombench.submissions import load
from ecombench.taskcheck import validate
from tests.helpers.sources import record

EXAMPLES = int(os.environ.get("ECOMBENCH_FUZZ_EXAMPLES", "200"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-10, 10**6) | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=5),
    max_leaves=12,
)
prediction_lines = st.one_of(
    st.text(max_size=60),  # anything, not even JSON
    json_values.map(json.dumps),
    st.fixed_dictionaries({"index": st.integers(-3, 5) | st.text(max_size=3) | st.none(), "prediction": st.text(max_size=30) | st.integers()}).map(json.dumps),
)
RECORDS = [record("t", "multiple-choice", "accuracy", 1, prompt="Q1"), record("u", "generation", "rougel", "x", prompt="Q2")]


def _tmp(text: str, suffix: str) -> Path:
    with tempfile.NamedTemporaryFile("w", suffix=suffix, delete=False, encoding="utf-8") as handle:
        handle.write(text)
    return Path(handle.name)


@FUZZ
@given(lines=st.lists(prediction_lines, max_size=6))
@pytest.mark.slow
def test_predictions_reader_raises_only_clear_errors(lines):
    data = _tmp("".join(json.dumps(r) + "\n" for r in RECORDS), ".jsonl")
    preds = _tmp("\n".join(lines), ".jsonl")
    try:
        report = score_files(data, preds)
        assert set(report.tasks) == {"t", "u"} and all(t.n == 1 and 0.0 <= t.score <= 1.0 for t in report.tasks.values())
    except EcombenchError as exc:
        assert str(preds) in str(exc) and "\n" not in str(exc)
    finally:
        data.unlink()
        preds.unlink()


@FUZZ
@given(lines=st.lists(json_values.map(json.dumps) | st.text(max_size=40), min_size=1, max_size=5))
@pytest.mark.slow
def test_data_reader_raises_only_clear_errors(lines):
    data = _tmp("\n".join(lines), ".jsonl")
    try:
        assert load_records(data)
    except EcombenchError as exc:
        assert str(data) in str(exc)
    finally:
        data.unlink()


yaml_texts = st.one_of(
    st.text(max_size=120),
    st.dictionaries(st.sampled_from(["task", "metadata", "dataset_kwargs", "include", "group", "custom_dataset", "metric_list"]), json_values, max_size=6).map(
        json.dumps
    ),  # JSON is YAML
)


@FUZZ
@given(text=yaml_texts)
@pytest.mark.slow
def test_task_validator_reports_problems_instead_of_raising(text):
    folder = Path(tempfile.mkdtemp())
    (folder / "t.yaml").write_text(text, encoding="utf-8")
    try:
        for problem in validate(folder):
            assert str(problem.file).startswith(str(folder))
    except EcombenchError as exc:  # e.g. an include that points nowhere
        assert str(folder) in str(exc)


@FUZZ
@given(doc=json_values | st.dictionaries(st.sampled_from(["schema_version", "id", "name", "created", "model", "tasks", "items_file"]), json_values, max_size=7))
@pytest.mark.slow
def test_submission_loader_raises_only_clear_errors(doc):
    path = _tmp(json.dumps(doc), ".json")
    try:
        load(path)
    except EcombenchError as exc:
        assert str(path) in str(exc)
    finally:
        path.unlink()
