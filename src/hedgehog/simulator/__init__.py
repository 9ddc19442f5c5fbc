"""A local Binance-compatible exchange (`hedgehog exchange serve`), backed by the paper engine."""

from hedgehog.simulator.app import Simulator, SimulatorHandle, start_simulator
from hedgehog.simulator.auth import DEMO_API_KEY, DEMO_API_SECRET

__all__ = ["DEMO_API_KEY", "DEMO_API_SECRET", "Simulator", "SimulatorHandle", "start_simulator"]
