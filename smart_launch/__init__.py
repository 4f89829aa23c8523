# SPDX-License-Identifier: Apache-2.0
"""SMART App Launch 2.2 client, FHIR client and Backend Services.

https://hl7.org/fhir/smart-app-launch/STU2.2/

Framework-neutral: only :mod:`smart_launch.flask` imports Flask.  The embedded EHR used by the
demo and the tests lives in :mod:`smart_launch.sandbox`; nothing outside it imports it.
"""
