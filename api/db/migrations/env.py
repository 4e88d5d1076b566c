"""Alembic's environment for portsync: run by api.db.migrate, never by an alembic.ini.

The caller hands over an open connection (`config.attributes["connection"]`, inside its
transaction) and the PostgreSQL schema, if any (`config.attributes["schema"]`): the tables live
in that schema through the connection's search_path, and so does the `alembic_version` table.
Without a connection (offline mode, `alembic ... --sql`), the URL in the config's
`sqlalchemy.url` is used to write the SQL out.
"""

from __future__ import annotations

from alembic import context

from api.db.models import Base

config = context.config
schema = config.attributes.get("schema")

if context.is_offline_mode():
    context.configure(url=config.get_main_option("sqlalchemy.url"), target_metadata=Base.metadata,
                      literal_binds=True, version_table_schema=schema)
    with context.begin_transaction():
        context.run_migrations()
else:
    connection = config.attributes["connection"]
    context.configure(connection=connection, target_metadata=Base.metadata, version_table_schema=schema,
                      render_as_batch=connection.dialect.name == "sqlite")
    with context.begin_transaction():
        context.run_migrations()
