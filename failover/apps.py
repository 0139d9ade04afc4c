from django.apps import AppConfig
from django.db.models.signals import post_migrate


class FailoverConfig(AppConfig):
    name = "failover"
    verbose_name = "DHCP failover"

    def ready(self) -> None:
        from failover.access import ensure_operators_group

        # After the permissions are created (django.contrib.auth's own post_migrate runs
        # first: auth comes before failover in INSTALLED_APPS).
        post_migrate.connect(ensure_operators_group, sender=self)
