"""Command-line interface (click). Thin: each command parses options and calls the library.

The command line's process runs numpy's BLAS on one thread (``OPENBLAS_NUM_THREADS=1``, unless set
already), before anything imports numpy: no command does linear algebra worth a second thread
(the simulation and the solver run in numba's), and OpenBLAS starts a thread per core at numpy's
import that spins for a while, waiting for work, on a core the command needs: a warm compare's
imports took 30-40 ms longer (``python -X importtime``, 2 cores: numpy's typing stubs 61-69 ms
against 24-43 ms), and every child process (the background compile, Dask workers) paid it again.
"""

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
