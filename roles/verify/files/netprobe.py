"""Probe run inside a container of the stack (docker exec): resolve names through the network's DNS and open TCP
connections, then print one JSON object. Standard library only; argv[1] is {"names": [...], "ports": ["h:p"]}."""

import ipaddress
import json
import socket
import sys

request = json.loads(sys.argv[1])
subnet = ipaddress.ip_network(request["subnet"])
result = {"names": {}, "ports": {}}
for name in request["names"]:
    try:
        addresses = sorted({info[4][0] for info in socket.getaddrinfo(name, None, type=socket.SOCK_STREAM)})
    except OSError as exc:
        result["names"][name] = {"addresses": [], "in_subnet": False, "error": str(exc)}
    else:
        inside = [a for a in addresses if ipaddress.ip_address(a) in subnet]
        result["names"][name] = {"addresses": addresses, "in_subnet": bool(inside), "error": ""}
for target in request["ports"]:
    host, port = target.rsplit(":", 1)
    try:
        with socket.create_connection((host, int(port)), timeout=request.get("timeout", 3)):
            result["ports"][target] = {"open": True, "error": ""}
    except OSError as exc:
        result["ports"][target] = {"open": False, "error": str(exc)}
print(json.dumps(result))
