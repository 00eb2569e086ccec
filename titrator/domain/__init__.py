"""Pure safety core: quantities, library, plan, vitals, policy, assessment, session, events."""
