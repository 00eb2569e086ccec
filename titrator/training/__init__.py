"""Training: scripted patients on the simulator, headless runs, the debrief.

See docs/training.md and app_hooks.md.
"""
