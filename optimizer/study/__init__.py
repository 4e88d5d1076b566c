"""Capacity studies: at what traffic do Aktau, Kuryk and Alat choke, with FCFS and with portsync.

A study scales a stated traffic model over growth levels, lives several seeded months per level
through the same event stream with each planner, and reports the realized KPIs per port with
confidence intervals over seeds, the knee of the waiting curve, and the M/E2/n textbook beside it.
"""
