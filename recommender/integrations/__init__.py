"""Bridges to other tools (optional extras): `recommender.integrations.optuna` needs optuna.

Nothing here is imported by the rest of hpo-recommend, so the extras stay optional.
"""
