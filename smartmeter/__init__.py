"""smartmeter: command line and orchestration for the smart-meter data warehouse."""

__version__ = "0.1.0"
