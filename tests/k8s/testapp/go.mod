module iac.local/tests/k8s/testapp

go 1.26
