"""The knowledge base's tables, as numbered migrations, and every SQL statement the store runs.

Migrations are append-only: a released migration is never edited, so a file written by any older
version can be brought forward by applying the ones it lacks, each in a transaction together with
its `schema_version` record. SQL takes values only through `?` placeholders; the only names put
into SQL text are the fixed table and column names defined here.
"""

from __future__ import annotations

from dataclasses import dataclass

STATUSES = ("ok", "pruned", "diverged", "failed")
# Why a run stopped training (`training.TrainResult.stop_reason`); NULL when not known (runs
# stored before version 4, and runs logged or imported without it).
STOP_REASONS = ("max_epochs", "patience", "converged", "pruned", "diverged", "failed")
SOURCES = ("tune", "log", "import", "seed")
DIRECTIONS = ("minimize", "maximize")
TASKS = ("binary", "multiclass", "regression")
STUDY_STATUSES = ("running", "finished", "failed", "interrupted")
# The `config_extra` key of a run whose hyperparameters changed while it trained (a
# population-based training member): a list of {epoch, learning_rate, weight_decay, dropout,
# copied_from (the id of the run whose weights it took, or null)}. Not a parameter.
SCHEDULE_KEY = "pbt_schedule"

# The standard hyperparameters (the fields of training.TrainConfig) and their column types.
# Anything else a run's config holds goes into the `config_extra` JSON column.
_V1_HYPERPARAMETER_TYPES: dict[str, str] = {
    "optimizer": "VARCHAR",
    "learning_rate": "DOUBLE",
    "momentum": "DOUBLE",
    "nesterov": "BOOLEAN",
    "beta1": "DOUBLE",
    "beta2": "DOUBLE",
    "batch_size": "INTEGER",
    "max_epochs": "INTEGER",
    "patience": "INTEGER",
    "weight_decay": "DOUBLE",
    "dropout": "DOUBLE",
    "n_layers": "INTEGER",
    "width": "INTEGER",
    "activation": "VARCHAR",
    "batch_norm": "BOOLEAN",
    "init": "VARCHAR",
    "lr_schedule": "VARCHAR",
    "warmup_epochs": "INTEGER",
    "grad_clip": "DOUBLE",
}
# Added by version 3 (the modern-MLP recipe elements), with the value every older run trained with.
_V3_HYPERPARAMETER_DEFAULTS: dict[str, tuple[str, str]] = {
    "numeric_preprocessing": ("VARCHAR", "'standard'"),
    "target_transform": ("VARCHAR", "'standard'"),
    "num_embedding": ("VARCHAR", "'none'"),
    "embedding_dim": ("INTEGER", "8"),
    "categorical": ("VARCHAR", "'onehot'"),
    "label_smoothing": ("DOUBLE", "0.0"),
    "ensemble_size": ("INTEGER", "1"),
}
HYPERPARAMETER_TYPES: dict[str, str] = {
    **_V1_HYPERPARAMETER_TYPES,
    **{name: kind for name, (kind, _) in _V3_HYPERPARAMETER_DEFAULTS.items()},
}
HYPERPARAMETERS = tuple(HYPERPARAMETER_TYPES)
METRICS = ("log_loss", "accuracy", "balanced_accuracy", "roc_auc", "r2", "rmse", "mae")
CURVE_COLUMNS = ("epoch", "train_loss", "val_loss", "val_metric", "lr")
# Every column of `runs` (the latest schema; inserts and selects match columns by name).
RUN_COLUMNS = (
    ("id", "dataset_id", "study_id", *HYPERPARAMETERS, "config_extra", "status", "objective")
    + ("direction", "value", *METRICS, "best_epoch", "epochs_run", "wall_seconds", "device")
    + ("seed", "source", "library_version", "created", "error", "stop_reason")
)


def _quoted(values: tuple[str, ...]) -> str:
    return ", ".join(f"'{v}'" for v in values)


_HP_DDL = ",\n    ".join(f"{name} {kind}" for name, kind in _V1_HYPERPARAMETER_TYPES.items())
_METRIC_DDL = ",\n    ".join(f"{name} DOUBLE" for name in METRICS)

