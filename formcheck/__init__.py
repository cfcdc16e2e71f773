"""formcheck — a camera-based form checker for the lever back extension.

The pipeline, one module per stage::

    sources -> pose -> kinematics -> reps -> faults -> analysis (streaming core)
            -> report / annotate / live / batch (front ends)

Only :mod:`formcheck.sources`, :mod:`formcheck.pose`, :mod:`formcheck.models` and the
front ends import OpenCV or MediaPipe or touch files; the math is pure numpy.
"""

__version__ = "0.1.0"
