"""Live checks against one observed run of the real operator (see conftest.py and scenario.py)."""
