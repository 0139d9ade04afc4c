from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from failover.live.metrics import metrics

urlpatterns = [
    path("admin/", admin.site.urls),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("metrics", metrics, name="metrics"),  # Prometheus, bearer token (failover/live)
    path("", include("failover.urls")),
]
