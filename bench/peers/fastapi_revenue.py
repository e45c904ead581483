"""The first replica of the revenue endpoint, kept to compare with older reports (the fair
peers are fastapi_onekey.py and fastapi_pipelined.py): FastAPI + redis-py over the same Redis
keys hdp's speed layer writes (src/core/speed_model.h), one round trip per segment, one after
another.

  GET /api/v1/revenue?date=YYYY-MM-DD -> {"date": ..., "total_revenue": float}

Net revenue = sum over segments in ZSET hdp:sp:days:<date> of paid - refunded from the hash
hdp:sp:<seg>:<date> (HGETALL, as the original did). Run:
  REDIS_URL=redis://127.0.0.1:PORT/0 uvicorn fastapi_revenue:app --workers 2 --port P"""
import os

import redis.asyncio as redis
from fastapi import FastAPI

app = FastAPI()
r = redis.Redis.from_url(os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"),
                         decode_responses=True)


@app.get("/api/v1/revenue")
async def revenue(date: str):
    segs = await r.zrangebyscore(f"hdp:sp:days:{date}", "-inf", "+inf")
    cents = 0
    for seg in segs:
        h = await r.hgetall(f"hdp:sp:{seg}:{date}")
        cents += int(h.get("paid", 0)) - int(h.get("refunded", 0))
    return {"date": date, "total_revenue": cents / 100}
