"""Confidence intervals and the paired test behind the tool-learning comparison, checked
against values worked out by hand."""

from __future__ import annotations

import pytest

from hanlin.training.evaluation.significance import compare_paired, mcnemar_exact, wilson_interval
from hanlin.training.evaluation.tool_metrics import metric_hits
from hanlin.training.rl.reward import RewardCategory


def test_wilson_interval_matches_the_worked_value() -> None:
    # 5/10, z = 1.95996: centre 0.5, half-width z*sqrt(0.025 + z^2/400) / (1 + z^2/10)
    low, high = wilson_interval(5, 10)
    assert low == pytest.approx(0.2366, abs=1e-4) and high == pytest.approx(0.7634, abs=1e-4)


def test_wilson_interval_stays_inside_zero_and_one() -> None:
    low, high = wilson_interval(0, 64)
    assert low == 0.0 and 0.05 < high < 0.06  # z^2 / (n + z^2) = 0.0566
    low, high = wilson_interval(64, 64)
    assert high == 1.0 and 0.94 < low < 0.95
    with pytest.raises(ValueError, match="within"):
        wilson_interval(11, 10)
    with pytest.raises(ValueError, match="at least one"):
        wilson_interval(0, 0)


def test_mcnemar_exact_two_sided_binomial() -> None:
    assert mcnemar_exact(0, 6) == pytest.approx(2 / 64)
    assert mcnemar_exact(9, 1) == pytest.approx(2 * (1 + 10) / 1024)
    assert mcnemar_exact(3, 3) == 1.0
    assert mcnemar_exact(0, 0) == 1.0
    with pytest.raises(ValueError):
        mcnemar_exact(-1, 2)


def test_paired_comparison_counts_only_discordant_turns() -> None:
    variant = [True, True, False, False, True, True, True]
    baseline = [True, False, False, True, False, False, False]
    result = compare_paired(variant, baseline)
    assert (result.only_variant, result.only_baseline) == (4, 1)
    assert result.p_value == pytest.approx(2 * (1 + 5) / 32)
    with pytest.raises(ValueError, match="equal lengths"):
        compare_paired([True], [True, False])


def test_metric_hits_nest_ts_pi_cf() -> None:
    assert metric_hits("correct") == dict.fromkeys(
        ("tool_selection", "parameter_identification", "content_filling"), True
    )
    assert metric_hits(RewardCategory.CONTENT_FILLING) == {
        "tool_selection": True,
        "parameter_identification": True,
        "content_filling": False,
    }
    assert metric_hits("params_hallucinated") == {
        "tool_selection": True,
        "parameter_identification": False,
        "content_filling": False,
    }
    for failure in ("unparsable", "hallucinated_tool", "wrong_tool"):
        assert not any(metric_hits(failure).values())
    for category in RewardCategory:
        hits = metric_hits(category)
        assert hits["content_filling"] <= hits["parameter_identification"] <= hits["tool_selection"]
