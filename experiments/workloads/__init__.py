"""Workloads: traffic patterns, htsim connection matrices and their triggers."""
