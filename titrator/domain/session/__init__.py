"""The infusion engine: state, transitions, schedule, prompts, one module per input source."""
