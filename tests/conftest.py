pytest_plugins = ["localindex.pytest_fixtures"]
