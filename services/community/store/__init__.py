"""All SQL of the community service (asyncpg, `$n` parameters), one module per aggregate.

Functions take a connection (or pool) and plain values and return typed rows (`rows.py`), never
an asyncpg.Record; business rules and events live in the domain modules that call them, inside
their transactions.
"""
