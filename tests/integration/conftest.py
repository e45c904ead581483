"""pytest options, markers and shared fixtures (bot: the Telegram stub) of the integration suite.

    --chaos-trials N   how many randomized fault trials test_chaos.py runs (default 2, CI)
    --chaos-seed S     the first trial's seed (default: from the clock); trial k uses S + k
"""
import pytest


def pytest_addoption(parser):
    parser.addoption("--chaos-trials", type=int, default=2,
                     help="randomized fault trials of test_chaos.py (default 2)")
    parser.addoption("--chaos-seed", type=int, default=None,
                     help="seed of the first chaos trial (default: from the clock)")


def pytest_configure(config):
    config.addinivalue_line("markers", "chaos: randomized fault-injection trials (test_chaos.py)")


@pytest.fixture(scope="module")
def bot():
    """A local Telegram Bot API (services.BotStub) for a module's tests; closed after them."""
    from services import BotStub
    b = BotStub()
    yield b
    b.close()
