"""Customer-service training simulator engine.

The engine is importable without the web app: scenarios, knowledge, customers, grading and sessions live
here; ``web`` only calls into it.
"""

__version__ = "0.1.0"
