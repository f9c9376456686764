"""Tests of the deployment artefacts under deploy/: manifests, alert rules, the dashboard."""
