"""Reports as figures and self-contained HTML pages: one study, or the whole knowledge base.

Example:
    >>> from recommender.reports import study_report
    >>> files = study_report(kb, study_id, "report")  # doctest: +SKIP
    >>> [p.name for p in files.figures]  # doctest: +SKIP
    ['best_so_far.png', 'learning_curves.png', 'importance.png', 'learning_rate_vs_batch_size.png']
"""

from __future__ import annotations

from recommender.reports._kb import kb_report
from recommender.reports._result import ReportFiles
from recommender.reports._study import study_report

__all__ = ["ReportFiles", "kb_report", "study_report"]
