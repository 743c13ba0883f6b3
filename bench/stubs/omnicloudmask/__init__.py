"""Stub of ``omnicloudmask`` for the radiometry benchmark's spectralmatch runs.

spectralmatch 1.0.4 imports ``omnicloudmask.predict_from_array`` when it is
imported (for its cloud-mask helper, which the benchmark never calls); the real
package pulls in a torch stack. Put ``bench/stubs`` on ``PYTHONPATH`` so the
import succeeds without it.
"""

__version__ = "0.0.0-tessera-bench-stub"


def predict_from_array(*args, **kwargs):
    raise NotImplementedError("omnicloudmask stub (tessera bench): cloud masking is not available")


def predict_from_load_func(*args, **kwargs):
    raise NotImplementedError("omnicloudmask stub (tessera bench): cloud masking is not available")
