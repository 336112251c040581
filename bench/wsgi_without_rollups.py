"""The production WSGI application with the dossiers' roll-up maintenance switched off, for measuring what
keeping the roll-ups current costs (``bench/dossiers.py --without-rollups``, run from ``bench/ioc.py``).

``dossiers.services.base.record`` applies each change's roll-up difference through
``dossiers.services.rollups.apply``; here that is a no-op, in the benchmark's server process only, so a
filing writes everything but the roll-up rows. Never serve this: the dashboards would go stale."""

from hanoismart.wsgi import application  # sets Django up, so the services can be imported below

__all__ = ["application"]


def _switch_rollups_off() -> None:
    from hanoismart.dossiers.services import rollups

    def apply(dossier):
        return {}

    rollups.apply = apply


_switch_rollups_off()
