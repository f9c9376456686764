"""The fuzzers' shared bounds: a fixed number of examples, the same ones on every run."""

from hypothesis import HealthCheck, Phase, settings

# Derandomized and without shrinking or a stored database, so CI time stays bounded and a
# failure reproduces on the next run as it did on this one.
BOUNDED = settings(
    deadline=None,
    database=None,
    derandomize=True,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
