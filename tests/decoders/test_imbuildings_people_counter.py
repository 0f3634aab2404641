"""IMBUILDINGS codec: round trips of every frame, vendor quirks, errors, fPort 10 downlinks."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import decoders
from decoders import imbuildings_people_counter as imb
from decoders.codec import Downlink, Reading

VENDOR_EXAMPLE = bytes.fromhex("02060004a30b00f0d40e0001000000000020000d000a6a")
VENDOR_OUTPUT = {
    "device_type_identifier": 2,
    "device_type": "People Counter",
    "device_type_variant": 6,
    "device_id": "0004a30b00f0d40e",
    "device_status": 0,
    "battery_voltage": 2.56,
    "counter_a": 0,
    "counter_b": 0,
    "sensor_status": 32,
    "total_counter_a": 13,
    "total_counter_b": 10,
    "payload_counter": 106,
}

U8 = st.integers(0, 255)
U16 = st.integers(0, 0xFFFF)
HUNDREDTHS = U16.map(lambda v: v / 100)
SIGNED_HUNDREDTHS = st.integers(-0x8000, 0x7FFF).map(lambda v: v / 100)
Fields = dict[str, st.SearchStrategy[Any]]
NB: Fields = {
    "device_id": st.binary(min_size=6, max_size=6).map(bytes.hex),
    "battery_voltage": HUNDREDTHS,
}
NB |= {"rssi": st.integers(-128, 127)}
NB_STATUS: Fields = NB | {"device_status": U8}
LORA: Fields = {"device_id": st.binary(min_size=8, max_size=8).map(bytes.hex), "device_status": U8}
LORA |= {"battery_voltage": HUNDREDTHS}
COUNTS: Fields = {"counter_a": U16, "counter_b": U16, "sensor_status": U8}
TOTALS: Fields = {"total_counter_a": U16, "total_counter_b": U16}
NAMES = {1: "Comfort Sensor CO2", 2: "People Counter", 3: "Button", 4: "Counter"}


def frame(product: int, variant: int, fields: Fields) -> st.SearchStrategy[dict[str, Any]]:
    header = {
        "device_type_identifier": product,
        "device_type": NAMES[product],
        "device_type_variant": variant,
    }
    return st.fixed_dictionaries({k: st.just(v) for k, v in header.items()} | fields)


def climate(temperature: st.SearchStrategy[float]) -> Fields:
    return {"temperature": temperature, "humidity": HUNDREDTHS, "co2": U16, "presence": U8}


def with_aliased_header(data: dict[str, Any]) -> dict[str, Any]:
    """Variant 7 with header: the vendor reads bytes 10-12 as status and battery too."""
    return data | {
        "device_status": data["sensor_status"],
        "battery_voltage": data["total_counter_a"] / 100,
    }


temperatures: Fields = {
    "min_temperature": SIGNED_HUNDREDTHS,
    "max_temperature": HUNDREDTHS,
    "current_temperature": HUNDREDTHS,
}
uplinks = st.one_of(
    frame(1, 1, NB | climate(SIGNED_HUNDREDTHS)),
    frame(1, 2, NB | climate(SIGNED_HUNDREDTHS)),
    frame(1, 3, LORA | climate(HUNDREDTHS)),
    frame(1, 4, NB | temperatures),
    frame(1, 5, NB | {"presence_event": U8}),
    frame(2, 2, NB_STATUS | {"counter_a": U8, "counter_b": U8, "sensor_status": U8}),
    frame(2, 3, NB_STATUS | COUNTS),
    frame(2, 4, NB_STATUS | COUNTS),
    frame(2, 5, LORA | COUNTS | {"payload_counter": U8}),
    frame(2, 6, LORA | COUNTS | TOTALS | {"payload_counter": U8}),
    frame(2, 7, {"device_id": LORA["device_id"], "sensor_status": U8} | TOTALS).map(
        with_aliased_header
    ),
    frame(3, 1, NB_STATUS | {"button_pressed": st.integers(0, 1)}),
    frame(3, 2, NB_STATUS | {"button_pressed": st.integers(0, 1)}),
    frame(3, 3, NB_STATUS | {"button_pressed": st.integers(0, 1)}),
    frame(4, 1, NB_STATUS | {"counter": U8}),
    st.fixed_dictionaries(
        {"device_status": U8, "battery_voltage": HUNDREDTHS}
        | COUNTS
        | TOTALS
        | {"payload_counter": U8}
    ),
    st.fixed_dictionaries({"sensor_status": U8} | TOTALS),
)


@settings(max_examples=500, deadline=None)
@given(uplinks)
def test_decode_inverts_encode_uplink(data: dict[str, Any]) -> None:
    assert imb.decode(*imb.encode_uplink(data)) == data


def test_vendor_example_decodes_to_the_vendor_output() -> None:
    assert imb.decode(1, VENDOR_EXAMPLE) == VENDOR_OUTPUT
    assert imb.encode_uplink(VENDOR_OUTPUT) == (1, VENDOR_EXAMPLE)


def test_vendor_example_normalizes_to_period_counts_totals_and_battery() -> None:
    assert decoders.decode(imb.MODEL, 1, VENDOR_EXAMPLE).readings == [
        Reading("battery_voltage", 2.56),
        Reading("people_in", 0.0),
        Reading("people_out", 0.0),
        Reading("people_in_total", 13.0),
        Reading("people_out_total", 10.0),
    ]


def test_headerless_ports_read_the_frame_from_its_end() -> None:
    tail = VENDOR_EXAMPLE[10:]
    expected = {
        k: v
        for k, v in VENDOR_OUTPUT.items()
        if not k.startswith("device_") or k == "device_status"
    }

    assert imb.decode(26, tail) == expected
    assert imb.decode(26, b"\xaa\xbb" + tail) == expected
    assert imb.decode(27, bytes.fromhex("20000d000a")) == {
        "sensor_status": 32,
        "total_counter_a": 13,
        "total_counter_b": 10,
    }


def test_variant_7_header_aliases_are_kept_but_not_read_as_battery() -> None:
    data = imb.decode(1, bytes.fromhex("02070004a30b00f0d40e20060305e6"))

    assert (data["device_status"], data["battery_voltage"]) == (32, 15.39)
    assert imb.normalize(data) == [
        Reading("people_in_total", 1539.0),
        Reading("people_out_total", 1510.0),
    ]


def header(product: int, variant: int) -> dict[str, Any]:
    return {
        "device_type_identifier": product,
        "device_type": NAMES[product],
        "device_type_variant": variant,
    }


# Frames built by hand from the layout (fixture, and the module's table for the products
# other than the people counter); big-endian, /100 for volts, degrees and %RH.
FRAMES_FROM_THE_LAYOUT = [
    pytest.param(
        # people counter variant 5, 19 bytes: id 8 bytes, device_status, battery 0x014a/100,
        # counter_a, counter_b (uint16), sensor_status, payload_counter; no totals
        "0205 0102030405060708 01 014a 0003 0005 20 11",
        header(2, 5) | {"device_id": "0102030405060708", "device_status": 1,
                        "battery_voltage": 3.3, "counter_a": 3, "counter_b": 5,
                        "sensor_status": 32, "payload_counter": 17},
        id="people counter variant 5",
    ),
    pytest.param(
        # variant 7 with its header, 17 bytes: sensor_status and the totals are the last 5
        # bytes; the vendor also reads byte 10 as device_status and 11-12 /100 as battery
        "0207 0102030405060708 0a 0b 20 0001 0002",
        header(2, 7) | {"device_id": "0102030405060708", "device_status": 10,
                        "battery_voltage": 28.48, "sensor_status": 32, "total_counter_a": 1,
                        "total_counter_b": 2},
        id="people counter variant 7, longer frame",
    ),
    pytest.param(
        # NB-IoT people counter variant 2, 15 bytes: id 6 bytes, device_status, battery,
        # rssi int8, counter_a and counter_b uint8, sensor_status
        "0202 000000000001 02 0100 00 ff 01 20",
        header(2, 2) | {"device_id": "000000000001", "device_status": 2,
                        "battery_voltage": 2.56, "rssi": 0, "counter_a": 255, "counter_b": 1,
                        "sensor_status": 32},
        id="people counter variant 2",
    ),
    pytest.param(
        # comfort sensor 1.1, 19 bytes: no device_status; rssi 0xb5 = -75; temperature
        # int16 0xff9c = -100 -> -1.0; humidity 0x1388/100; co2 0x01f4; presence
        "0101 aabbccddeeff 00 0136 b5 ff9c 1388 01f4 01",
        header(1, 1) | {"device_id": "aabbccddeeff", "battery_voltage": 3.1, "rssi": -75,
                        "temperature": -1.0, "humidity": 50.0, "co2": 500, "presence": 1},
        id="comfort sensor variant 1",
    ),
    pytest.param(
        # button 3.2, 20 bytes: button_pressed is bit 0 of byte 19 (byte 12 is date/time)
        "0302 010203040506 07 012c 9c 20240101120000 03",
        header(3, 2) | {"device_id": "010203040506", "device_status": 7,
                        "battery_voltage": 3.0, "rssi": -100, "button_pressed": 1},
        id="button variant 2",
    ),
    pytest.param(
        # pulse counter 4.1, 20 bytes: counter is the uint8 at byte 19
        "0401 010203040506 00 0190 c4 00000000000000 ff",
        header(4, 1) | {"device_id": "010203040506", "device_status": 0,
                        "battery_voltage": 4.0, "rssi": -60, "counter": 255},
        id="pulse counter",
    ),
    pytest.param(
        # a frame whose length does not match its variant decodes to an empty object
        "0205 0102030405060708 01 014a 0003 0005 20 11 00",
        {},
        id="variant 5 one byte long",
    ),
]  # fmt: skip


@pytest.mark.parametrize(("hex_frame", "expected"), FRAMES_FROM_THE_LAYOUT)
def test_frames_from_the_layout(hex_frame: str, expected: dict[str, Any]) -> None:
    result = decoders.decode(imb.MODEL, 1, bytes.fromhex(hex_frame))

    assert (result.data, result.errors) == (expected, [])


def test_comfort_sensor_min_max_temperatures_use_channels() -> None:
    data = imb.decode(1, bytes.fromhex("010400000a0b0c0d0001 2c c5 ff38 09c4 0898"))

    assert data["min_temperature"] == -2.0
    assert [r for r in imb.normalize(data) if r.quantity == "temperature"] == [
        Reading("temperature", 22.0),
        Reading("temperature", -2.0, "min"),
        Reading("temperature", 25.0, "max"),
    ]


@pytest.mark.parametrize(
    ("f_port", "payload"),
    [
        (1, VENDOR_EXAMPLE[:-1]),  # variant 6 one byte short
        (1, bytes.fromhex("0201") + bytes(20)),  # NB-IoT variant 1: the vendor has no fields for it
        (1, bytes.fromhex("0209") + bytes(21)),  # undocumented variant
        (1, bytes.fromhex("0906") + bytes(21)),  # unknown product type
        (85, b""),
        (2, b"\x07"),
    ],
)
def test_unknown_or_misfit_frames_decode_to_nothing_like_the_vendor(
    f_port: int, payload: bytes
) -> None:
    result = decoders.decode(imb.MODEL, f_port, payload)

    assert (result.data, result.errors, result.readings) == ({}, [], [])


@pytest.mark.parametrize(
    ("f_port", "payload", "error"),
    [
        (1, "0206000102", "truncated frame: device_id needs 6 byte(s) at byte 2, frame has 5"),
        (
            1,
            "0207" + "00" * 10,
            "truncated frame: People Counter variant 7 needs 13 bytes, frame has 12",
        ),
        (
            27,
            "200006",
            "truncated frame: people counter variant 7 without header (fPort 27) needs 5 bytes, "
            "frame has 3",
        ),
        (
            26,
            "00" * 12,
            "truncated frame: people counter variant 6 without header (fPort 26) needs 13 bytes, "
            "frame has 12",
        ),
    ],
)
def test_short_frames_say_what_and_where(f_port: int, payload: str, error: str) -> None:
    assert decoders.decode(imb.MODEL, f_port, bytes.fromhex(payload)).errors == [error]


def test_batch_keeps_headerless_ports_apart_from_header_frames() -> None:
    ports = [1, 27, 26, 1]
    payloads = [VENDOR_EXAMPLE, VENDOR_EXAMPLE, VENDOR_EXAMPLE[10:], VENDOR_EXAMPLE]
    expected = [
        (i, r.quantity, r.value)
        for i, (f_port, payload) in enumerate(zip(ports, payloads, strict=True))
        for r in imb.normalize(imb.decode(f_port, payload))
    ]

    batch = decoders.decode_batch(imb.MODEL, ports, payloads).readings
    got = zip(batch.row.tolist(), batch.quantity.tolist(), batch.value.tolist(), strict=True)

    assert sorted(got) == sorted(expected)
    assert (1, "people_in_total", float(0x0D00)) in expected  # fPort 27 reads the last 5 bytes


@pytest.mark.parametrize(
    ("downlink", "expected"),
    [
        (imb.set_report_interval(15), "f101031e0f"),
        (imb.setting(0x1E), "f101021e"),
        (imb.setting(0x1F, 1, 5, 10), "f101051f01050a"),
        (imb.setting(0x20, 2, 6, 1), "f10105200206 01"),
        (imb.setting(0x33, 26), "f10103331a"),
        (imb.get_payload(), "f10103c801"),
        (imb.rejoin(), "f10103c802"),
        (imb.preset_counters(1539, 1510), "f10107c803060305e6"),
        (imb.save(), "f10103c804"),
        (imb.combine(imb.set_report_interval(10), imb.save()), "f101031e0a03c804"),
    ],
)
def test_downlinks(downlink: Downlink, expected: str) -> None:
    assert downlink == Downlink(10, bytes.fromhex(expected))


@pytest.mark.parametrize(
    ("call", "argument"),
    [
        (lambda: imb.set_report_interval(0), "minutes"),
        (lambda: imb.set_report_interval(256), "minutes"),
        (lambda: imb.setting(0x99), "setting_id"),
        (lambda: imb.setting(0x33, 300), r"values\[0\]"),
        (lambda: imb.setting(0x20, 2), "takes 3 values"),
        (lambda: imb.preset_counters(70_000, 0), "total_counter_a"),
    ],
)
def test_downlink_arguments_are_validated(call: Any, argument: str) -> None:
    with pytest.raises(ValueError, match=argument):
        call()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (VENDOR_OUTPUT | {"battery_voltage": 2.567}, "not an uplink"),
        (VENDOR_OUTPUT | {"counter_a": 70_000}, "counter_a out of range"),
        (VENDOR_OUTPUT | {"device_type_variant": 1}, r"no frame of product type/variant \(2, 1\)"),
        (
            {k: v for k, v in VENDOR_OUTPUT.items() if k != "payload_counter"},
            "payload_counter missing",
        ),
    ],
)
def test_encode_uplink_rejects_what_the_device_cannot_send(
    data: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        imb.encode_uplink(data)
