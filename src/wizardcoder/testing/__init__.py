"""Test and benchmark support, not user API: what the test suite and ``bench/`` need to exercise
the package from outside (a fault-injecting teacher server). Nothing user-facing imports it, it may
change without notice, and it sits above evol and engines (it may import them, they never it)."""
