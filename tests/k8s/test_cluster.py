"""End-to-end checks of the cluster installed by playbooks/kubernetes.yml, run on one of its nodes."""

import ipaddress
import os
import signal
import urllib.request
import uuid

import pytest
from iac_testlib.kube import http_get
from iac_testlib.wait import wait_for
from kubernetes import client
from kubernetes.client.rest import ApiException

APP_LABELS = {"app": "testapp"}


def node_ready(node):
    return any(c.type == "Ready" and c.status == "True" for c in node.status.conditions or [])


def app_container(image, args=(), mounts=None):
    return client.V1Container(
        name="testapp",
        image=image,
        image_pull_policy="IfNotPresent",
        args=list(args),
        ports=[client.V1ContainerPort(container_port=8080)],
        readiness_probe=client.V1Probe(http_get=client.V1HTTPGetAction(path="/", port=8080), period_seconds=2),
        volume_mounts=mounts,
    )


def ready_pods(core, namespace, selector):
    pods = core.list_namespaced_pod(namespace, label_selector=selector).items
    return [
        p
        for p in pods
        if p.metadata.deletion_timestamp is None
        and p.status.phase == "Running"
        and all(s.ready for s in p.status.container_statuses or [])
    ]


@pytest.fixture(scope="module")
def deployment(apps, core, namespace, test_image):
    body = client.V1Deployment(
        metadata=client.V1ObjectMeta(name="testapp", labels=APP_LABELS),
        spec=client.V1DeploymentSpec(
            replicas=1,
            selector=client.V1LabelSelector(match_labels=APP_LABELS),
            template=client.V1PodTemplateSpec(
                metadata=client.V1ObjectMeta(labels=APP_LABELS),
                spec=client.V1PodSpec(containers=[app_container(test_image)]),
            ),
        ),
    )
    apps.create_namespaced_deployment(namespace, body)
    wait_for(
        lambda: (apps.read_namespaced_deployment("testapp", namespace).status.available_replicas or 0) >= 1,
        what="the test Deployment to become available",
    )
    return "testapp"


def test_every_node_is_ready_and_runs_the_built_version(core):
    nodes = core.list_node().items
    assert nodes, "the cluster has no nodes"
    for node in nodes:
        assert node_ready(node), f"node {node.metadata.name} is not Ready"
        assert node.status.node_info.kubelet_version == "v1.36.3"
        assert node.status.node_info.container_runtime_version.startswith("containerd://2.")


def test_system_components_run(apps):
    for namespace, name in (
        ("kube-system", "coredns"),
        ("metallb-system", "controller"),
    ):
        status = apps.read_namespaced_deployment(name, namespace).status
        assert (status.available_replicas or 0) >= 1, f"{namespace}/{name} is not available"
    speaker = apps.read_namespaced_daemon_set("speaker", "metallb-system").status
    assert speaker.number_ready == speaker.desired_number_scheduled > 0


def test_coredns_resolves_kubernetes_default_from_a_pod(core, namespace, deployment):
    api_ip = core.read_namespaced_service("kubernetes", "default").spec.cluster_ip
    pod = ready_pods(core, namespace, "app=testapp")[0].metadata.name

    def resolve():
        # Through the API server's pod proxy: the lookup runs in the pod, against the cluster DNS.
        answer = core.connect_get_namespaced_pod_proxy_with_path(f"{pod}:8080", namespace, "resolve/kubernetes.default")
        return answer.split()

    addresses = wait_for(resolve, timeout=60, what="kubernetes.default to resolve in a pod")
    assert addresses == [api_ip]


def test_deployment_is_reachable_through_clusterip_nodeport_and_loadbalancer(core, kube, namespace, deployment):
    services = {}
    for kind in ("ClusterIP", "NodePort", "LoadBalancer"):
        name = f"testapp-{kind.lower()}"
        core.create_namespaced_service(
            namespace,
            client.V1Service(
                metadata=client.V1ObjectMeta(name=name),
                spec=client.V1ServiceSpec(
                    type=kind,
                    selector=APP_LABELS,
                    ports=[client.V1ServicePort(port=80, target_port=8080)],
                ),
            ),
        )
        services[kind] = name

    cluster_ip = core.read_namespaced_service(services["ClusterIP"], namespace).spec.cluster_ip
    node_port = core.read_namespaced_service(services["NodePort"], namespace).spec.ports[0].node_port
    node_ips = [a.address for n in core.list_node().items for a in n.status.addresses if a.type == "InternalIP"]

    def lb_ip():
        ingress = core.read_namespaced_service(services["LoadBalancer"], namespace).status.load_balancer.ingress
        return ingress[0].ip if ingress else None

    address = wait_for(lb_ip, timeout=120, what="MetalLB to assign a LoadBalancer address")
    pools = client.CustomObjectsApi(kube).list_namespaced_custom_object(
        "metallb.io", "v1beta1", "metallb-system", "ipaddresspools"
    )["items"]
    networks = [ipaddress.ip_network(a, strict=False) for p in pools for a in p["spec"]["addresses"] if "/" in a]
    assert any(ipaddress.ip_address(address) in net for net in networks), f"{address} is not in the pool {networks}"

    urls = [f"http://{cluster_ip}/", f"http://{address}/"] + [f"http://{ip}:{node_port}/" for ip in node_ips]
    for url in urls:
        status, body = wait_for(lambda url=url: http_get(url), timeout=60, what=f"{url} to answer")
        assert status == 200, f"{url} answered {status}"
        assert body.startswith("hello from testapp-"), f"{url} answered {body!r}"


