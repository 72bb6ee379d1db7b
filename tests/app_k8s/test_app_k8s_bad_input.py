"""Bad settings fail playbooks/app_k8s.yml before anything changes, with a message naming the setting."""

from __future__ import annotations

import pytest
from app_k8s_helpers import run_playbook

NO_BUILD = {"app_k8s_build_images": False}


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"app_k8s_namespace": "Bad_Namespace"}, "app_k8s_namespace must be a Kubernetes namespace name"),
        ({"app_k8s_replicas": 0}, "app_k8s_replicas must be at least 1 (got 0)"),
        ({"app_rollout_timeout": 5}, "app_rollout_timeout must be at least 30 seconds (got 5)"),
        ({"app_k8s_flask_service_type": "Ingress"}, "app_k8s_flask_service_type must be one of"),
        ({"app_secret_key": "too-short"}, "app_secret_key must be empty (generated once) or at least 32"),
        ({"app_k8s_postgres_storage_size": "lots"}, "app_k8s_postgres_storage_size must be a size such as 1Gi"),
        ({"app_flask_environment": {"DATABASE_URL": "x"}}, "app_flask_environment must not set DATABASE_URL"),
        (
            {"app_images": {"app": "127.0.0.1:5001/iac/app"}},
            "app_images must map some of app, nginx, postgres, redis to image references with a tag",
        ),
    ],
    ids=lambda value: next(iter(value)) if isinstance(value, dict) else None,
)
def test_bad_setting_fails_naming_it_and_changes_nothing(settings, message):
    run = run_playbook(f"bad-{next(iter(settings))}", extra_vars={**NO_BUILD, **settings}, timeout=600)
    assert run.returncode != 0, run.tail()
    assert message in " ".join(run.output.split()), run.tail()
    assert run.changed == 0, run.tail()
