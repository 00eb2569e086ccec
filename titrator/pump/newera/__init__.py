"""The New Era serial pump driver, `NewEraPump`: its link, codec, exchange, setup and poller.

See `titrator.pump.newera.driver` for how the parts fit together.
"""

from titrator.pump.newera.driver import NewEraPump

__all__ = ["NewEraPump"]
