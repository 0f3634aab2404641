"""One error body for every failure: what went wrong in a sentence, and for bad input the
parameters at fault. `HTTPException(422, {"parameter": …, "message": …})` names one."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

import asyncpg
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException


class ParameterError(BaseModel):
    parameter: str = Field(examples=["end"])
    message: str = Field(examples=["end must be after start"])


class ErrorBody(BaseModel):
    error: str = Field(examples=["Unprocessable Content"])
    detail: str = Field(examples=["end must be after start"])
    details: list[ParameterError] = Field(default_factory=list)


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorBody, "description": HTTPStatus(code).phrase}
    for code in (401, 403, 404, 422)
}


def body(status: int, detail: str, details: list[dict[str, str]]) -> JSONResponse:
    content = {"error": HTTPStatus(status).phrase, "detail": detail, "details": details}
    return JSONResponse(status_code=status, content=content)


def validation_details(exc: RequestValidationError) -> list[dict[str, str]]:
    return [
        {
            "parameter": ".".join(str(p) for p in e["loc"][1:]) or str(e["loc"][0]),
            "message": e["msg"],
        }
        for e in exc.errors()
    ]


def install(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        details = validation_details(exc)
        summary = "; ".join(f"{d['parameter']}: {d['message']}" for d in details)
        return body(422, summary or "invalid request", details)

    @app.exception_handler(asyncpg.DataError)
    async def unstorable_value(request: Request, exc: asyncpg.DataError) -> JSONResponse:
        # The last guard: a value the models let through but PostgreSQL cannot hold
        # (a NUL character in a text, a number out of range).
        return body(422, f"a value cannot be stored: {exc}", [])

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> JSONResponse:
        if isinstance(exc.detail, dict) and "parameter" in exc.detail:
            details = [
                {"parameter": str(exc.detail["parameter"]), "message": str(exc.detail["message"])}
            ]
            response = body(
                exc.status_code, f"{details[0]['parameter']}: {details[0]['message']}", details
            )
        else:
            response = body(exc.status_code, str(exc.detail), [])
        for name, value in (exc.headers or {}).items():
            response.headers[name] = value
        return response
