"""gunicorn settings; every knob can be overridden from the environment.

Defaults chosen by measurement on 2 cores with bench/run (README.md, "Benchmark"): gthread keeps Nginx's upstream
connections alive and has the shortest tail; one worker per core avoids processes fighting over the cores; 16 threads
per worker give /api/health (two network round trips) enough concurrency. sync and gevent stay selectable.
"""

import gc
import os
import shutil
import sys
import tempfile
import time


def _env_int(name, default):
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError:
        sys.exit(f"webapp: configuration error: {name} must be an integer")


def _cores():
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


wsgi_app = "webapp.wsgi:app"
proc_name = "webapp"
bind = f"0.0.0.0:{_env_int('PORT', 5000)}"
backlog = _env_int("GUNICORN_BACKLOG", 2048)

worker_class = os.environ.get("GUNICORN_WORKER_CLASS", "gthread").strip()
workers = _env_int("GUNICORN_WORKERS", _cores())
# gunicorn runs a "sync" worker with more than one thread as gthread: sync means one thread unless asked otherwise.
threads = _env_int("GUNICORN_THREADS", 1 if worker_class == "sync" else 16)
worker_connections = _env_int("GUNICORN_WORKER_CONNECTIONS", 1000)

# One pooled PostgreSQL and Redis connection per thread, so that no request thread waits for a connection; the
# pools keep them open (no churn). For gevent, whose concurrency is not bounded by threads, the app default (10)
# applies. PostgreSQL must allow workers x DB_POOL_SIZE connections (plus migrations and admin).
if worker_class == "gthread":
    os.environ.setdefault("DB_POOL_SIZE", str(threads))
    os.environ.setdefault("REDIS_POOL_SIZE", str(threads))

timeout = _env_int("GUNICORN_TIMEOUT", 30)
graceful_timeout = _env_int("GUNICORN_GRACEFUL_TIMEOUT", 30)
# Longer than Nginx's upstream keepalive_timeout would be pointless; shorter makes Nginx reconnect more often.
keepalive = _env_int("GUNICORN_KEEPALIVE", 5)
max_requests = _env_int("GUNICORN_MAX_REQUESTS", 0)
max_requests_jitter = _env_int("GUNICORN_MAX_REQUESTS_JITTER", 0)
# The heartbeat file: on overlayfs a write can stall and get a busy worker killed; /dev/shm is memory.
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None
# gunicorn's control socket (gunicornc) is not used: the container's root filesystem is read-only, and the
# orchestrator (Compose or Kubernetes) already starts, stops and reloads the server.
control_socket_disable = True
# The proxies whose X-Forwarded-* headers are believed (Nginx's address, or "*" on a private network).
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")

# JSON error and access logs on stdout (webapp.gunicorn_logging); ACCESS_LOG=false turns the access log off.
logger_class = "webapp.gunicorn_logging.JsonLogger"
errorlog = "-"
accesslog = "-" if os.environ.get("ACCESS_LOG", "true").strip().lower() not in ("0", "false", "no", "off") else None
loglevel = os.environ.get("LOG_LEVEL", "info").strip().lower() or "info"

# Metrics from every worker are kept in files here and summed by /metrics (prometheus-client multiprocess mode).
# It must be set before any worker imports prometheus_client, hence here and not in a hook.
_own_metrics_dir = not os.environ.get("PROMETHEUS_MULTIPROC_DIR")
if _own_metrics_dir:
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="webapp-metrics-")


def on_starting(server):
    # Check the settings once, in the master, so a bad one stops the start with one line instead of a traceback
    # from every worker.
    from webapp import config

    try:
        config.load()
    except config.ConfigError as exc:
        print(f"webapp: configuration error: {exc}", file=sys.stderr)
        sys.exit(2)
    metrics_dir = os.environ["PROMETHEUS_MULTIPROC_DIR"]
    os.makedirs(metrics_dir, exist_ok=True)
    for name in os.listdir(metrics_dir):
        if name.endswith(".db"):
            os.remove(os.path.join(metrics_dir, name))
    os.environ["WEBAPP_STARTED_AT"] = str(time.time())


def post_fork(server, worker):
    if worker_class == "gevent":
        # libpq does its own socket I/O, which gevent's monkey-patching cannot see: make psycopg2 wait through
        # select(), which gevent does patch, so a query yields to other greenlets instead of blocking the worker.
        import psycopg2.extensions
        import psycopg2.extras

        psycopg2.extensions.set_wait_callback(psycopg2.extras.wait_select)


def post_worker_init(worker):
    # The app and the modules loaded so far live as long as the worker: keep them out of every garbage collection,
    # and collect the young generation less often (a request makes thousands of short-lived objects; the default
    # threshold of 700 ran a collection every few requests).
    gc.freeze()
    gc.set_threshold(_env_int("GUNICORN_GC_THRESHOLD", 20000), 20, 20)


def worker_exit(server, worker):
    # Frozen objects are left out of the collections at interpreter exit too: handlers found only then (gevent's
    # patched locks gone) printed tracebacks. Back in the young generation, they go the usual way.
    gc.unfreeze()


def child_exit(server, worker):
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def on_exit(server):
    if _own_metrics_dir:
        shutil.rmtree(os.environ["PROMETHEUS_MULTIPROC_DIR"], ignore_errors=True)
