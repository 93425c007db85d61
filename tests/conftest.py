"""Every test's new KB file starts from a small fixed seed: the first seed knowledge base (2,480
runs of 20 epochs on 62 datasets, `tests/fixtures/seed_kb_2480/`), not the shipped one, which
grows with the seed build. Tests stay fast and do not move when the shipped seed does; the tests
of the shipped seed itself unset the variable."""

import os
from pathlib import Path

from recommender._kb import SEED_KB_ENV

FIXTURE_SEED_KB = Path(__file__).parent / "fixtures" / "seed_kb_2480"
os.environ[SEED_KB_ENV] = str(FIXTURE_SEED_KB)
