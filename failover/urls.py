"""The pages and dialogs of dhcpadmin (namespace ``failover``)."""

from django.urls import path

from .views import config, connection, deploy, imports, kea, live, peers, pools, scopes, servers

app_name = "failover"

urlpatterns = [
    # Servers
    path("", servers.server_list, name="server_list"),
    path("servers/add/", servers.server_create, name="server_create"),
    path("servers/<int:pk>/", servers.server_detail, name="server_detail"),
    path("servers/<int:pk>/edit/", servers.server_edit, name="server_edit"),
    path("servers/<int:pk>/delete/", servers.server_delete, name="server_delete"),
    path("servers/<int:pk>/import/", imports.server_import, name="server_import"),
    # Scopes and their list of IP addresses
    path("servers/<int:pk>/scopes/add/", scopes.scope_create, name="scope_create"),
    path("scopes/<int:pk>/", scopes.scope_detail, name="scope_detail"),
    path("scopes/<int:pk>/edit/", scopes.scope_edit, name="scope_edit"),
    path("scopes/<int:pk>/delete/", scopes.scope_delete, name="scope_delete"),
    # Address pools (the DHCP Address Pool dialog) and its New Failover Peer detour
    path("scopes/<int:pk>/pools/add/", pools.pool_create, name="pool_create"),
    path("scopes/<int:pk>/peers/add/", pools.peer_create_for_pool, name="peer_create_for_pool"),
    path("pools/<int:pk>/edit/", pools.pool_edit, name="pool_edit"),
    path("pools/<int:pk>/delete/", pools.pool_delete, name="pool_delete"),
    # Manage Failover Peers
    path("servers/<int:pk>/peers/", peers.peer_list, name="peer_list"),
    path("servers/<int:pk>/peers/select/", peers.peer_select, name="peer_select"),
    path("servers/<int:pk>/peers/add/", peers.peer_create, name="peer_create"),
    path("peers/<int:pk>/edit/", peers.peer_edit, name="peer_edit"),
    path("peers/<int:pk>/delete/", peers.peer_delete, name="peer_delete"),
    # Configurations (issue 3): rendered dhcpd.conf, dhcpd -t, relationships, migration
    path("servers/<int:pk>/config/", config.server_config, name="server_config"),
    path(
        "servers/<int:pk>/config.conf",
        config.server_config_download,
        name="server_config_download",
    ),
    path(
        "servers/<int:pk>/config/validate/",
        config.server_config_validate,
        name="server_config_validate",
    ),
    path("relationships/", config.relationship_list, name="relationship_list"),
    path("relationships/<int:pk>/", config.relationship_detail, name="relationship_detail"),
    path("scopes/<int:pk>/migrate/", config.scope_migrate, name="scope_migrate"),
    # Live failover state (issue 10): partials the pages load and refresh; partner-down
    path("live/", live.live_dashboard, name="live_dashboard"),
    path("live/relationships/<int:pk>/", live.live_relationship, name="live_relationship"),
    path("live/servers/<int:pk>/", live.live_server, name="live_server"),
    path("peers/<int:pk>/partner-down/", live.live_partner_down, name="live_partner_down"),
    # Deploy (issue 11): preview and start, progress, history, roll back
    path("servers/<int:pk>/deploy/", deploy.deploy_server, name="deploy_server"),
    path("servers/<int:pk>/deploys/", deploy.deploy_history, name="deploy_history"),
    path("relationships/<int:pk>/deploy/", deploy.deploy_relationship, name="deploy_relationship"),
    path("deploys/<int:pk>/", deploy.rollout_detail, name="deploy_rollout"),
    path("deploys/<int:pk>/progress/", deploy.rollout_progress, name="deploy_rollout_progress"),
    path("deployments/<int:pk>/", deploy.deployment_detail, name="deployment_detail"),
    path("deployments/<int:pk>/rollback/", deploy.deploy_rollback, name="deploy_rollback"),
    # The running servers (issue 11): SSH, Test Connection, host key, live drift, pool balance
    path("servers/<int:pk>/ssh/", connection.ssh_settings, name="ssh_settings"),
    path("servers/<int:pk>/ssh/test/", connection.ssh_test, name="ssh_test"),
    path("servers/<int:pk>/ssh/host-key/", connection.ssh_host_key, name="ssh_host_key"),
    path("servers/<int:pk>/live/", connection.live_config, name="live_config"),
    path("servers/<int:pk>/balance/", connection.pool_balance, name="pool_balance"),
    # Export to Kea HA (issue 12)
    path("relationships/<int:pk>/kea/", kea.kea_export, name="kea_export"),
    path("relationships/<int:pk>/kea/test/", kea.kea_test_run, name="kea_test_run"),
    path("relationships/<int:pk>/kea.zip", kea.kea_archive, name="kea_archive"),
    path("relationships/<int:pk>/kea/<str:name>", kea.kea_file, name="kea_file"),
]
