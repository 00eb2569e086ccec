"""Reading protocols/ and the site configuration from disk into domain models, readable errors."""
