"""FastAPI peer of `hdp serve` over the same per-segment Redis model hdp's speed layer writes
(src/core/speed_model.h), read the way one would write it: the day's segment list, then ONE
pipelined round trip with an HMGET of paid and refunded per segment.

  GET /api/v1/revenue?date=YYYY-MM-DD -> {"date": ..., "total_revenue": float}

Net revenue = sum over segments in ZSET hdp:sp:days:<date> of paid - refunded of the hash
hdp:sp:<seg>:<date>. Run:
  REDIS_URL=redis://127.0.0.1:PORT/0 uvicorn fastapi_pipelined:app --workers 2 --port P"""
import os

import redis.asyncio as redis
from fastapi import FastAPI

app = FastAPI()
r = redis.Redis.from_url(os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"),
                         decode_responses=True)


@app.get("/api/v1/revenue")
async def revenue(date: str):
    segs = await r.zrange(f"hdp:sp:days:{date}", 0, -1)
    async with r.pipeline(transaction=False) as p:
        for seg in segs:
            p.hmget(f"hdp:sp:{seg}:{date}", "paid", "refunded")
        rows = await p.execute() if segs else []
    cents = sum(int(paid or 0) - int(refunded or 0) for paid, refunded in rows)
    return {"date": date, "total_revenue": cents / 100}
