"""Training: scripted patients on the simulator, headless runs, the debrief.

See docs/trainer/training.md, docs/trainer/scenarios.md and app_hooks.md.
"""
