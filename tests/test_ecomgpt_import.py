"""`ecombench import ecominstruct`: EcomGPT's evaluation folders, prompted and scored as its eval.py does.

Fixtures are tiny invented rows in EcomGPT's real layout (``<DATASET>/tasks/LANG-DATASET-TYPE-TASK/``
with ``meta-info.json`` and a JSON Lines ``test.json``); scores are computed by hand.
"""

from __future__ import annotations

import json

import pytest

from ecombench.errors import EcombenchError
from ecombench.importers import IMPORTERS
from ecombench.importers.writer import write_suite
from ecombench.metrics import METRIC_NAMES, METRICS_BY_TASK_TYPE
from ecombench.metrics.ecomgpt import (
    cls_counts,
    condition_extract_rouge_l,
    extract_rouge_l,
    generate_rouge_l,
    ner_counts,
    rouge_l,
)
from ecombench.metrics.scores import F1Counts
from ecombench.scoring import ScoringItem, score_report
from ecombench.taskindex import build_index
from tests.helpers.cli import invoke_ecombench
from tests.helpers.sources import ecomgpt_task_folder

HEAD = "Below is an instruction that describes the {} task. Write a response that appropriately completes the request.\n"
EN_LABELS = {"en": ["Brand", "Product"], "cn": ["品牌", "商品"]}


def _tree(root):
    """One folder per TYPE, the three published kinds without label_set/label_key among them."""
    ecomgpt_task_folder(
        root,
        "ABSA",
        "EN-ABSA-CLS-review_topic_category",
        {
            "task": "EN-ABSA-CLS-review_topic_category",
            "defi": "review topic category",
            "test_prompt": {
                "instruction": "### Instruction:\n{sentences}\nSelect category for the above sentences from the following topics: {label_set}. \n### Response:"
            },
            "label_set": {"default": ["Food", "Service", "Price"]},
            "label_key": "default",
            "label_sep": ", ",
        },
        [
            {"sentences": "Tasty soup, slow waiter.", "labels": {"default": ["Food", "Service"]}},
            {"sentences": "Cheap lunch.", "labels": {"default": ["Price"]}},
        ],
    )
    ecomgpt_task_folder(
        root,
        "Lenovo",
        "EN-Lenovo-NER-NER",
        {
            "task": "EN-Lenovo-NER-NER",
            "defi": "named entity recognition",
            "label_set": EN_LABELS,
            "label_key": "en",
            "label_sep": ", ",
            "test_prompt": {
                "instruction": "### Instruction:\n{sentences}\nExtract all named entity with type about {label_set} in the sentence. \n### Response:"
            },
        },
        [
            {
                "sentences": "acme pro laptop from acme",
                "spans": [{"start": 0, "end": 4, "type": "Brand", "term": "acme"}, {"start": 5, "end": 15, "type": "Product", "term": "pro laptop"}],
            },
            {"sentences": "a plain sentence", "spans": []},
        ],
    )
    # upstream's meta "task" of this folder names another folder and TYPE; the folder name wins
    ecomgpt_task_folder(
        root,
        "MEPAVE",
        "ZH-MEPAVE-NER-attribute_value_extraction",
        {
            "task": "ZH-JAVE-Condition_Extract-attribute_value_detection",
            "defi": "attribute value detection",
            "label_set": {"cn": ["领型", "颜色"]},
            "label_key": "cn",
            "label_sep": ", ",
            "test_prompt": {
                "instruction": "### Instruction:\n{sentences}\nExtract all attribute value with attribue name about {label_set} in the sentence. \n### Response:"
            },
        },
        [{"sentences": "圆领红色短袖", "label_set": ["领型", "颜色"], "spans": [{"start": 0, "end": 2, "type": "领型", "term": "圆领"}]}],
    )
    ecomgpt_task_folder(
        root,
        "Lenovo",
        "EN-Lenovo-Condition_Extract-Condition_Extract",
        {
            "task": "EN-Lenovo-Condition_Extract-Condition_Extract",
            "defi": "entity span detection",
            "label_set": EN_LABELS,
            "label_key": "en",
            "label_sep": ", ",
            "test_prompt": {"instruction": "### Instruction:\n{sentences}\nDetect all named entity about {label_set} in the sentence. \n### Response:"},
        },
        [
            {
                "sentences": "acme pro laptop",
                "spans": [{"start": 0, "end": 4, "type": "Brand", "term": "acme"}, {"start": 5, "end": 15, "type": "Product", "term": "pro laptop"}],
            }
        ],
    )
    ecomgpt_task_folder(
        root,
        "Multi_CPR",
        "ZH-Multi_CPR-Extract-product_select_2",
        {
            "task": "ZH-Multi_CPR-Extract-product_select_2",
            "defi": "product select",
            "label_sep": ", ",
            "test_prompt": {
                "instruction": "### Instruction:\nSelect documents from the candidates that best match the product query.\n{sentences}\nOutput the document content only.\n### Response:"
            },
        },
        [
            {
                "label_set": [""],
                "sentences": "Query: 红色杯子\nCandidate Document: 蓝色雨伞, 红色马克杯.",
                "spans": [{"term": "红色马克杯", "start": 30, "end": 35}],
            },
            {"label_set": [""], "sentences": "Query: 雨伞\nCandidate Document: 蓝色雨伞, 红色马克杯.", "spans": [{"term": "蓝色雨伞", "start": 25, "end": 29}]},
        ],
    )
    ecomgpt_task_folder(
        root,
        "Reddit_QA",
        "EN-Reddit_QA-Extract-Extract_QA",
        {
            "task": "EN-Reddit_QA-Extract-Extract_QA",
            "defi": "extractive question answering",
            "label_sep": ", ",
            "test_prompt": {"instruction": "### Instruction:\n{sentences}\nExtract spans from context to answer the question. \n### Response:"},
        },
        [
            {
                "trace_id": "t1",
                "sentences": "Context: The mug holds 300 ml. Question: How much does it hold?",
                "label_set": [""],
                "spans": [{"term": "300 ml", "start": 23, "end": 29}],
            }
        ],
    )
    ecomgpt_task_folder(
        root,
        "OpenBG_Align",
        "ZH-OpenBG_Align-Generate-title_generate",
        {
            "task": "ZH-OpenBG_Align-Generate-title_generate",
            "defi": "product title generation",
            "label_sep": ", ",
            "test_prompt": {"instruction": "{sentences}\nGenerate a product title based on the above attribute information. \n### Response:"},
        },
        [{"sentences": "颜色#:#红色#;#材质#:#陶瓷", "label_set": [""], "spans": [{"term": "红色陶瓷马克杯", "start": 0, "end": 0}]}],
    )
    return root


