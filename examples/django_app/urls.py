from __future__ import annotations

from django.urls import path

from . import views

urlpatterns = [
    path("health", views.health),
    path("whoami", views.whoami),
    path("awhoami", views.awhoami),
    path("stream", views.stream),
    path("astream", views.astream),
]
