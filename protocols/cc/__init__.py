"""Congestion-control algorithms (window and rate math behind the CongestionControl hooks)."""