# ---- version 1: the tables of DESIGN.md ----------------------------------------------------------
_V1 = (
    """CREATE TABLE schema_version (
    version INTEGER PRIMARY KEY,
    description VARCHAR NOT NULL,
    applied TIMESTAMPTZ NOT NULL
)""",
    f"""CREATE TABLE datasets (
    id VARCHAR PRIMARY KEY,
    name VARCHAR NOT NULL,
    task VARCHAR NOT NULL CHECK (task IN ({_quoted(TASKS)})),
    n_rows BIGINT NOT NULL CHECK (n_rows >= 0),
    n_features INTEGER NOT NULL CHECK (n_features >= 0),
    n_classes INTEGER NOT NULL CHECK (n_classes >= 0),
    created TIMESTAMPTZ NOT NULL
)""",
    """CREATE TABLE meta_features (
    dataset_id VARCHAR NOT NULL,
    name VARCHAR NOT NULL,
    value DOUBLE,
    PRIMARY KEY (dataset_id, name)
)""",
    f"""CREATE TABLE studies (
    id VARCHAR PRIMARY KEY,
    dataset_id VARCHAR NOT NULL,
    strategy VARCHAR NOT NULL,
    budget INTEGER,
    started TIMESTAMPTZ NOT NULL,
    finished TIMESTAMPTZ,
    status VARCHAR NOT NULL CHECK (status IN ({_quoted(STUDY_STATUSES)}))
)""",
    f"""CREATE TABLE runs (
    id VARCHAR PRIMARY KEY,
    dataset_id VARCHAR NOT NULL,
    study_id VARCHAR,
    {_HP_DDL},
    config_extra JSON,
    status VARCHAR NOT NULL CHECK (status IN ({_quoted(STATUSES)})),
    objective VARCHAR NOT NULL,
    direction VARCHAR NOT NULL CHECK (direction IN ({_quoted(DIRECTIONS)})),
    value DOUBLE,
    {_METRIC_DDL},
    best_epoch INTEGER,
    epochs_run INTEGER,
    wall_seconds DOUBLE,
    device VARCHAR,
    seed BIGINT,
    source VARCHAR NOT NULL CHECK (source IN ({_quoted(SOURCES)})),
    library_version VARCHAR,
    created TIMESTAMPTZ NOT NULL,
    error VARCHAR
)""",
    """CREATE TABLE curves (
    run_id VARCHAR NOT NULL,
    epoch INTEGER NOT NULL,
    train_loss DOUBLE,
    val_loss DOUBLE,
    val_metric DOUBLE,
    lr DOUBLE,
    PRIMARY KEY (run_id, epoch)
)""",
)

# ---- version 2: what tune and log need to resume a study and re-load a dataset ------------------
_V2 = (
    "ALTER TABLE datasets ADD COLUMN target VARCHAR",
    "ALTER TABLE studies ADD COLUMN objective VARCHAR",
    "ALTER TABLE studies ADD COLUMN direction VARCHAR",
    "ALTER TABLE studies ADD COLUMN space JSON",
)

# ---- version 3: the recipe-element hyperparameters; older runs get the values they trained with --
_V3 = tuple(
    f"ALTER TABLE runs ADD COLUMN {name} {kind} DEFAULT {default}"
    for name, (kind, default) in _V3_HYPERPARAMETER_DEFAULTS.items()
)

# ---- version 4: why a run stopped, so curve learning can leave out runs a pruner ended ---------
_V4 = ("ALTER TABLE runs ADD COLUMN stop_reason VARCHAR",)


@dataclass(frozen=True)
class Migration:
    """One forward step of the schema: applied once, in a transaction with its record."""

    version: int
    description: str
    statements: tuple[str, ...]


MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "datasets, meta_features, studies, runs, curves", _V1),
    Migration(2, "datasets.target; studies.objective, direction, space", _V2),
    Migration(
        3,
        "runs: numeric_preprocessing, target_transform, num_embedding, embedding_dim, "
        "categorical, label_smoothing, ensemble_size",
        _V3,
    ),
    Migration(4, "runs.stop_reason", _V4),
)
LATEST_VERSION = MIGRATIONS[-1].version

# Tables in the order an import must fill them; the schema_version table is not data.
DATA_TABLES = ("datasets", "meta_features", "studies", "runs", "curves")

# ---- statements ----------------------------------------------------------------------------------
LIST_TABLES = "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main'"
CURRENT_VERSION = "SELECT max(version) FROM schema_version"
RECORD_VERSION = "INSERT INTO schema_version (version, description, applied) VALUES (?, ?, ?)"

