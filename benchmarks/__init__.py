"""Benchmarks of the course: notebook run time and memory, widget latency (``python -m benchmarks.run``)."""
