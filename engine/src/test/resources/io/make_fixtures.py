"""Writes the NumPy and safetensors fixture files the io tests read. Run once from this folder:
python3 make_fixtures.py (numpy 2.x, safetensors 0.8). The tests hard-code the expected values."""
import numpy as np
from numpy.lib import format as npf
from safetensors.numpy import save_file


def write(name, arr, version=None):
    with open(name, "wb") as f:
        npf.write_array(f, arr, version=version)


write("v1_f4_2d.npy", np.array([[1.5, -2.0, 3.0], [4.0, 5.0, 6.25]], dtype="<f4"), (1, 0))
write("v2_f8.npy", np.arange(5, dtype="<f8") * 0.5, (2, 0))
write("v3_i8.npy", np.array([-(2**62) - 7, -1, 0, 2**62 + 3], dtype="<i8"), (3, 0))
write("fortran_f4.npy", np.asfortranarray(np.arange(6, dtype="<f4").reshape(2, 3)))
write("fortran_f8_3d.npy", np.asfortranarray(np.arange(24, dtype="<f8").reshape(2, 3, 4)))
write("i4.npy", np.array([-2147483648, -1, 0, 7, 2147483647], dtype="<i4"))
write("u1.npy", np.array([0, 1, 200, 255], dtype="u1"))
write("b1.npy", np.array([[True, False], [False, True]]))
write("be_f8.npy", np.array([1.0, -2.5, np.inf], dtype=">f8"))
write("be_i4.npy", np.array([1, -2, 70000], dtype=">i4"))
write("f2.npy", np.array([1.0, -0.5, 65504.0], dtype="<f2"))
write("scalar_f8.npy", np.array(3.25))
write("empty_f4.npy", np.zeros((0,), dtype="<f4"))

np.savez("stored.npz", a=np.array([1.0, 2.0], dtype="<f4"), b=np.arange(6, dtype="<i8").reshape(2, 3))
np.savez_compressed("deflated.npz",
                    weights=np.array([[0.25, -1.0, 8.0], [1e-3, 2.0, -0.0]], dtype="<f4"),
                    labels=np.array([3, 1, 4, 1], dtype="<i8"),
                    flag=np.array([True, False, True]))

save_file({"w": np.array([[1.0, 2.0], [3.0, -4.5]], dtype=np.float32),
           "n": np.array([-5, 0, 2**40], dtype=np.int64),
           "d": np.array([0.1, 1e300], dtype=np.float64),
           "i": np.array([-7, 8, 2**31 - 1], dtype=np.int32),
           "u": np.array([0, 255], dtype=np.uint8),
           "m": np.array([True, False, True], dtype=np.bool_),
           "h": np.array([1.0, -0.5, 65504.0], dtype=np.float16)},
          "mixed.safetensors", metadata={"format": "np", "note": "fixture"})
