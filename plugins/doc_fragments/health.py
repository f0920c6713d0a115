# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations


class ModuleDocFragment(object):
    # The health check options of the modules that reload, module_utils/health.py's ARGUMENT_SPEC.
    DOCUMENTATION = r"""
options:
  health_url:
    description:
      - The app's health check, asked on the server once the server has ended its reload. No proxy
        is used.
      - Not asked in check mode.
    type: str
  health_status:
    description: The HTTP status the health check must answer.
    type: int
    default: 200
  health_text:
    description: Text the health check's answer must contain.
    type: str
    default: ""
  health_headers:
    description: Headers sent with the health check, such as the C(Host) an app only answers for. Never logged.
    type: dict
    default: {}
  health_timeout:
    description:
      - Seconds to keep asking the health check for the expected answer; it is asked at least once.
      - A server whose reload has ended already serves the new code, so a wrong answer is rarely
        transient; a server that has just started may need longer.
    type: float
    default: 3
"""
