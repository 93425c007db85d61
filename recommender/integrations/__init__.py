"""Bridges to other tools (optional extras): `recommender.integrations.optuna` needs optuna,
`recommender.integrations.mlflow` needs mlflow.

optuna and mlflow are imported only when a bridge is used (the MLflow import's own module,
`_mlflow_import`, imports mlflow inside its functions), so the extras stay optional.
"""
