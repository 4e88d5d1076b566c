"""File formats read by portsync besides its own JSON problem (standard benchmark files)."""

from optimizer.formats.bap import (
    BapFormatError,
    BapInstance,
    bap_objective,
    detect_format,
    read_bap,
    read_cordeau,
    read_cordeau_solution,
    read_kramer,
)

__all__ = [
    "BapFormatError",
    "BapInstance",
    "bap_objective",
    "detect_format",
    "read_bap",
    "read_cordeau",
    "read_cordeau_solution",
    "read_kramer",
]
