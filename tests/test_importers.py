"""`ecombench import`: each format imports, runs on a tiny model and scores as `ecombench score` does."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ecombench import submissions
from ecombench.errors import EcombenchError
from ecombench.importers import IMPORTERS
from ecombench.importers.writer import write_suite
from ecombench.run import RunOptions, run
from ecombench.scorefile import score_files
from ecombench.taskindex import build_index
from tests.helpers.cli import SHARED_DATA, invoke_ecombench
from tests.helpers.sources import record, shopbench_file, shopping_mmlu_zip, write_jsonl

OAMINE = SHARED_DATA / "oamine_ave" / "oa-mine_test.jsonl"


def _import(fmt, source, tmp_path, name="suite", **options):
    return write_suite(IMPORTERS[fmt](source, **options), name, tmp_path / "home")


@pytest.mark.slow
def test_shopbench_import_runs_and_equals_score_on_the_same_outputs(tmp_path):
    data = shopbench_file(tmp_path)
    dest = _import("shopbench", data, tmp_path, name="kdd")
    index = build_index([dest])
    assert sorted(index.tasks) == ["kdd_task1", "kdd_task11", "kdd_task4"]
    assert index.tasks["kdd_task11"].config["metadata"]["metrics"] == ["bleu", "jp-bleu"]
    assert index.tasks["kdd_task1"].config["generation_kwargs"]["max_gen_toks"] == 1
    assert index.tasks["kdd_task4"].config["generation_kwargs"]["max_gen_toks"] == 100
    assert set(index.groups) == {"kdd", "kdd_amazon_kdd_cup_24_understanding_shopping_concepts", "kdd_amazon_kdd_cup_24_multi_lingual_abilities"}

    result = run(RunOptions(model="builtin:tiny", tasks=["kdd"], task_paths=[dest], trust_tasks=True, submissions_dir=tmp_path / "subs"))
    items = submissions.load_items(tmp_path / "subs", result.submission)
    rows = [json.loads(line) for line in data.read_text().splitlines()]
    by_prompt = {(r["task_name"], r["input_field"]): i for i, r in enumerate(rows)}
    preds = [{"index": by_prompt[(i.task.removeprefix("kdd_"), i.prompt)], "prediction": i.prediction} for i in items]
    report = score_files(data, write_jsonl(tmp_path / "preds.jsonl", preds))
    for task, score in report.tasks.items():
        assert result.submission.tasks[f"kdd_{task}"].score == pytest.approx(score.score, abs=1e-12)
    assert result.submission.all_around == pytest.approx(report.all_around, abs=1e-12)


@pytest.mark.skipif(not OAMINE.is_file(), reason="the shared OA-Mine sample is not beside this checkout")
@pytest.mark.slow
def test_oamine_import_makes_one_extraction_task_per_attribute(tmp_path):
    dest = _import("oamine", OAMINE, tmp_path, name="oa")
    index = build_index([dest])
    rows = [json.loads(line) for line in OAMINE.read_text().splitlines()]
    brand_rows = sum("Brand" in r["target_scores"] for r in rows)
    assert index.tasks["oa_brand"].config["metadata"]["items"] == brand_rows == 473
    assert all(t.task_type == "named_entity_recognition" and t.metric == "micro f1" for t in index.tasks.values())
    attributes = {a for r in rows for a in r["target_scores"]}
    expected = {a for a in attributes if sum(a in r["target_scores"] for r in rows) >= 20}
    assert len(index.tasks) == len(expected)
    first = json.loads((dest / "oa_brand.jsonl").read_text().splitlines()[0])
    assert first["output_field"] == ["Diesel"] and "Diesel Men's Exposure High-Top Sneaker" in first["input_field"]
    meta = index.tasks["oa_brand"].config["metadata"]
    assert meta["sources"][str(OAMINE)]["sha256"] and meta["sources"]["rows"] == 473
    result = run(
        RunOptions(model="builtin:tiny", tasks=["oa_brand", "oa_color"], task_paths=[dest], trust_tasks=True, limit=2, submissions_dir=tmp_path / "subs")
    )
    assert {t: r.n for t, r in result.submission.tasks.items()} == {"oa_brand": 2, "oa_color": 2}


def test_jsonl_import_with_a_field_mapping(tmp_path):
    src = write_jsonl(tmp_path / "mine.jsonl", [{"q": "Rank: 1. a 2. b\nAnswer: ", "gold": "[1, 0]"}, {"q": "Rank: 1. c 2. d\nAnswer: ", "gold": [0, 1]}])
    dest = _import("jsonl", src, tmp_path, name="private", prompt="q", target="gold", task_type="ranking", track="mine")
    (task,) = build_index([dest]).tasks.values()
    assert task.name == "private_task" and task.metric == "ndcg" and task.track == "mine"
    rows = [json.loads(line) for line in (dest / "private_task.jsonl").read_text().splitlines()]
    assert [r["output_field"] for r in rows] == [[1, 0], [0, 1]]
    with pytest.raises(EcombenchError, match=r"mine.jsonl:1: missing field 'prompt'"):
        IMPORTERS["jsonl"](src)
    with pytest.raises(EcombenchError, match="--metric rougel: does not fit --type ranking"):
        IMPORTERS["jsonl"](src, prompt="q", target="gold", task_type="ranking", metric="rougel")


def test_imports_are_deterministic_and_refuse_to_overwrite(tmp_path):
    data = shopbench_file(tmp_path)
    first = write_suite(IMPORTERS["shopbench"](data), "kdd", tmp_path / "a")
    second = write_suite(IMPORTERS["shopbench"](data), "kdd", tmp_path / "b")
    files = sorted(p.name for p in first.iterdir())
    assert files == sorted(p.name for p in second.iterdir())
    assert all((first / f).read_bytes() == (second / f).read_bytes() for f in files)
    with pytest.raises(EcombenchError, match="already exists; pass --force"):
        write_suite(IMPORTERS["shopbench"](data), "kdd", tmp_path / "a")
    write_suite(IMPORTERS["shopbench"](data), "kdd", tmp_path / "a", force=True)


def _cli(*args, home):
    return invoke_ecombench(*args, env={"ECOMBENCH_HOME": str(home), "COLUMNS": "250"})


@pytest.mark.slow
def test_import_cli_lands_in_the_home_and_is_listed(tmp_path):
    home = tmp_path / "home"
    done = _cli("import", "shopbench", str(shopbench_file(tmp_path)), "--name", "dev", home=home)
    assert done.returncode == 0, done.stderr
    assert "imported 3 tasks, 5 items" in done.stdout
    listed = _cli("tasks", home=home)
    assert "dev_task11" in listed.stdout
    one = write_jsonl(tmp_path / "one.jsonl", [record("solo", "multiple-choice", "accuracy", 1)])
    single = _cli("import", "shopbench", str(one), "--name", "solo", home=home)
    assert "imported 1 task, 1 item into" in single.stdout  # not "1 tasks, 1 items"


@pytest.mark.parametrize(
    ("fmt", "content", "message"),
    [
        ("oamine", '{"title": "x"}\n', "oamine.jsonl:1: not OA-Mine (expected fields 'input'"),
        (
            "shopbench",
            '{"input_field": "q", "output_field": 1, "task_name": "t", "task_type": "sorting", "metric": "accuracy", "track": "k"}\n',
            "shopbench.jsonl:1: task_type 'sorting' is not one of",
        ),
        ("shopbench", "", "shopbench.jsonl: no records"),
        ("oamine", "", "no rows to import"),
    ],
)
def test_bad_sources_are_one_line_errors_and_write_nothing(tmp_path, fmt, content, message):
    src = tmp_path / f"{fmt}.jsonl"
    src.write_text(content)
    home = tmp_path / "home"
    done = _cli("import", fmt, str(src), "--name", "bad", home=home)
    assert done.returncode == 2
    assert message in done.stderr and len(done.stderr.strip().splitlines()) == 1
    assert not (home / "tasks" / "bad").exists()
    assert not any(p.name.startswith(".bad-") for p in (home / "tasks").glob("*")) if (home / "tasks").exists() else True


def test_unknown_format_and_bad_name(tmp_path):
    src = shopbench_file(tmp_path)
    done = _cli("import", "parquet", str(src), "--name", "x", home=tmp_path)
    assert (
        done.returncode == 2
        and "unknown format 'parquet'; use one of chinese-ecomqa, ecinstruct, ecominstruct, esci, jsonl, oamine, shopbench, shopping-mmlu" in done.stderr
    )
    done = _cli("import", "shopbench", str(src), "--name", "../x", home=tmp_path)
    assert done.returncode == 2 and "--name '../x'" in done.stderr


def _esci_folder(tmp_path) -> Path:
    import pandas as pd

    folder = tmp_path / "esci"
    folder.mkdir()
    examples, products = [], []
    for locale, word in (("us", "charger"), ("jp", "充電器")):
        for q in range(3):
            for k, label in enumerate("ESSCII"):
                pid = f"{locale}-{q}-{k}"
                examples.append(
                    {
                        "example_id": len(examples),
                        "query": f"{word} {q}",
                        "query_id": q + (100 if locale == "jp" else 0),
                        "product_id": pid,
                        "product_locale": locale,
                        "esci_label": label,
                        "small_version": 1,
                        "large_version": 1,
                        "split": "test" if q < 2 else "train",
                    }
                )
                products.append(
                    {
                        "product_id": pid,
                        "product_title": f"{word} product {q}-{k}",
                        "product_description": None,
                        "product_bullet_point": None,
                        "product_brand": "b",
                        "product_color": None,
                        "product_locale": locale,
                    }
                )
    pd.DataFrame(examples).to_parquet(folder / "shopping_queries_dataset_examples.parquet")
    pd.DataFrame(products).to_parquet(folder / "shopping_queries_dataset_products.parquet")
    return folder


@pytest.mark.slow
def test_esci_import_makes_ranking_and_label_tasks_per_locale(tmp_path):
    dest = _import("esci", _esci_folder(tmp_path), tmp_path, name="esci")
    index = build_index([dest])
    assert sorted(index.tasks) == ["esci_esci_label_jp", "esci_esci_label_us", "esci_esci_ranking_jp", "esci_esci_ranking_us"]
    ranking = [json.loads(line) for line in (dest / "esci_esci_ranking_us.jsonl").read_text().splitlines()]
    assert len(ranking) == 2  # the test split only
    assert all(sorted(r["output_field"], reverse=True)[:1] == [1.0] and set(r["output_field"]) <= {1.0, 0.1, 0.01, 0.0} for r in ranking)
    assert index.tasks["esci_esci_ranking_jp"].track == "multilingual" and index.tasks["esci_esci_ranking_us"].track == "user_behavior_alignment"
    assert index.tasks["esci_esci_label_us"].metric == "accuracy"
    result = run(RunOptions(model="builtin:tiny", tasks=["esci"], task_paths=[dest], trust_tasks=True, submissions_dir=tmp_path / "subs"))
    assert {t: r.n for t, r in result.submission.tasks.items()} == {
        "esci_esci_label_jp": 2,
        "esci_esci_label_us": 2,
        "esci_esci_ranking_jp": 2,
        "esci_esci_ranking_us": 2,
    }


def test_esci_folder_without_products_names_the_file(tmp_path):
    folder = _esci_folder(tmp_path)
    (folder / "shopping_queries_dataset_products.parquet").unlink()
    with pytest.raises(EcombenchError, match="no shopping_queries_dataset_products.parquet"):
        IMPORTERS["esci"](folder)


def test_shopping_mmlu_zip_keeps_skills_as_tracks_and_task_names(tmp_path):
    dest = _import("shopping-mmlu", shopping_mmlu_zip(tmp_path, with_skills=True), tmp_path, name="smmlu")
    index = build_index([dest])
    assert {t.name: t.track for t in index.tasks.values()} == {"smmlu_title_extraction": "skill_concepts", "smmlu_query_ranking": "skill_behavior"}


@pytest.mark.slow
def test_shopping_mmlu_type_folders_are_asked_as_task_wise_eval_asks_them(tmp_path):
    dest = _import("shopping-mmlu", shopping_mmlu_zip(tmp_path, with_skills=False), tmp_path, name="smmlu")
    index = build_index([dest])
    assert set(index.tasks) == {"smmlu_review_rating_prediction", "smmlu_category", "smmlu_title_extraction", "smmlu_query_ranking"}
    rating = [json.loads(line) for line in (dest / "smmlu_review_rating_prediction.jsonl").read_text().splitlines()]
    # task_wise_eval/utils.py format_example: the rating task shows no options; its label is the rating
    assert rating[0]["input_field"] == "Stars for: great?\nAnswer: " and rating[0]["output_field"] == 5
    assert rating[0]["metric"] == "task-wise accuracy" and rating[0]["rules"] == "shopping-mmlu"
    category = json.loads((dest / "smmlu_category.jsonl").read_text().splitlines()[0])
    assert category["input_field"] == "Category of a mug?\n0. toys\n1. drinkware\nAnswer: " and category["output_field"] == 1
    result = run(RunOptions(model="builtin:tiny", tasks=["smmlu"], task_paths=[dest], trust_tasks=True, submissions_dir=tmp_path / "subs"))
    assert len(result.submission.tasks) == 4
    # scored and recorded by Shopping MMLU's rules; task_wise_eval's new-token limits (hf_multi_choice.py: 4)
    assert result.submission.rules == "shopping-mmlu" and result.submission.tasks["smmlu_category"].metric == "task-wise accuracy"
    assert result.submission.generation.max_gen_toks["smmlu_category"] == 4


def test_a_zip_without_the_expected_folders_is_refused(tmp_path):
    import zipfile

    path = tmp_path / "other.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("readme.txt", "hello")
    with pytest.raises(EcombenchError, match="no skills/ or multiple_choice/"):
        IMPORTERS["shopping-mmlu"](path)


def test_ecinstruct_filters_setting_and_split_and_keeps_ecellm_rules(tmp_path):
    base = {"instruction": "Are these the same product?", "input": "A: red mug; B: red cup"}
    records = [
        {**base, "task": "Product_Matching", "setting": "IND_Diverse_Instruction", "split": "test", "options": ["yes", "no"], "output": "no"},
        {**base, "task": "Product_Matching", "setting": "IND_Diverse_Instruction", "split": "test", "options": ["yes", "no"], "output": "yes"},
        {**base, "task": "Product_Matching", "setting": "OOD_Diverse_Instruction", "split": "test", "options": ["yes", "no"], "output": "no"},
        {**base, "task": "Answer_Generation", "setting": "IND_Diverse_Instruction", "split": "test", "output": "It holds 350 ml."},
        {**base, "task": "Answer_Generation", "setting": "IND_Diverse_Instruction", "split": "train", "output": "x"},
        {**base, "task": "Attribute_Value_Extraction", "setting": "OOD_Diverse_Instruction", "split": "test", "output": "[]"},
        {**base, "task": "Other_Choice", "setting": "IND_Diverse_Instruction", "split": "test", "options": ["A: yes", "B: no"], "output": "B: no"},
    ]
    src = tmp_path / "ecinstruct.json"
    src.write_text(json.dumps(records))
    suite = IMPORTERS["ecinstruct"](src)
    assert {t: len(r) for t, r in suite.tasks.items()} == {"product_matching": 2, "answer_generation": 1, "other_choice": 1}
    matching = suite.tasks["product_matching"]
    # eCeLLM's evaluate.py compares the gold output text: kept as text, under its yes/no F1 rule
    assert [(r["output_field"], r["metric"], r["task_type"]) for r in matching] == [
        ("no", "ecellm-yes-no-f1", "generation"),
        ("yes", "ecellm-yes-no-f1", "generation"),
    ]
    # inference.py's prompt: the Alpaca template with the options as str.format renders the list
    assert matching[0]["input_field"].endswith("### Input:\nA: red mug; B: red cup\n\n### Options:\n['yes', 'no']\n\n### Response:\n")
    assert matching[0]["track"] == "concept_understanding"
    assert suite.tasks["answer_generation"][0]["metric"] == "ecellm-ag-rougel"  # ROUGE-L standing in for BERTScore and BLEURT, named as such
    assert suite.tasks["other_choice"][0]["output_field"] == 1  # no eCeLLM rule: a multiple-choice question
    ood = IMPORTERS["ecinstruct"](src, setting="OOD_Diverse_Instruction").tasks
    assert {t: r[0]["metric"] for t, r in ood.items()} == {"product_matching": "ecellm-yes-no-f1", "attribute_value_extraction": "ecellm-ave-f1-ood"}
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps([{**records[-1], "output": "maybe"}]))
    with pytest.raises(EcombenchError, match=r"bad.json:1: output 'maybe' is none of the options"):
        IMPORTERS["ecinstruct"](bad)


def test_a_test_set_without_answers_runs_for_predictions_only(tmp_path):
    dev = shopbench_file(tmp_path)
    test = write_jsonl(
        tmp_path / "test.jsonl",
        [
            {"input_field": json.loads(line)["input_field"], "is_multiple_choice": json.loads(line)["is_multiple_choice"]}
            for line in dev.read_text().splitlines()
        ],
    )
    dest = _import("shopbench", test, tmp_path, name="hidden")
    index = build_index([dest])
    assert sorted(index.tasks) == ["hidden_test_generation", "hidden_test_multiple_choice"]
    assert index.tasks["hidden_test_multiple_choice"].config["generation_kwargs"]["max_gen_toks"] == 1
    assert index.tasks["hidden_test_generation"].config["metadata"]["answers"] is False
    result = run(RunOptions(model="builtin:tiny", tasks=["hidden"], task_paths=[dest], trust_tasks=True, submissions_dir=tmp_path / "subs"))
    assert result.submission is None and result.path.name.endswith(".predictions.jsonl")
    preds = [json.loads(line) for line in result.path.read_text().splitlines()]
    assert [p["index"] for p in preds] == [0, 1, 2, 3, 4]
    assert not list((tmp_path / "subs").glob("*.items.jsonl"))
    # the predictions file is what `ecombench score` takes, against the answered file
    report = score_files(dev, result.path)
    assert set(report.tasks) == {"task1", "task4", "task11"}
    with pytest.raises(EcombenchError, match="tasks without answers .* can only run on their own"):
        run(RunOptions(model="builtin:tiny", tasks=["hidden", "starter_category_mc"], task_paths=[dest], trust_tasks=True, submissions_dir=tmp_path / "x"))


def test_each_format_takes_the_import_options_it_declares(tmp_path):
    """`import jsonl --type ranking` sets jsonl's task type; --split and --letter-choices, options of other formats, are left."""
    from ecombench.importers import read_suite

    src = write_jsonl(tmp_path / "mine.jsonl", [{"q": "Rank: 1. a 2. b\nAnswer: ", "gold": "[1, 0]"}])
    given = {"prompt": "q", "target": "gold", "type": "ranking", "metric": None, "track": "mine", "split": "dev", "letter_choices": True}
    (rows,) = read_suite("jsonl", src, given).tasks.values()
    assert [(r["task_type"], r["metric"], r["track"], r["output_field"]) for r in rows] == [("ranking", "ndcg", "mine", [1, 0])]
    with pytest.raises(
        EcombenchError, match="unknown format 'csv'; use one of chinese-ecomqa, ecinstruct, ecominstruct, esci, jsonl, oamine, shopbench, shopping-mmlu"
    ):
        read_suite("csv", src, given)