def test_pvc_data_survives_pod_deletion(apps, core, namespace, test_image):
    claim = client.V1PersistentVolumeClaim(
        metadata=client.V1ObjectMeta(name="data"),
        spec=client.V1PersistentVolumeClaimSpec(
            access_modes=["ReadWriteOnce"],
            resources=client.V1VolumeResourceRequirements(requests={"storage": "100Mi"}),
        ),
    )
    core.create_namespaced_persistent_volume_claim(namespace, claim)  # default StorageClass
    labels = {"app": "stateful"}
    apps.create_namespaced_deployment(
        namespace,
        client.V1Deployment(
            metadata=client.V1ObjectMeta(name="stateful", labels=labels),
            spec=client.V1DeploymentSpec(
                replicas=1,
                strategy=client.V1DeploymentStrategy(type="Recreate"),
                selector=client.V1LabelSelector(match_labels=labels),
                template=client.V1PodTemplateSpec(
                    metadata=client.V1ObjectMeta(labels=labels),
                    spec=client.V1PodSpec(
                        containers=[
                            app_container(
                                test_image,
                                mounts=[client.V1VolumeMount(name="data", mount_path="/data")],
                            )
                        ],
                        volumes=[
                            client.V1Volume(
                                name="data",
                                persistent_volume_claim=client.V1PersistentVolumeClaimVolumeSource(claim_name="data"),
                            )
                        ],
                    ),
                ),
            ),
        ),
    )

    first = wait_for(
        lambda: ready_pods(core, namespace, "app=stateful"),
        what="the PVC pod to be ready",
    )[0]
    volume = core.read_namespaced_persistent_volume_claim("data", namespace).spec.volume_name
    path = f"/data/{uuid.uuid4().hex}.txt"
    secret = uuid.uuid4().hex
    request = urllib.request.Request(
        f"http://{first.status.pod_ip}:8080/file?path={path}",
        data=secret.encode(),
        method="PUT",
    )
    with urllib.request.urlopen(request, timeout=5) as response:
        assert response.status == 201

    core.delete_namespaced_pod(first.metadata.name, namespace)
    second = wait_for(
        lambda: [p for p in ready_pods(core, namespace, "app=stateful") if p.metadata.uid != first.metadata.uid],
        what="a new PVC pod",
    )[0]
    assert http_get(f"http://{second.status.pod_ip}:8080/file?path={path}") == (
        200,
        secret,
    )

    # Give the node-local volume back (its reclaim policy is Retain): delete the claim, then release the volume.
    apps.delete_namespaced_deployment("stateful", namespace)
    wait_for(
        lambda: not core.list_namespaced_pod(namespace, label_selector="app=stateful").items,
        what="the PVC pod to go",
    )
    core.delete_namespaced_persistent_volume_claim("data", namespace)
    wait_for(
        lambda: core.read_persistent_volume(volume).status.phase == "Released",
        what=f"{volume} released",
    )
    core.patch_persistent_volume(volume, {"spec": {"claimRef": None}})
    wait_for(
        lambda: core.read_persistent_volume(volume).status.phase == "Available",
        what=f"{volume} available",
    )


def kubelet_pids():
    pids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/comm") as comm:
                    if comm.read().strip() == "kubelet":
                        pids.append(int(entry))
            except OSError:
                continue
    return pids


def test_cluster_recovers_after_the_kubelet_is_killed(apps, core, namespace, deployment):
    pids = kubelet_pids()
    assert len(pids) == 1, f"expected one kubelet on this node, found {pids}"
    os.kill(pids[0], signal.SIGKILL)
    wait_for(
        lambda: kubelet_pids() and kubelet_pids() != pids,
        timeout=60,
        what="the supervisor to restart the kubelet",
    )
    wait_for(
        lambda: all(node_ready(n) for n in core.list_node().items),
        what="every node to be Ready again",
    )

    # The restarted kubelet runs new pods and keeps the old one.
    apps.patch_namespaced_deployment_scale(deployment, namespace, {"spec": {"replicas": 2}})
    wait_for(
        lambda: len(ready_pods(core, namespace, "app=testapp")) == 2,
        what="two ready test pods after restart",
    )


def test_bad_requests_are_rejected(core):
    with pytest.raises(ApiException) as error:
        core.read_namespace(f"no-such-namespace-{uuid.uuid4().hex[:6]}")
    assert error.value.status == 404
