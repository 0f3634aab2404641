"""Commands to a device: a downlink queued in the `downlinks` table with an outbox row in
the same transaction, which the bridge's dispatcher (ingest/actions.py) publishes as
ChirpStack `command/down`; txack and ack events then move its status on.

A named command is a function of the device model's decoder module that returns a
`Downlink` (e.g. `switch_circuits` of the WS558, `set_relays` of the LT-22222-L); `args`
are its keyword arguments, checked against its signature."""

from __future__ import annotations

import inspect
import typing
from collections.abc import Callable
from datetime import datetime
from functools import cache
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Query
from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model

import decoders
from api.auth import Operator, Viewer
from api.deps import Pool
from api.devices import DevEui
from api.scope import visible_device
from ingest.alerts import queue_downlink

router = APIRouter(prefix="/devices", tags=["commands"])

Encoder = Callable[..., decoders.Downlink]
KEYWORD = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
DownlinkStatus = Literal["queued", "published", "transmitted", "acknowledged", "not_acknowledged"]


class CommandRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"command": "switch_circuits", "args": {"states": {"1": True, "2": False}}},
                {"payload_hex": "ff10ff", "f_port": 85},
            ]
        },
    )

    command: str | None = Field(
        default=None, pattern=r"^[a-z][a-z0-9_]*$", description="a command of the device's model"
    )
    args: dict[str, Any] = Field(default_factory=dict, description="the command's arguments")
    payload_hex: str | None = Field(
        default=None, pattern=r"^([0-9a-fA-F]{2}){1,242}$", description="raw bytes instead"
    )
    f_port: int | None = Field(default=None, ge=1, le=223, description="with payload_hex")
    confirmed: bool = False


class Queued(BaseModel):
    id: str
    status: DownlinkStatus


class Command(BaseModel):
    id: str
    f_port: int
    payload_hex: str
    confirmed: bool
    status: DownlinkStatus
    requested_by: str
    alert_id: int | None
    created_at: datetime
    updated_at: datetime


def bad(parameter: str, message: str) -> HTTPException:
    return HTTPException(422, {"parameter": parameter, "message": message})


@cache
def commands_of(model: str) -> dict[str, Encoder]:
    """The public functions of a model's module that build a downlink from keyword arguments."""
    module = decoders.device_module(model)
    found: dict[str, Encoder] = {}
    for name, function in inspect.getmembers(module, inspect.isfunction):
        if name.startswith("_"):
            continue
        try:
            hints = typing.get_type_hints(function)
        except (NameError, TypeError):
            continue
        parameters = inspect.signature(function).parameters.values()
        if hints.get("return") is decoders.Downlink and all(
            p.kind in KEYWORD and p.name in hints and hints[p.name] is not bytes for p in parameters
        ):
            found[name] = function
    return found


@cache
def arguments_of(encoder: Encoder) -> type[BaseModel]:
    hints = typing.get_type_hints(encoder)
    fields: dict[str, Any] = {
        p.name: (hints[p.name], ... if p.default is inspect.Parameter.empty else p.default)
        for p in inspect.signature(encoder).parameters.values()
    }
    return create_model(
        f"{encoder.__name__}_arguments", __config__=ConfigDict(extra="forbid"), **fields
    )


def encode(model: str | None, command: str, args: dict[str, Any]) -> decoders.Downlink:
    """The downlink of a named command for a model; 422 naming what is wrong."""
    if model is None:
        raise bad("command", "the device has no model: send payload_hex and f_port")
    known = commands_of(model)
    if command not in known:
        names = ", ".join(sorted(known)) or "none"
        raise bad("command", f"{model} has no command {command!r}; it has: {names}")
    try:
        checked = arguments_of(known[command]).model_validate(args)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in ("args", *first["loc"]))
        raise bad(where, first["msg"]) from None
    try:
        return known[command](**dict(checked))
    except (ValueError, OverflowError) as exc:
        raise bad("args", str(exc)) from None


def downlink_of(request: CommandRequest, model: str | None) -> decoders.Downlink:
    if (request.command is None) == (request.payload_hex is None):
        raise bad("command", "give either command (with args) or payload_hex (with f_port)")
    if request.command is not None:
        if request.f_port is not None:
            raise bad("f_port", "a named command has its own fPort")
        return encode(model, request.command, request.args)
    if request.f_port is None:
        raise bad("f_port", "payload_hex needs an f_port")
    if request.args:
        raise bad("args", "args go with a named command")
    return decoders.Downlink(request.f_port, bytes.fromhex(str(request.payload_hex)))


@router.post(
    "/{dev_eui}/commands",
    status_code=202,
    summary="Send a command to a device",
    description="Queued now and published on MQTT by the ingest bridge within a second or "
    "so; `GET /devices/{dev_eui}/commands` follows its status. 409 when the device has no "
    "ChirpStack application yet (it has never been synchronised or heard).",
    response_model=Queued,
)
async def send_command(
    pool: Pool, who: Operator, dev_eui: DevEui, body: CommandRequest
) -> dict[str, str]:
    device = await visible_device(pool, who, dev_eui, "dev_eui, model, application_id")
    downlink = downlink_of(body, device["model"])
    if not device["application_id"]:
        raise HTTPException(
            409, f"device {device['dev_eui']} has no ChirpStack application: nowhere to send"
        )
    spec = {"type": "downlink", "command": body.command, "requested_by": who.key_id}
    async with pool.acquire() as conn, conn.transaction():
        downlink_id = await queue_downlink(
            conn, device["dev_eui"], downlink.f_port, downlink.payload,
            body.confirmed or downlink.confirmed, None, f"key {who.key_id}",
        )  # fmt: skip
        await conn.execute(
            "insert into action_outbox (kind, spec, payload) values ('downlink', $1, $2)",
            spec, {"downlink_id": downlink_id, "dev_eui": device["dev_eui"]},
        )  # fmt: skip
    return {"id": downlink_id, "status": "queued"}


@router.get(
    "/{dev_eui}/commands",
    summary="Commands sent to a device, newest first, with their status",
    response_model=list[Command],
)
async def list_commands(
    pool: Pool,
    who: Viewer,
    dev_eui: DevEui,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> list[dict[str, Any]]:
    await visible_device(pool, who, dev_eui)
    rows = await pool.fetch(
        "select id::text as id, f_port, encode(payload, 'hex') as payload_hex, confirmed, status, "
        "requested_by, alert_id, created_at, updated_at from downlinks where dev_eui = $1 "
        "order by created_at desc, id limit $2 offset $3",
        dev_eui.lower(), limit, offset,
    )  # fmt: skip
    return [dict(r) for r in rows]
