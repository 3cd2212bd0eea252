"""The HTTP service (`adgen serve`): app and routes, job store and worker, keys, cost gates, the UI gate.

Stages never import this package; it imports them (a test in tests/test_architecture.py holds that).
"""

from adgen.service.app import create_app, field_name
from adgen.service.core import ServiceSettings

__all__ = ["ServiceSettings", "create_app", "field_name"]
