"""Issue 38: `train` with its output in a file says how far it is every few seconds (a live bar cannot)."""

from __future__ import annotations

from ecombench.train.progress import PlainProgress, clock_text, line


def test_a_line_says_step_losses_time_so_far_and_time_left():
    # 40 of 200 steps in 62 s: 1.55 s a step, 160 steps left -> 248 s = 4 min 08 s
    assert line(40, 200, 62.0, 0, {"loss": 1.23456}) == "train: step 40/200 (20%), loss 1.2346, 1 min 02 s so far, about 4 min 08 s left"
    # resumed at step 100: 20 steps here in 30 s -> 80 steps left take 120 s
    assert line(120, 200, 30.0, 100, {"loss": 1.0, "eval_loss": 1.5}) == (
        "train: step 120/200 (60%), loss 1.0000, held-out loss 1.5000, 30 s so far, about 2 min 00 s left"
    )
    assert line(200, 200, 3725.0) == "train: step 200/200 (100%), 1 h 02 min so far"
    assert [clock_text(s) for s in (0, 59.4, 60, 3599, 3600)] == ["0 s", "59 s", "1 min 00 s", "59 min 59 s", "1 h 00 min"]


def test_lines_come_at_the_first_step_then_every_ten_seconds_and_at_the_end():
    now = [0.0]
    written: list[str] = []
    progress = PlainProgress(total=10, started_at=0, write=written.append, clock=lambda: now[0])
    for step, at in ((1, 2.0), (2, 5.0), (3, 11.0), (4, 12.4), (5, 22.0)):
        now[0] = at
        progress.update(step)
        if step == 2:
            progress.log({"loss": 0.5, "learning_rate": 1e-4})
    now[0] = 23.0
    progress.end()
    # the first step (t=2); then the first step 10 s or more after it (step 4, t=12.4; 12.4 s for 4 steps -> 18.6 s for the
    # other 6); t=22 is 9.6 s after that: no line; then the end (t=23: 5 steps in 23 s, 5 left)
    assert [w.split(",")[0] for w in written] == ["train: step 1/10 (10%)", "train: step 4/10 (40%)", "train: step 5/10 (50%)"]
    assert written[1] == "train: step 4/10 (40%), loss 0.5000, 12 s so far, about 19 s left"
    assert written[-1].endswith("23 s so far, about 23 s left")
