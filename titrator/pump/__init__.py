"""Pump adapters: the interface, the New Era serial driver, the manual pump and the fake pump.

Import the adapter you need from its module (`titrator.pump.newera.driver`, `titrator.pump.manual`,
`titrator.pump.fake`); the interface, states and errors are in `titrator.pump.base`.
"""
