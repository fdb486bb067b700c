"""A warning when the contextual latent code collapses during training.

``mu_spread`` is the spread of the contextual module's mean ``mu`` across the pixels of a batch
(``cagnet.training.steps``). When the KL term wins, it falls towards 0: every pixel gets the same
latent code and the generator no longer sees context. With ``model.detach_generator_input``
(the official code's path, the demo's) L_REC does not reach the code: L_KL pulls it to the prior
and only the classification losses, through X = F + F * sigmoid(Z), pull back, so it goes to the
prior at once: that is expected and logged as information. Otherwise it is a warning. It need not
cost transfer: on the embedded benchmark the best runs had a collapsed code (RESULTS.md,
"Issue 9: L_REC through z on the embedded benchmark").
"""

import logging

logger = logging.getLogger(__name__)

COLLAPSE_FRACTION = 0.05  # warn below this share of the largest spread logged so far


class SpreadWatch:
    """Follows ``mu_spread`` in the logged rows and warns once when it collapses."""

    def __init__(self, fraction: float = COLLAPSE_FRACTION, expected: bool = False) -> None:
        """``expected``: L_REC does not reach the code (a detached generator input), so a
        collapse is reported at INFO level, not as a warning."""
        self.fraction = fraction
        self.expected = expected
        self.largest = 0.0
        self.warned = False

    def check(self, iteration: int, log: dict[str, float]) -> bool:
        """Warn (once) if ``log['mu_spread']`` fell below ``fraction`` of its largest value.

        Returns:
            True when this call logged the warning.
        """
        value = log.get("mu_spread")
        if value is None or self.warned:
            return False
        self.largest = max(self.largest, float(value))
        if self.largest > 0 and value < self.fraction * self.largest:
            self.warned = True
            if self.expected:
                logger.info(
                    "mu_spread fell to %.3g at iteration %d (largest so far %.3g): with "
                    "model.detach_generator_input=true L_REC does not reach the contextual "
                    "code, so L_KL makes it the same for every pixel (expected)",
                    value,
                    iteration,
                    self.largest,
                )
                return True
            logger.warning(
                "warning: mu_spread collapsed to %.3g at iteration %d (largest so far %.3g): the "
                "contextual latent code is the same for every pixel; the KL weight "
                "(loss.kl_weight) may be too high for this content loss (see losses.csv)",
                value,
                iteration,
                self.largest,
            )
            return True
        return False
