"""Repository-wide pytest setup.

pytest's importlib mode names test modules after their path from the repository root, so
`contracts/tests/test_x.py` becomes `contracts.tests.test_x`, and pytest registers the folder
`contracts/` as a stand-in package `contracts` unless the real one is imported first. Importing
the installed `contracts` package here, before any test module, keeps the real one in place.
"""

import contracts  # noqa: F401
