"""What crosses a context boundary: typed messages and the shared value types.

Producers build these models and consumers parse them; nobody builds or reads the dicts on the
wire by hand. Depends on the infrastructure only (`eantrag`); every context may import it.
"""
