"""The paper's figures from a run or a ``cagnet compare`` folder (``cagnet figures KIND``).

One module per kind: ``clusters`` (Fig. 1), ``methods`` (Fig. 4), ``reconstruction`` (Fig. 5),
``scales`` (Fig. 6) and ``lambdas`` (supplementary Fig. 1). Each computes its content as arrays
first (tested) and draws it with matplotlib second. Needs the ``figures`` extra
(matplotlib, scikit-learn).
"""
