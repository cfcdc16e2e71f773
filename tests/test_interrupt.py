"""Ctrl-C at a safe point (formcheck.app.interrupt.SafeInterrupt)."""

import os
import signal
import time

import pytest

from formcheck.app.interrupt import SafeInterrupt


def test_the_first_sigint_waits_for_the_next_check():
    with SafeInterrupt() as safe:
        safe.check()  # nothing pending
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(0.01)  # the handler has run, and raised nothing
        assert safe.pending
        with pytest.raises(KeyboardInterrupt):
            safe.check()


def test_a_sigint_with_the_first_is_the_same_ctrl_c_and_a_later_one_stops_at_once():
    with SafeInterrupt() as safe:
        os.kill(os.getpid(), signal.SIGINT)
        os.kill(os.getpid(), signal.SIGINT)  # timeout -s INT: the command, then its group
        time.sleep(0.01)
        assert safe.pending
        time.sleep(SafeInterrupt.AGAIN_S)
        with pytest.raises(KeyboardInterrupt):
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(0.1)


def test_the_previous_handler_is_restored():
    before = signal.getsignal(signal.SIGINT)
    with SafeInterrupt():
        assert signal.getsignal(signal.SIGINT) != before
    assert signal.getsignal(signal.SIGINT) is before
