"""The fuzz suite (a package, so that its conftest.py does not collide with tests/test_experiments/conftest.py)."""
