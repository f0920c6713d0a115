"""Shared test set-up: import paths for the role's module_utils and the tools."""
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ROLE = os.path.join(ROOT, "roles", "wsgi_deploy")
sys.path[:0] = [os.path.join(ROLE, "module_utils"), os.path.join(ROOT, "tools")]
