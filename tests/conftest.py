"""Every test's new KB file starts from a small fixed seed: the first seed knowledge base (2,480
runs of 20 epochs on 62 datasets, `tests/fixtures/seed_kb_2480/`), not the shipped one, which
grows with the seed build. Tests stay fast and do not move when the shipped seed does; the tests
of the shipped seed itself unset the variable."""

import os

from benchmarks._seed_kb import FIRST_SEED_KB
from recommender._kb import SEED_KB_ENV

os.environ[SEED_KB_ENV] = str(FIRST_SEED_KB)
