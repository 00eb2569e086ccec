"""The bundled New Era pump simulator (imports nothing from titrator).

`Simulator` (in `simulator.api`) starts a simulated pump on a pseudo-terminal or a loopback TCP
port and returns the URL to open with `serial.serial_for_url`; `python -m simulator` does the same
from the command line. The pump model (`simulator.model`) is separate from the servers, so a
future patient simulation can drive it in-process.
"""

from simulator.api import Simulator
from simulator.faults import Fault, FaultKind
from simulator.model import ModelConfig, PumpModel

__all__ = ["Fault", "FaultKind", "ModelConfig", "PumpModel", "Simulator"]
