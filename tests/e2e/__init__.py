# SPDX-License-Identifier: Apache-2.0
"""Browser tests: headless Chromium with third-party cookies blocked, against live servers."""
