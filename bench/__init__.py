"""flux-hub's benchmarks. Each script here runs on its own (``python bench/NAME.py``) and prints
what it measured; ``python -m bench`` runs them all and prints one table against the goals.

Convention: a script states each measurement it judges on a line of its own,

    RESULT <name>=<value> goal=<op><target> <what it is>

with ``<op>`` one of ``<=``, ``>=`` or nothing (the value must equal the target), e.g.
``RESULT client_overhead_wall=1.031 goal=<=1.10 client/raw wall time per call``.
"""