def _cli(*args, home):
    return invoke_ecombench("import", "ecominstruct", *args, env={"ECOMBENCH_HOME": str(home), "COLUMNS": "250"})


def test_every_type_imports_under_its_folder_name_with_the_exact_prompt(tmp_path):
    root = _tree(tmp_path / "ecom_instruct_v1")
    suite = IMPORTERS["ecominstruct"](root)
    expected = {  # folder name -> (metric, track, rows)
        "EN-ABSA-CLS-review_topic_category": ("ecomgpt-cls-f1", "cls", 2),
        "EN-Lenovo-NER-NER": ("ecomgpt-ner-f1", "ner", 2),
        "ZH-MEPAVE-NER-attribute_value_extraction": ("ecomgpt-ner-f1", "ner", 1),
        "EN-Lenovo-Condition_Extract-Condition_Extract": ("ecomgpt-condition-extract-rougel", "condition_extract", 1),
        "ZH-Multi_CPR-Extract-product_select_2": ("ecomgpt-extract-rougel", "extract", 2),
        "EN-Reddit_QA-Extract-Extract_QA": ("ecomgpt-extract-rougel", "extract", 1),
        "ZH-OpenBG_Align-Generate-title_generate": ("ecomgpt-generate-rougel", "generate", 1),
    }
    assert {t: (rows[0]["metric"], rows[0]["track"], len(rows)) for t, rows in suite.tasks.items()} == expected
    assert all(r["task_type"] == "generation" and r["task_name"] == t for t, rows in suite.tasks.items() for r in rows)

    cls = suite.tasks["EN-ABSA-CLS-review_topic_category"]
    assert cls[0]["input_field"] == (
        HEAD.format("review topic category") + "### Instruction:\nTasty soup, slow waiter.\n"
        "Select category for the above sentences from the following topics: Food, Service, Price. \n### Response:"
    )
    assert [r["output_field"] for r in cls] == ["Food, Service", "Price"]
    ner = suite.tasks["EN-Lenovo-NER-NER"]
    assert ner[0]["input_field"].endswith("acme pro laptop from acme\nExtract all named entity with type about Brand, Product in the sentence. \n### Response:")
    assert ner[0]["output_field"] == ["Brand: acme\nProduct: pro laptop", "acme pro laptop from acme"]
    assert ner[1]["output_field"] == ["Brand: None\nProduct: None", "a plain sentence"]
    assert suite.tasks["ZH-MEPAVE-NER-attribute_value_extraction"][0]["output_field"] == ["领型: 圆领\n颜色: None", "圆领红色短袖"]
    assert suite.tasks["EN-Lenovo-Condition_Extract-Condition_Extract"][0]["output_field"] == "acme, pro laptop"
    assert [r["output_field"] for r in suite.tasks["ZH-Multi_CPR-Extract-product_select_2"]] == ["红色马克杯", "蓝色雨伞"]
    gen = suite.tasks["ZH-OpenBG_Align-Generate-title_generate"][0]
    assert gen["input_field"] == (
        HEAD.format("product title generation") + "颜色#:#红色#;#材质#:#陶瓷\n"
        "Generate a product title based on the above attribute information. \n### Response:"
    )
    assert gen["output_field"] == "红色陶瓷马克杯"
    assert not any("Output:" in r["input_field"] for rows in suite.tasks.values() for r in rows)

    dest = write_suite(suite, "ecom", tmp_path / "home")
    index = build_index([dest])
    assert index.tasks["ecom_zh_mepave_ner_attribute_value_extraction"].metric == "ecomgpt-ner-f1"
    assert {"ecom_cls", "ecom_ner", "ecom_extract", "ecom_condition_extract", "ecom_generate"} <= set(index.groups)
    assert sum(t.item_count() for t in index.tasks.values()) == 10
    # the suite carries EcomGPT's rules (issue 27): in each task's metadata and each row
    assert {t.config["metadata"]["rules"] for t in index.tasks.values()} == {"ecomgpt"}
    assert all(json.loads(line)["rules"] == "ecomgpt" for t in index.tasks.values() for line in t.data_file.read_text().splitlines())


