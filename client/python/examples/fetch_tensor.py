"""Fetch one tensor, and rank 3 of 8's rows of it, from glorotd ($GLOROT_URL).

    GLOROT_URL=http://127.0.0.1:8080 python3 fetch_tensor.py
"""
import glorot

client = glorot.Client()  # $GLOROT_URL
w = client.fetch(shape=(2048, 1024), seed=42)  # numpy float32, fans from the shape
part = client.fetch(shape=(2048, 1024), seed=42, shard=(3, 8))  # rows 768:1024, same bits

assert (part == w[768:1024]).all()
assert (w == glorot.generate(shape=(2048, 1024), seed=42)).all()  # local: the same bytes
print("fetched", w.shape, w.dtype, "limit", float(abs(w).max()), "shard", part.shape)
