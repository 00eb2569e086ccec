"""The shell around the pure core.

Applying decisions (audit first, then pump, then prompt), clocks, session opening, resume, and
the headless runner.
"""
