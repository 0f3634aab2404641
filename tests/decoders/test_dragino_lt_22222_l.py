"""Dragino LT-22222-L: working modes, device status, errors, downlinks, batch."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import decoders
from decoders import dragino_lt_22222_l as lt
from decoders.codec import DecodeError, Downlink, Reading

MODEL = lt.MODEL
MODE_NAMES = {1: "2ACI+2AVI", 2: "Count mode 1", 3: "2ACI+1Count", 4: "Count mode 2",
              5: " 1ACI+2AVI+1Count", 6: "Trigger mode"}  # fmt: skip
ALARMS = ("AV1L", "AV1H", "AV2L", "AV2H", "AC1L", "AC1H", "AC2L", "AC2H")
LEVEL = st.sampled_from(["H", "L"])
RELAY = st.sampled_from(["ON", "OFF"])
TRUTH = st.sampled_from(["True", "False"])
MILLI = st.integers(-32768, 32767).map(lambda n: n / 1000)
UINT32 = st.integers(0, 2**32 - 1)


@st.composite
def uplinks(draw: st.DrawFn) -> dict[str, Any]:
    """Vendor output of any LT22222/LT33222 frame in working modes 1-6, per the layout."""
    hardware = draw(st.sampled_from(["LT22222", "LT33222"]))
    mode = draw(st.integers(1, 6))
    x: dict[str, Any] = {"Hardware_mode": hardware, "Work_mode": MODE_NAMES[mode]}
    if hardware == "LT33222":
        x["DO3_status"] = draw(LEVEL)
    if mode != 6:
        x |= {"DO1_status": draw(LEVEL), "DO2_status": draw(LEVEL)}
        x |= {"RO1_status": draw(RELAY), "RO2_status": draw(RELAY)}
    if mode not in (1, 6):
        x["First_status"] = draw(st.sampled_from(["Yes", "No"]))
    if mode in (2, 3, 4):
        x["Count1_times"] = draw(UINT32)
    if mode in (1, 5):
        x |= {"AVI1_V": draw(MILLI), "AVI2_V": draw(MILLI), "ACI1_mA": draw(MILLI)}
    if mode in (1, 3):
        x |= {"ACI1_mA": draw(MILLI), "ACI2_mA": draw(MILLI)}
    if mode == 1:
        x |= {"DI1_status": draw(LEVEL), "DI2_status": draw(LEVEL)}
        if hardware == "LT33222":
            x["DI3_status"] = draw(LEVEL)
    if mode == 2:
        x["Count2_times"] = draw(UINT32)
    if mode == 4:
        x["Acount_times"] = draw(UINT32)
    if mode == 5:
        x["Count1_times"] = draw(st.integers(0, 65535))
    if mode == 6:
        keys = [f"{a}_{kind}" for a in ALARMS for kind in ("flag", "status")]
        keys += ["DI1_status", "DI1_flag", "DI2_status", "DI2_flag", "Mode_status"]
        x |= {key: draw(TRUTH) for key in keys}
    return x


@settings(max_examples=500, deadline=None)
@given(uplinks())
def test_decode_inverts_encode_uplink(data: dict[str, Any]) -> None:
    assert lt.decode(*lt.encode_uplink(data)) == data


@pytest.mark.parametrize("sample", lt.SAMPLE_UPLINKS)
def test_samples_round_trip(sample: dict[str, Any]) -> None:
    assert lt.decode(*lt.encode_uplink(sample)) == sample


def test_chirpstack_vendor_example_decodes_alike() -> None:
    assert lt.decode(2, bytes([0, 0, 0, 0, 0, 0, 0, 0, 60, 255, 65])) == {
        "Hardware_mode": "LT22222", "Work_mode": "2ACI+2AVI",
        "DO1_status": "H", "DO2_status": "H", "RO1_status": "OFF", "RO2_status": "OFF",
        "AVI1_V": 0, "AVI2_V": 0, "ACI1_mA": 0, "ACI2_mA": 0,
        "DI1_status": "H", "DI2_status": "H",
    }  # fmt: skip


def test_vendor_example_gives_channelled_readings() -> None:
    data = lt.decode(2, bytes.fromhex("04ab04ac13101300aaff01"))

    assert sorted(lt.normalize(data), key=lambda r: (r.quantity, r.channel)) == [
        Reading("analog_current", 4.88, "1"),
        Reading("analog_current", 4.864, "2"),
        Reading("analog_voltage", 1.195, "1"),
        Reading("analog_voltage", 1.196, "2"),
        Reading("digital_input", 1.0, "1"),
        Reading("digital_input", 0.0, "2"),
        Reading("digital_input", 1.0, "3"),
        Reading("digital_output", 1.0, "1"),
        Reading("digital_output", 0.0, "2"),
        Reading("digital_output", 1.0, "3"),
        Reading("relay_state", 1.0, "1"),
        Reading("relay_state", 0.0, "2"),
    ]


def test_counters_are_uint32() -> None:
    # layout: "Count modes replace the analog fields with uint32 counters"; mode 2 is
    # 'Count mode 1', bytes 0-3 and 4-7 the two counters, big-endian
    data = lt.decode(2, bytes.fromhex("fffffffe0000002a00ff42"))

    assert (data["Work_mode"], data["Count1_times"], data["Count2_times"]) == (
        "Count mode 1",
        4294967294,
        42,
    )
    assert Reading("pulse_count", 4294967294.0, "1") in lt.normalize(data)


def test_trigger_mode_has_flags_and_no_relay_keys() -> None:
    data = lt.decode(2, bytes.fromhex("8001090000000000000146"))

    assert data["Work_mode"] == "Trigger mode"  # layout: 6 'Trigger mode' -> Work_mode
    assert (data["AV1L_flag"], data["AC2H_status"], data["DI2_status"]) == ("True", "True", "True")
    assert (data["DI1_flag"], data["Mode_status"]) == ("True", "True")
    assert "RO1_status" not in data
    assert "DO1_status" not in data


# Frames built by hand from the layout (fixture and module table); no vendor example has them.
FRAMES_FROM_THE_LAYOUT = [
    pytest.param(
        # byte 10 = 0x03: hardware 0 'LT33222', mode 3; bytes 0-3 Count1_times uint32,
        # 4-5 ACI1 0x0fa0 = 4000 uA, 6-7 ACI2 0xfc18 = -1000 uA (int16); byte 8 = 0xa5:
        # bit 7 RO1 ON, 6 RO2 OFF, 5 First_status Yes (not in mode 1), 2 DO3 'L' (LT33222),
        # 1 DO2 'H', 0 DO1 'L'; DI3 only when the whole mode byte is 1
        "000100000fa0fc18a50003",
        {"Hardware_mode": "LT33222", "Work_mode": "2ACI+1Count", "Count1_times": 65536,
         "ACI1_mA": 4.0, "ACI2_mA": -1.0, "RO1_status": "ON", "RO2_status": "OFF",
         "DO1_status": "L", "DO2_status": "H", "DO3_status": "L", "First_status": "Yes"},
        id="mode 3 on LT33222",
    ),
    pytest.param(
        # byte 10 = 0x44: hardware 1 'LT22222', mode 4; Count1_times 0x80000000 and
        # Acount_times 1000 as uint32; byte 8 = 0x42: RO2 ON, DO2 'L'; byte 9 unused here
        "80000000000003e8427f44",
        {"Hardware_mode": "LT22222", "Work_mode": "Count mode 2", "Count1_times": 2147483648,
         "Acount_times": 1000, "RO1_status": "OFF", "RO2_status": "ON", "DO1_status": "H",
         "DO2_status": "L", "First_status": "No"},
        id="mode 4, counter above int32",
    ),
    pytest.param(
        # byte 10 = 0x45: mode 5 (leading space in its name); AVI1 0x2ee0 = 12000 mV,
        # AVI2 0xffff = -1 mV, ACI1 0x4e20 = 20000 uA, bytes 6-7 Count1_times uint16
        "2ee0ffff4e20ffff200045",
        {"Hardware_mode": "LT22222", "Work_mode": " 1ACI+2AVI+1Count", "AVI1_V": 12.0,
         "AVI2_V": -0.001, "ACI1_mA": 20.0, "Count1_times": 65535, "RO1_status": "OFF",
         "RO2_status": "OFF", "DO1_status": "H", "DO2_status": "H", "First_status": "Yes"},
        id="mode 5",
    ),
    pytest.param(
        # byte 10 = 0x01: LT33222 and the whole mode byte is 1, so DI3 (bit 5, clear) is 'L'
        "0000000000000000000001",
        {"Hardware_mode": "LT33222", "Work_mode": "2ACI+2AVI", "AVI1_V": 0.0, "AVI2_V": 0.0,
         "ACI1_mA": 0.0, "ACI2_mA": 0.0, "DI1_status": "L", "DI2_status": "L",
         "DI3_status": "L", "DO1_status": "H", "DO2_status": "H", "DO3_status": "H",
         "RO1_status": "OFF", "RO2_status": "OFF"},
        id="DI3 low on LT33222",
    ),
    pytest.param(
        # byte 10 = 0x81: hardware bits 2 name no hardware, so no Hardware_mode, DO3 or DI3
        "ff9c00640000000018ff81",
        {"Work_mode": "2ACI+2AVI", "AVI1_V": -0.1, "AVI2_V": 0.1, "ACI1_mA": 0.0,
         "ACI2_mA": 0.0, "DI1_status": "H", "DI2_status": "H", "DO1_status": "H",
         "DO2_status": "H", "RO1_status": "OFF", "RO2_status": "OFF"},
        id="unknown hardware",
    ),
]  # fmt: skip


@pytest.mark.parametrize(("hex_frame", "expected"), FRAMES_FROM_THE_LAYOUT)
def test_frames_from_the_layout(hex_frame: str, expected: dict[str, Any]) -> None:
    result = decoders.decode(MODEL, 2, bytes.fromhex(hex_frame))

    assert (result.data, result.errors) == (expected, [])
    if "Hardware_mode" in expected:  # the encoder needs the hardware's name
        assert lt.decode(*lt.encode_uplink(expected)) == expected


@pytest.mark.parametrize(
    ("hex_frame", "expected"),
    [
        # layout: fPort 5 carries device status (frequency band, sub-band, firmware, TDC
        # interval); byte 0 01 'EU868', byte 1 ff 'NULL', firmware 01 23 -> '1.2.3',
        # TDC 0004b0 = 1200 s
        ("01ff012300 04b0", {"FREQUENCY_BAND": "EU868", "SUB_BAND": "NULL",
                             "FIRMWARE_VERSION": "1.2.3", "TDC_sec": 1200}),
        # band 02 'US915', sub-band 2; firmware takes byte 2's low nibble only: 11 45 -> '1.4.5'
        ("0202114500003c", {"FREQUENCY_BAND": "US915", "SUB_BAND": 2,
                            "FIRMWARE_VERSION": "1.4.5", "TDC_sec": 60}),
        # band 10 is none of the vendor's: no FREQUENCY_BAND; bytes after the 7th ignored
        ("1000010101518099", {"SUB_BAND": 0, "FIRMWARE_VERSION": "1.0.1", "TDC_sec": 86400}),
    ],
)  # fmt: skip
def test_port_5_is_the_device_status(hex_frame: str, expected: dict[str, Any]) -> None:
    result = decoders.decode(MODEL, 5, bytes.fromhex(hex_frame))

    assert (result.data, result.errors, result.readings) == (expected, [], [])
    assert lt.decode(*lt.encode_uplink(expected)) == expected


def test_short_device_status_is_an_error() -> None:
    assert decoders.decode(MODEL, 5, bytes.fromhex("01ff0123")).errors == [
        "truncated frame: the fPort 5 device status is 7 bytes, frame has 4"
    ]


def test_unknown_working_mode_keeps_counter_and_outputs_without_a_mode_name() -> None:
    data = lt.decode(2, bytes.fromhex("0000000700000000800080"))

    assert data == {"Count1_times": 7, "First_status": "No", "RO1_status": "ON",
                    "RO2_status": "OFF", "DO1_status": "H", "DO2_status": "H"}  # fmt: skip


@pytest.mark.parametrize("f_port", [1, 3, 42])
def test_other_ports_give_the_vendor_error(f_port: int) -> None:
    with pytest.raises(DecodeError, match=r"^unknown FPort$"):
        lt.decode(f_port, bytes(11))


@pytest.mark.parametrize(
    ("length", "message"),
    [(7, r"truncated frame: .* exactly 11 bytes .*frame has 7"), (12, r"too long: .*has 12")],
)
def test_frames_that_are_not_11_bytes_are_errors(length: int, message: str) -> None:
    with pytest.raises(DecodeError, match=message):
        lt.decode(2, bytes(length))


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"Work_mode": "2ACI+2AVI"}, "Hardware_mode, Work_mode"),
        ({**lt.SAMPLE_UPLINKS[0], "DI3_status": "H"}, "DI3_status: missing, extra"),
        ({**lt.SAMPLE_UPLINKS[0], "AVI1_V": 1.2345}, "AVI1_V: missing, extra"),
        ({**lt.SAMPLE_UPLINKS[0], "AVI1_V": 40.0}, "AVI1_V: 40.0 does not fit"),
        ({"SUB_BAND": 255, "FIRMWARE_VERSION": "1.2.3", "TDC_sec": 60}, "SUB_BAND: missing"),
        ({"SUB_BAND": 1, "FIRMWARE_VERSION": "1.2", "TDC_sec": 60}, "not the device's forms"),
        ({"SUB_BAND": 1, "FIRMWARE_VERSION": "16.0.0", "TDC_sec": 60}, "FIRMWARE_VERSION: mis"),
    ],
)
def test_encode_uplink_rejects_what_it_cannot_encode(data: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        lt.encode_uplink(data)


@pytest.mark.parametrize(
    ("downlink", "hex_payload"),
    [
        (lt.set_relays("close", "open"), "030100"),
        (lt.set_relays("open", "keep"), "030011"),
        (lt.pulse_relays("NO", "NO", 2000), "05011107d0"),
        (lt.pulse_relays("NO", "NC", 2000), "05011007d0"),
        (lt.pulse_relays("NC", "NO", 2000, revert=False), "05000107d0"),
        (lt.pulse_relays("keep", "NC", 2000), "05012007d0"),
        (lt.pulse_digital_outputs("low", "low", "low", 2000), "a90101010107d0"),
        (lt.pulse_digital_outputs("high", "low", "keep", 2000), "a90100011107d0"),
        (lt.pulse_digital_outputs("high", "high", "high", 2000, revert=False), "a90000000007d0"),
        (lt.reset(), "04ff"),
        (lt.poll_uplink(), "08ff"),
        (lt.clear_counters(), "a601"),
        (lt.preset_counter("COUNT1", 0xAB), "a801000000ab"),
    ],
)
def test_downlinks_match_the_manual_examples(downlink: Downlink, hex_payload: str) -> None:
    assert downlink == Downlink(2, bytes.fromhex(hex_payload))


@pytest.mark.parametrize(
    ("call", "argument"),
    [
        (lambda: lt.pulse_relays("NO", "NO", 70000), "duration_ms"),
        (lambda: lt.set_relays("shut", "open"), "ro1"),  # type: ignore[arg-type]
        (lambda: lt.pulse_digital_outputs("low", "low", "off", 10), "do3"),  # type: ignore[arg-type]
        (lambda: lt.preset_counter("COUNT2", -1), "value"),
        (lambda: lt.preset_counter("COUNT9", 1), "counter"),  # type: ignore[arg-type]
    ],
)
def test_downlink_arguments_out_of_range_name_the_argument(call: Any, argument: str) -> None:
    with pytest.raises(ValueError, match=rf"^{argument}: "):
        call()


@settings(max_examples=100, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.binary(min_size=10, max_size=10),
            st.sampled_from([0x00, 0x40, 0x80]) | st.integers(0, 255),
            st.integers(0, 6),
        ),
        min_size=1,
        max_size=30,
    )
)
def test_batch_readings_equal_per_payload_readings(rows: list[tuple[bytes, int, int]]) -> None:
    frames = [body + bytes([hardware | mode if hardware in (0x00, 0x40, 0x80) else hardware])
              for body, hardware, mode in rows]  # fmt: skip

    batch = decoders.decode_batch(MODEL, [2] * len(frames), frames).readings.sorted()

    expected = sorted(
        (i, r.quantity, r.channel, r.value)
        for i, frame in enumerate(frames)
        for r in decoders.decode(MODEL, 2, frame).readings
    )
    assert [
        (int(i), str(q), str(c))
        for i, q, c in zip(batch.row, batch.quantity, batch.channel, strict=True)
    ] == [e[:3] for e in expected]
    np.testing.assert_array_equal(batch.value, np.array([e[3] for e in expected]))
