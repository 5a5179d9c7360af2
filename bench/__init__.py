"""`make bench`: Rapport against bare baselines (see bench/__main__.py)."""
