"""portsync optimizer: one berth plan for Aktau, Kuryk and Alat."""
