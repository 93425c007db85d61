"""A real study in a real KB: a few short training runs on examples/wine.csv."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from knowledge_base import DatasetRecord, KnowledgeBase, RunRecord
from recommender.learn import compute_meta_features
from recommender.space import default_space
from training import TrainConfig, load_table, prepare, train

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
WINE = EXAMPLES / "wine.csv"


def make_study(kb: KnowledgeBase, n_trials: int = 6, *, diverged: bool = True) -> str:
    """Log `n_trials` real 3-epoch runs on wine as one study (one forced to diverge); its id."""
    table = load_table(WINE, target="cultivar")
    kb.add_dataset(DatasetRecord.from_table(table))
    kb.set_meta_features(table.fingerprint, compute_meta_features(table))
    space = default_space()
    study = kb.start_study(table.fingerprint, "random", budget=n_trials, objective="log_loss",
                           direction="minimize", space=space.to_dict())
    data = prepare(table)
    samples = space.sample(n_trials, np.random.default_rng(3))
    for i, sample in enumerate(samples):
        config = TrainConfig.from_dict(sample).replace(max_epochs=3, width=min(sample["width"], 64))
        if diverged and i == 1:  # a learning rate no optimizer survives
            config = config.replace(optimizer="sgd", learning_rate=100.0, lr_schedule="constant",
                                    momentum=0.9, grad_clip=0.0, batch_norm=False)
        result = train(config, data)
        kb.log_run(RunRecord.from_result(result, dataset_id=table.fingerprint, study_id=study.id))
    kb.finish_study(study.id)
    return study.id
