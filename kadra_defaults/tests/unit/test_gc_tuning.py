"""kadra_defaults.gc_tuning: what a process built while starting leaves the garbage collector's full passes."""
import gc

from kadra_defaults.gc_tuning import freeze_startup_heap


def test_frozen_objects_are_not_walked_by_a_full_collection():
    heap = [{"n": i, "items": [i, str(i)]} for i in range(200_000)]  # long-lived, like an app's modules
    try:
        gc.unfreeze()
        frozen = freeze_startup_heap("test")
        assert frozen >= 400_000 and gc.get_freeze_count() == frozen
        assert all(obj is not heap for obj in gc.get_objects(2))  # no longer in any generation
        gc.unfreeze()
        assert gc.get_freeze_count() == 0
        assert any(obj is heap for obj in gc.get_objects(2))
    finally:
        gc.unfreeze()
        del heap


def test_the_gateway_and_every_service_freeze_when_they_have_started():
    from gateway import gunicorn_conf
    from kadra_defaults.health import RpcMetrics

    try:
        gc.unfreeze()
        gunicorn_conf.post_worker_init(type("Worker", (), {"pid": 1})())
        assert gc.get_freeze_count() > 0
        gc.unfreeze()
        metrics = RpcMetrics()
        metrics.container = type("Container", (), {"service_name": "identity"})()
        metrics.start()
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()
