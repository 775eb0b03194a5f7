"""Files in the layouts the importers read, and small task folders, written into a test's folder."""

from __future__ import annotations

import json
import shutil
import zipfile
from pathlib import Path

from ecombench.records import make_record
from tests.helpers.cli import REPO


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


def record(task: str, task_type: str, metric: str, truth, track: str = "t1", prompt: str | None = None) -> dict:
    """One ShopBench row (KDD Cup 2024's development-set layout)."""
    return make_record(task, task_type, metric, track, prompt or f"question {task} {truth}", truth)


def multilingual_suite(dest_parent: Path, name: str = "mls") -> Path:
    """An imported ShopBench suite ``name`` (track ``multilingual``) whose task ``<name>_explain`` is scored
    with multilingual-sent-transformer, the official rule for ShopBench's multilingual generation, and
    ``<name>_translate`` with bleu; returns its folder (``dest_parent/name``)."""
    from ecombench.importers import shopbench
    from ecombench.importers.writer import write_suite

    rows = [
        record("explain", "generation", "multilingual-sent-transformer", f"Eine rote Tasse Nummer {i}.", "multilingual", f"Was ist Artikel {i}?\nOutput: ")
        for i in range(3)
    ] + [record("translate", "generation", "bleu", f"rote Tasse {i}", "multilingual", f"Translate: red mug {i}\nOutput: ") for i in range(3)]
    dest_parent.mkdir(parents=True, exist_ok=True)
    source = write_jsonl(dest_parent / f"{name}-source.jsonl", rows)
    return write_suite(shopbench.read(source), name, dest_parent)


def shopbench_file(tmp_path: Path) -> Path:
    """``tmp_path/dev.jsonl``: five ShopBench rows over two tracks (multiple choice, NER, bleu and jp-bleu generation)."""
    track_a, track_b = "amazon-kdd-cup-24-understanding-shopping-concepts", "amazon-kdd-cup-24-multi-lingual-abilities"
    rows = [
        record("task1", "multiple-choice", "accuracy", 1, track_a, prompt="Which?\n0. a\n1. b\n2. c\n3. d\nAnswer: "),
        record("task1", "multiple-choice", "accuracy", 3, track_a, prompt="Which else?\n0. a\n1. b\n2. c\n3. d\nAnswer: "),
        record("task4", "named_entity_recognition", "micro f1", ["lego"], track_a, prompt="Extract brand: lego city car\nOutput: "),
        record("task11", "generation", "bleu", "a red cotton shirt for men", track_b, prompt="Translate: ...\nOutput: "),
        record("task11", "generation", "jp-bleu", "赤い綿のシャツです", track_b, prompt="Translate to Japanese: ...\nOutput: "),
    ]
    return write_jsonl(tmp_path / "dev.jsonl", rows)


def shopping_mmlu_zip(tmp_path: Path, with_skills: bool) -> Path:
    """A Shopping MMLU release zip: two multiple-choice CSVs, a generation and a ranking file; with ``with_skills``
    also the skills folder."""
    path = tmp_path / ("with_skills.zip" if with_skills else "data.zip")
    gen = record("title_extraction", "generation", "rougel", "red shirt", "skill_concepts", prompt="Extract the title.\nOutput: ")
    rank = record("query_ranking", "ranking", "ndcg", [1, 0, 0.1], "skill_behavior", prompt="Rank 1. a 2. b 3. c\nAnswer: ")
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr(
            "data/multiple_choice/review_rating_prediction_dataset.csv",
            "question,choices,answer\n\"Stars for: great?\",\"['1', '2', '3', '4', '5']\",5\n\"Stars for: bad?\",\"['1', '2', '3', '4', '5']\",1\n",
        )
        archive.writestr("data/multiple_choice/category_dataset.csv", "question,choices,answer\n\"Category of a mug?\",\"['toys', 'drinkware']\",1\n")
        archive.writestr("data/generation/title_extraction_dataset.json", json.dumps(gen) + "\n")
        archive.writestr("data/ranking/query_ranking_dataset.json", json.dumps(rank) + "\n")
        if with_skills:
            archive.writestr("data/skills/skill_concepts.json", json.dumps(gen) + "\n")
            archive.writestr("data/skills/skill_behavior.json", json.dumps(rank) + "\n")
    return path


