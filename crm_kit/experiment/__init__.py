"""The statistics of an experiment, apart from the CRM rules: design and analysis of a randomised comparison.

Functions on plain tables — one row per unit (a customer, here), an arm
column, outcome columns — with no CRM vocabulary: the campaign step
(:mod:`crm_kit.campaign`) calls the design half, the result steps
(:mod:`crm_kit.results`, notebook 06) the analysis half, and both add the
CRM words. Each function's docstring gives its formula and its reference.

Design (``_assignment``, ``_power``)
    :func:`assign_arms` (seeded, stratified, each stratum's remainder rounded at random so every unit has
    its arm's share as its chance), :func:`randomised_counts`, :func:`check_arm_shares`, :func:`largest_remainder`, :func:`balance_table`
    (standardised differences); :func:`power_analysis` and :func:`adjusted_power`
    (MDE, power, the control share needed; CUPED's 1 - R² variance),
    :func:`arm_power` (several arms at the level of the family the comparisons use, alpha / m).
Analysis (``_estimates``, ``_comparisons``)
    :func:`welch_difference`, :func:`interval_check` (is the normal interval to be trusted: few controls,
    heavy zeros, skew), :func:`permutation_difference` (the exact alternative), :func:`ratio_difference` (bootstrap),
    :func:`difference_in_means` (with the difference-in-differences),
    :func:`regression_adjusted_difference` and :func:`adjusted_differences`
    (Lin 2013 / CUPED), :func:`incremental_return`; :func:`holm_levels` (Holm's step levels),
    :func:`family_size`, :func:`compare_arms` (joint Bonferroni intervals, Holm p-values), :func:`arm_returns`,
    :func:`outcome_lift` (rates with Newcombe intervals, means with Welch),
    :func:`lift_by_level` (the effect within each level of a pre-treatment attribute).

References
----------
Welch, B. L. (1947). The generalization of "Student's" problem when several different population
variances are involved. *Biometrika* 34, 28-35.
Efron, B. & Tibshirani, R. (1993). *An Introduction to the Bootstrap*. Chapman & Hall.
Deng, A., Xu, Y., Kohavi, R. & Walker, T. (2013). Improving the sensitivity of online controlled
experiments by utilizing pre-experiment data (CUPED). *WSDM '13*, 123-132.
Lin, W. (2013). Agnostic notes on regression adjustments to experimental data. *Annals of Applied
Statistics* 7, 295-318.
Holm, S. (1979). A simple sequentially rejective multiple test procedure. *Scandinavian Journal of
Statistics* 6, 65-70.
Newcombe, R. G. (1998). Interval estimation for the difference between independent proportions.
*Statistics in Medicine* 17, 873-890.
Dunn, O. J. (1961). Multiple comparisons among means. *Journal of the American Statistical Association*
56, 52-64.
Fisher, R. A. (1935). *The Design of Experiments*. Oliver & Boyd.
Ernst, M. D. (2004). Permutation methods: a basis for exact inference. *Statistical Science* 19, 676-685.
Cochran, W. G. (1977). *Sampling Techniques*, 3rd ed. Wiley.
Cohen, J. (1988). *Statistical Power Analysis for the Behavioral Sciences*, 2nd ed. Erlbaum.
"""

from ._assignment import assign_arms, balance_table, check_arm_shares, largest_remainder, randomised_counts
from ._comparisons import arm_returns, compare_arms, family_size, holm_levels, lift_by_level, outcome_lift
from ._estimates import (
    FEW_CONTROLS,
    adjusted_differences,
    difference_in_means,
    incremental_return,
    interval_check,
    permutation_difference,
    ratio_difference,
    regression_adjusted_difference,
    welch_difference,
)
from ._power import adjusted_power, arm_power, power_analysis

__all__ = [
    "FEW_CONTROLS",
    "assign_arms",
    "check_arm_shares",
    "largest_remainder",
    "randomised_counts",
    "balance_table",
    "power_analysis",
    "adjusted_power",
    "arm_power",
    "welch_difference",
    "interval_check",
    "permutation_difference",
    "ratio_difference",
    "difference_in_means",
    "regression_adjusted_difference",
    "adjusted_differences",
    "incremental_return",
    "holm_levels",
    "family_size",
    "compare_arms",
    "arm_returns",
    "outcome_lift",
    "lift_by_level",
]
