"""The bare endpoint: the intake's reading and validation, and nothing else (no database, no
blob store, no broker, no middleware). What `eantrag serve` reaches is measured against it.

    python -m bench.bare_app --port 8001
"""

from __future__ import annotations

import argparse

import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from eantrag.problems import ProblemError, problem_handler
from eantrag.settings import Settings
from intake.receiving import Limits, receive


def create_bare_app() -> FastAPI:
    settings = Settings()
    limits = Limits(
        max_body=settings.max_body_bytes,
        attachment_max=settings.attachment_max_bytes,
        spool_memory=settings.spool_memory_bytes,
        form_caps=settings.form_max_bytes,
    )
    app = FastAPI()
    app.add_exception_handler(ProblemError, problem_handler)

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.post("/v1/applications")
    async def submit(request: Request) -> JSONResponse:
        declared = request.headers.get("content-length")
        submission = await receive(
            request.stream(),
            request.headers.get("content-type"),
            limits,
            content_length=int(declared) if declared and declared.isdigit() else None,
        )
        submission.close()
        body = {
            "form": submission.application.form.id,
            "sha256": submission.original.sha256,
            "sha512": submission.original.sha512,
        }
        return JSONResponse(body, status_code=202)

    return app


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.bare_app")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8001)
    args = parser.parse_args()
    # The same server settings as `eantrag serve`.
    uvicorn.run(
        create_bare_app(), host=args.host, port=args.port, log_config=None, access_log=False
    )


if __name__ == "__main__":
    main()