def ecomgpt_task_folder(root: Path, dataset: str, name: str, meta: dict, rows: list[dict]) -> Path:
    """One EcomInstruct task folder, ``root/DATASET/tasks/NAME``, with its meta-info.json and test.json."""
    folder = root / dataset / "tasks" / name
    folder.mkdir(parents=True)
    (folder / "meta-info.json").write_text(json.dumps(meta, ensure_ascii=False, indent=2), encoding="utf-8")
    write_jsonl(folder / "test.json", rows)  # JSON Lines, as upstream, despite the name
    return folder


ECINSTRUCT_RANKING = {"task": "Query_Product_Ranking", "setting": "IND_Diverse_Instruction", "split": "test", "instruction": "Rank the products."}


def ecinstruct_ranking_source(tmp_path: Path, labels: list[list[str]] | None, outputs: list[str] | None = None) -> Path:
    """``tmp_path/ecinstruct.json``: ECInstruct's query-product-ranking rows answered ``outputs`` (by default the
    gold order of each of ``labels``), and one train row that label.json does not cover."""
    from ecombench.metrics import ecellm

    golds = outputs or [ecellm.ranking_gold(lab) for lab in labels or []]
    rows = [{**ECINSTRUCT_RANKING, "input": f"query {i}", "output": out} for i, out in enumerate(golds)]
    rows.append({**ECINSTRUCT_RANKING, "input": "held out", "split": "train", "output": "A,B"})  # label.json covers the test rows only
    src = tmp_path / "ecinstruct.json"
    src.write_text(json.dumps(rows))
    return src


def long_answer_task(folder: Path, max_gen_toks: int) -> Path:
    """The starter suite's German title translation as task ``long_answers`` asking ``max_gen_toks`` new tokens,
    alone in ``folder``; returns its YAML."""
    shutil.copytree(REPO / "tasks" / "starter", folder)
    yaml = folder / "title_translation_de.yaml"
    yaml.write_text(
        yaml.read_text().replace("task: starter_title_translation_de", "task: long_answers").replace("max_gen_toks: 100", f"max_gen_toks: {max_gen_toks}")
    )
    for other in folder.glob("*.yaml"):
        if other.name not in ("_base.yaml", "title_translation_de.yaml"):
            other.unlink()
    return yaml


CHINESE_ECOMQA_BRAND = "任务：品牌问答\n仿照示例作答。\n***query***：某牌子的发源地？\n***答案***：某国\n让我们开始吧！\n"
CHINESE_ECOMQA_SPOKEN = "任务：搜索词纠错\n需要纠错则输出纠错后的词，否则原样输出。\n"


def chinese_ecomqa_rows() -> list[dict]:
    """Rows in ChineseEcomQA's layout (system_prompt, prompt, gt, task), in wording of our own."""
    return [
        {"system_prompt": CHINESE_ECOMQA_BRAND, "prompt": "***query***：示例牌水杯的主营类目？***答案***：", "gt": "杯具", "task": "BC"},
        {"system_prompt": CHINESE_ECOMQA_BRAND, "prompt": "***query***：示例牌台灯创立于哪一年？***答案***：", "gt": "2001年", "task": "BC"},
        {"system_prompt": CHINESE_ECOMQA_SPOKEN, "prompt": "***query***：保温杯子盖\n***答案***：", "gt": "保温杯盖", "task": "SC"},
        {"system_prompt": "", "prompt": "***query***：跑鞋\n***商品信息***：轻便缓震跑步鞋\n***答案***：", "gt": "相关", "task": "RLC"},
    ]