def test_a_row_label_set_is_used_when_it_has_labels(tmp_path):
    root = tmp_path / "d"
    ecomgpt_task_folder(
        root,
        "MEPAVE",
        "ZH-MEPAVE-Condition_Extract-attribute_value_detection",
        {"task": "x", "defi": "attribute value detection", "label_sep": ", ", "test_prompt": {"instruction": "{sentences} | {label_set}\n### Response:"}},
        [{"sentences": "圆领衫", "label_set": ["领型"], "spans": [{"start": 0, "end": 2, "type": "领型", "term": "圆领"}]}],
    )
    row = IMPORTERS["ecominstruct"](root).tasks["ZH-MEPAVE-Condition_Extract-attribute_value_detection"][0]
    assert row["input_field"] == HEAD.format("attribute value detection") + "圆领衫 | 领型\n### Response:"


@pytest.mark.slow
def test_an_unreadable_folder_fails_the_import_unless_skipped(tmp_path):
    root = _tree(tmp_path / "ecom_instruct_v1")
    broken = root / "Lenovo" / "tasks" / "EN-Lenovo-CLS-broken"
    broken.mkdir()
    (broken / "meta-info.json").write_text('{"task": "EN-Lenovo-CLS-broken", "defi": "x",', encoding="utf-8")
    (broken / "test.json").write_text('{"sentences": "a", "labels": {"en": ["b"]}}\n', encoding="utf-8")
    home = tmp_path / "home"

    done = _cli(root, "--name", "ecom", home=home)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and f"{broken}: meta-info.json is not valid JSON" in lines[0]
    assert "1 of 8 EcomGPT task folders cannot be read" in lines[0] and "--skip-unreadable" in lines[0]
    assert not (home / "tasks" / "ecom").exists()

    done = _cli(root, "--name", "ecom", "--skip-unreadable", home=home)
    assert done.returncode == 0, done.stderr
    assert f"ecombench: warning: skipped {broken}: meta-info.json is not valid JSON" in done.stderr
    assert "imported 7 tasks, 10 items" in done.stdout
    assert len(build_index([home / "tasks" / "ecom"]).tasks) == 7


