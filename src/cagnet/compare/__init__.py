"""``cagnet compare``: methods and ablations of the paper as named variants, trained over seeds.

``variants.VARIANTS`` names every row; ``run.compare`` trains and evaluates them;
``report``/``chart`` write results.csv, results.md and results.png.
"""
