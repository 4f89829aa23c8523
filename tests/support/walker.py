# SPDX-License-Identifier: Apache-2.0
"""The cookie-aware HTTP walker the functional tests click through launches with.

It lives in :mod:`smart_launch.sandbox.walker` so the benchmarks can use the same one; this
module keeps the import path the tests use.
"""

from __future__ import annotations

from smart_launch.sandbox.walker import Walker
from smart_launch.sandbox.walker import ehr_launch_url
from smart_launch.sandbox.walker import iframe_src

__all__ = ["Walker", "ehr_launch_url", "iframe_src"]
