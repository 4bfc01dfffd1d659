"""Plots and self-contained HTML reports of uesim results.

Functions over DataFrames (a run's ``flows``/``ports``/``timeseries``, a sweep's
``points``/``flows``/``ports``), so they work on anything that holds those:

* :mod:`~uesim.experiments.report.plots`: ``fct_cdf``, ``busbw_vs_size``, ``stall_bars``,
  ``queue_depth``, ``utilisation``, ``port_series``, each returning a matplotlib Figure,
  and ``save(fig, path)``;
* :mod:`~uesim.experiments.report.html`: ``write_report(path, title, tables, figures)``
  and ``report_from_results(results, path)``.

matplotlib is imported only when a figure is made.
"""
from uesim.experiments.report.html import flow_summary, report_from_results, write_report
from uesim.experiments.report.plots import (busbw_vs_size, fct_cdf, point_labels, port_names,
                                            port_series, queue_depth, save, stall_bars, utilisation)

__all__ = ["busbw_vs_size", "fct_cdf", "flow_summary", "point_labels", "port_names", "port_series",
           "queue_depth", "report_from_results", "save", "stall_bars", "utilisation", "write_report"]
