# The harness lives in kata/plugin.py; this file only loads it, so that a learner's or a submission's
# conftest.py elsewhere can never replace it.
pytest_plugins = ["kata.plugin"]
