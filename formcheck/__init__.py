"""formcheck — a camera-based form checker for the lever back extension.

The package reads as the pipeline::

    media (sources, pose)  ->  core (kinematics -> reps -> faults -> cues, Analyzer)
                           ->  render (overlay, reports)  ->  app (cli, live, batch, eval, ...)

Only :mod:`formcheck.media`, :mod:`formcheck.render` and :mod:`formcheck.app` import OpenCV,
MediaPipe or PyAV or touch files; :mod:`formcheck.core` is pure numpy.
"""

__version__ = "0.2.0"
