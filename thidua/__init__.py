"""Thi đua CĐS: shared contracts, settings and clients used by every service."""
