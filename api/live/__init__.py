"""Live plans: their store and events (store), the replans that turn events into versions
(replanner), the DCSA JIT gateway over them (jit_gateway) and the webhooks they notify (webhooks)."""
