"""ecombench: a benchmark and leaderboard suite for e-commerce LLMs."""

__version__ = "0.1.0"
