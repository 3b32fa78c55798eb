"""Learning-rate schedules: formulas, descriptions that round-trip, bad parameters."""

import pytest

from pgm.learning.schedules import (
    SCHEDULES,
    Constant,
    ExponentialDecay,
    InverseDecay,
    LinearDecay,
    StepDecay,
    get_schedule,
)


@pytest.mark.parametrize(
    ("schedule", "expected"),
    [
        (Constant(), [0.3, 0.3, 0.3, 0.3]),
        (ExponentialDecay(0.5), [0.3, 0.15, 0.075, 0.0375]),
        (StepDecay(drop=0.1, every=2), [0.3, 0.3, 0.03, 0.03]),
        (LinearDecay(final_fraction=0.1), [0.3, 0.21, 0.12, 0.03]),
        (InverseDecay(scale=2.0), [0.3, 0.2, 0.15, 0.12]),
    ],
)
def test_rates_follow_their_formulas(schedule, expected):
    rates = [schedule(0.3, t, 4) for t in range(4)]
    # rel 1e-12: the expected values are decimal literals, the rates products of floats
    assert rates == pytest.approx(expected, rel=1e-12)


def test_inverse_decay_divides_exactly():
    """The DBM's default: the same floats as ``lr / (1 + epoch / 10)`` written inline."""
    for lr in (0.005, 0.001, 0.3):
        for t in range(50):
            assert InverseDecay()(lr, t, 50) == lr / (1.0 + t / 10.0)


@pytest.mark.parametrize("name", sorted(SCHEDULES))
def test_descriptions_round_trip(name):
    schedule = SCHEDULES[name]()
    assert get_schedule(schedule.to_dict()) == schedule
    assert get_schedule(name) == schedule


@pytest.mark.parametrize("scale", [0.0, -1.0, float("inf"), float("nan"), "10", True])
def test_inverse_decay_refuses_bad_scale(scale):
    with pytest.raises(ValueError, match="scale must be a positive real number"):
        InverseDecay(scale=scale)