@pytest.mark.parametrize(
    ("name", "meta", "rows", "reason"),
    [
        ("EN-X-Summarize-t", {"defi": "d", "test_prompt": {"instruction": "{sentences}"}}, [{"sentences": "a"}], "TYPE 'Summarize' is none of"),
        ("EN-X-CLS", {"defi": "d", "test_prompt": {"instruction": "{sentences}"}}, [{"sentences": "a"}], "not LANG-DATASET-TYPE-TASK"),
        (
            "EN-X-CLS-t",
            {"defi": "d", "test_prompt": {"instruction": "{sentences} {label_set}"}},
            [{"sentences": "a", "labels": {"en": ["b"]}}],
            "has no label_key",
        ),
        (
            "EN-X-NER-t",
            {"defi": "d", "test_prompt": {"instruction": "{sentences}"}},
            [{"sentences": "a", "spans": []}],
            "test.json:1: no label_set in the row, and meta-info.json has no label_set/label_key",
        ),
        (
            "EN-X-Extract-t",
            {"defi": "d", "test_prompt": {"instruction": "{sentences} {answer}"}},
            [{"sentences": "a", "spans": []}],
            "test_prompt.instruction: '{answer}' is not one of {sentences}, {label_set}, {ex}",
        ),
        (
            "EN-X-Extract-t",
            {"defi": "d", "test_prompt": {"instruction": "{sentences:>400000000}"}},
            [{"sentences": "a", "spans": []}],
            "test_prompt.instruction: '{sentences:>400000000}' is not one of {sentences}, {label_set}, {ex}",
        ),
        (
            "EN-X-Extract-t",
            {"defi": "d", "test_prompt": {"instruction": "{ex.__class__} {0}"}},
            [{"sentences": "a", "spans": []}],
            "test_prompt.instruction: '{ex.__class__}' is not one of",
        ),
        (
            "EN-X-Generate-t",
            {"defi": "d", "test_prompt": {"instruction": "{sentences}"}},
            [{"sentences": "a", "labels": {"en": ["b"]}}],
            "test.json:1: expected 'spans'",
        ),
    ],
)
def test_each_unreadable_folder_is_named_with_its_reason(tmp_path, name, meta, rows, reason):
    root = tmp_path / "d"
    folder = ecomgpt_task_folder(root, "X", name, meta, rows)
    with pytest.raises(EcombenchError) as caught:
        IMPORTERS["ecominstruct"](root)
    assert f"{folder}: " in str(caught.value) and reason in str(caught.value) and "\n" not in str(caught.value)
    with pytest.raises(EcombenchError, match="no readable EcomGPT task folder"):
        IMPORTERS["ecominstruct"](root, skip_unreadable=True)


def test_a_folder_missing_test_json_is_named(tmp_path):
    folder = tmp_path / "X" / "tasks" / "EN-X-Extract-t"
    folder.mkdir(parents=True)
    (folder / "meta-info.json").write_text(json.dumps({"defi": "d", "test_prompt": {"instruction": "{sentences}"}}))
    with pytest.raises(EcombenchError, match=r"EN-X-Extract-t: no test\.json"):
        IMPORTERS["ecominstruct"](tmp_path)


# --- the metrics: EcomGPT's rules, hand-computed --------------------------------------------------------


def test_rouge_l_is_the_rouge_package_summary_level_f():
    # p = r = 3/4 (LCS "the cat sat" over 4 distinct words a side); F = 2PR / (P + R + 1e-8)
    assert rouge_l("the red cat sat", "the cat sat down") == 2.0 * ((0.75 * 0.75) / (1.5 + 1e-8))
    # sentences split on "."; a piece of spaces is an empty sentence and an empty word: p = 2/3, r = 1
    assert rouge_l("the cat. ", "the cat") == pytest.approx(0.8, abs=1e-7)
    assert rouge_l("the cat.", "the cat") == pytest.approx(1.0, abs=1e-7)
    # the LCS words of every sentence pair are pooled: a, b from "a b" and c, d from "c d"
    assert rouge_l("a c. b d", "a b. c d") == pytest.approx(1.0, abs=1e-7)
    # words are space-separated: unspaced Chinese text is one word
    assert rouge_l("红色圆领", "红色圆领") == pytest.approx(1.0, abs=1e-7)
    assert rouge_l("红色 圆领", "红色圆领") == 0.0
    assert rouge_l(".", "the cat") == 0.0  # no sentence: the rouge package raises; scored 0