GET_DATASET = "SELECT * FROM datasets WHERE id = ?"
LIST_DATASETS = """SELECT d.*, coalesce(r.n_runs, 0) AS n_runs
    FROM datasets d
    LEFT JOIN (SELECT dataset_id, count(*) AS n_runs FROM runs GROUP BY dataset_id) r
        ON r.dataset_id = d.id
    ORDER BY d.created, d.id"""

UPSERT_META_FEATURES = "INSERT OR REPLACE INTO meta_features BY NAME SELECT * FROM incoming"
META_FEATURES = "SELECT dataset_id, name, value FROM meta_features"

INSERT_STUDY = """INSERT INTO studies
    (id, dataset_id, strategy, budget, objective, direction, space, started, finished, status)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, NULL, 'running')"""
FINISH_STUDY = "UPDATE studies SET finished = ?, status = ? WHERE id = ?"
GET_STUDY = "SELECT * FROM studies WHERE id = ?"
# Each study with its dataset's name, its number of runs and its best `ok` value.
LIST_STUDIES = """SELECT s.*, d.name AS dataset_name, coalesce(r.n_runs, 0) AS n_runs,
        CASE WHEN s.direction = 'maximize' THEN r.best_max ELSE r.best_min END AS best_value
    FROM studies s
    LEFT JOIN datasets d ON d.id = s.dataset_id
    LEFT JOIN (SELECT study_id, count(*) AS n_runs,
                      min(value) FILTER (WHERE status = 'ok') AS best_min,
                      max(value) FILTER (WHERE status = 'ok') AS best_max
               FROM runs WHERE study_id IS NOT NULL GROUP BY study_id) r
        ON r.study_id = s.id
    ORDER BY s.started, s.id"""

# Bulk inserts read the registered relation `incoming`; columns match by name, so a frame (or a
# Parquet file from an older version) may lack nullable columns.
INSERT_INCOMING = {
    table: f"INSERT INTO {table} BY NAME SELECT * FROM incoming ON CONFLICT DO NOTHING"
    for table in DATA_TABLES
}
SELECT_ALL = {table: f"SELECT * FROM {table}" for table in DATA_TABLES}
COUNT_ROWS = {table: f"SELECT count(*) FROM {table}" for table in DATA_TABLES}

# Referential checks, run inside the writing transaction (DuckDB foreign keys would block
# ALTER TABLE in later migrations and slow bulk inserts).
RUNS_WITHOUT_DATASET = """SELECT DISTINCT r.dataset_id FROM runs r
    ANTI JOIN datasets d ON r.dataset_id = d.id ORDER BY 1 LIMIT 5"""
STUDY_WITHOUT_DATASET = """SELECT DISTINCT s.dataset_id FROM studies s
    ANTI JOIN datasets d ON s.dataset_id = d.id ORDER BY 1 LIMIT 5"""
INCOMING_WITHOUT_DATASET = """SELECT DISTINCT i.dataset_id FROM incoming i
    ANTI JOIN datasets d ON i.dataset_id = d.id ORDER BY 1 LIMIT 5"""
INCOMING_WITHOUT_STUDY = """SELECT DISTINCT i.study_id FROM incoming i
    ANTI JOIN studies s ON i.study_id = s.id WHERE i.study_id IS NOT NULL ORDER BY 1 LIMIT 5"""

CURVES_OF = "SELECT * FROM curves WHERE run_id = ANY(?) ORDER BY run_id, epoch"
GET_RUN = "SELECT * FROM runs WHERE id = ?"

# Filters for `runs()`: fixed fragments, one for a single value (which DuckDB pushes into the
# scan) and one for a list; the values go through placeholders.
RUN_FILTERS = {
    name: (f"{name} = ?", f"{name} = ANY(?)")
    for name in ("dataset_id", "study_id", "status", "source", "objective")
}
BEST_RUNS = """SELECT * FROM runs
    WHERE status = 'ok' AND value IS NOT NULL AND isfinite(value) AND {filters}
    QUALIFY row_number() OVER (
        PARTITION BY dataset_id, objective
        ORDER BY CASE WHEN direction = 'minimize' THEN value ELSE -value END, id
    ) <= ?
    ORDER BY dataset_id, objective, CASE WHEN direction = 'minimize' THEN value ELSE -value END"""
COUNT_BY = {
    "status": "SELECT status, count(*) FROM runs GROUP BY status ORDER BY status",
    "source": "SELECT source, count(*) FROM runs GROUP BY source ORDER BY source",
    "objective": "SELECT objective, count(*) FROM runs GROUP BY objective ORDER BY objective",
}
