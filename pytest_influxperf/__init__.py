"""pytest-influxperf: a real InfluxDB under pytest, timed harnesses and a regression suite.

Importing this package is cheap on purpose: the pytest plugin module is loaded in every
pytest run of a project that installs it, so nothing heavy (docker, pandas, matplotlib)
is imported here.
"""

__version__ = "0.1.0"
