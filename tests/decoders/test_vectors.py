"""Every vendor example of every device decodes to exactly the vendor's output."""

from __future__ import annotations

import pytest

import decoders
from tests.decoders.vectors import Vector, load_vectors, model_classes, same

VECTORS = load_vectors()


@pytest.mark.parametrize("vector", VECTORS, ids=[v.id for v in VECTORS])
def test_vector_decodes_to_the_vendor_output(vector: Vector) -> None:
    result = decoders.decode(vector.model, vector.f_port, vector.payload)

    assert same(result.data, vector.expected.get("data", {})) == []
    assert result.errors == vector.expected.get("errors", [])
    assert result.warnings == vector.expected.get("warnings", [])


@pytest.mark.parametrize(
    "vector", [v for v in VECTORS if "errors" not in v.expected], ids=lambda v: v.id
)
def test_readings_are_floats_of_the_vocabulary(vector: Vector) -> None:
    result = decoders.decode(vector.model, vector.f_port, vector.payload)

    for reading in result.readings:
        assert reading.quantity in decoders.QUANTITIES
        assert isinstance(reading.value, float)


@pytest.mark.parametrize("model", sorted({v.model for v in VECTORS}))
def test_the_telemetry_among_the_examples_gives_readings(model: str) -> None:
    """Command responses and attribute frames yield no reading; telemetry does."""
    results = [decoders.decode(v.model, v.f_port, v.payload) for v in VECTORS if v.model == model]

    assert any(r.readings for r in results)


@pytest.mark.parametrize(("model", "device_class"), sorted(model_classes().items()))
def test_every_vector_file_has_a_registered_decoder_of_its_class(
    model: str, device_class: str
) -> None:
    assert decoders.device_class(model) == device_class
