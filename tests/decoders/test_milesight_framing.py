"""The shared Milesight item framing: fields, the unknown-pair rule, ports, history merging."""

from __future__ import annotations

import pytest

from decoders import milesight as ms
from decoders.codec import DecodeError, Downlink

ITEMS = ms.table(
    *ms.ATTRIBUTES,
    ms.record(0x03, 0x67, ms.Field("temperature", "<h", divisor=10)),
    ms.Item(0x20, 0xCE, lambda r: {"history": [{"n": r.u8("n")}]}),
)


def test_attributes_render_like_the_vendor_decoders() -> None:
    payload = bytes.fromhex("ff0110ff090110ff0a0114ffff0102ff166749d19054690031ff0f02fffe01ff0b00")

    assert ms.decode_items(payload, ITEMS) == {
        "ipso_version": "v1.0",
        "hardware_version": "v1.1",
        "firmware_version": "v1.14",
        "tsl_version": "v1.2",
        "sn": "6749d19054690031",
        "lorawan_class": "Class C",
        "reset_event": "reset",
        "device_status": "on",
    }


def test_unknown_pair_stops_with_the_items_before_it() -> None:
    with pytest.raises(DecodeError, match=r"^unknown channel 0x05 0x7a at byte 4$") as exc:
        ms.decode_items(bytes.fromhex("03670101057a00"), ITEMS)
    assert exc.value.partial == {"temperature": 25.7}


def test_truncated_value_names_the_field_and_byte() -> None:
    with pytest.raises(
        DecodeError, match=r"truncated frame: temperature needs 2 byte\(s\) at byte 2"
    ) as exc:
        ms.decode_items(bytes.fromhex("036701"), ITEMS)
    assert exc.value.partial == {}


def test_lone_channel_id_is_a_truncated_frame() -> None:
    with pytest.raises(
        DecodeError, match=r"channel type of channel 0x03 needs 1 byte\(s\) at byte 5"
    ):
        ms.decode_items(bytes.fromhex("0367010103"), ITEMS)


def test_history_records_accumulate() -> None:
    assert ms.decode_items(bytes.fromhex("20ce0120ce02"), ITEMS) == {
        "history": [{"n": 1}, {"n": 2}]
    }


def test_state_outside_the_map_is_unknown_like_getvalue() -> None:
    assert ms.decode_items(bytes.fromhex("ff0f07"), ITEMS) == {"lorawan_class": "unknown"}


@pytest.mark.parametrize("f_port", [0, 224, 255])
def test_reserved_ports_are_refused(f_port: int) -> None:
    with pytest.raises(
        DecodeError, match=rf"^unknown fPort {f_port}: Milesight uplinks use fPort 1-223"
    ):
        ms.check_port(f_port)


def test_field_refuses_values_it_cannot_write_back() -> None:
    field = ms.Field("temperature", "<h", divisor=10)
    assert field.write(-12.3) == (-123).to_bytes(2, "little", signed=True)
    with pytest.raises(ValueError, match=r"temperature: 25\.75 is not a multiple of 1/10"):
        field.write(25.75)
    with pytest.raises(ValueError, match=r"temperature: 4000\.0 is out of range"):
        field.write(4000.0)
    with pytest.raises(ValueError, match="position: 'upside down' is not one of"):
        ms.Field("position", "B", states=("normal", "tilt")).write("upside down")


def test_encode_items_refuses_keys_no_item_carries() -> None:
    with pytest.raises(ValueError, match=r"no uplink item carries \['humidity'\]"):
        ms.encode_items({"temperature": 1.0, "humidity": 50}, ITEMS.values())


def test_shared_downlinks() -> None:
    assert ms.reboot().payload == bytes.fromhex("ff10ff")
    assert ms.set_report_interval(300) == Downlink(85, bytes.fromhex("ff032c01"))
    with pytest.raises(ValueError, match=r"seconds must be an integer in 1\.\.65535"):
        ms.set_report_interval(70000)
