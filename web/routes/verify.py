"""The public certificate check: ``/verify/{code}`` says whether a certificate is valid, expired or revoked — no
login, no personal data beyond what the certificate itself shows (holder, exam, dates)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import RedirectResponse, Response

from simulator.exam.certificates import normalise_code
from web.services import services
from web.views import render

router = APIRouter()


@router.get("/verify")
def verify_form(request: Request, code: Annotated[str, Query(max_length=40)] = "") -> Response:
    """A form to type a code; a typed code goes to its page."""
    if code.strip():
        clean = normalise_code(code)
        if clean:
            return RedirectResponse(f"/verify/{clean}", status_code=303)
        return render(request, "verify.html", {"code": code, "found": None, "malformed": True}, status=404)
    return render(request, "verify.html", {"code": "", "found": None, "malformed": False, "form": True})


@router.get("/verify/{code}")
def verify(request: Request, code: str) -> Response:
    """What anyone may know about a certificate code."""
    found = services(request).review.verify(code[:40])
    response = render(
        request,
        "verify.html",
        {"code": code[:40], "found": found, "malformed": False},
        status=200 if found is not None else 404,
    )
    response.headers["Cache-Control"] = "no-store"  # a revocation shows at once
    return response
