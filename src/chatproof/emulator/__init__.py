"""A local stand-in for the WhatsApp Cloud API (Meta's Graph paths and 360dialog's).

Real endpoints, payloads, error codes and signed, retried webhooks, plus simulated
customers and a control API under ``/_emulator``. chatproof's client, tests, demo and
benchmarks talk to it instead of Meta; DESIGN invariants 1, 5 and 6 are exercised against it.
"""

from __future__ import annotations

from chatproof.emulator.app import app_from_env, create_app
from chatproof.emulator.clock import EmulatorClock
from chatproof.emulator.demo import DemoReport, run_demo_customers
from chatproof.emulator.errors import ControlError, EmulatorError, GraphError
from chatproof.emulator.settings import EmulatorSettings
from chatproof.emulator.signing import signature_header

__all__ = [
    "ControlError",
    "DemoReport",
    "EmulatorClock",
    "EmulatorError",
    "EmulatorSettings",
    "GraphError",
    "app_from_env",
    "create_app",
    "run_demo_customers",
    "signature_header",
]
