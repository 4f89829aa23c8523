# SPDX-License-Identifier: Apache-2.0
"""Contract tests: the same FHIR client and Backend Services tests against every real server."""
