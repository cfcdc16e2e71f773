"""The pure-numpy core: landmarks -> kinematics -> reps -> faults -> cues, and the streaming
:class:`~formcheck.core.analysis.Analyzer` that ties them together.

Imports only numpy, the standard library, :mod:`formcheck.config` and :mod:`formcheck.errors`;
never OpenCV, MediaPipe, PyAV or the file system (a test enforces it).
"""
