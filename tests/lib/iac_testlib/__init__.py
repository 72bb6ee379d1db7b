"""The project's test library, shared by every test suite under tests/ (the root pytest.ini puts tests/lib on the
import path): where the project is and what its settings say (project), ansible-playbook runs with their recap
(ansible), polling (wait), the host's listening sockets (net) and request probes that count every failure (probe).
"""
