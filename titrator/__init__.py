"""titrator: decision support for stepwise IVIG infusions.

titrator supports decisions; it does not replace the prescriber's order, the product label or
local policy.
"""

__version__ = "0.1.0"
