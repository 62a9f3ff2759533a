"""Root conftest: the plugin is loaded through its pytest11 entry point once installed
(`pip install -e .`); this file only keeps the repository importable without installing."""
