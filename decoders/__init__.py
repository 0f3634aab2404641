"""Payload decoders of real LoRaWAN device models: bytes → vendor fields → readings.

Pure functions, numpy only. `decode` is the per-payload path, `decode_batch` the
vectorized one; both give the same readings.
"""

from decoders.batch import BatchReadings
from decoders.codec import DecodeError, DecodeResult, Downlink, Reading
from decoders.quantities import QUANTITIES, Quantity, unit_of
from decoders.registry import (
    DEVICE_CLASSES,
    MODELS,
    BatchResult,
    decode,
    decode_batch,
    device_class,
    device_module,
)

__all__ = [
    "DEVICE_CLASSES",
    "MODELS",
    "QUANTITIES",
    "BatchReadings",
    "BatchResult",
    "DecodeError",
    "DecodeResult",
    "Downlink",
    "Quantity",
    "Reading",
    "decode",
    "decode_batch",
    "device_class",
    "device_module",
    "unit_of",
]
