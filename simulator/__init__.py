"""The bundled New Era pump simulator (imports nothing from titrator)."""
