"""Make docs/screenshots/*.png: each view of `ecombench report`, in the headless Chromium the tests drive.

    python docs/make_screenshots.py            # needs Debian's chromium and the reference rows in submissions/

The site is built from the repository's reference rows (``ecombench references``) and a made-up sweep:
a base model and LoRA adapters over 1 to 4 capabilities at ranks 8 and 16 whose answers are the oracle's
or the random guesser's, drawn per item with a skill per track (named ``demo-...``; scores are the means
of their item scores, so micro-F1 tasks are approximate). Nothing here is a real model's result.
"""

from __future__ import annotations

import random
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from ecombench import submissions
from ecombench.references import build_references, reference_id

REPO = Path(__file__).resolve().parent.parent
OUT = REPO / "docs" / "screenshots"
SUITE = "ecombench_core"
TRACKS = ["concept_understanding", "knowledge_reasoning", "user_behavior_alignment", "multilingual"]


def references(folder: Path) -> dict[str, submissions.Submission]:
    refs = {}
    for kind in ("random", "most_frequent", "oracle", "tiny"):
        src = REPO / "submissions" / f"{reference_id(SUITE, kind)}.json"
        if src.exists():
            shutil.copy(src, folder)
            shutil.copy(src.with_name(src.stem + ".items.jsonl"), folder)
            refs[kind] = submissions.load(folder / src.name)
    if "oracle" not in refs or "random" not in refs:  # a checkout without them: build the model-free ones here
        for built in build_references(folder, suites=[SUITE], kinds=["random", "most_frequent", "oracle"]):
            refs[built.submission.id.rsplit("-", 1)[1]] = built.submission
    return refs


def blend(folder: Path, refs: dict, name: str, skill: dict[str, float], seed: int, lineage=None) -> submissions.Submission:
    """A made-up model: each item answered as the oracle with probability skill[track], else as the random guesser."""
    oracle, guess = refs["oracle"], refs["random"]
    right = {(i.task, i.item_hash): i for i in submissions.load_items(folder, oracle)}
    wrong = submissions.load_items(folder, guess)
    rng = random.Random(seed)
    items = [right[(w.task, w.item_hash)] if rng.random() < skill[oracle.tasks[w.task].track] else w for w in wrong]
    by_task: dict[str, list[float]] = {}
    for i in items:
        by_task.setdefault(i.task, []).append(i.score)
    tasks = {
        t: r.model_copy(update={"score": statistics.fmean(by_task[t]), "stderr": statistics.stdev(by_task[t]) / len(by_task[t]) ** 0.5})
        for t, r in oracle.tasks.items()
    }
    tracks = {tr: sum(r.score for r in tasks.values() if r.track == tr) / sum(1 for r in tasks.values() if r.track == tr) for tr in oracle.tracks}
    created = submissions.now()
    sid = submissions.new_id(name, created)
    kind = "adapter" if lineage else "local"
    sub = oracle.model_copy(
        update={
            "id": sid,
            "name": name,
            "created": created,
            "items_file": f"{sid}.items.jsonl",
            "tasks": tasks,
            "tracks": tracks,
            "all_around": sum(tracks.values()) / len(tracks),
            "lineage": lineage,
            "overall_task_mean": statistics.fmean(r.score for r in tasks.values()),
            "model": oracle.model.model_copy(
                update={
                    "spec": f"./{name}",
                    "kind": kind,
                    "base_model": "./demo-base",
                    "weights_sha256": "d" * 64,
                    "adapter_sha256": ("a" * 63 + str(seed % 10)) if lineage else None,
                }
            ),
        }
    )
    submissions.save(folder, sub, items)
    return sub


def demo(folder: Path) -> dict[str, str]:
    refs = references(folder)
    base = blend(folder, refs, "demo-base", dict.fromkeys(TRACKS, 0.35), 1)
    ids = {"base": base.id}
    tasks_by_track: dict[str, list[str]] = {}
    for t, r in refs["oracle"].tasks.items():
        tasks_by_track.setdefault(r.track, []).append(t)
    for rank in (8, 16):
        for k in range(1, 5):
            trained = TRACKS[:k]
            mixture = {t: 100 for tr in trained for t in tasks_by_track[tr]}
            lineage = submissions.Lineage(
                base_model="./demo-base",
                base_weights_sha256="d" * 64,
                adapter_sha256="a" * 64,
                method="lora",
                rank=rank,
                alpha=2.0 * rank,
                dropout=0.05,
                target_modules="all-linear",
                steps=300,
                epochs=1.0,
                lr=2e-4,
                effective_batch=16,
                world_size=1,
                mixture=mixture,
                tracks=trained,
                training_data_sha256="e" * 64,
                held_in=list(mixture),
                held_out=[t for t in refs["oracle"].tasks if t not in mixture],
                contamination={"ngram_13": 0},
                train_loss=1.1,
                heldout_loss=1.3,
                config_fingerprint=f"demo-r{rank}-k{k}",
            )
            skill = {tr: (0.55 + 0.02 * k + rank / 400 if tr in trained else 0.35 + 0.01 * k) for tr in TRACKS}
            sub = blend(folder, refs, f"demo-lora-r{rank}-k{k}", skill, 10 * rank + k, lineage)
            ids[f"r{rank}k{k}"] = sub.id
    return ids


def shoot(site: Path, ids: dict[str, str]) -> None:
    from playwright.sync_api import sync_playwright

    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        raise SystemExit("make_screenshots: Debian's chromium is not installed (apt-get install chromium)")
    OUT.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=["--no-sandbox", "--disable-gpu"])
        page = browser.new_page(viewport={"width": 1280, "height": 800})  # a laptop screen: the board must show who is who on it

        def open_(target: str) -> None:
            path, _, fragment = target.partition("#")
            page.goto((site / path).as_uri() + (f"#{fragment}" if fragment else ""))
            page.wait_for_selector("body[data-ready]", state="attached", timeout=60_000)

        open_("index.html")
        page.screenshot(path=OUT / "board.png")
        page.fill("#search", "demo-lora-r16")
        page.check("#hide-reference")
        page.wait_for_function("document.querySelectorAll('#board tbody tr').length === 4")
        page.screenshot(path=OUT / "board-filtered.png")
        open_(f"sub.html#id={ids['r16k4']}&task=core_query_ranking&res=partial")
        page.locator("#items-status").scroll_into_view_if_needed()
        page.screenshot(path=OUT / "explorer.png")
        page.locator("#items tbody tr a").first.click()
        page.wait_for_selector("#item-fields")
        page.screenshot(path=OUT / "item.png")
        open_(f"compare.html#ids={ids['base']},{ids['r16k4']}")
        page.screenshot(path=OUT / "side-by-side.png")
        page.locator("#diff-count").scroll_into_view_if_needed()
        page.screenshot(path=OUT / "side-by-side-items.png")
        open_("charts.html")
        for part in ("heatmap", "sweep", "lineage"):
            page.locator(f"#{part}").screenshot(path=OUT / f"{part}.png")
        open_(f"sub.html#id={ids['r8k2']}")
        page.locator("#profile").screenshot(path=OUT / "profile.png")
        browser.close()


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "subs"
        folder.mkdir()
        ids = demo(folder)
        site = Path(tmp) / "site"
        subprocess.run([sys.executable, "-m", "ecombench", "report", "--output", str(site), "--board", SUITE, "--submissions-dir", str(folder)], check=True)
        shoot(site, ids)
    print(f"screenshots written to {OUT}")


if __name__ == "__main__":
    main()
