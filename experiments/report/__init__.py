"""Plots and self-contained HTML reports of uesim results.

Functions over DataFrames (a run's ``flows``/``ports``/``timeseries``, a sweep's
``points``/``flows``/``ports``), so they work on anything that holds those:

* :mod:`~uesim.experiments.report.plots`: ``fct_cdf``, ``sweep_fct_cdf``, ``sweep_metric``,
  ``busbw_vs_size``, ``stall_bars``, ``queue_depth``, ``utilisation``, ``port_series``,
  each returning a matplotlib Figure, and ``save(fig, path)``;
* :mod:`~uesim.experiments.report.layout`: ``sweep_layout(points)``, which config keys
  of a sweep vary and how figures and tables show them (colour, panels, seed bands);
* :mod:`~uesim.experiments.report.html`: ``write_report(path, title, tables, figures)``
  and ``report_from_results(results, path)``.

matplotlib is imported only when a figure is made.
"""
from uesim.experiments._lazy import lazy_namespace

# resolved on first use, so ``uesim`` commands that only register the plot and report
# subcommands do not import these modules (and numpy) at start-up
_LAZY = {name: "uesim.experiments.report.html" for name in ("Table", "flow_summary", "report_from_results",
                                                            "write_report")}
_LAZY.update({name: "uesim.experiments.report.layout" for name in ("sort_points", "sweep_layout")})
_LAZY.update({name: "uesim.experiments.report.plots" for name in (
    "busbw_vs_size", "fct_cdf", "point_labels", "port_names", "port_series", "queue_depth", "save",
    "stall_bars", "sweep_fct_cdf", "sweep_metric", "utilisation")})

__all__ = sorted(_LAZY)


__getattr__, __dir__ = lazy_namespace(__name__, _LAZY, globals())
