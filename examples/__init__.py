"""Runnable examples: one small app per framework, each wrapped in the ltiaas_auth middleware."""
