"""Every integer written into dhcpd.conf within what dhcpd reads (failover.validators.LIMITS):
validators and check constraints (0006 brought the stored values within them first)."""

import django.core.validators
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("failover", "0006_number_limits_data"),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name="failoverpeer",
            name="peer_split_in_range",
        ),
        migrations.AlterField(
            model_name="failoverpeer",
            name="auto_partner_down",
            field=models.PositiveIntegerField(
                blank=True,
                help_text="Seconds; empty or 0 is off. Only safe with a dedicated link.",
                null=True,
                validators=[
                    django.core.validators.MinValueValidator(0),
                    django.core.validators.MaxValueValidator(2147483647),
                ],
                verbose_name="Auto Partner Down",
            ),
        ),
        migrations.AlterField(
            model_name="failoverpeer",
            name="load_balance_max_seconds",
            field=models.PositiveIntegerField(
                blank=True,
                default=3,
                help_text="Seconds; 3 or 5 recommended, 0 turns load balancing off.",
                null=True,
                validators=[
                    django.core.validators.MinValueValidator(0),
                    django.core.validators.MaxValueValidator(2147483647),
                ],
                verbose_name="Load Balance Max Seconds",
            ),
        ),
        migrations.AlterField(
            model_name="failoverpeer",
            name="max_balance",
            field=models.PositiveIntegerField(
                blank=True,
                help_text="Seconds (dhcpd default 3600).",
                null=True,
                validators=[
                    django.core.validators.MinValueValidator(1),
                    django.core.validators.MaxValueValidator(2147483647),
                ],
                verbose_name="Max Balance",
            ),
        ),
        migrations.AlterField(
            model_name="failoverpeer",
            name="max_lease_misbalance",
            field=models.PositiveSmallIntegerField(
                blank=True,
                help_text="Percent, 1-100 (dhcpd default 15).",
                null=True,
                validators=[
                    django.core.validators.MinValueValidator(1),
                    django.core.validators.MaxValueValidator(100),
                ],
                verbose_name="Max Lease Misbalance",
            ),
        ),
        migrations.AlterField(
            model_name="failoverpeer",
            name="max_lease_ownership",
            field=models.PositiveSmallIntegerField(
                blank=True,
                help_text="Percent, 1-100 (dhcpd default 10); lower than the misbalance.",
                null=True,
                validators=[
                    django.core.validators.MinValueValidator(1),
                    django.core.validators.MaxValueValidator(100),
                ],
                verbose_name="Max Lease Ownership",
            ),
        ),
        migrations.AlterField(
            model_name="failoverpeer",
            name="max_response_delay",
            field=models.PositiveIntegerField(
                default=60,
                help_text="Seconds without a message before the connection is considered failed.",
                validators=[
                    django.core.validators.MinValueValidator(1),
                    django.core.validators.MaxValueValidator(2147483647),
                ],
                verbose_name="Max Response Delay",
            ),
        ),
        migrations.AlterField(
            model_name="failoverpeer",
            name="max_unacked_updates",
            field=models.PositiveIntegerField(
                default=10,
                help_text="Messages sent before an acknowledgement is required; 10 is a good value.",
                validators=[
                    django.core.validators.MinValueValidator(1),
                    django.core.validators.MaxValueValidator(2147483647),
                ],
                verbose_name="Max Unacked Updates",
            ),
        ),
        migrations.AlterField(
            model_name="failoverpeer",
            name="mclt",
            field=models.PositiveIntegerField(
                blank=True,
                default=3600,
                help_text="Seconds. Primary only.",
                null=True,
                validators=[
                    django.core.validators.MinValueValidator(1),
                    django.core.validators.MaxValueValidator(2147483647),
                ],
                verbose_name="Max Client Lead Time",
            ),
        ),
        migrations.AlterField(
            model_name="failoverpeer",
            name="min_balance",
            field=models.PositiveIntegerField(
                blank=True,
                help_text="Seconds (dhcpd default 60).",
                null=True,
                validators=[
                    django.core.validators.MinValueValidator(1),
                    django.core.validators.MaxValueValidator(2147483647),
                ],
                verbose_name="Min Balance",
            ),
        ),
        migrations.AlterField(
            model_name="failoverpeer",
            name="split",
            field=models.PositiveSmallIntegerField(
                blank=True,
                default=128,
                help_text="0-256; 128 splits the load evenly. Primary only.",
                null=True,
                validators=[
                    django.core.validators.MinValueValidator(0),
                    django.core.validators.MaxValueValidator(256),
                ],
                verbose_name="Split Index",
            ),
        ),
        migrations.AlterField(
            model_name="scope",
            name="default_lease_time",
            field=models.PositiveIntegerField(
                blank=True,
                help_text="Seconds.",
                null=True,
                validators=[
                    django.core.validators.MinValueValidator(1),
                    django.core.validators.MaxValueValidator(2147483647),
                ],
                verbose_name="Default Lease Time",
            ),
        ),
        migrations.AlterField(
            model_name="scope",
            name="max_lease_time",
            field=models.PositiveIntegerField(
                blank=True,
                help_text="Seconds.",
                null=True,
                validators=[
                    django.core.validators.MinValueValidator(1),
                    django.core.validators.MaxValueValidator(2147483647),
                ],
                verbose_name="Max Lease Time",
            ),
        ),
        migrations.AddConstraint(
            model_name="dhcpserver",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("omapi_port__isnull", True),
                    models.Q(("omapi_port__gte", 1), ("omapi_port__lte", 65535)),
                    _connector="OR",
                ),
                name="server_omapi_port_in_range",
                violation_error_message="The OMAPI port is between 1 and 65535.",
            ),
        ),
        migrations.AddConstraint(
            model_name="failoverpeer",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("split__isnull", True),
                    models.Q(("split__gte", 0), ("split__lte", 256)),
                    _connector="OR",
                ),
                name="peer_split_in_range",
                violation_error_message="The split index is between 0 and 256.",
            ),
        ),
        migrations.AddConstraint(
            model_name="failoverpeer",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("max_response_delay__isnull", True),
                    models.Q(
                        ("max_response_delay__gte", 1), ("max_response_delay__lte", 2147483647)
                    ),
                    _connector="OR",
                ),
                name="peer_max_response_delay_in_range",
                violation_error_message="The max response delay is between 1 and 2147483647.",
            ),
        ),
        migrations.AddConstraint(
            model_name="failoverpeer",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("max_unacked_updates__isnull", True),
                    models.Q(
                        ("max_unacked_updates__gte", 1), ("max_unacked_updates__lte", 2147483647)
                    ),
                    _connector="OR",
                ),
                name="peer_max_unacked_updates_in_range",
                violation_error_message="The max unacked updates is between 1 and 2147483647.",
            ),
        ),
        migrations.AddConstraint(
            model_name="failoverpeer",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("mclt__isnull", True),
                    models.Q(("mclt__gte", 1), ("mclt__lte", 2147483647)),
                    _connector="OR",
                ),
                name="peer_mclt_in_range",
                violation_error_message="The max client lead time is between 1 and 2147483647.",
            ),
        ),
        migrations.AddConstraint(
            model_name="failoverpeer",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("load_balance_max_seconds__isnull", True),
                    models.Q(
                        ("load_balance_max_seconds__gte", 0),
                        ("load_balance_max_seconds__lte", 2147483647),
                    ),
                    _connector="OR",
                ),
                name="peer_load_balance_max_seconds_in_range",
                violation_error_message="The load balance max seconds is between 0 and 2147483647.",
            ),
        ),
        migrations.AddConstraint(
            model_name="failoverpeer",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("auto_partner_down__isnull", True),
                    models.Q(("auto_partner_down__gte", 0), ("auto_partner_down__lte", 2147483647)),
                    _connector="OR",
                ),
                name="peer_auto_partner_down_in_range",
                violation_error_message="The auto partner down is between 0 and 2147483647.",
            ),
        ),
        migrations.AddConstraint(
            model_name="failoverpeer",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("max_lease_misbalance__isnull", True),
                    models.Q(("max_lease_misbalance__gte", 1), ("max_lease_misbalance__lte", 100)),
                    _connector="OR",
                ),
                name="peer_max_lease_misbalance_in_range",
                violation_error_message="The max lease misbalance is between 1 and 100.",
            ),
        ),
        migrations.AddConstraint(
            model_name="failoverpeer",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("max_lease_ownership__isnull", True),
                    models.Q(("max_lease_ownership__gte", 1), ("max_lease_ownership__lte", 100)),
                    _connector="OR",
                ),
                name="peer_max_lease_ownership_in_range",
                violation_error_message="The max lease ownership is between 1 and 100.",
            ),
        ),
        migrations.AddConstraint(
            model_name="failoverpeer",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("min_balance__isnull", True),
                    models.Q(("min_balance__gte", 1), ("min_balance__lte", 2147483647)),
                    _connector="OR",
                ),
                name="peer_min_balance_in_range",
                violation_error_message="The min balance is between 1 and 2147483647.",
            ),
        ),
        migrations.AddConstraint(
            model_name="failoverpeer",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("max_balance__isnull", True),
                    models.Q(("max_balance__gte", 1), ("max_balance__lte", 2147483647)),
                    _connector="OR",
                ),
                name="peer_max_balance_in_range",
                violation_error_message="The max balance is between 1 and 2147483647.",
            ),
        ),
        migrations.AddConstraint(
            model_name="scope",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("default_lease_time__isnull", True),
                    models.Q(
                        ("default_lease_time__gte", 1), ("default_lease_time__lte", 2147483647)
                    ),
                    _connector="OR",
                ),
                name="scope_default_lease_time_in_range",
                violation_error_message="The default lease time is between 1 and 2147483647.",
            ),
        ),
        migrations.AddConstraint(
            model_name="scope",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("max_lease_time__isnull", True),
                    models.Q(("max_lease_time__gte", 1), ("max_lease_time__lte", 2147483647)),
                    _connector="OR",
                ),
                name="scope_max_lease_time_in_range",
                violation_error_message="The max lease time is between 1 and 2147483647.",
            ),
        ),
    ]