def test_each_type_replaces_an_empty_output_as_its_class_does():
    assert generate_rouge_l("", "error") == pytest.approx(1.0, abs=1e-7)
    assert generate_rouge_l(" ", "error") == 0.0  # EN_GEN only replaces length 0
    assert extract_rouge_l(" . ", "error") == pytest.approx(1.0, abs=1e-7)
    assert condition_extract_rouge_l("a", "a") == 0.0  # one character once stripped: "error"
    assert condition_extract_rouge_l(" ab ", "ab") == pytest.approx(1.0, abs=1e-7)
    assert condition_extract_rouge_l("error", "") == pytest.approx(1.0, abs=1e-7)  # an empty gold is "error" too


def test_cls_counts_are_exact_label_sets():
    assert cls_counts(" Food, Service.", "Food") == F1Counts(tp=1, fp=1, fn=0)
    assert cls_counts("Food, Food", "Food") == F1Counts(tp=1, fp=0, fn=0)  # a set: the repeat is not counted
    assert cls_counts("food", "Food") == F1Counts(tp=0, fp=1, fn=1)  # case counts
    assert cls_counts("", "Food") == F1Counts(tp=0, fp=1, fn=1)  # "error"
    assert cls_counts(" . ", "Food") == F1Counts(tp=0, fp=3, fn=1)  # empty after removing dots: the letters of "error"


def test_ner_counts_tag_characters_as_ecomgpt_does():
    truth = ["Brand: acme\nProduct: pro laptop", "acme pro laptop from acme"]
    # gold: acme at 0-3 and 21-24, pro laptop at 5-14; predicted: both acme and "pro" (5-7) as Brand
    assert ner_counts("Brand: acme, pro\nProduct: None", truth) == F1Counts(tp=2, fp=1, fn=1)
    # "pro" as Brand overwrites the start of "pro laptop": Brand 5-7 and Product 8-14, neither gold
    assert ner_counts("Product: pro laptop\nBrand: pro", truth) == F1Counts(tp=0, fp=2, fn=3)
    assert ner_counts("", truth) == F1Counts(tp=0, fp=0, fn=3)
    assert ner_counts("Brand:acme", truth) == F1Counts(tp=0, fp=0, fn=3)  # no ": " on the line


def test_outputs_over_5000_characters_are_read_whole():
    # issue 36: eval.py reads the whole output; a cut at 5,000 characters left only blanks (scored as "error")
    cls = [ScoringItem("cls", "generation", "ecomgpt-cls-f1", "c", "Food", " " * 5000 + "Food.")]
    assert score_report(cls)[0].tasks["cls"].score == 1.0  # stripped, dots removed: {"Food"}
    truth = ["Brand: acme\nProduct: pro laptop", "acme pro laptop from acme"]
    ner = [ScoringItem("ner", "generation", "ecomgpt-ner-f1", "n", truth, "\n" * 5000 + "Brand: acme\nProduct: pro laptop")]
    assert score_report(ner)[0].tasks["ner"].score == 1.0


def test_the_scorer_pools_ecomgpt_f1_and_reads_the_raw_output():
    truth = ["Brand: acme\nProduct: pro laptop", "acme pro laptop from acme"]
    items = [
        ScoringItem("ner", "generation", "ecomgpt-ner-f1", "ner", truth, "Brand: acme, pro\nProduct: None"),
        ScoringItem("ner", "generation", "ecomgpt-ner-f1", "ner", truth, ""),
        ScoringItem("gen", "generation", "ecomgpt-generate-rougel", "generate", "the cat", "the cat. "),
        ScoringItem("gen", "generation", "ecomgpt-generate-rougel", "generate", "the cat", " the cat"),
    ]
    report, _ = score_report(items)
    # pooled: tp 2, fp 1, fn 1 + 3: P = 2/3, R = 1/3, F1 = 4/9
    assert report.tasks["ner"].score == pytest.approx(4 / 9, abs=1e-12)
    # unstripped, the trailing ". " costs precision (0.8); the leading space costs nothing (1.0)
    assert report.tasks["gen"].score == pytest.approx((0.8 + 1.0) / 2, abs=1e-7)
    assert {"ecomgpt-cls-f1", "ecomgpt-generate-rougel"} <= set(METRIC_NAMES) & set(METRICS_BY_TASK_TYPE["generation"])
