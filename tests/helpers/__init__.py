"""What several test modules share; test modules import from here, never from each other.

- ``cli``: ``invoke_ecombench`` (a command in the test process) and ``run_ecombench`` (in a new one), the repository's
  paths, the ``accelerate launch`` prefix.
- ``sources``: files in the layouts the importers read (ShopBench rows, Shopping MMLU zips, EcomInstruct and
  ECInstruct folders) and small task folders.
- ``boards``: submissions with chosen scores over the starter suite, item records, lineages and boards.
- ``openai_server``: one fake OpenAI-compatible server on localhost whose answers a test sets.
- ``browser``: a headless Chromium (Debian's, through Playwright) shared by a module's tests, and the site's pages.
- ``realistic``: a submissions folder as a user's looks after the tour.
- ``published``: a training set in the layout KDD Cup 2024 teams published.

Fixtures built on these (the tiny model, the browser, the fake server) live in ``tests/conftest.py``.
"""
