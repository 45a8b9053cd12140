"""A stateful Kubernetes API server on loopback, for tests and benchmarks."""

from .server import TOKEN, KubeApiServer  # noqa: F401
from .state import ApiError, ApiState  # noqa: F401
