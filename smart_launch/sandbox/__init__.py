# SPDX-License-Identifier: Apache-2.0
"""The embedded EHR used by the demo and the tests: a SMART authorization server and a FHIR R4
REST server over real HTTP.

- SMART App Launch 2.2: https://hl7.org/fhir/smart-app-launch/STU2.2/
- FHIR R4 RESTful API: https://hl7.org/fhir/R4/http.html

The scheduling page (``/ehr/schedule``) is also a CDS Hooks 2.0 client
(https://cds-hooks.hl7.org/2.0/) of the services named in ``SandboxConfig.cds_services``.

Quietline's own code never imports this package; it is started with
``python -m smart_launch.sandbox`` or by tests through :func:`start`::

    with start(SandboxConfig(db_path=tmp / "ehr.sqlite3", clients=[...])) as ehr:
        requests.get(ehr.fhir_base + "/metadata")
"""

from .config import ClientRegistration
from .config import ConfigError
from .config import Faults
from .config import SandboxConfig
from .config import load_clients
from .request_log import RequestLog
from .request_log import RequestRecord
from .server import RunningSandbox
from .server import close_sandbox_app
from .server import create_sandbox_app
from .server import start

__all__ = [
    "ClientRegistration",
    "ConfigError",
    "Faults",
    "RequestLog",
    "RequestRecord",
    "RunningSandbox",
    "SandboxConfig",
    "close_sandbox_app",
    "create_sandbox_app",
    "load_clients",
    "start",
]
