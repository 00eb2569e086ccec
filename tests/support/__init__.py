"""Shared test fixtures and builders: paths, clinical values, plans, files, the app, audit logs.

Test modules import from here rather than from each other, so a builder has one home.
"""
