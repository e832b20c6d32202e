"""Which scope each route needs: the one table, checked against the app at start-up.

Every (method, path template) the app serves must be listed here, either with the scope
it needs or as ``PUBLIC``; ``resolve_route_scopes`` (called by create_app) refuses to
build an app with an unlisted route, so an endpoint cannot be added without deciding
who may call it.

Public on purpose: the probes (an orchestrator calls them without credentials and they
reveal nothing but up/ready and the served model version), the OpenAPI schema and docs
(the shape of the API, no data), and the dashboard's static shell (it holds no data:
the page asks for a key and sends it on every /v1 call). ``/metrics`` needs ``read``:
it shows traffic per route, run counts and model versions, the same class of facts as
``GET /v1/runs``; Prometheus sends a bearer token with one line of scrape config.
"""

from __future__ import annotations

from typing import Final

from fastapi.routing import iter_route_contexts
from starlette.routing import BaseRoute, Mount

from api.auth.scopes import Scope

#: Routes anyone may call.
PUBLIC: Final = None

READ, PREDICT, TRAIN, ADMIN = Scope.READ, Scope.PREDICT, Scope.TRAIN, Scope.ADMIN

ROUTE_SCOPES: Final[dict[tuple[str, str], Scope | None]] = {
    # probes, schema, docs
    ("GET", "/healthz"): PUBLIC,
    ("GET", "/readyz"): PUBLIC,
    ("GET", "/openapi.json"): PUBLIC,
    ("GET", "/docs"): PUBLIC,
    ("GET", "/docs/oauth2-redirect"): PUBLIC,
    ("GET", "/redoc"): PUBLIC,
    ("GET", "/metrics"): READ,
    # dashboard shell (its data comes from /v1 with the user's key)
    ("GET", "/"): PUBLIC,
    ("GET", "/dashboard"): PUBLIC,
    # training
    ("POST", "/v1/jobs"): TRAIN,
    ("GET", "/v1/jobs/{job_id}"): READ,
    ("POST", "/v1/sweeps"): TRAIN,
    ("GET", "/v1/sweeps/{sweep_id}"): READ,
    ("GET", "/v1/runs"): READ,
    ("GET", "/v1/runs/{run_id}"): READ,
    ("GET", "/v1/runs/{run_id}/metrics"): READ,
    ("GET", "/v1/runs/{run_id}/logs"): READ,
    ("POST", "/v1/runs/{run_id}/cancel"): TRAIN,
    ("POST", "/v1/runs/{run_id}/retry"): TRAIN,
    ("POST", "/v1/studies"): TRAIN,
    ("GET", "/v1/studies"): READ,
    ("GET", "/v1/studies/{study_id}"): READ,
    ("GET", "/v1/studies/{study_id}/report"): READ,
    ("POST", "/v1/studies/{study_id}/cancel"): TRAIN,
    # model registry: reads are data, every write moves what production serves
    ("GET", "/v1/models"): READ,
    ("GET", "/v1/models/{version}"): READ,
    ("GET", "/v1/models/aliases/{alias}"): READ,
    ("POST", "/v1/models"): ADMIN,
    ("POST", "/v1/models/{version}/promote"): ADMIN,
    ("POST", "/v1/models/rollback"): ADMIN,
    # serving
    ("POST", "/v1/predict"): PREDICT,
    ("POST", "/v1/predict/batch"): PREDICT,
    ("POST", "/v1/matches"): PREDICT,
    ("POST", "/v1/matches/{match_id}/deliveries"): PREDICT,
    ("GET", "/v1/matches/{match_id}/prediction"): PREDICT,
    # keys
    ("POST", "/v1/keys"): ADMIN,
    ("GET", "/v1/keys"): ADMIN,
    ("DELETE", "/v1/keys/{key_id}"): ADMIN,
    # who am I: any key the dashboard can use (it needs read) may see its own name/scopes
    ("GET", "/v1/keys/me"): READ,
}

#: Mounted sub-applications (static files only) that anyone may read.
PUBLIC_MOUNTS: Final[frozenset[str]] = frozenset({"/dashboard/static"})


#: The resolved table of one app: (id(route object), method) -> scope needed.
ResolvedScopes = dict[tuple[int, str], Scope | None]


def served_routes(routes: list[BaseRoute]) -> list[tuple[str, str, BaseRoute]]:
    """Every (method, path template, route) an app serves, with router prefixes applied.

    Mounts appear once with method ``MOUNT``; HEAD rides on GET and is not listed.
    """
    served: list[tuple[str, str, BaseRoute]] = []
    for context in iter_route_contexts(routes):
        path = context.path or ""
        if isinstance(context.original_route, Mount):
            served.append(("MOUNT", path, context.route))
            continue
        for method in sorted((context.methods or set()) - {"HEAD"}):
            served.append((method, path, context.route))
    return served


def resolve_route_scopes(routes: list[BaseRoute]) -> ResolvedScopes:
    """The scope of every served route; RuntimeError names each one this module omits."""
    resolved: ResolvedScopes = {}
    missing: list[str] = []
    for method, path, route in served_routes(routes):
        if method == "MOUNT":
            if path not in PUBLIC_MOUNTS:
                missing.append(f"mount {path}")
            continue
        if (method, path) not in ROUTE_SCOPES:
            missing.append(f"{method} {path}")
            continue
        resolved[(id(route), method)] = ROUTE_SCOPES[(method, path)]
    if missing:
        raise RuntimeError(
            "routes without a scope: " + ", ".join(missing) + "; decide each one in "
            "ROUTE_SCOPES (or PUBLIC_MOUNTS) in api/auth/policy.py"
        )
    return resolved
