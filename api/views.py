"""The departments' views: waste, air, lighting and mobility, each one answer built from a
few queries of the latest values and the hourly rollups, scoped to the caller's tenants."""

from __future__ import annotations

from fastapi import APIRouter

from api import views_air, views_lighting, views_mobility, views_waste

router = APIRouter()
for view in (views_waste, views_air, views_lighting, views_mobility):
    router.include_router(view.router)
