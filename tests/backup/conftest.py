def pytest_configure(config):
    config.addinivalue_line("markers", "slow: runs site.yml again (about a minute or two)")
