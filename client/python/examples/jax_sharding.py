"""JAX: jax.make_array_from_callback(shape, sharding, cb) asks cb(index) for each
device's block, index being a tuple of Python slices; glorot's slice= takes that
tuple as it is, so every device gets exactly its block of the one tensor:

    import jax, numpy as np, glorot
    from jax.sharding import Mesh, NamedSharding, PartitionSpec as P
    mesh = Mesh(np.array(jax.devices()).reshape(2, 4), ("data", "model"))
    sharding = NamedSharding(mesh, P("data", "model"))
    client = glorot.Client()
    w = jax.make_array_from_callback(
        (4096, 1024), sharding,
        lambda index: client.fetch(shape=(4096, 1024), seed=42, slice=index))

JAX is not installed here: this script runs the same callbacks over the
indices a 2 x 4 mesh gives (sharding.devices_indices_map) and assembles them.
"""
import os

import numpy as np

import glorot

shape, rows, cols = (4096, 1024), 2, 4
client = glorot.Client() if os.environ.get("GLOROT_URL") else None


def callback(index):
    if client is None:
        return glorot.generate(shape=shape, seed=42, slice=index)
    return client.fetch(shape=shape, seed=42, slice=index)


# what NamedSharding(mesh, P("data", "model")).devices_indices_map(shape) holds
indices = [
    (slice(i * shape[0] // rows, (i + 1) * shape[0] // rows, None),
     slice(j * shape[1] // cols, (j + 1) * shape[1] // cols, None))
    for i in range(rows) for j in range(cols)
]
assembled = np.empty(shape, np.float32)
for index in indices:
    assembled[index] = callback(index)
assert (assembled == glorot.generate(shape=shape, seed=42)).all()
print("8 device blocks of", shape, "assemble to the whole tensor")
