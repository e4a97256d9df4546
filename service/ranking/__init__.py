"""Ranking as stages: candidates, fusion, boosts, budget and citations, assembled from settings."""
