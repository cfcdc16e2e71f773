"""The media edge: video files and cameras in, pose landmarks out, video files written.

The only package that imports OpenCV, MediaPipe or PyAV for decoding and pose.
"""
