from __future__ import annotations

from django.urls import path

from . import views

urlpatterns = [
    path("health", views.health),
    path("whoami", views.whoami),
    path("awhoami", views.awhoami),
    path("stream", views.stream),
    path("astream", views.astream),
    path("grades", views.grades),
    path("agrades", views.agrades),
    path("teach", views.TeachView.as_view()),
    path("roster", views.roster),
    path("grade", views.grade),
    path("feedback", views.feedback),
    path("page", views.page),
    path("submit", views.submit),
    path("api/me", views.Me.as_view()),
    path("boom", views.boom),
]
