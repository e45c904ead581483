"""The original platform's own design of the revenue endpoint, the fairest FastAPI peer of
`hdp serve`: FastAPI + redis-py, ONE `GET` of one precomputed key per request.

  GET /api/v1/revenue?date=YYYY-MM-DD -> {"date": ..., "total_revenue": float}

The key peer:revenue:<date> holds the day's net revenue in cents, as the original's batch job
wrote it (bench/run.py sets it once from the source before measuring). Run:
  REDIS_URL=redis://127.0.0.1:PORT/0 uvicorn fastapi_onekey:app --workers 2 --port P"""
import os

import redis.asyncio as redis
from fastapi import FastAPI

app = FastAPI()
r = redis.Redis.from_url(os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"),
                         decode_responses=True)


@app.get("/api/v1/revenue")
async def revenue(date: str):
    cents = await r.get(f"peer:revenue:{date}")
    return {"date": date, "total_revenue": int(cents or 0) / 100}
