"""Live plans: standing plans that follow the ports' events (DESIGN.md §8)."""
