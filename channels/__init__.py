"""Gateways at the edge: wire formats, signatures, session stores, renderers, outbound sends."""
