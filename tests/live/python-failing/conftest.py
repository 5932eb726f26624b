pytest_plugins = ["rift.pytest_plugin"]
