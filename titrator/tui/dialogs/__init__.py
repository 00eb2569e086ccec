"""Modal dialogs of the run screen."""
